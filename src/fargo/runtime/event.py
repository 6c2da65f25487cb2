"""Scheduled events shaped like Chalice's CloudWatchEvent, so handler bodies need no change."""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # `typing` costs milliseconds at every job start; mypy reads this as usual
if TYPE_CHECKING:
    from typing import Any


class CloudWatchEvent:
    """The event a scheduled handler receives (same attributes as chalice.app.CloudWatchEvent)."""

    def __init__(self, event_dict: dict[str, Any], context: Any = None) -> None:
        self._event_dict = event_dict
        self.context = context
        self.version = event_dict.get("version", "0")
        self.account = event_dict.get("account", "")
        self.region = event_dict.get("region", "")
        self.detail = event_dict.get("detail", {})
        self.detail_type = event_dict.get("detail-type", "Scheduled Event")
        self.source = event_dict.get("source", "aws.events")
        self.time = event_dict.get("time", "")
        self.event_id = event_dict.get("id", "")
        self.id = self.event_id
        self.resources = event_dict.get("resources", [])

    def to_dict(self) -> dict[str, Any]:
        return self._event_dict

    def __repr__(self) -> str:
        return f"CloudWatchEvent(id={self.id!r}, time={self.time!r}, detail={self.detail!r})"


def scheduled_event(overrides: dict[str, Any] | None = None,
                    when: float | None = None) -> dict[str, Any]:
    """A complete scheduled-event dict; keys given in `overrides` win."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if when is None else when))
    event: dict[str, Any] = {
        "version": "0",
        "id": _uuid4(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": os.environ.get("AWS_ACCOUNT_ID", "000000000000"),
        "time": stamp,
        "region": os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        "resources": [],
        "detail": {},
    }
    if overrides:
        event.update(overrides)
    return event


def _uuid4() -> str:
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
