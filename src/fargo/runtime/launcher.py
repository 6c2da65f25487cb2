"""A warm runtime for `fargo up`: it forks one process per job instead of starting Python.

Starting an interpreter and importing fargo's runtime costs more than most short jobs. `fargo up`
keeps one launcher process per project: the launcher has imported the runtime (never the
project's code), and for each job it forks a child that does exactly what
`python -m fargo.runtime TASK` does after start-up: own session and process group, the job's
environment and working directory, output to the run's log file, the memory limit, then
`fargo.runtime.run.main`. Each job still gets a fresh import of app.py in its own process.

Protocol, one JSON object per line on two inherited pipes:
  request  {"id": run id, "task": name, "cwd": dir, "env": {...}, "log": path, "memory_mib": n}
  replies  {"id": run id, "pid": pid}             once the child exists
           {"id": run id, "exit": code,           when it ended (negative: killed by a signal),
            "max_rss_kib": n, "cpu_s": s}          with its peak memory and CPU time
           {"id": run id, "error": message}       when it could not be started
The launcher ends when its request pipe closes (fargo up stopped); running jobs go on, as
they would after their parent scheduler died, and the next `fargo up` recovers them.

Each child names itself (`/proc/<pid>/comm`) after its run id, so recovery finds a job even
when `fargo up` died before it stored the pid: a forked process keeps the launcher's
environment block, where a started one would carry FARGO_RUN_ID.

The launcher compiles the project's Python files once (and again when one changes), and each
child executes that code instead of compiling the files again (runtime/sources.py).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib  # noqa: F401 - warm for the children: each names itself (3 ms to import)
import json
import os
import resource  # noqa: F401 - warm for the children: their memory limit
import select
import signal
import sys
import time

from fargo.runtime import (  # noqa: F401 - warm for the children
    context,
    contract,
    event,
    jsonl,
    loader,
    run,
    sources,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PR_SET_NAME = 15


def _namer() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
        return prctl
    except (OSError, AttributeError):  # not Linux: recovery falls back to the stored pid
        return None


def _child(request: dict[str, Any], channels: tuple[int, ...], prctl: Any) -> None:
    """In the forked child: become the job, run it, never return."""
    code = 1
    try:
        os.setsid()
        for fd in channels:
            os.close(fd)
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        if prctl is not None:
            prctl(PR_SET_NAME, contract.process_name(request["id"]), 0, 0, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        if request.get("memory_mib"):
            import resource

            limit = int(request["memory_mib"]) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        os.chdir(request["cwd"])
        wanted = request["env"]  # by difference: each putenv/unsetenv walks the whole block
        for key in [k for k in os.environ if k not in wanted]:
            del os.environ[key]
        for key, value in wanted.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
        sys.argv = [sys.argv[0], request["task"]]
        sources.install()
        code = run.main([request["task"]])
        _finish()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        _finish()
    except BaseException:  # the launcher's own failure, inside the child: say so in the log
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _finish() -> None:
    """What an interpreter does at exit: wait for the job's threads, run atexit, flush."""
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def serve(requests: int, replies: int) -> None:
    """Read requests until the pipe closes; fork a job for each; report pids and exits."""
    prctl = _namer()
    # The first compile() in a process builds the AST types (about a millisecond): done once
    # here, every child that compiles app.py (no usable bytecode) inherits them.
    compile("", "<launcher>", "exec")
    compiled: dict[str, float] = {}  # project directory -> when its files were last looked at

    def compile_sources(request: dict[str, Any]) -> None:
        root = loader.project_root(request["env"].get("FARGO_PROJECT_DIR") or request["cwd"])
        if time.monotonic() - compiled.get(root, -1.0) >= 1.0:  # a job checks its files too
            sources.refresh(root)
            compiled[root] = time.monotonic()

    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda s, f: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is fargo up's to handle
    children: dict[int, str] = {}
    buffer = b""
    out = os.fdopen(replies, "w", buffering=1)

    def reply(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")

    def reap() -> None:
        while children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run_id = children.pop(pid, None)
            if run_id is not None:
                reply({"id": run_id, "exit": os.waitstatus_to_exitcode(status),
                       "max_rss_kib": usage.ru_maxrss,
                       "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)})

    while True:
        try:
            ready, _, _ = select.select([requests, wake_read], [], [])
        except InterruptedError:
            continue
        if wake_read in ready:
            try:
                while os.read(wake_read, 512):
                    pass
            except BlockingIOError:
                pass
        reap()
        if requests not in ready:
            continue
        data = os.read(requests, 65536)
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            compile_sources(request)
            out.flush()
            gc.freeze()  # the children's collections leave the launcher's objects (and pages) be
            try:
                pid = os.fork()
            except OSError as exc:
                reply({"id": request["id"], "error": f"fork failed: {exc}"})
                continue
            if pid == 0:
                _child(request, (requests, replies, wake_read, wake_write), prctl)
            children[pid] = request["id"]
            reply({"id": request["id"], "pid": pid})
        reap()


def main(argv: list[str]) -> int:
    """`python -m fargo.runtime.launcher REQUEST_FD REPLY_FD` (started by fargo up)."""
    if len(argv) != 2:
        sys.stderr.write("usage: python -m fargo.runtime.launcher REQUEST_FD REPLY_FD\n")
        return 2
    serve(int(argv[0]), int(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
