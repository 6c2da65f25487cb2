"""Run one job: resolve its handler, build the event, enforce the timeout, map outcomes to exits.

Exit codes: 0 succeeded, 1 the handler raised, 124 timed out, 2 the job could not be found or
the event is not valid JSON, 143 stopped by SIGTERM. Only the path every run takes lives here
(every start compiles or loads it); failures, Lambda and S3 shapes load when they are needed.
"""

from __future__ import annotations

import _thread
import gc
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
from fargo.runtime.jsonl import log

TYPE_CHECKING = False  # `typing` costs milliseconds at every job start; mypy reads this as usual
if TYPE_CHECKING:
    import signal
    from typing import Any
else:
    try:  # the C module: `signal` wraps it in enums, and `enum` costs a millisecond per start
        import _signal as signal
    except ImportError:  # pragma: no cover - other interpreters
        import signal


def call_handler(handler: Any, kind: str, event_dict: Any, context: Any, step: bool = False) -> Any:
    """Call the handler the way Chalice would: (event) or (event, context). A workflow step
    gets the previous step's result itself as its event."""
    if kind == "chalice_on_s3_event" and not step and "Records" not in event_dict:
        from fargo.runtime.s3event import s3_records

        event_dict = s3_records(event_dict)  # from EventBridge: the notification's shape
    if kind == "lambda_function" or kind.startswith("chalice_"):
        return handler(event_dict, context)
    from fargo.runtime.event import CloudWatchEvent

    event = event_dict if step else CloudWatchEvent(event_dict, context)
    code = getattr(handler, "__code__", None)
    if code is not None and not getattr(handler, "__wrapped__", None):
        positional = code.co_argcount - (1 if hasattr(handler, "__self__") else 0)
        if positional >= 2 or code.co_flags & 0x04:  # 0x04: *args
            return handler(event, context)
        return handler() if positional == 0 else handler(event)
    import inspect

    try:
        params = inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return handler(event)
    return handler(event, context) if len(params) >= 2 else handler(event)


def _load_event(step: bool = False) -> Any:
    """The run's event: a scheduled event filled in from FARGO_EVENT, or for a workflow step
    the previous step's result exactly as it returned it (any JSON value). Records (SQS, SNS,
    streams, S3 notifications) come as they are, as Lambda passes them."""
    from fargo.runtime.event import scheduled_event

    raw = os.environ.get("FARGO_EVENT")
    path = os.environ.get("FARGO_EVENT_FILE")
    if path and raw is None:  # events too large for the environment come as a file
        try:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"FARGO_EVENT_FILE {path} cannot be read: {exc}") from None
    overrides: dict[str, Any] = {}
    if raw:
        from fargo.runtime.eventjson import parse_event

        if step:
            return parse_event(raw, step)
        overrides = parse_event(raw)
        if isinstance(overrides.get("Records"), list) and not {"source", "detail"} & set(
                overrides):
            return overrides  # a queue's, topic's, stream's or bucket's records: Lambda's shape
    when = os.environ.get("FARGO_SCHEDULED_TIME")
    if when and "time" not in overrides:
        overrides["time"] = when
    return scheduled_event(overrides)


def _watchdog(seconds: float, task: str, run_id: str, step: bool = False) -> None:
    def watch() -> None:  # a bare thread (no `threading` import): it sleeps, then ends the job
        time.sleep(seconds)
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


def _run(task_name: str, run_id: str, started: float, timeout: float, attempt: int,
         step: bool) -> int:
    def on_term(signum: int, frame: Any) -> None:
        log("error", "stopped by SIGTERM", task=task_name, run_id=run_id, status="terminated")
        raise SystemExit(EXIT_TERMINATED)

    signal.signal(signal.SIGTERM, on_term)

    from fargo.runtime.loader import AppNotFound, find_app, import_app_module, project_root

    # What is loaded so far (the interpreter's own modules and the runtime) lives as long as the
    # process: no collection need scan it again, not even the ones at exit. The project's code
    # is collected as in any interpreter.
    gc.freeze()
    gc.enable()  # __main__ held it off while the runtime loaded

    try:
        app = find_app(import_app_module(project_root()))
    except AppNotFound as exc:
        from fargo.runtime import failures as fail

        return fail.refuse(EXIT_USAGE, str(exc), task_name, run_id, step)
    except Exception:
        from fargo.runtime import failures as fail

        return fail.import_failed(task_name, run_id, step)
    definition = app.tasks.get(task_name)
    if definition is None:
        from fargo.runtime import failures as fail

        return fail.no_such_job(task_name, sorted(app.tasks), run_id, step)
    try:
        event = _load_event(step)
    except ValueError as exc:
        from fargo.runtime import failures as fail

        return fail.refuse(EXIT_USAGE, f"FARGO_EVENT is not valid: {exc}", task_name, run_id,
                           step)
    if step:
        from fargo.runtime import result as step_result

        step_result.start_heartbeats()

    from fargo.runtime.context import TaskContext

    context = TaskContext(task_name, app.app_name, os.environ.get("FARGO_STAGE", "local"),
                          attempt, run_id, started + timeout if timeout > 0 else None)
    log("info", "started", task=task_name, run_id=run_id, attempt=attempt,
        event_time=None if step or not isinstance(event, dict) else event.get("time"))
    if not step and "fargo_projection" in event:  # the runner could not pass it all
        from fargo.runtime import failures as fail

        fail.projection_notice(event, task_name, run_id)
    try:
        result = call_handler(definition.handler, definition.kind, event, context, step)
    except SystemExit as exc:
        from fargo.runtime import failures as fail

        return fail.exited(exc, task_name, run_id, step)
    except BaseException as exc:  # the job's own failure: logged with its traceback
        from fargo.runtime import failures as fail

        return fail.raised(exc, task_name, run_id, step, started)
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
