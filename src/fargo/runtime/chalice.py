"""A chalice.Chalice app seen as a fargo App: loaded only when a project's app.py has one.

Kept out of fargo.app, which every job imports: most projects never need it.
"""

from __future__ import annotations

from fargo.app import App, TaskDefinition, _schedule_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def from_chalice(chalice_app: Any) -> App:
    """A fargo App over a chalice.Chalice app: its scheduled, CloudWatch-event, S3-event and pure
    Lambda functions become jobs, and each is called exactly as Chalice calls it, through
    Chalice's own handler object (so handlers receive Chalice's own event classes).
    """
    app = App(chalice_app.app_name)
    for source in getattr(chalice_app, "event_sources", []):
        kind = type(source).__name__
        handler = chalice_app.handler_map.get(source.name)
        if handler is None:
            continue
        if kind == "ScheduledEventConfig":
            settings: dict[str, Any] = {
                "schedule": _schedule_text(source.schedule_expression), "compute": "lambda"}
            if getattr(source, "description", None):
                settings["description"] = source.description
            app._record(TaskDefinition(source.name, handler, "chalice_schedule", settings))
        elif kind == "CloudWatchEventConfig":
            pattern = getattr(source, "event_pattern", None)
            app._record(TaskDefinition(source.name, handler, "chalice_on_cw_event", {
                "compute": "lambda", **({"events": [pattern]} if pattern else {})}))
        elif kind == "S3EventConfig":
            trigger = {"bucket": source.bucket, "events": list(source.events or [])}
            trigger.update({k: getattr(source, k) for k in ("prefix", "suffix")
                            if getattr(source, k, None)})
            app._record(TaskDefinition(source.name, handler, "chalice_on_s3_event", {
                "compute": "lambda", "s3": [trigger]}))
    for function in getattr(chalice_app, "pure_lambda_functions", []):
        handler = chalice_app.handler_map.get(function.name)
        if handler is not None:
            app._record(TaskDefinition(function.name, handler, "chalice_lambda_function",
                                       {"compute": "lambda"}))
    return app
