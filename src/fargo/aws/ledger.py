"""A deployed stage's ledger: the schedules' slots, matched to every record AWS keeps of a run.

Sources: the durable run records (ECS Task State Change and the runner's ended executions, in
the stage's _runs log group), the tasks ECS still knows, Lambda's log lines, the workflows'
executions, and the dead-letter queue, where Scheduler puts an invocation it could not make.
A dead letter is moved into the run records when it is read, so a failed start never stays
only in SQS (whose messages expire) and is never counted twice.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from fargo import ledger
from fargo.aws import history
from fargo.aws.session import aws_errors, client
from fargo.project import names
from fargo.project.model import Project, TaskSpec
from fargo.project.workflows import WorkflowSpec
from fargo.runtime import contract

DEAD_LETTER_SOURCE = "fargo.dead-letter"  # a dead letter, as fargo records it in _runs
DEAD_LETTER_STREAM = "dead-letters"


def _schedules(project: Project) -> dict[str, dict[str, Any]]:
    """Schedule name -> {state, created} as AWS has it now (Scheduler, or rules)."""
    region = project.stage.aws_region
    prefix = names.prefix(project.app_name, project.stage.name) + "-"
    found: dict[str, dict[str, Any]] = {}
    with aws_errors("reading schedules"):
        scheduler = client("scheduler", region)
        try:
            for page in scheduler.get_paginator("list_schedules").paginate(
                    GroupName=names.schedule_group(project.app_name, project.stage.name)):
                for item in page.get("Schedules", []):
                    created = item.get("CreationDate")
                    found[item["Name"][len(prefix):]] = {
                        "state": item.get("State", ""),
                        "created": created.astimezone(timezone.utc)
                        if isinstance(created, datetime) else None}
        except scheduler.exceptions.ResourceNotFoundException:
            pass
        if project.stage.schedule_backend == "rules":
            for page in client("events", region).get_paginator("list_rules").paginate(
                    NamePrefix=prefix):
                for rule in page.get("Rules", []):
                    found.setdefault(rule["Name"][len(prefix):], {
                        "state": rule.get("State", ""), "created": None})
    return found


def dead_letter_queue(project: Project) -> tuple[str, bool] | None:
    """(queue URL, fargo owns it) of the stage's dead-letter queue, None when it has none."""
    stage = project.stage
    if not stage.create_dead_letter_queue:
        return None
    name = f"{names.prefix(project.app_name, stage.name)}-dead-letter"
    sqs = client("sqs", stage.aws_region)
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"]), True
    except sqs.exceptions.QueueDoesNotExist:
        return None


def collect_dead_letters(project: Project) -> list[dict[str, Any]]:
    """Move every message of the stage's dead-letter queue into its run records.

    A message is deleted only after its record is written, so a failure in between leaves it
    in the queue. A stage without a _runs log group (Lambda jobs only) has nowhere durable to
    put them: they are read and left in the queue, and returned as records to count now.
    """
    queue = dead_letter_queue(project)
    if queue is None:
        return []
    url, _ = queue
    region = project.stage.aws_region
    group = names.runs_log_group(project.app_name, project.stage.name)
    sqs, logs = client("sqs", region), client("logs", region)
    with aws_errors("reading the dead-letter queue"):
        found = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
        durable = any(g.get("logGroupName") == group for g in found)
        peeked: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                VisibilityTimeout=60 if durable else 30, MessageAttributeNames=["All"],
                AttributeNames=["SentTimestamp"],
            ).get("Messages", [])
            fresh = [m for m in messages if m.get("MessageId") not in seen]
            if not fresh:
                return peeked
            records = [_dead_letter_record(m) for m in fresh]
            seen.update(str(m.get("MessageId")) for m in fresh)
            if not durable:
                peeked += records
                continue
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=DEAD_LETTER_STREAM)
            now = int(time.time() * 1000)
            logs.put_log_events(logGroupName=group, logStreamName=DEAD_LETTER_STREAM,
                                logEvents=[{"timestamp": now, "message": json.dumps(r)}
                                           for r in records])
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(fresh)])


