"""fargo up's side of the warm runtime (fargo.runtime.launcher): start jobs by fork, not exec.

`Launcher.start` returns a `LaunchedProcess` that answers like `subprocess.Popen` (pid, poll,
wait), so the scheduler treats both kinds of job alike. When the launcher cannot be started, or
dies, fargo up starts jobs as plain subprocesses (`python -m fargo.runtime TASK`).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fargo.project.interpreter import python_and_env


class LauncherGone(Exception):
    """The launcher process ended or stopped answering."""


class LaunchedProcess:
    """A job forked by the launcher, with the part of Popen's interface fargo up uses."""

    def __init__(self, launcher: Launcher, run_id: str, pid: int) -> None:
        self.launcher = launcher
        self.run_id = run_id
        self.pid = pid
        self.returncode: int | None = None
        self.usage: dict[str, float] = {}

    def poll(self) -> int | None:
        if self.returncode is None:
            self.launcher.pump(0.0)
            ended = self.launcher.exits.pop(self.run_id, None)
            if ended is not None:
                self.returncode = int(ended["exit"])
                self.usage = {k: ended[k] for k in ("max_rss_kib", "cpu_s") if k in ended}
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(["fargo.runtime", self.run_id], timeout or 0)
            self.launcher.pump(0.5 if left is None else min(0.5, left))
        assert self.returncode is not None
        return self.returncode


class Launcher:
    """One warm runtime process per `fargo up`."""

    def __init__(self, root: Path) -> None:
        requests_read, self._requests = os.pipe()
        self._replies, replies_write = os.pipe()
        python, extra = python_and_env(root)
        env = {**os.environ, **extra}
        env.pop("FARGO_RUN_ID", None)
        self.process = subprocess.Popen(
            [python, "-m", "fargo.runtime.launcher", str(requests_read),
             str(replies_write)],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(requests_read, replies_write),
            start_new_session=True)
        os.close(requests_read)
        os.close(replies_write)
        os.set_blocking(self._replies, False)
        self._buffer = b""
        self.pids: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self.exits: dict[str, dict[str, Any]] = {}

    @property
    def fd(self) -> int:
        """Readable when the launcher has news (a job started or ended): select() on it."""
        return self._replies

    def start(self, run_id: str, task: str, cwd: Path, env: dict[str, str], log: Path,
              memory_mib: int | None, timeout: float = 10.0) -> LaunchedProcess:
        request = {"id": run_id, "task": task, "cwd": str(cwd), "env": env, "log": str(log),
                   "memory_mib": memory_mib}
        try:
            os.write(self._requests, (json.dumps(request) + "\n").encode())
        except OSError as exc:
            raise LauncherGone(str(exc)) from None
        deadline = time.monotonic() + timeout
        while run_id not in self.pids:
            if run_id in self.errors:
                raise LauncherGone(self.errors.pop(run_id))
            if time.monotonic() > deadline:
                raise LauncherGone("the launcher did not answer")
            self.pump(0.1)
        return LaunchedProcess(self, run_id, self.pids.pop(run_id))

    def pump(self, seconds: float) -> None:
        """Read what the launcher said (waiting up to `seconds` for something)."""
        if seconds > 0:
            with contextlib.suppress(InterruptedError):
                select.select([self._replies], [], [], seconds)
        while True:
            try:
                data = os.read(self._replies, 65536)
            except BlockingIOError:
                break
            if not data:
                if self.process.poll() is not None:
                    raise LauncherGone(f"the launcher exited ({self.process.returncode})")
                break
            self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            message: dict[str, Any] = json.loads(line)
            run_id = message["id"]
            if "pid" in message:
                self.pids[run_id] = int(message["pid"])
            elif "exit" in message:
                self.exits[run_id] = message
            elif "error" in message:
                self.errors[run_id] = str(message["error"])

    def close(self) -> None:
        """Close the request pipe: the launcher ends; jobs already started go on."""
        for fd in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_launcher(root: Path) -> Launcher | None:
    """The warm launcher, where it can work (fork, Linux), unless FARGO_UP_WARM=0 says not."""
    if os.environ.get("FARGO_UP_WARM", "1") == "0" or not hasattr(os, "fork") \
            or not sys.platform.startswith("linux"):
        return None
    try:
        return Launcher(root)
    except OSError:
        return None
