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
from typing import TYPE_CHECKING, Protocol

from fargo.local.process import job_command, job_environment
from fargo.project.model import TaskSpec
from fargo.runtime import contract

if TYPE_CHECKING:
    from fargo.local.launcher import Launcher

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


class JobProcess(Protocol):
    """What fargo up needs of a job's process: a Popen, or a job forked by the launcher."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class Job:
    """A running job process."""

    run_id: str
    spec: TaskSpec
    slot: str | None
    attempt: int
    process: JobProcess
    log_path: Path
    started: float  # time.monotonic()
    deadline: float
    kill_at: float | None = None  # set when SIGTERM was sent
    timed_out: bool = False
    stopping: bool = False
    limits: dict[str, str] = field(default_factory=dict)
    event: str | None = None  # the event it was started with (JSON), kept for its retries
    event_id: str | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def start_job(spec: TaskSpec, root: Path, run_id: str, slot: str | None, attempt: int,
              log_path: Path, memory_limit: bool = True, launcher: Launcher | None = None,
              event: str | None = None, event_id: str | None = None) -> Job:
    """Start the job in its own process group, output to `log_path`.

    Forked by the warm `launcher` when there is one, else `python -m fargo.runtime TASK`.
    """
    env, _missing = job_environment(spec, root, attempt=attempt, run_id=run_id,
                                    scheduled_time=slot, event=event)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    limits: dict[str, str] = {"timeout": f"{spec.timeout}s"}
    preexec = None
    mib = None
    # RLIMIT_DATA (Linux >= 4.7) caps the private writable memory of the process, which tracks
    # what a job really uses far better than RLIMIT_AS (address space reserved by libraries).
    if memory_limit and memory_limit_supported():
        mib = spec.memory
        preexec = _limit_memory(mib)
        limits["memory"] = f"RLIMIT_DATA {mib} MiB"
    else:
        limits["memory"] = "not enforced on this platform"
    process: JobProcess
    if launcher is not None:
        process = launcher.start(run_id, spec.name, root, env, log_path, mib)
    else:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                job_command(spec, root), cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec,
            )
    now = time.monotonic()
    return Job(run_id, spec, slot, attempt, process, log_path, now,
               now + spec.timeout + GRACE_AFTER_TIMEOUT, limits=limits, event=event,
               event_id=event_id)


def reap(process: JobProcess) -> tuple[int | None, dict[str, float]]:
    """The exit code (None while running) and the job's peak memory and CPU time.

    A Popen is reaped with wait4 here, which reports the child's resource usage.
    """
    if isinstance(process, subprocess.Popen):
        if process.returncode is not None:
            return process.returncode, {}
        try:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        except ChildProcessError:
            return process.poll(), {}
        if pid == 0:
            return None, {}
        process.returncode = os.waitstatus_to_exitcode(status)
        return process.returncode, {"max_rss_kib": usage.ru_maxrss,
                                    "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}
    code = process.poll()
    return code, dict(getattr(process, "usage", {}) or {})


def kill_leftovers(run_ids: set[str]) -> dict[str, list[int]]:
    """Kill the process groups of jobs that carry one of `run_ids` (Linux /proc).

    A started job has FARGO_RUN_ID in its environment from the start; a job forked by the
    launcher is named after its run id. Either way it is found even when the scheduler died
    before it could store the job's pid. Returns the pids killed, by run id.
    """
    if not run_ids:
        return {}
    wanted = {f"{contract.RUN_ID}={run_id}".encode(): run_id for run_id in run_ids}
    named = {contract.process_name(run_id): run_id for run_id in run_ids}
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
            comm = Path(f"/proc/{entry}/comm").read_bytes().strip()
        except OSError:
            continue
        for item in [comm, *environ.split(b"\0")]:
            run_id = named.get(item) if item is comm else wanted.get(item)
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