def _dead_letter_record(message: dict[str, Any]) -> dict[str, Any]:
    attributes = {k: v.get("StringValue") for k, v in
                  (message.get("MessageAttributes") or {}).items()}
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    return {"source": DEAD_LETTER_SOURCE, "detail-type": "Scheduler dead-letter event",
            "detail": {"message_id": message.get("MessageId"), "attributes": attributes,
                       "body": message.get("Body"), "sent_ms": int(sent) if sent else None}}


def dead_letter_run(detail: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(schedule name, run row) of a recorded dead letter: a start that failed."""
    attributes = detail.get("attributes") or {}
    schedule = str(attributes.get("SCHEDULE_ARN") or "").rsplit("/", 1)[-1] or None
    scheduled, run_id = _from_body(detail.get("body"))
    sent = detail.get("sent_ms")
    sent_at = history.millis_utc(sent) if sent else None
    code, message = attributes.get("ERROR_CODE"), attributes.get("ERROR_MESSAGE")
    return schedule, {
        "task": attributes.get("EXECUTION_ID") or run_id or detail.get("message_id"),
        "status": "failed_to_start", "scheduled_time": scheduled,
        "started_at": None, "stopped_at": sent_at, "duration_s": None, "exit_code": None,
        "stop_code": code or "DeadLetter",
        "stopped_reason": (message or "Scheduler could not start the run")
        + " (Scheduler's dead-letter queue)",
        "created_at": sent_at, "trigger": "schedule", "attempt": None,
    }


def _from_body(body: Any) -> tuple[str | None, str | None]:
    """The scheduled time and run id in a dead letter's body: the target input (ECS overrides,
    a Lambda's scheduled event, or a run of the runner)."""
    try:
        given = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return None, None
    if not isinstance(given, dict):
        return None, None
    if "scheduled_time" in given:  # a run of the runner
        return given.get("scheduled_time") or None, given.get("run_id") or None
    if given.get("detail-type") == "Scheduled Event":  # a Lambda job's event
        return given.get("time") or None, given.get("id") or None
    values: dict[str, str] = {}
    for override in given.get("containerOverrides") or []:
        for item in override.get("environment") or []:
            values[str(item.get("name"))] = str(item.get("value") or "")
    return values.get(contract.SCHEDULED_TIME) or None, values.get(contract.RUN_ID) or None


def _workflow_runs(project: Project, workflow: WorkflowSpec,
                   since: datetime) -> list[dict[str, Any]]:
    """The workflow's executions that started after `since` (newest first from AWS)."""
    sfn = client("stepfunctions", project.stage.aws_region)
    from fargo.aws.workflows import arn

    rows: list[dict[str, Any]] = []
    with aws_errors(f"reading the executions of {workflow.full_name}"):
        try:
            for page in sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=arn(project, workflow)):
                for item in page.get("executions", []):
                    started = item.get("startDate")
                    if isinstance(started, datetime) and started < since:
                        return rows
                    stopped = item.get("stopDate")
                    status = str(item.get("status", "")).lower()
                    rows.append({
                        "task": item.get("name"),
                        "status": {"aborted": "failed"}.get(status, status),
                        "scheduled_time": None, "started_at": history.iso_utc(started),
                        "stopped_at": history.iso_utc(stopped),
                        "duration_s": (stopped - started).total_seconds()
                        if isinstance(stopped, datetime) and isinstance(started, datetime)
                        else None,
                        "exit_code": None, "stop_code": None, "stopped_reason": None,
                        "created_at": history.iso_utc(started), "trigger": None,
                    })
        except sfn.exceptions.StateMachineDoesNotExist:
            pass
    return rows


