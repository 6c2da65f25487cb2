"""Job output for people on a terminal, JSON lines for pipes: driven through a real pty."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_project

APP = """
from fargo import App
from chalicelib.clean import parse_row

app = App("readable")


@app.task()
def load(event, context):
    context.logger.info("loading %d rows", 2)
    return parse_row("a,b,c")
"""
LIB = """
def parse_row(text):
    fields = text.split(",")
    return int(fields[1])
"""


def in_a_terminal(args: list[str], cwd: Path) -> str:
    """What a person sees: the command's output read through a pseudo-terminal."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    env.update(COLUMNS="200", TERM="xterm", NO_COLOR="1")
    process = subprocess.Popen([sys.executable, "-m", "fargo", *args], cwd=cwd, env=env,
                               stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "readable", APP, {"app_name": "readable"},
                         files={"chalicelib/__init__.py": "", "chalicelib/clean.py": LIB})


def test_a_failing_job_reads_like_python_on_a_terminal(tmp_path: Path) -> None:
    root = project(tmp_path)
    shown = in_a_terminal(["invoke", "load"], root)
    assert "INFO" in shown and "loading 2 rows" in shown
    assert "ERROR" in shown and "failed: ValueError: invalid literal for int()" in shown
    assert "Traceback (most recent call last):" in shown  # a traceback, not an escaped string
    assert 'chalicelib/clean.py", line 4, in parse_row' in shown  # the user's frames
    assert "return int(fields[1])" in shown
    assert "fargo/runtime/run.py" not in shown and "fargo frames hidden" in shown
    assert '{"time"' not in shown
    verbose = in_a_terminal(["invoke", "load", "--verbose"], root)
    assert "fargo/runtime/run.py" in verbose
    logs = in_a_terminal(["logs", "load"], root)
    assert "Traceback (most recent call last):" in logs and '{"time"' not in logs


def test_piped_output_stays_json_lines(tmp_path: Path) -> None:
    root = project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    for args in (["invoke", "load"], ["logs", "load"], ["invoke", "load", "--json"]):
        r = subprocess.run([sys.executable, "-m", "fargo", *args], cwd=root, env=env,
                           capture_output=True, text=True, timeout=60)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        assert lines[-1]["status"] == "failed" and "Traceback" in lines[-1]["traceback"]
    history = subprocess.run([sys.executable, "-m", "fargo", "history", "--json"], cwd=root,
                             env=env, capture_output=True, text=True, timeout=60)
    runs = json.loads(history.stdout)
    assert {r["trigger"] for r in runs} == {"manual"}  # every invoke is in the history
    assert runs[0]["reason"] == "ValueError: invalid literal for int() with base 10: 'b'"


HOSTILE = """
from fargo import App

app = App("hostile")


@app.task()
def boom(event, context):
    context.logger.info("reading s3://bucket/[2026]/x.csv :a: [bold]")
    raise ValueError("bad [/x] input :a: here")


app.workflow("flow", boom)
"""


def test_text_fargo_does_not_own_prints_as_written(tmp_path: Path) -> None:
    """Job output, exception messages and history reasons are not Rich markup or emoji codes:
    `[/x]` printed through markup ends the command with a traceback, `:a:` becomes an emoji."""
    root = write_project(tmp_path / "hostile", HOSTILE, {"app_name": "hostile"})
    for args in (["invoke", "boom"], ["invoke", "flow"], ["history"], ["logs", "boom"]):
        shown = in_a_terminal(args, root)
        assert "MarkupError" not in shown and "rich" not in shown, (args, shown)
        assert "bad [/x] input :a: here" in shown, (args, shown)
    shown = in_a_terminal(["logs", "boom"], root)
    assert "reading s3://bucket/[2026]/x.csv :a: [bold]" in shown, shown
    flow = subprocess.run([sys.executable, "-m", "fargo", "invoke", "flow"], cwd=root,
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("FARGO_")})
    assert flow.returncode == 1, flow.stderr
    assert "workflow flow failed: fargo.JobFailed: ValueError: bad [/x] input :a: here" \
        in flow.stderr, flow.stderr
