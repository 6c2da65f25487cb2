"""A job on Lambda: `fargo.runtime.lambda_handler` runs the job FARGO_TASK names.

Loaded only there: a container's start never compiles or loads it.
"""

from __future__ import annotations

import os
import time

from fargo.runtime.jsonl import log
from fargo.runtime.run import call_handler

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
            result = call_handler(definition.handler, definition.kind, event, context, step)
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
