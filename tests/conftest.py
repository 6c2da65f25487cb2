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
