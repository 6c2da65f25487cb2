"""A deployed job's run history: the durable run records plus what ECS still knows."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from fargo.aws.run import Outcome, explain, task_id
from fargo.aws.session import aws_errors, client
from fargo.project import names
from fargo.project.model import Project, TaskSpec
from fargo.runtime import contract


def _iso(value: Any) -> str | None:
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
    scheduled = None
    for override in (task.get("overrides") or {}).get("containerOverrides", []):
        for item in override.get("environment", []):
            if item.get("name") == contract.SCHEDULED_TIME:
                scheduled = item.get("value")
    stopped = task.get("lastStatus") == "STOPPED"
    outcome = explain(task) if stopped else Outcome("running", 0, "")
    started, ended = _iso(task.get("startedAt")), _iso(task.get("stoppedAt"))
    duration = None
    if started and ended:
        duration = (datetime.fromisoformat(ended.replace("Z", "+00:00"))
                    - datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds()
    exit_code = next((c.get("exitCode") for c in task.get("containers", [])
                      if c.get("name") == names.CONTAINER), None)
    return {
        "task": task_id(str(task.get("taskArn", ""))),
        "status": outcome.status,
        "scheduled_time": _iso(scheduled),
        "started_at": started,
        "stopped_at": ended,
        "duration_s": duration,
        "exit_code": exit_code,
        "stop_code": task.get("stopCode"),
        "stopped_reason": task.get("stoppedReason"),
        "started_by": task.get("startedBy"),
        "created_at": _iso(task.get("createdAt")),
    }


def history(project: Project, spec: TaskSpec, last: int) -> list[dict[str, Any]]:
    """Recorded runs (the _runs log group, durable) plus what ECS still knows, newest first."""
    region = project.stage.aws_region
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    group = names.task_group(spec.full_name)
    with aws_errors("reading run records"):
        logs = client("logs", region)
        try:
            paginator = logs.get_paginator("filter_log_events")
            for page in paginator.paginate(
                    logGroupName=names.runs_log_group(project.app_name, project.stage.name)):
                for event in page.get("events", []):
                    try:
                        record = json.loads(event["message"])
                    except json.JSONDecodeError:
                        continue
                    detail = record.get("detail", {})
                    if detail.get("group") != group:
                        continue
                    version = int(detail.get("version") or 0)
                    arn = str(detail.get("taskArn"))
                    if arn not in seen or seen[arn][0] <= version:
                        seen[arn] = (version, detail)
        except logs.exceptions.ResourceNotFoundException:
            pass
    with aws_errors("listing tasks"):
        ecs = client("ecs", region)
        arns: list[str] = []
        for status in ("RUNNING", "STOPPED"):
            arns += ecs.list_tasks(cluster=project.stage.cluster, family=spec.full_name,
                                   desiredStatus=status).get("taskArns", [])
        for start in range(0, len(arns), 100):
            for task in ecs.describe_tasks(cluster=project.stage.cluster,
                                           tasks=arns[start:start + 100]).get("tasks", []):
                arn = str(task["taskArn"])
                if arn not in seen:
                    seen[arn] = (10**9, task)
    rows = [run_record(task) for _, task in seen.values()]
    rows.sort(key=lambda r: r["started_at"] or r["created_at"] or "", reverse=True)
    return rows[:last]


def lambda_history(project: Project, spec: TaskSpec, last: int) -> list[dict[str, Any]]:
    """A Lambda job's runs, from the JSON lines the runtime writes to the function's log."""
    starts: dict[str, str | None] = {}
    rows: list[dict[str, Any]] = []
    with aws_errors(f"reading {spec.log_group}"):
        logs = client("logs", project.stage.aws_region)
        try:
            for page in logs.get_paginator("filter_log_events").paginate(
                    logGroupName=spec.log_group):
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
    for spec in project.tasks:
        found = (history(project, spec, last) if spec.compute == "fargate"
                 else lambda_history(project, spec, last))
        rows.extend({"job": spec.name, **row} for row in found)
    rows.sort(key=lambda r: r["started_at"] or r["stopped_at"] or r["created_at"] or "",
              reverse=True)
    return rows[:last]
