"""S3 object events (Chalice's on_s3_event) as the EventBridge patterns that match them.

S3 sends the same events to EventBridge (once the bucket's EventBridge notifications are on)
under detail-types of its own; a notification type such as `s3:ObjectCreated:Put` becomes
detail-type "Object Created" with reason "PutObject". Prefix and suffix filters become one
`prefix`, `suffix` or `wildcard` filter on the object key.
"""

from __future__ import annotations

from typing import Any

# notification type -> (detail-type, extra detail filters); a `*` type covers its family.
_TYPES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "s3:ObjectCreated:*": [("Object Created", {})],
    "s3:ObjectCreated:Put": [("Object Created", {"reason": ["PutObject"]})],
    "s3:ObjectCreated:Post": [("Object Created", {"reason": ["POST Object"]})],
    "s3:ObjectCreated:Copy": [("Object Created", {"reason": ["CopyObject"]})],
    "s3:ObjectCreated:CompleteMultipartUpload": [
        ("Object Created", {"reason": ["CompleteMultipartUpload"]})],
    "s3:ObjectRemoved:*": [("Object Deleted", {"reason": ["DeleteObject"]})],
    "s3:ObjectRemoved:Delete": [("Object Deleted", {"reason": ["DeleteObject"],
                                                    "deletion-type": ["Permanently Deleted"]})],
    "s3:ObjectRemoved:DeleteMarkerCreated": [
        ("Object Deleted", {"reason": ["DeleteObject"],
                            "deletion-type": ["Delete Marker Created"]})],
    "s3:ObjectRestore:*": [("Object Restore Initiated", {}), ("Object Restore Completed", {}),
                           ("Object Restore Expired", {})],
    "s3:ObjectRestore:Post": [("Object Restore Initiated", {})],
    "s3:ObjectRestore:Completed": [("Object Restore Completed", {})],
    "s3:ObjectRestore:Delete": [("Object Restore Expired", {})],
    "s3:ObjectTagging:*": [("Object Tags Added", {}), ("Object Tags Deleted", {})],
    "s3:ObjectTagging:Put": [("Object Tags Added", {})],
    "s3:ObjectTagging:Delete": [("Object Tags Deleted", {})],
    "s3:ObjectAcl:Put": [("Object ACL Updated", {})],
    "s3:LifecycleTransition": [("Object Storage Class Changed", {})],
    "s3:IntelligentTiering": [("Object Access Tier Changed", {})],
    "s3:LifecycleExpiration:*": [("Object Deleted", {"reason": ["Lifecycle Expiration"]})],
    "s3:LifecycleExpiration:Delete": [
        ("Object Deleted", {"reason": ["Lifecycle Expiration"],
                            "deletion-type": ["Permanently Deleted"]})],
    "s3:LifecycleExpiration:DeleteMarkerCreated": [
        ("Object Deleted", {"reason": ["Lifecycle Expiration"],
                            "deletion-type": ["Delete Marker Created"]})],
}
DEFAULT_EVENTS = ("s3:ObjectCreated:*",)


def unsupported(events: list[str]) -> list[str]:
    """Notification types S3 does not send to EventBridge (replication, lost objects...)."""
    return [e for e in events if e not in _TYPES]


def _escape(text: str) -> str:
    """A literal part of a wildcard filter: `*` and `\\` are escaped."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def key_filter(prefix: str, suffix: str) -> list[Any] | None:
    if prefix and suffix:
        return [{"wildcard": f"{_escape(prefix)}*{_escape(suffix)}"}]
    if prefix:
        return [{"prefix": prefix}]
    if suffix:
        return [{"suffix": suffix}]
    return None


def s3_patterns(bucket: str, events: list[str] | None = None, prefix: str = "",
                suffix: str = "") -> list[dict[str, Any]]:
    """The EventBridge patterns that match what the S3 notification would have delivered."""
    by_filters: dict[str, list[str]] = {}
    for event in events or DEFAULT_EVENTS:
        for detail_type, extra in _TYPES.get(event, []):
            key = repr(sorted(extra.items()))
            by_filters.setdefault(key, [])
            if detail_type not in by_filters[key]:
                by_filters[key].append(detail_type)
    extras = {repr(sorted(extra.items())): extra for entries in _TYPES.values()
              for _, extra in entries}
    patterns = []
    for key, detail_types in by_filters.items():
        detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
        keys = key_filter(prefix, suffix)
        if keys is not None:
            detail["object"] = {"key": keys}
        detail.update(extras[key])
        patterns.append({"source": ["aws.s3"], "detail-type": detail_types, "detail": detail})
    return patterns


def object_created(bucket: str, key: str, size: int, etag: str, account: str, region: str,
                   event_id: str, time: str, reason: str = "PutObject") -> dict[str, Any]:
    """An "Object Created" event as S3 sends it to EventBridge (fargo up --watch-dir)."""
    return {
        "version": "0", "id": event_id, "detail-type": "Object Created", "source": "aws.s3",
        "account": account, "time": time, "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket},
                   "object": {"key": key, "size": size, "etag": etag, "sequencer": "0"},
                   "request-id": event_id[:16], "requester": account,
                   "source-ip-address": "127.0.0.1", "reason": reason},
    }
