"""A chalice.Chalice app seen as a fargo App: loaded only when a project's app.py has one.

Kept out of fargo.app, which every job imports: most projects never need it.
"""

from __future__ import annotations

from fargo.app import App, TaskDefinition, _schedule_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from fargo.app import Kind


SOURCES = {"SNSEventConfig": "on_sns_message", "SQSEventConfig": "on_sqs_message",
           "DynamoDBEventConfig": "on_dynamodb_record", "KinesisEventConfig": "on_kinesis_record"}
KINDS: dict[str, Kind] = {
    "SNSEventConfig": "chalice_on_sns_message", "SQSEventConfig": "chalice_on_sqs_message",
    "DynamoDBEventConfig": "chalice_on_dynamodb_record",
    "KinesisEventConfig": "chalice_on_kinesis_record"}


def _event_source(kind: str, source: Any) -> dict[str, Any]:
    """A Chalice event source as the job's `event_sources` entry (project/sources.py)."""
    if kind == "SNSEventConfig":
        return {"type": "sns", "topic": source.topic}
    batching = {"batch_size": source.batch_size,
                "batch_window": source.maximum_batching_window_in_seconds or 0}
    if kind == "SQSEventConfig":
        entry = {"type": "sqs", "queue": source.queue_arn or source.queue, **batching}
        if getattr(source, "maximum_concurrency", None):
            entry["maximum_concurrency"] = source.maximum_concurrency
        return entry
    stream = source.stream_arn if kind == "DynamoDBEventConfig" else source.stream
    return {"type": "dynamodb" if kind == "DynamoDBEventConfig" else "kinesis",
            "stream": stream, "starting_position": source.starting_position, **batching}


def from_chalice(chalice_app: Any) -> App:
    """A fargo App over a chalice.Chalice app: its scheduled, CloudWatch-event, S3-event, SNS,
    SQS, DynamoDB- and Kinesis-stream and pure Lambda functions become jobs, and each is called
    exactly as Chalice calls it, through Chalice's own handler object (so handlers receive
    Chalice's own event classes).
    """
    app = App(chalice_app.app_name)
    for source in getattr(chalice_app, "event_sources", []):
        kind = type(source).__name__
        handler = chalice_app.handler_map.get(source.name)
        if handler is None:
            continue
        if kind not in ("ScheduledEventConfig", "CloudWatchEventConfig", "S3EventConfig",
                        *SOURCES):
            app.left_out.append((source.name, kind))
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
        elif kind in SOURCES:
            app._record(TaskDefinition(source.name, handler, KINDS[kind], {
                "compute": "lambda", "event_sources": [_event_source(kind, source)]}))
    for route, config in sorted((getattr(chalice_app, "websocket_handlers", None) or {}).items()):
        app.left_out.append((str(getattr(config, "name", route)), f"websocket handler of {route}"))
    for function in getattr(chalice_app, "pure_lambda_functions", []):
        handler = chalice_app.handler_map.get(function.name)
        if handler is not None:
            app._record(TaskDefinition(function.name, handler, "chalice_lambda_function",
                                       {"compute": "lambda"}))
    return app
