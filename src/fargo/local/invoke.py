"""`fargo invoke`: run one job now in a subprocess, streaming its output; return its exit code."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fargo.local.process import job_command, job_environment
from fargo.project.model import TaskSpec
from fargo.runtime.contract import EXIT_TIMEOUT

GRACE_SECONDS = 5.0


@dataclass
class Finished:
    code: int
    usage: dict[str, float]


def run_foreground(spec: TaskSpec, root: Path, event: str | None, run_id: str | None = None,
                   log_path: Path | None = None,
                   on_line: Callable[[str], None] | None = None) -> Finished:
    """Run the job with its stage environment and timeout; each output line to `on_line`
    (and to `log_path`).

    The runtime stops the job itself at its timeout (exit 124); if the process is still alive a
    grace period later (a handler stuck in C code), its whole process group is killed here.
    """
    env, _missing = job_environment(spec, root, event=event, run_id=run_id)
    return run_streaming(job_command(spec, root), root, env, spec.timeout + GRACE_SECONDS,
                         log_path, on_line)


def run_streaming(command: list[str], cwd: Path, env: dict[str, str], limit: float,
                  log_path: Path | None = None,
                  on_line: Callable[[str], None] | None = None) -> Finished:
    """Run `command` in its own process group, each output line to `on_line` and `log_path`;
    killed (and reported as a timeout) when it is still alive `limit` seconds on."""
    process = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    assert process.stdout is not None

    asked: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        # Ctrl-C reaches the job first; asked again, fargo stops it (a job may ignore SIGINT)
        asked.append(signum)
        _signal_group(process, signum if len(asked) == 1 else signal.SIGKILL)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed below
    try:
        deadline = time.monotonic() + limit
        pending = b""
        killed = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0 and not killed:
                _signal_group(process, signal.SIGKILL)
                killed = True
            ready, _, _ = select.select([process.stdout], [], [], max(0.05, min(left, 1.0)))
            if not ready:
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            if log:
                log.write(chunk)
                log.flush()
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if on_line:
                    on_line(line.decode("utf-8", errors="replace"))
        if pending and on_line:
            on_line(pending.decode("utf-8", errors="replace"))
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        code = EXIT_TIMEOUT if killed else process.returncode
        return Finished(code, {"max_rss_kib": usage.ru_maxrss,
                               "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)})
    finally:
        if log:
            log.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
