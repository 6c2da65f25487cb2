"""What invokes a Lambda job besides its schedule: SNS topics, SQS queues, DynamoDB and Kinesis
streams (Chalice's on_sns_message, on_sqs_message, on_dynamodb_record, on_kinesis_record).

One home for their defaults (Chalice's) and for the rules SNS's Subscribe and Lambda's
CreateEventSourceMapping apply, so a source AWS would refuse is refused before a deploy.
"""

from __future__ import annotations

import re
from typing import Any

ARN = r"arn:aws[a-z-]*:{service}:[a-z]{{2}}(-[a-z]+)+-\d:\d{{12}}:{resource}"
TOPIC = r"[A-Za-z0-9_-]{1,256}(\.fifo)?"
QUEUE = r"[A-Za-z0-9_-]{1,75}(\.fifo)?|[A-Za-z0-9_-]{1,80}"
STREAM = r"[A-Za-z0-9_.-]{1,128}"
TABLE_STREAM = r"table/[A-Za-z0-9_.-]{3,255}/stream/[A-Za-z0-9_.:-]+"
_STREAM_DEFAULTS = {"batch_size": 100, "batch_window": 0, "starting_position": "LATEST"}
DEFAULTS: dict[str, dict[str, Any]] = {"sqs": {"batch_size": 1, "batch_window": 0},
                                       "dynamodb": _STREAM_DEFAULTS, "kinesis": _STREAM_DEFAULTS}


def with_defaults(source: dict[str, Any]) -> dict[str, Any]:
    """The source with Chalice's defaults filled in (SQS: one message a batch; streams: 100
    records from the latest)."""
    return {**DEFAULTS.get(str(source.get("type")), {}),
            **{k: v for k, v in source.items() if v is not None}}


def target(source: dict[str, Any]) -> str:
    """The topic, queue or stream as written (a name or an ARN)."""
    return str(source.get("topic") or source.get("queue") or source.get("stream") or "")


def source_problems(source: dict[str, Any]) -> list[str]:
    kind = source.get("type")
    name = target(source)
    found: list[str] = []
    if kind == "sns":
        if not (_full(TOPIC, name) or _full(ARN.format(service="sns", resource=TOPIC), name)):
            found.append(f"topic {name!r} is neither an SNS topic name (1-256 letters, digits, "
                         "'-' and '_') nor a topic ARN")
        elif name.endswith(".fifo"):
            found.append(f"topic {name!r} is a FIFO topic, and SNS delivers FIFO topics to SQS "
                         "queues only: subscribe a FIFO queue and let it invoke the job")
        return found
    if kind == "sqs":
        if not (_full(QUEUE, name) or _full(ARN.format(service="sqs", resource=QUEUE), name)):
            found.append(f"queue {name!r} is neither an SQS queue name (1-80 letters, digits, "
                         "'-' and '_', a FIFO queue's ending in .fifo) nor a queue ARN")
        size, window = source.get("batch_size", 1), source.get("batch_window", 0)
        if name.endswith(".fifo") and isinstance(size, int) and size > 10:
            found.append(f"batch_size {size}: Lambda takes at most 10 messages a batch from a "
                         "FIFO queue")
        elif isinstance(size, int) and size > 10 and not window:
            found.append(f"batch_size {size} needs batch_window of at least 1 second: Lambda "
                         "refuses a batch over 10 messages without a batching window")
    elif kind == "dynamodb":
        if not _full(ARN.format(service="dynamodb", resource=TABLE_STREAM), name):
            found.append(f"stream {name!r} is not a DynamoDB stream ARN "
                         "(arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE/stream/LABEL)")
    elif kind == "kinesis" and not (
            _full(STREAM, name)
            or _full(ARN.format(service="kinesis", resource="stream/" + STREAM), name)):
        found.append(f"stream {name!r} is neither a Kinesis stream name (1-128 letters, "
                     "digits, '.', '-' and '_') nor a stream ARN")
    return found


def duplicates(sources: list[dict[str, Any]]) -> list[str]:
    """Lambda maps a queue or stream to a function once, and SNS subscribes it to a topic once."""
    seen: set[tuple[str, str]] = set()
    repeated: list[str] = []
    for source in sources:
        key = (str(source.get("type")), target(source))
        if key in seen:
            repeated.append(f"{key[0]} {key[1]!r} is given twice; Lambda invokes the job once "
                            "per source")
        seen.add(key)
    return repeated


def _full(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None
