"""Shared fixtures: run the real `fargo` CLI as a user would type it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("FARGO_PROJECT_DIR", None)
    full_env["COLUMNS"] = "200"
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "fargo", *args], cwd=cwd, env=full_env, capture_output=True,
        text=True, timeout=timeout, input=input,
    )


@pytest.fixture
def fargo() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `fargo ARGS...` in a real subprocess; returns the completed process."""
    return _run


def assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, a message on stderr naming what is wrong, and no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def write_project(root: Path, app_src: str, config: dict | None = None,
                  policies: dict[str, object] | None = None,
                  files: dict[str, str] | None = None) -> Path:
    """A project on disk: app.py, .fargo/config.json, policy files and any extra files."""
    import json
    import textwrap

    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(textwrap.dedent(app_src), encoding="utf-8")
    (root / ".fargo").mkdir(exist_ok=True)
    if config is not None:
        (root / ".fargo" / "config.json").write_text(json.dumps(config, indent=2),
                                                     encoding="utf-8")
    for name, document in (policies or {}).items():
        text = document if isinstance(document, str) else json.dumps(document)
        (root / ".fargo" / name).write_text(text, encoding="utf-8")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


POLICY = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                         "Resource": "arn:aws:s3:::bucket/*"}]}
