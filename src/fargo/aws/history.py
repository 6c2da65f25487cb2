"""A deployed job's run history: the durable run records plus what ECS still knows."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fargo.aws.run import Outcome, explain, task_id
from fargo.aws.session import aws_errors, client
from fargo.aws.watchdog_function import REASON_STUCK
from fargo.project import names
from fargo.project.model import Project, TaskSpec
from fargo.runtime import contract


def iso_utc(value: Any) -> str | None:
    """An AWS timestamp (datetime or ISO text) as the one form history rows use."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(
            timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return text


def run_record(task: dict[str, Any]) -> dict[str, Any]:
    """One row of history from a task (DescribeTasks or an ECS Task State Change detail)."""
    given: dict[str, str] = {}
    for override in (task.get("overrides") or {}).get("containerOverrides", []):
        for item in override.get("environment", []):
            given[str(item.get("name"))] = str(item.get("value") or "")
    scheduled = given.get(contract.SCHEDULED_TIME) or None
    stopped = task.get("lastStatus") == "STOPPED"
    outcome = explain(task) if stopped else Outcome("running", 0, "")
    started, ended = iso_utc(task.get("startedAt")), iso_utc(task.get("stoppedAt"))
    duration = None
    if started and ended:
        duration = (datetime.fromisoformat(ended.replace("Z", "+00:00"))
                    - datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds()
    exit_code = next((c.get("exitCode") for c in task.get("containers", [])
                      if c.get("name") == names.CONTAINER), None)
    if outcome.status == "timed_out":
        exit_code = outcome.exit_code  # also when the watchdog stopped it (ECS says 137)
    started_by = str(task.get("startedBy") or "")
    trigger = ("manual" if started_by == "fargo-run" else "event" if contract.EVENT in given
               else "runner" if str(task.get("group", "")).startswith("fargo-runner")
               else "schedule" if scheduled else None)
    return {
        "task": task_id(str(task.get("taskArn", ""))),
        "status": outcome.status,
        "scheduled_time": iso_utc(scheduled),
        "started_at": started,
        "stopped_at": ended,
        "duration_s": duration,
        "exit_code": exit_code,
        "stop_code": task.get("stopCode"),
        "last_status": task.get("lastStatus"),
        "start_failed": str(task.get("stoppedReason") or "").startswith(REASON_STUCK),
        "trigger": trigger,
        "stopped_reason": task.get("stoppedReason"),
        "started_by": task.get("startedBy"),
        "created_at": iso_utc(task.get("createdAt")),
        "run_id": given.get(contract.RUN_ID) or None,
        "attempt": int(given[contract.ATTEMPT]) if given.get(contract.ATTEMPT, "").isdigit()
        else None,
    }


@dataclass
class Sources:
    """What a stage's history is read from, read once for many jobs: the durable run records
    (the _runs log group) and the tasks ECS still knows (about an hour after they stop)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)


def read_sources(project: Project, since_ms: int | None = None,
                 family: str | None = None) -> Sources:
    """The run records written since `since_ms` (all when None), and ECS's tasks of the
    stage's cluster (of one task family when given)."""
    region = project.stage.aws_region
    found = Sources()
    with aws_errors("reading run records"):
        logs = client("logs", region)
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            found.records = list(_records(logs, project, since_ms))
    if not any(spec.compute == "fargate" for spec in project.tasks):
        return found  # Lambda jobs only: the stage has no cluster
    with aws_errors("listing tasks"):
        ecs = client("ecs", region)
        arns: list[str] = []
        for status in ("RUNNING", "STOPPED"):
            query: dict[str, Any] = {"cluster": project.stage.cluster, "desiredStatus": status}
            if family:
                query["family"] = family
            for page in ecs.get_paginator("list_tasks").paginate(**query):
                arns += page.get("taskArns", [])
        for start in range(0, len(arns), 100):
            found.tasks += ecs.describe_tasks(cluster=project.stage.cluster,
                                              tasks=arns[start:start + 100]).get("tasks", [])
    return found


def history(project: Project, spec: TaskSpec, last: int,
            sources: Sources | None = None) -> list[dict[str, Any]]:
    """Recorded runs (the _runs log group, durable) plus what ECS still knows, newest first."""
    if sources is None:
        sources = read_sources(project, family=spec.full_name)
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    groups = (names.task_group(spec.full_name), names.runner_task_group(spec.full_name))
    for record in sources.records:
        detail = record.get("detail", {})
        if record.get("source") != "aws.ecs" or detail.get("group") not in groups:
            continue
        version = int(detail.get("version") or 0)
        arn = str(detail.get("taskArn"))
        if arn not in seen or seen[arn][0] <= version:
            seen[arn] = (version, detail)
    for task in sources.tasks:
        arn = str(task["taskArn"])
        if task.get("group") in groups and arn not in seen:
            seen[arn] = (10**9, task)
    rows = [run_record(task) for _, task in seen.values()]
    rows.sort(key=lambda r: r["started_at"] or r["created_at"] or "", reverse=True)
    return rows[:last]


def _records(logs: Any, project: Project, since_ms: int | None = None) -> Any:
    """The stage's run records (EventBridge events as JSON), oldest first."""
    paginator = logs.get_paginator("filter_log_events")
    query: dict[str, Any] = {
        "logGroupName": names.runs_log_group(project.app_name, project.stage.name)}
    if since_ms is not None:
        query["startTime"] = since_ms
    for page in paginator.paginate(**query):
        for event in page.get("events", []):
            try:
                record = json.loads(event["message"])
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


def runner_history(project: Project, spec: TaskSpec, last: int,
                   sources: Sources | None = None) -> list[dict[str, Any]]:
    """Runs of a job that goes through the runner: one row per run, with its attempts.

    A run's outcome is the runner's (its execution ended: recorded in the _runs log group);
    its attempts are the tasks (or invocations) it started, matched by run id.
    """
    if sources is None:
        sources = read_sources(project, family=spec.full_name if spec.compute == "fargate"
                               else None)
    tasks = history(project, spec, max(10 * last, 50), sources) \
        if spec.compute == "fargate" else []
    by_run: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        if task.get("run_id"):
            by_run.setdefault(str(task["run_id"]), []).append(task)
    rows: list[dict[str, Any]] = []
    for record in sources.records:
        if record.get("source") != "aws.states":
            continue
        row = _runner_row(record.get("detail", {}), spec.name)
        if row is not None:
            row["attempts"] = sorted(by_run.pop(str(row["task"]), []),
                                     key=lambda t: t.get("attempt") or 0)
            rows.append(row)
    for run_id, attempts in by_run.items():  # runs still going (or not recorded yet)
        attempts.sort(key=lambda t: t.get("attempt") or 0)
        rows.append({
            "task": run_id, "status": "running", "scheduled_time": attempts[0]["scheduled_time"],
            "started_at": attempts[0]["started_at"], "stopped_at": None, "duration_s": None,
            "exit_code": None, "stop_code": None,
            "stopped_reason": f"attempt {len(attempts)}: {attempts[-1]['status']}",
            "started_by": "runner", "created_at": attempts[0]["created_at"],
            "attempts": attempts})
    rows.sort(key=lambda r: r["started_at"] or r["created_at"] or "", reverse=True)
    return rows[:last]


def _runner_row(detail: dict[str, Any], job: str) -> dict[str, Any] | None:
    """A run of `job` from a Step Functions Execution Status Change detail, else None."""
    try:
        given = json.loads(detail.get("input") or "{}")
        result = json.loads(detail.get("output") or "null") or {}
    except (ValueError, TypeError):
        return None
    if not isinstance(given, dict) or given.get("job") != job or not isinstance(result, dict):
        return None
    error = detail.get("error")
    status = {"fargo.JobTimedOut": "timed_out"}.get(str(error), "failed")
    if detail.get("status") == "SUCCEEDED":
        status = "skipped" if result.get("status") == "skipped" else "succeeded"
    started, stopped = millis_utc(detail.get("startDate")), millis_utc(detail.get("stopDate"))
    duration = None
    if detail.get("startDate") and detail.get("stopDate"):
        duration = (float(detail["stopDate"]) - float(detail["startDate"])) / 1000
    return {
        "task": given.get("run_id"), "status": status,
        "scheduled_time": iso_utc(given.get("scheduled_time") or None),
        "started_at": started, "stopped_at": stopped, "duration_s": duration,
        "exit_code": None, "stop_code": error,
        "stopped_reason": result.get("reason") or detail.get("cause"),
        "started_by": "runner", "created_at": started,
    }


def millis_utc(value: Any) -> str | None:
    """Epoch milliseconds (Step Functions events, SQS attributes) as history's form."""
    if value is None:
        return None
    try:
        return iso_utc(datetime.fromtimestamp(float(value) / 1000, timezone.utc))
    except (TypeError, ValueError, OverflowError):
        return None


def job_history(project: Project, spec: TaskSpec, last: int, sources: Sources | None = None,
                since_ms: int | None = None) -> list[dict[str, Any]]:
    """A job's recent runs, however it is started on AWS."""
    if spec.uses_runner:
        return runner_history(project, spec, last, sources)
    if spec.compute == "fargate":
        return history(project, spec, last, sources)
    return lambda_history(project, spec, last, since_ms)


def lambda_history(project: Project, spec: TaskSpec, last: int,
                   since_ms: int | None = None) -> list[dict[str, Any]]:
    """A Lambda job's runs, from the JSON lines the runtime writes to the function's log."""
    starts: dict[str, str | None] = {}
    rows: list[dict[str, Any]] = []
    with aws_errors(f"reading {spec.log_group}"):
        logs = client("logs", project.stage.aws_region)
        try:
            query: dict[str, Any] = {"logGroupName": spec.log_group}
            if since_ms is not None:
                query["startTime"] = since_ms
            for page in logs.get_paginator("filter_log_events").paginate(**query):
                for event in page.get("events", []):
                    try:
                        line = json.loads(event["message"])
                    except (ValueError, TypeError):
                        continue
                    if not isinstance(line, dict) or not line.get("run_id"):
                        continue
                    if line.get("message") == "started":
                        starts[line["run_id"]] = line.get("time")
                    elif line.get("status") in ("succeeded", "failed", "timed_out"):
                        rows.append({"task": line["run_id"], "status": line["status"],
                                     "scheduled_time": line.get("event_time"),
                                     "started_at": None, "stopped_at": line.get("time"),
                                     "duration_s": line.get("duration_s"), "exit_code": None,
                                     "stop_code": None, "stopped_reason": line.get("error"),
                                     "started_by": None, "created_at": None})
        except logs.exceptions.ResourceNotFoundException:
            pass
    for row in rows:
        row["started_at"] = starts.get(row["task"])
    rows.sort(key=lambda r: r["stopped_at"] or "", reverse=True)
    return rows[:last]


def stage_history(project: Project, last: int) -> list[dict[str, Any]]:
    """Recent runs of every job of the stage, Fargate and Lambda, newest first."""
    rows: list[dict[str, Any]] = []
    sources = read_sources(project)
    for spec in project.tasks:
        rows.extend({"job": spec.name, **row}
                    for row in job_history(project, spec, last, sources))
    rows.sort(key=lambda r: r["started_at"] or r["stopped_at"] or r["created_at"] or "",
              reverse=True)
    return rows[:last]
