"""S3 events for Chalice's on_s3_event handlers, whichever way they arrived.

Loaded only for S3-triggered Chalice jobs: a Fargate job gets S3's events through EventBridge,
and Chalice's S3Event reads the notification's shape.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def s3_records(event: dict[str, Any]) -> dict[str, Any]:
    """An S3 event as EventBridge delivers it, in the shape of an S3 notification (Records),
    which is what Chalice's S3Event reads. The key is URL-encoded there, as S3 encodes it."""
    from urllib.parse import quote_plus

    detail = event.get("detail") or {}
    bucket = (detail.get("bucket") or {}).get("name", "")
    obj = detail.get("object") or {}
    kind = {"Object Created": "ObjectCreated", "Object Deleted": "ObjectRemoved"}.get(
        str(event.get("detail-type")), str(event.get("detail-type", "")).replace(" ", ""))
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": event.get("region", ""),
        "eventTime": event.get("time", ""), "eventName": f"{kind}:{detail.get('reason', '')}",
        "userIdentity": {"principalId": detail.get("requester", "")},
        "requestParameters": {"sourceIPAddress": detail.get("source-ip-address", "")},
        "responseElements": {"x-amz-request-id": detail.get("request-id", "")},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "eventbridge",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(str(obj.get("key", "")), safe="/"),
                          "size": obj.get("size", 0), "eTag": obj.get("etag", ""),
                          "sequencer": obj.get("sequencer", "")}}}]}
