"""The deadline check of the stage's watchdog: no server watches a deployed stage, so the
watchdog (run every few minutes) asks, for every job and workflow with a `deadline`, whether
each slot whose deadline passed since its last run has succeeded, and alerts once per slot
that has not.

Evidence of success, per way the job runs: a stopped task of the job with exit 0 and the
slot's scheduled time (the _runs records), the runner's succeeded execution for the slot, a
Lambda job's `succeeded` line for the slot in its log, a workflow's succeeded execution that
started within 15 minutes of the slot. A paused schedule's slots are not checked.

This file goes into the watchdog's zip with fargo's schedule engine (standard library) and
needs only boto3 besides, which Lambda provides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from fargo.schedule.deadlines import Deadline, slots_due
from fargo.schedule.expressions import Rate, parse

WORKFLOW_MATCH_SECONDS = 900  # a workflow's execution belongs to the latest slot this close
ENGINE_VARIABLE = "FARGO_SCHEDULED_TIME"


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _log_lines(logs: Any, group: str, start: datetime, end: datetime) -> Iterable[Any]:
    """The JSON messages of a log group in [start, end]; none when the group is absent."""
    try:
        for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, startTime=_ms(start), endTime=_ms(end)):
            for event in page.get("events", []):
                try:
                    yield json.loads(event["message"]), event.get("timestamp")
                except (ValueError, TypeError):
                    continue
    except logs.exceptions.ResourceNotFoundException:
        return


def _task_succeeded(detail: Mapping[str, Any], slot: datetime, due: datetime) -> bool:
    if detail.get("lastStatus") != "STOPPED":
        return False
    given = {str(i.get("name")): i.get("value")
             for o in (detail.get("overrides") or {}).get("containerOverrides", [])
             for i in o.get("environment", [])}
    if _instant(given.get(ENGINE_VARIABLE)) != slot:
        return False
    exits = [c.get("exitCode") for c in detail.get("containers", []) if c.get("name") == "job"]
    stopped = _instant(detail.get("stoppedAt"))
    return exits == [0] and stopped is not None and stopped <= due


def _execution_succeeded(detail: Mapping[str, Any], job: str, slot: datetime,
                         due: datetime) -> bool:
    if detail.get("status") != "SUCCEEDED":
        return False
    try:
        given = json.loads(detail.get("input") or "{}")
        result = json.loads(detail.get("output") or "null") or {}
    except (ValueError, TypeError):
        return False
    if not isinstance(given, dict) or given.get("job") != job:
        return False
    if isinstance(result, dict) and result.get("status") == "skipped":
        return False  # skipped by overlap: the slot did not produce a success
    stopped = _instant(detail.get("stopDate"))
    return _instant(given.get("scheduled_time")) == slot and stopped is not None \
        and stopped <= due


class Evidence:
    """What the stage's records say, read once per watchdog run for all checks."""

    def __init__(self, clients: Mapping[str, Any], runs_group: str, prefix: str,
                 since: datetime, until: datetime) -> None:
        self.clients = clients
        self.prefix = prefix
        self.since, self.until = since, until
        self._runs: list[Mapping[str, Any]] | None = None
        self.runs_group = runs_group

    def runs(self) -> list[Mapping[str, Any]]:
        if self._runs is None:
            self._runs = [r for r, _ in _log_lines(self.clients["logs"], self.runs_group,
                                                   self.since, self.until)
                          if isinstance(r, dict)]
        return self._runs

    def succeeded(self, check: Mapping[str, Any], slot: datetime, due: datetime) -> bool:
        source, name = check["source"], check["name"]
        if source == "ecs":
            group = f"family:{self.prefix}-{name}"
            return any(r.get("source") == "aws.ecs" and r.get("detail", {}).get("group") == group
                       and _task_succeeded(r["detail"], slot, due) for r in self.runs())
        if source == "runner":
            return any(r.get("source") == "aws.states"
                       and _execution_succeeded(r.get("detail", {}), name, slot, due)
                       for r in self.runs())
        if source == "lambda":
            for line, _ in _log_lines(self.clients["logs"], f"/aws/lambda/{self.prefix}-"
                                          f"{name}", slot - timedelta(minutes=1), due):
                if isinstance(line, dict) and line.get("status") == "succeeded" \
                        and _instant(line.get("event_time")) == slot:
                    return True
            return False
        if source == "workflow":
            pages = self.clients["states"].get_paginator("list_executions").paginate(
                stateMachineArn=check["state_machine"], statusFilter="SUCCEEDED")
            for page in pages:
                for execution in page.get("executions", []):
                    started = _instant(execution.get("startDate"))
                    stopped = _instant(execution.get("stopDate"))
                    if started is not None and stopped is not None and slot <= started \
                            <= slot + timedelta(seconds=WORKFLOW_MATCH_SECONDS) \
                            and stopped <= due:
                        return True
            return False
        raise ValueError(f"unknown deadline source {source!r}")


