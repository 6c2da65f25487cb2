"""The README's tour, top to bottom in a fresh directory, as a new user types it."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
NEEDS_AWS = ("build", "deploy", "run", "status", "import-chalice")


def tour() -> list[str]:
    """The local commands of the README's first shell block after the two setup commands."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    lines = [line.split("  #", 1)[0].strip() for line in blocks[2].splitlines()]
    return [line for line in lines if line]


def test_the_readme_tour_shows_runs_history_and_logs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    env.update(COLUMNS="200", NO_COLOR="1", AWS_DEFAULT_REGION="eu-west-1")
    bin_dir = tmp_path / "bin"  # `fargo` as the user's shell finds it
    bin_dir.mkdir()
    (bin_dir / "fargo").write_text(f"#!/bin/sh\nexec {sys.executable} -m fargo \"$@\"\n")
    (bin_dir / "fargo").chmod(0o755)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    cwd = tmp_path
    seen: dict[str, str] = {}
    for line in tour():
        words = shlex.split(line)
        if words[1] in NEEDS_AWS or "--container" in words:  # test_artefacts runs those
            continue
        command = line.replace("&& cd demo", "").strip()
        r = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=180)
        assert r.returncode == 0, (line, r.stdout[-2000:], r.stderr[-2000:])
        seen[words[1]] = r.stdout
        if "cd demo" in line:
            cwd = tmp_path / "demo"
    history = subprocess.run(["fargo", "history", "--json"], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=60)
    runs = json.loads(history.stdout)
    assert {r["trigger"] for r in runs} >= {"manual", "schedule"}, runs
    assert any(r["task"] == "ingest_events" and r["trigger"] == "schedule"
               and r["status"] == "succeeded" for r in runs)
    assert "succeeded" in seen["history"] and "wrote 60 rows" in seen["history"]