def _expected(schedule: str | None, zone: str, start: datetime | None, window: ledger.Window,
              runs: list[dict[str, Any]], created: datetime | None, start_date: str | None,
              end_date: str | None) -> list[datetime]:
    if schedule is None or start is None:
        return []
    begin = max(window.since, start - timedelta(seconds=1))
    end = window.until
    if start_date:
        first = ledger._instant(start_date)
        if first is not None:
            begin = max(begin, first - timedelta(seconds=1))
    if end_date:
        last = ledger._instant(end_date)
        if last is not None:
            end = min(end, last)
    if begin >= end:
        return []
    anchor = ledger.anchor_of(runs, ledger._instant(start_date) or created)
    return ledger.slots(schedule, zone, begin, end, anchor)


def stage_ledger(project: Project, window: ledger.Window, only: str | None = None,
                 pending_limit: float = ledger.PENDING_LIMIT_SECONDS) -> list[dict[str, Any]]:
    """Every slot and run of the stage's jobs and workflows in the window, newest first."""
    peeked = collect_dead_letters(project)
    since_ms = int(window.since.timestamp() * 1000)
    sources = history.read_sources(project, since_ms)
    sources.records += peeked
    schedules = _schedules(project)
    dead: dict[str, list[dict[str, Any]]] = {}
    prefix = names.prefix(project.app_name, project.stage.name) + "-"
    for record in sources.records:
        if record.get("source") == DEAD_LETTER_SOURCE:
            name, row = dead_letter_run(record.get("detail") or {})
            if name and name.startswith(prefix):
                dead.setdefault(name[len(prefix):], []).append(row)
    rows: list[dict[str, Any]] = []
    for spec in project.tasks:
        if only is not None and spec.name != only:
            continue
        runs = history.job_history(project, spec, 1_000_000, sources, since_ms)
        runs += dead.get(spec.name, [])
        found = _job_rows(spec.name, spec.schedule, spec.timezone, spec, schedules, runs,
                          window, pending_limit)
        ledger.mark_deadlines(found, spec.deadline, spec.timezone, window.now)
        rows += found
    for workflow in project.workflows:
        if only is not None and workflow.name != only:
            continue
        runs = _workflow_runs(project, workflow, window.since)
        found = _job_rows(workflow.name, workflow.schedule, workflow.timezone, None,
                          schedules, runs, window, pending_limit, match_by_start=900)
        ledger.mark_deadlines(found, workflow.deadline, workflow.timezone, window.now)
        rows += found
    return ledger.ordered(rows)


def _job_rows(name: str, schedule: str | None, zone: str, spec: TaskSpec | None,
              schedules: dict[str, dict[str, Any]], runs: list[dict[str, Any]],
              window: ledger.Window, pending_limit: float,
              match_by_start: float | None = None) -> list[dict[str, Any]]:
    found = schedules.get(name)
    created = found["created"] if found else None
    start = ledger.job_start(created, runs) if schedule else None
    missing_reason = None
    if schedule is not None and found is None:
        missing_reason = "the schedule is not deployed (deleted, or never applied)"
        # a deleted schedule still owes its slots since its job's first record
    expected = _expected(schedule, zone, start, window, runs, created,
                         spec.start_date if spec else None, spec.end_date if spec else None)
    paused = found is not None and found.get("state") == "DISABLED"
    return ledger.reconcile(name, expected, runs, window, paused=paused,
                            missing_reason=missing_reason, pending_limit=pending_limit,
                            match_by_start=match_by_start)


def stage_summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per job: its counts by state, its last success, and its bad slots (missing, failed to
    start, failed, stuck) — what `fargo status` shows of the ledger."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:  # newest first
        job = out.setdefault(row["job"], {"counts": {}, "last_success": None, "bad": 0,
                                          "start_failures": 0, "late": 0})
        job["counts"][row["state"]] = job["counts"].get(row["state"], 0) + 1
        if row["state"] == "succeeded" and job["last_success"] is None:
            job["last_success"] = row["slot"] or row["started_at"]
        if row["state"] in ledger.BAD:
            job["bad"] += 1
        job["start_failures"] += row["start_failures"]
        if row.get("late") or (row["start_latency_s"] or 0) > 600:
            job["late"] += 1  # missed its deadline, or started over 10 minutes after its slot
    return out
