"""Run one job: resolve its handler, build the event, enforce the timeout, map outcomes to exits.

Exit codes: 0 succeeded, 1 the handler raised, 124 timed out, 2 the job could not be found or
the event is not valid JSON, 143 stopped by SIGTERM.
"""

from __future__ import annotations

import _thread
import os
import sys
import time

from fargo.runtime.contract import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    TIMEOUT_MAX,
)
from fargo.runtime.jsonl import json_line

TYPE_CHECKING = False  # `typing` costs milliseconds at every job start; mypy reads this as usual
if TYPE_CHECKING:
    import signal
    from typing import Any
else:
    try:  # the C module: `signal` wraps it in enums, and `enum` costs a millisecond per start
        import _signal as signal
    except ImportError:  # pragma: no cover - other interpreters
        import signal


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON line on stdout (the container's log stream)."""
    now = time.time()
    millis = int(now % 1 * 1000)
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}Z",
        "level": level,
        **fields,
        "message": message,
    }
    sys.stdout.write(json_line(entry) + "\n")
    sys.stdout.flush()


def _call(handler: Any, kind: str, event_dict: Any, context: Any, step: bool = False) -> Any:
    """Call the handler the way Chalice would: (event) or (event, context). A workflow step
    gets the previous step's result itself as its event."""
    if kind == "chalice_on_s3_event" and not step and "Records" not in event_dict:
        from fargo.runtime.event import s3_records

        event_dict = s3_records(event_dict)  # from EventBridge: the notification's shape
    if kind == "lambda_function" or kind.startswith("chalice_"):
        return handler(event_dict, context)
    from fargo.runtime.event import CloudWatchEvent

    event = event_dict if step else CloudWatchEvent(event_dict, context)
    code = getattr(handler, "__code__", None)
    if code is not None and not getattr(handler, "__wrapped__", None):
        positional = code.co_argcount - (1 if hasattr(handler, "__self__") else 0)
        takes_varargs = bool(code.co_flags & 0x04)
        if positional >= 2 or takes_varargs:
            return handler(event, context)
        if positional == 0:
            return handler()
        return handler(event)
    import inspect

    try:
        params = inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return handler(event)
    return handler(event, context) if len(params) >= 2 else handler(event)


def _load_event(task: str, step: bool = False) -> Any:
    """The run's event: a scheduled event filled in from FARGO_EVENT, or for a workflow step
    the previous step's result exactly as it returned it (any JSON value)."""
    from fargo.runtime.event import scheduled_event

    raw = os.environ.get("FARGO_EVENT")
    path = os.environ.get("FARGO_EVENT_FILE")
    if path and raw is None:  # events too large for the environment come as a file
        try:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"FARGO_EVENT_FILE {path} cannot be read: {exc}") from None
    when = os.environ.get("FARGO_SCHEDULED_TIME")
    overrides: dict[str, Any] = {}
    if raw:
        import json

        try:
            parsed = json.loads(raw)
        except RecursionError:
            raise ValueError("FARGO_EVENT is nested too deeply") from None
        if step:
            return parsed
        if not isinstance(parsed, dict):
            raise ValueError("FARGO_EVENT must be a JSON object")
        overrides = parsed
    if when and "time" not in overrides:
        overrides["time"] = when
    return scheduled_event(overrides)


def _watchdog(seconds: float, task: str, run_id: str, step: bool = False) -> None:
    def expire() -> None:
        log("error", f"timed out after {seconds:g}s", task=task, run_id=run_id,
            status="timed_out")
        if step:  # a workflow step: the workflow learns it at once, not at its own timeout
            try:
                from fargo.runtime import result

                result.fail(result.JOB_TIMED_OUT, f"{task} ran longer than its timeout of "
                            f"{seconds:g}s")
            except Exception:  # exiting matters more than telling
                pass
        os._exit(EXIT_TIMEOUT)

    def watch() -> None:  # a bare thread (no `threading` import): it sleeps, then ends the job
        time.sleep(seconds)
        expire()

    _thread.start_new_thread(watch, ())


