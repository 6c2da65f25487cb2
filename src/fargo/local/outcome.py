"""How a local run ended, in words: shared by fargo up and fargo invoke."""

from __future__ import annotations

import json
import os
from pathlib import Path


def _tail(log_path: Path) -> str | None:
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 65536))
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def ended_in_log(log_path: Path) -> str | None:
    """The status the job's runtime wrote as its last word (succeeded, failed, timed_out), or
    None when it never got that far: what a run was, when its scheduler died before seeing it
    end."""
    for line in reversed((_tail(log_path) or "").splitlines()):
        if line.startswith("{") and '"status"' in line:
            try:
                status = json.loads(line).get("status")
            except ValueError:
                continue
            if status in ("succeeded", "failed", "timed_out"):
                return str(status)
    return None


def last_error(log_path: Path) -> str | None:
    """The exception a failed job reported (its runtime's last JSON line with an `error`)."""
    tail = _tail(log_path)
    if tail is None:
        return None
    for line in reversed(tail.splitlines()):
        if line.startswith("{") and '"error"' in line:
            try:
                error = json.loads(line).get("error")
            except ValueError:
                continue
            if isinstance(error, str):
                return error if len(error) <= 500 else error[:497] + "..."
    return None


def classify(code: int, timeout: int) -> tuple[str, str | None]:
    """(status, reason) of a job process that exited with `code`."""
    from fargo.runtime.contract import EXIT_TIMEOUT

    if code == EXIT_TIMEOUT:
        return "timed_out", f"ran longer than its timeout of {timeout}s"
    if code == 0:
        return "succeeded", None
    if code < 0:
        import signal

        return "failed", f"killed by signal {signal.Signals(-code).name}"
    return "failed", None
