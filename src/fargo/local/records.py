"""Messages and stream records delivered locally in the shapes Lambda gives them: what an SNS
topic, an SQS queue or a DynamoDB or Kinesis stream hands a function (its `Records` event).

`fargo emit --sqs QUEUE BODY` (and --sns, --kinesis, --dynamodb) puts one in fargo up's inbox;
fargo up starts every job whose `event_sources` name that source, once, through the inbox's
exactly-once claim. Names and ARNs are matched by name, in the local account.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

LOCAL_ACCOUNT = "000000000000"
SOURCES = ("sns", "sqs", "kinesis", "dynamodb")
DELIVERY = "fargo_delivery"  # the inbox item's key that holds a delivery


def arn(kind: str, target: str, region: str) -> str:
    """The source's ARN: as given when it is one, else built in the local account."""
    if target.startswith("arn:"):
        return target
    service, resource = {"sns": ("sns", target), "sqs": ("sqs", target),
                         "kinesis": ("kinesis", f"stream/{target}")}.get(kind, (kind, target))
    return f"arn:aws:{service}:{region}:{LOCAL_ACCOUNT}:{resource}"


def name_of(kind: str, target: str) -> str:
    """What a source is matched by: its name (a DynamoDB stream: its table/stream ARN path)."""
    if kind == "dynamodb":
        return target.split(":", 5)[-1] if target.startswith("arn:") else target
    last = target.rsplit(":", 1)[-1] if target.startswith("arn:") else target
    return last.removeprefix("stream/")


def delivery(kind: str, target: str, body: str, region: str,
             now: float | None = None) -> dict[str, Any]:
    """The inbox item: an id of its own, and the event Lambda would pass the function."""
    stamp = time.time() if now is None else now
    source_arn = arn(kind, target, region)
    record = {"sns": _sns, "sqs": _sqs, "kinesis": _kinesis, "dynamodb": _dynamodb}[kind](
        source_arn, body, region, stamp)
    return {"id": str(uuid.uuid4()), "source": f"aws.{kind}", "detail-type": f"{kind} record",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)),
            DELIVERY: {"type": kind, "target": target, "event": {"Records": [record]}}}


def body_problems(kind: str, body: str) -> list[str]:
    """What the service itself would refuse of the body."""
    if kind == "sqs" and len(body.encode()) > 256 * 1024:
        return ["an SQS message is at most 256 KiB"]
    if kind == "sns" and len(body.encode()) > 256 * 1024:
        return ["an SNS message is at most 256 KiB"]
    if kind == "kinesis" and len(body.encode()) > 1024 * 1024:
        return ["a Kinesis record's data is at most 1 MiB"]
    if kind == "dynamodb":
        try:
            image = json.loads(body)
        except ValueError:
            image = None
        if not isinstance(image, dict):
            return ["a DynamoDB record is the stream record's `dynamodb` object as JSON "
                    "(Keys, NewImage, OldImage in DynamoDB's typed JSON: {\"id\": {\"S\": \"1\"}})"]
    return []


def delivered_to(sources: tuple[Mapping[str, Any], ...], item: Mapping[str, Any]) -> bool:
    """Whether a job with these event_sources is invoked by the delivery."""
    kind, target = str(item.get("type")), str(item.get("target"))
    for source in sources:
        given = str(source.get("topic") or source.get("queue") or source.get("stream") or "")
        if source.get("type") == kind and name_of(kind, given) == name_of(kind, target):
            return True
    return False


def _sqs(source_arn: str, body: str, region: str, stamp: float) -> dict[str, Any]:
    millis = str(int(stamp * 1000))
    return {"messageId": str(uuid.uuid4()), "receiptHandle": uuid.uuid4().hex, "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": millis,
                           "SenderId": LOCAL_ACCOUNT, "ApproximateFirstReceiveTimestamp": millis},
            "messageAttributes": {}, "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs", "eventSourceARN": source_arn, "awsRegion": region}


def _sns(source_arn: str, body: str, region: str, stamp: float) -> dict[str, Any]:
    del region
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stamp))
    return {"EventSource": "aws:sns", "EventVersion": "1.0",
            "EventSubscriptionArn": f"{source_arn}:{uuid.uuid4()}",
            "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()),
                    "TopicArn": source_arn, "Subject": None, "Message": body,
                    "Timestamp": when, "SignatureVersion": "1", "Signature": "",
                    "SigningCertUrl": "", "UnsubscribeUrl": "", "MessageAttributes": {}}}


def _kinesis(source_arn: str, body: str, region: str, stamp: float) -> dict[str, Any]:
    sequence = str(int(stamp * 1_000_000))
    return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "1",
                        "sequenceNumber": sequence,
                        "data": base64.b64encode(body.encode()).decode(),
                        "approximateArrivalTimestamp": round(stamp, 3)},
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": f"shardId-000000000000:{sequence}", "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{LOCAL_ACCOUNT}:role/local",
            "awsRegion": region, "eventSourceARN": source_arn}


def _dynamodb(source_arn: str, body: str, region: str, stamp: float) -> dict[str, Any]:
    given = json.loads(body)
    change = {"ApproximateCreationDateTime": int(stamp), "SequenceNumber": str(int(stamp * 1e6)),
              "SizeBytes": len(body.encode()), "StreamViewType": "NEW_AND_OLD_IMAGES", **given}
    name = "REMOVE" if "OldImage" in given and "NewImage" not in given else (
        "MODIFY" if "OldImage" in given else "INSERT")
    return {"eventID": uuid.uuid4().hex, "eventName": name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": region, "dynamodb": change,
            "eventSourceARN": source_arn}
