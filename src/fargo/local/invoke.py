"""`fargo invoke`: run one job now in a subprocess, streaming its output; return its exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from fargo.local.process import job_command, job_environment
from fargo.project.model import TaskSpec
from fargo.runtime.contract import EXIT_TIMEOUT

GRACE_SECONDS = 5.0


def run_foreground(spec: TaskSpec, root: Path, event: str | None) -> int:
    """Run the job with its stage environment and timeout; output goes straight to the terminal.

    The runtime stops the job itself at its timeout (exit 124); if the process is still alive a
    grace period later (a handler stuck in C code), its whole process group is killed here.
    """
    env, _missing = job_environment(spec, root, event=event)
    process = subprocess.Popen(job_command(spec), cwd=root, env=env, start_new_session=True)

    def forward(signum: int, _frame: object) -> None:
        _signal_group(process, signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        deadline = time.monotonic() + spec.timeout + GRACE_SECONDS
        while True:
            try:
                return process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
                return EXIT_TIMEOUT
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
