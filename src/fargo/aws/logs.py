"""Read a deployed job's logs: one run's stream as it is written, or a search over a period."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from fargo.aws.session import AwsFailed, aws_errors, client
from fargo.project import names
from fargo.project.model import Project, TaskSpec


def follow_stream(project: Project, log_group: str, stream: str,
                  stop: Callable[[], bool], poll: float) -> Iterator[str]:
    """Yield log lines of one stream as they arrive until `stop()` says so (then drain)."""
    logs = client("logs", project.stage.aws_region)
    token: str | None = None
    finishing = False
    while True:
        params: dict[str, Any] = {"logGroupName": log_group, "logStreamName": stream,
                                  "startFromHead": True}
        if token:
            params["nextToken"] = token
        try:
            with aws_errors("reading logs"):
                page = logs.get_log_events(**params)
        except AwsFailed as exc:
            if "ResourceNotFoundException" not in str(exc):
                raise
            page = {"events": [], "nextForwardToken": token}
        for event in page.get("events", []):
            yield str(event["message"])
        new_token = page.get("nextForwardToken")
        if finishing and (not page.get("events") or new_token == token):
            return
        token = new_token
        if stop():
            finishing = True
            continue
        time.sleep(poll)


def search_logs(project: Project, spec: TaskSpec, since_ms: int, pattern: str | None,
                task: str | None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"logGroupName": spec.log_group, "startTime": since_ms,
                              "interleaved": True}
    if pattern:
        params["filterPattern"] = pattern
    if task:
        params["logStreamNames"] = [names.log_stream(task)]
    events: list[dict[str, Any]] = []
    with aws_errors(f"reading {spec.log_group}"):
        paginator = client("logs", project.stage.aws_region).get_paginator("filter_log_events")
        for page in paginator.paginate(**params):
            events.extend(page.get("events", []))
    return sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", "")))
