"""Starting and stopping job processes: own process group, log file, memory limit, deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fargo.local.process import job_command, job_environment
from fargo.project.model import TaskSpec
from fargo.runtime import contract

GRACE_AFTER_TIMEOUT = 5.0  # the runtime stops itself at its timeout; this is the backstop


def memory_limit_supported() -> bool:
    try:
        import resource  # noqa: F401
    except ImportError:  # pragma: no cover - Windows
        return False
    return sys.platform.startswith("linux")


def _limit_memory(mib: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        import resource

        limit = mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    return apply


@dataclass
class Job:
    """A running job process."""

    run_id: str
    spec: TaskSpec
    slot: str | None
    attempt: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started: float  # time.monotonic()
    deadline: float
    kill_at: float | None = None  # set when SIGTERM was sent
    timed_out: bool = False
    stopping: bool = False
    limits: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def start_job(spec: TaskSpec, root: Path, run_id: str, slot: str | None, attempt: int,
              log_path: Path, memory_limit: bool = True) -> Job:
    """Start `python -m fargo.runtime TASK` in its own process group, output to `log_path`."""
    env, _missing = job_environment(spec, root, attempt=attempt, run_id=run_id,
                                    scheduled_time=slot)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    limits: dict[str, str] = {"timeout": f"{spec.timeout}s"}
    preexec = None
    # RLIMIT_DATA (Linux >= 4.7) caps the private writable memory of the process, which tracks
    # what a job really uses far better than RLIMIT_AS (address space reserved by libraries).
    if memory_limit and memory_limit_supported():
        mib = spec.memory
        preexec = _limit_memory(mib)
        limits["memory"] = f"RLIMIT_DATA {mib} MiB"
    else:
        limits["memory"] = "not enforced on this platform"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            job_command(spec), cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec,
        )
    now = time.monotonic()
    return Job(run_id, spec, slot, attempt, process, log_path, now,
               now + spec.timeout + GRACE_AFTER_TIMEOUT, limits=limits)


def kill_leftovers(run_ids: set[str]) -> dict[str, list[int]]:
    """Kill the process groups of jobs whose environment names one of `run_ids` (Linux /proc).

    Every job gets FARGO_RUN_ID before it starts, so this finds a job even when the scheduler
    died before it could store the job's pid. Returns the pids killed, by run id.
    """
    if not run_ids:
        return {}
    wanted = {f"{contract.RUN_ID}={run_id}".encode(): run_id for run_id in run_ids}
    killed: dict[str, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return killed
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            run_id = wanted.get(item)
            if run_id is None:
                continue
            pid = int(entry)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                group = os.getpgid(pid)
                if group == os.getpgrp():  # jobs run in their own session; never kill ours
                    os.kill(pid, signal.SIGKILL)
                else:
                    os.killpg(group, signal.SIGKILL)
                killed.setdefault(run_id, []).append(pid)
            break
    return killed
