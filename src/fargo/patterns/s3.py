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
# Types a bucket notification takes that S3 does not send to EventBridge (Lambda only).
_NOTIFICATION_ONLY = ("s3:ReducedRedundancyLostObject", "s3:Replication:*",
                      "s3:Replication:OperationFailedReplication",
                      "s3:Replication:OperationNotTracked",
                      "s3:Replication:OperationMissedThreshold",
                      "s3:Replication:OperationReplicatedAfterThreshold")
KNOWN_EVENTS = (*_TYPES, *_NOTIFICATION_ONLY)
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_problems(bucket: str) -> list[str]:
    """Why S3 would refuse the bucket name (beyond 3-63 lowercase letters, digits, '.', '-')."""
    import ipaddress

    found = []
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        found.append(f"bucket {bucket!r}: S3 bucket names have no '..', '.-' or '-.'")
    try:
        ipaddress.IPv4Address(bucket)
        found.append(f"bucket {bucket!r}: an S3 bucket name is not an IP address")
    except ValueError:
        pass
    for prefix in _BUCKET_PREFIXES:
        if bucket.startswith(prefix):
            found.append(f"bucket {bucket!r}: S3 bucket names do not start with {prefix!r}")
    for suffix in _BUCKET_SUFFIXES:
        if bucket.endswith(suffix):
            found.append(f"bucket {bucket!r}: S3 bucket names do not end with {suffix!r} "
                         "(reserved for access points and directory buckets)")
    return found


def unknown_events(events: list[str]) -> list[str]:
    return [e for e in events if e not in KNOWN_EVENTS]


def _types_overlap(a: str, b: str) -> bool:
    if a == b:
        return True
    family_a, family_b = a.rsplit(":", 1)[0], b.rsplit(":", 1)[0]
    return family_a == family_b and (a.endswith(":*") or b.endswith(":*"))


def _affix_overlap(a: str, b: str, prefix: bool) -> bool:
    if not a or not b:
        return True
    return (a.startswith(b) or b.startswith(a)) if prefix else (a.endswith(b) or b.endswith(a))


def overlapping(triggers: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """S3 refuses a bucket's notification configuration when two of its configurations share
    an event type and their prefix and suffix filters could both match one key."""
    found = []
    for i, (job_a, a) in enumerate(triggers):
        for job_b, b in triggers[i + 1:]:
            if a["bucket"] != b["bucket"]:
                continue
            shared = [(x, y) for x in (a.get("events") or DEFAULT_EVENTS)
                      for y in (b.get("events") or DEFAULT_EVENTS) if _types_overlap(x, y)]
            if shared and _affix_overlap(str(a.get("prefix") or ""), str(b.get("prefix") or ""),
                                         True) and _affix_overlap(
                    str(a.get("suffix") or ""), str(b.get("suffix") or ""), False):
                x, y = shared[0]
                found.append(
                    f"{job_a} and {job_b} both take {x}{'' if x == y else f' / {y}'} from "
                    f"bucket {a['bucket']!r} with prefix/suffix filters that overlap: S3 refuses "
                    "overlapping notifications for one event type; give them prefixes or "
                    "suffixes that cannot both match a key, or start one job from the other")
    return found


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