def main(argv: list[str]) -> int:
    """`python -m fargo.runtime TASK`."""
    if len(argv) != 1 or argv[0].startswith("-"):
        sys.stderr.write("usage: python -m fargo.runtime TASK\n")
        return EXIT_USAGE
    task_name = argv[0]
    started = time.monotonic()
    run_id = os.environ.get("FARGO_RUN_ID") or f"{int(time.time())}-{os.getpid()}"
    try:
        timeout = float(os.environ.get("FARGO_TIMEOUT") or 0)
        attempt = int(os.environ.get("FARGO_ATTEMPT") or 1)
    except ValueError:
        log("error", "FARGO_TIMEOUT must be seconds and FARGO_ATTEMPT a whole number",
            task=task_name, run_id=run_id, status="failed")
        return EXIT_USAGE
    if not 0 <= timeout <= TIMEOUT_MAX:  # also nan: a watchdog that cannot be armed is no guard
        log("error", f"FARGO_TIMEOUT must be 0 (none) to {TIMEOUT_MAX} seconds",
            task=task_name, run_id=run_id, status="failed")
        return EXIT_USAGE
    step = bool(os.environ.get("FARGO_OUTPUT_FILE") or os.environ.get("FARGO_TASK_TOKEN"))
    if timeout > 0:
        _watchdog(timeout, task_name, run_id, step)  # armed before user code is imported
    return _run(task_name, run_id, started, timeout, attempt, step)


def _step_failed(step: bool, error: str, cause: str) -> None:
    if step:
        from fargo.runtime import result

        result.fail(error, cause)


def _run(task_name: str, run_id: str, started: float, timeout: float, attempt: int,
         step: bool) -> int:
    def on_term(signum: int, frame: Any) -> None:
        log("error", "stopped by SIGTERM", task=task_name, run_id=run_id, status="terminated")
        raise SystemExit(EXIT_TERMINATED)

    signal.signal(signal.SIGTERM, on_term)

    from fargo.runtime.loader import AppNotFound, find_app, import_app_module, project_root

    try:
        app = find_app(import_app_module(project_root()))
    except AppNotFound as exc:
        log("error", str(exc), task=task_name, run_id=run_id, status="failed")
        _step_failed(step, "fargo.JobFailed", str(exc))
        return EXIT_USAGE
    except Exception:
        import traceback

        log("error", "importing app.py failed", task=task_name, run_id=run_id, status="failed",
            traceback=traceback.format_exc())
        _step_failed(step, "fargo.JobFailed", "importing app.py failed: "
                     + traceback.format_exc(limit=-1).strip().splitlines()[-1])
        return EXIT_FAILED
    definition = app.tasks.get(task_name)
    if definition is None:
        known = ", ".join(sorted(app.tasks)) or "none"
        log("error", f"no job named {task_name!r} in app.py (jobs: {known})", task=task_name,
            run_id=run_id, status="failed")
        _step_failed(step, "fargo.JobFailed", f"no job named {task_name!r} in app.py")
        return EXIT_USAGE
    try:
        event = _load_event(task_name, step)
    except ValueError as exc:
        log("error", f"FARGO_EVENT is not valid: {exc}", task=task_name, run_id=run_id,
            status="failed")
        _step_failed(step, "fargo.JobFailed", f"FARGO_EVENT is not valid: {exc}")
        return EXIT_USAGE
    if step:
        from fargo.runtime import result as step_result

        step_result.start_heartbeats()

    from fargo.runtime.context import TaskContext

    context = TaskContext(
        task_name, app.app_name, os.environ.get("FARGO_STAGE", "local"),
        attempt, run_id,
        started + timeout if timeout > 0 else None,
    )
    log("info", "started", task=task_name, run_id=run_id, attempt=context.attempt,
        event_time=event.get("time") if isinstance(event, dict) and not step else None)
    if not step and "fargo_projection" in event:  # the runner could not pass it all: say so
        log("warning", f"this run got a projection of event {event.get('id')}, not the whole "
            f"event: {event['fargo_projection']} (detail fields: "
            f"{', '.join(sorted(event.get('detail') or {})) or 'none'})", task=task_name,
            run_id=run_id)
    try:
        result = _call(definition.handler, definition.kind, event, context, step)
    except SystemExit as exc:
        if exc.code == EXIT_TERMINATED:
            _step_failed(step, "fargo.JobFailed", f"{task_name} was stopped (SIGTERM)")
            return EXIT_TERMINATED
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        log("info" if code == 0 else "error", f"exited with {code}", task=task_name,
            run_id=run_id, status="succeeded" if code == 0 else "failed")
        if code == 0 and step:
            step_result.succeed(None)
        elif code != 0:
            _step_failed(step, "fargo.JobFailed", f"{task_name} exited with {code}")
        return code
    except BaseException as exc:  # the job's own failure: logged with its traceback
        import traceback

        error = f"{type(exc).__name__}: {exc}"
        log("error", f"failed: {error}", task=task_name, run_id=run_id, status="failed",
            error=error, duration_s=round(time.monotonic() - started, 3),
            traceback=traceback.format_exc())
        _step_failed(step, "fargo.JobFailed", error)
        return EXIT_FAILED
    if step:
        refused = step_result.succeed(result)
        if refused[0] is not None:
            log("error", f"failed: {refused[1]}", task=task_name, run_id=run_id,
                status="failed", error=refused[0])
            return EXIT_FAILED
    fields: dict[str, Any] = {"duration_s": round(time.monotonic() - started, 3)}
    if result is not None:
        fields["result"] = result
    log("info", "succeeded", task=task_name, run_id=run_id, status="succeeded", **fields)
    return EXIT_OK


