"""Events handed to a running `fargo up` (`fargo emit`, `--watch-dir`): a spool directory.

An event is one JSON file under .fargo/local/inbox/, written whole by a rename, then the
scheduler is woken with SIGUSR1. The scheduler records the event (its id, once) in the run
store in the same transaction as the runs it starts, and only then deletes the file: a crash in
between leaves a file whose id is already recorded, which is dropped on the next start. So
every event starts its jobs exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from fargo.files import write_atomic
from fargo.project.paths import ProjectPaths

# A PutEvents entry holds at most 256 KB (EventBridge quotas); the same limit applies here.
EVENT_MAX_BYTES = 256 * 1024
WAKE_SIGNAL = signal.SIGUSR1


def envelope(given: dict[str, Any], source: str | None, detail_type: str | None,
             account: str, region: str, now: float | None = None) -> dict[str, Any]:
    """The event as EventBridge delivers it: PutEvents fields plus id, time, account, region.

    `given` is either a whole event (it has `source`, `detail-type` or `detail`) or only its
    detail. --source/--detail-type win over the event's own fields.
    """
    whole = bool({"source", "detail-type", "detail"} & set(given))
    event: dict[str, Any] = dict(given) if whole else {"detail": given}
    if source is not None:
        event["source"] = source
    if detail_type is not None:
        event["detail-type"] = detail_type
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))
    filled: dict[str, Any] = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": None, "source": None,
        "account": account, "time": stamp, "region": region, "resources": [], "detail": {}}
    filled.update(event)
    return filled


# Fields EventBridge sets itself: a PutEvents entry has no place for them.
SET_BY_EVENTBRIDGE = ("id", "account", "version", "region")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$")


def caller_problems(given: dict[str, Any]) -> list[str]:
    """What a caller may not set: the fields EventBridge fills in, a time that is no instant."""
    whole = bool({"source", "detail-type", "detail"} & set(given))
    if not whole:
        return []
    problems = [f"the event sets {key!r}: EventBridge sets it (PutEvents takes Source, "
                "DetailType, Detail, Resources and Time only); leave it out"
                for key in SET_BY_EVENTBRIDGE if key in given]
    stamp = given.get("time")
    if "time" in given and not (isinstance(stamp, str) and _TIME.match(stamp)):
        problems.append(f"time {stamp!r} is not an RFC 3339 instant such as "
                        "2026-12-07T06:30:00Z")
    return problems


def envelope_problems(event: dict[str, Any]) -> list[str]:
    """What PutEvents would refuse: no source or detail-type, a detail that is not an object,
    more than 256 KB."""
    problems = []
    for key, option in (("source", "--source"), ("detail-type", "--detail-type")):
        value = event.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"the event has no {key}: give {option} or a {key!r} key")
    if not isinstance(event.get("detail"), dict):
        problems.append("detail must be a JSON object")
    if not isinstance(event.get("resources"), list) or not all(
            isinstance(r, str) for r in event.get("resources", [])):
        problems.append("resources must be a list of strings (ARNs)")
    try:
        json.dumps(event, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        problems.append("the event holds a lone surrogate (\\ud800-\\udfff alone), which is "
                        "not UTF-8: EventBridge refuses it")
    size = len(json.dumps(event).encode())
    if size > EVENT_MAX_BYTES:
        problems.append(f"the event is {size} bytes; EventBridge accepts at most "
                        f"{EVENT_MAX_BYTES} (256 KB)")
    return problems


def inbox_dir(root: Path) -> Path:
    return ProjectPaths(root).local / "inbox"


def post(root: Path, event: dict[str, Any]) -> Path:
    """Put the event in the inbox; the name sorts in arrival order, and no part of it comes
    from the event (a caller's string never becomes a path)."""
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
    path = inbox_dir(root) / name
    write_atomic(path, json.dumps(event).encode())
    return path


def waiting(root: Path) -> list[Path]:
    """Event files not yet taken, oldest first (temporary files of a write are not events)."""
    try:
        names = sorted(e.name for e in os.scandir(inbox_dir(root))
                       if e.name.endswith(".json") and not e.name.startswith("."))
    except FileNotFoundError:
        return []
    return [inbox_dir(root) / name for name in names]


def running_scheduler(root: Path) -> int | None:
    """The pid of the fargo up running for this project, or None when none is."""
    lock = ProjectPaths(root).up_lock
    try:
        handle = open(lock)  # noqa: SIM115 - closed below
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: a fargo up is running
            text = handle.read().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def wake(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, WAKE_SIGNAL)