def _paused(clients: Mapping[str, Any], check: Mapping[str, Any], prefix: str) -> bool:
    """Whether the schedule is paused now (fargo pause): its slots are owed nothing."""
    name = f"{prefix}-{check['name']}"
    try:
        if check.get("rules"):
            state = clients["events"].describe_rule(Name=name).get("State")
        else:
            state = clients["scheduler"].get_schedule(Name=name, GroupName=prefix).get("State")
    except Exception:  # a schedule that cannot be read is not a paused one
        return False
    return bool(state == "DISABLED")


def _anchor(evidence: Evidence, check: Mapping[str, Any]) -> datetime | None:
    """A rate's grid: the latest scheduled time among the job's records (a Lambda job's are in
    its own log; without one the grid is counted back from now)."""
    seen: list[datetime | None] = []
    for record in evidence.runs():
        detail = record.get("detail", {})
        if check["source"] == "ecs" and detail.get("group") == \
                f"family:{evidence.prefix}-{check['name']}":
            seen += [_instant(item.get("value"))
                     for o in (detail.get("overrides") or {}).get("containerOverrides", [])
                     for item in o.get("environment", []) if item.get("name") == ENGINE_VARIABLE]
        elif check["source"] == "runner" and record.get("source") == "aws.states":
            try:
                given = json.loads(detail.get("input") or "{}")
            except (ValueError, TypeError):
                continue
            if isinstance(given, dict) and given.get("job") == check["name"] \
                    and not str(given.get("run_id") or "").startswith("run-"):
                seen.append(_instant(given.get("scheduled_time")))
    found = [s for s in seen if s is not None]
    return max(found) if found else None


def _reach(check: Mapping[str, Any]) -> timedelta:
    """How far back a check's slots (and a rate's last fire) lie from its deadlines."""
    deadline = check["deadline"]
    reach = timedelta(seconds=deadline["after"]) if deadline.get("after") is not None \
        else timedelta(hours=26)
    interval = parse(check["schedule"])
    return reach + (interval.interval if isinstance(interval, Rate) else timedelta(0))


def check_deadlines(clients: Mapping[str, Any], checks: Iterable[Mapping[str, Any]],
                    prefix: str, runs_group: str, since: datetime, until: datetime,
                    ) -> list[dict[str, Any]]:
    """Every slot whose deadline fell in (since, until] without a success: the alerts."""
    active = [c for c in checks if c.get("enabled", True)]
    rates = [c for c in active if isinstance(parse(c["schedule"]), Rate)]
    wanted: list[tuple[Mapping[str, Any], Deadline, datetime, datetime]] = []

    def add(check: Mapping[str, Any], anchor: datetime | None) -> None:
        deadline = Deadline(**check["deadline"])
        start, end = _instant(check.get("start_date")), _instant(check.get("end_date"))
        for slot, due in slots_due(check["schedule"], check["timezone"], deadline, since,
                                   until, anchor):
            if not ((start and slot < start) or (end and slot > end)):
                wanted.append((check, deadline, slot, due))

    for check in active:
        if check not in rates:
            add(check, None)
    # the records are read once, from the oldest slot asked about (or a rate's last fire)
    starts = [slot for _, _, slot, _ in wanted] + [since - _reach(c) for c in rates]
    if not starts:
        return []
    evidence = Evidence(clients, runs_group, prefix, min(starts) - timedelta(minutes=1), until)
    for check in rates:
        add(check, _anchor(evidence, check))
    missed: list[dict[str, Any]] = []
    paused: dict[str, bool] = {}
    for check, deadline, slot, due in wanted:
        if evidence.succeeded(check, slot, due):
            continue
        if check["name"] not in paused:
            paused[check["name"]] = _paused(clients, check, prefix)
        if paused[check["name"]]:
            continue
        missed.append({
            "name": check["name"], "kind": check.get("kind", "job"),
            "slot": slot.strftime("%Y-%m-%dT%H:%M:%SZ"), "due": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "deadline": deadline.text(),
            "message": f"fargo {prefix}: {check.get('kind', 'job')} {check['name']} missed its "
                       f"deadline ({deadline.text()}): the slot of "
                       f"{slot.strftime('%Y-%m-%d %H:%M')} UTC had not succeeded by "
                       f"{due.strftime('%Y-%m-%d %H:%M')} UTC",
        })
    return missed