def run_in_lambda(event: Any, lambda_context: Any) -> Any:
    """Lambda: the job is named by FARGO_TASK; exceptions propagate so Lambda records failure.

    It writes the same started / succeeded / failed lines as a container, which is how
    `fargo history --stage` finds a Lambda job's runs in its log group.
    """
    from fargo.runtime.context import TaskContext
    from fargo.runtime.loader import find_app, import_app_module, project_root

    started = time.monotonic()
    task_name = os.environ["FARGO_TASK"]
    run_id = str(getattr(lambda_context, "aws_request_id", "") or "")
    root = os.environ.get("FARGO_PROJECT_DIR") or os.environ.get("LAMBDA_TASK_ROOT") or None
    app = find_app(import_app_module(project_root(root)))
    definition = app.tasks[task_name]
    context = TaskContext(
        task_name, app.app_name, os.environ.get("FARGO_STAGE", ""),
        int(os.environ.get("FARGO_ATTEMPT") or 1), run_id, None, lambda_context,
    )
    step = isinstance(event, dict) and event.get("fargo_step") is True
    if step:  # a workflow step (fargo's state machines wrap its input so)
        event = event.get("input")
    log("info", "started", task=task_name, run_id=run_id,
        event_time=event.get("time") if isinstance(event, dict) and not step else None)
    try:
        if definition.kind == "lambda_function" or definition.kind.startswith("chalice_"):
            result = definition.handler(event, lambda_context)
        else:
            result = _call(definition.handler, definition.kind, event, context, step)
    except BaseException as exc:
        import traceback

        error = f"{type(exc).__name__}: {exc}"
        log("error", f"failed: {error}", task=task_name, run_id=run_id, status="failed",
            error=error, duration_s=round(time.monotonic() - started, 3),
            traceback=traceback.format_exc())
        raise
    log("info", "succeeded", task=task_name, run_id=run_id, status="succeeded",
        duration_s=round(time.monotonic() - started, 3))
    return result
