"""A job on Lambda: `fargo.runtime.lambda_handler` runs the job FARGO_TASK names.

Loaded only there: a container's start never compiles or loads it. The project's app.py is
imported once per execution environment, at its first invocation, and kept for the warm ones
that follow, as Chalice's handler keeps its app: what app.py and chalicelib/ set up when they
are imported (clients, connections, caches) is made once, not at every invocation.
"""

from __future__ import annotations

import os
import time

from fargo.runtime.jsonl import log
from fargo.runtime.run import call_handler

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


_APP: Any = None  # the project's App, once imported in this execution environment


def _app() -> Any:
    global _APP
    if _APP is None:
        from fargo.runtime.loader import find_app, import_app_module, project_root

        root = os.environ.get("FARGO_PROJECT_DIR") or os.environ.get("LAMBDA_TASK_ROOT") or None
        _APP = find_app(import_app_module(project_root(root)))
    return _APP


def run_in_lambda(event: Any, lambda_context: Any) -> Any:
    """Lambda: the job is named by FARGO_TASK; exceptions propagate so Lambda records failure.

    It writes the same started / succeeded / failed lines as a container, which is how
    `fargo history --stage` finds a Lambda job's runs in its log group.
    """
    from fargo.runtime.context import TaskContext

    started = time.monotonic()
    task_name = os.environ["FARGO_TASK"]
    run_id = str(getattr(lambda_context, "aws_request_id", "") or "")
    app = _app()
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
