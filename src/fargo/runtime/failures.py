"""How a run that does not succeed ends: its last log line, its exit code, and for a workflow
step the failure handed to whoever runs the workflow.

Kept out of run.py, which every job compiles or loads: most runs never come here.
"""

from __future__ import annotations

import time
import traceback

from fargo.runtime.contract import EXIT_FAILED, EXIT_TERMINATED, EXIT_USAGE
from fargo.runtime.jsonl import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def step_failed(step: bool, error: str, cause: str) -> None:
    if step:
        from fargo.runtime import result

        result.fail(error, cause)


def refuse(code: int, message: str, task: str, run_id: str, step: bool,
           cause: str | None = None) -> int:
    """The run cannot start (no app, no such job, a bad event): one line, then `code`."""
    log("error", message, task=task, run_id=run_id, status="failed")
    step_failed(step, "fargo.JobFailed", cause or message)
    return code


def no_such_job(task: str, jobs: list[str], run_id: str, step: bool) -> int:
    """TASK is not a job of app.py: the log names the jobs it has."""
    return refuse(EXIT_USAGE, f"no job named {task!r} in app.py (jobs: "
                  f"{', '.join(jobs) or 'none'})", task, run_id, step,
                  f"no job named {task!r} in app.py")


def import_failed(task: str, run_id: str, step: bool) -> int:
    """app.py raised while it was imported: the traceback is logged."""
    log("error", "importing app.py failed", task=task, run_id=run_id, status="failed",
        traceback=traceback.format_exc())
    step_failed(step, "fargo.JobFailed", "importing app.py failed: "
                + traceback.format_exc(limit=-1).strip().splitlines()[-1])
    return EXIT_FAILED


def exited(exc: SystemExit, task: str, run_id: str, step: bool) -> int:
    """The handler called sys.exit(n): n is the run's exit code (SIGTERM's stays 143)."""
    if exc.code == EXIT_TERMINATED:
        step_failed(step, "fargo.JobFailed", f"{task} was stopped (SIGTERM)")
        return EXIT_TERMINATED
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    log("info" if code == 0 else "error", f"exited with {code}", task=task, run_id=run_id,
        status="succeeded" if code == 0 else "failed")
    if code == 0 and step:
        from fargo.runtime import result

        result.succeed(None)
    elif code != 0:
        step_failed(step, "fargo.JobFailed", f"{task} exited with {code}")
    return code


def raised(exc: BaseException, task: str, run_id: str, step: bool, started: float) -> int:
    """The job's own failure: logged with its traceback."""
    error = f"{type(exc).__name__}: {exc}"
    log("error", f"failed: {error}", task=task, run_id=run_id, status="failed", error=error,
        duration_s=round(time.monotonic() - started, 3), traceback=traceback.format_exc())
    step_failed(step, "fargo.JobFailed", error)
    return EXIT_FAILED


def projection_notice(event: dict[str, Any], task: str, run_id: str) -> None:
    """The runner could not pass the whole event (over ECS's 8 KB of overrides): say so."""
    log("warning", f"this run got a projection of event {event.get('id')}, not the whole event: "
        f"{event['fargo_projection']} (detail fields: "
        f"{', '.join(sorted(event.get('detail') or {})) or 'none'})", task=task, run_id=run_id)
