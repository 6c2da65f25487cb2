"""Deployed workflows: start an execution, wait for it, read its steps and past executions."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from typing import Any

from fargo.aws import runner
from fargo.aws.session import AwsFailed, account_id, aws_errors, client
from fargo.project import names
from fargo.project.model import Project
from fargo.project.workflows import PAYLOAD_MAX_BYTES, WorkflowSpec

wait = runner.wait  # polling an execution is the same whatever the state machine
describe = runner.describe


def arn(project: Project, workflow: WorkflowSpec) -> str:
    region = project.stage.aws_region
    return (f"arn:{names.partition(region)}:states:{region}:{account_id(region)}:stateMachine:"
            f"{workflow.full_name}")


def start(project: Project, workflow: WorkflowSpec, event_json: str | None) -> str:
    """Start an execution now with the event as its input; its ARN."""
    payload = event_json if event_json is not None else "{}"
    if len(payload.encode()) > PAYLOAD_MAX_BYTES:
        raise AwsFailed(f"the input is {len(payload.encode())} bytes; Step Functions allows "
                        f"{PAYLOAD_MAX_BYTES}: pass a pointer (an S3 key) instead")
    name = f"manual-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    with aws_errors(f"starting the workflow {workflow.full_name}"):
        response = client("stepfunctions", project.stage.aws_region).start_execution(
            stateMachineArn=arn(project, workflow), name=name, input=payload)
    return str(response["executionArn"])


def steps(project: Project, execution_arn: str) -> list[dict[str, Any]]:
    """The execution's task states in the order they ran: name, status, times, error."""
    sfn = client("stepfunctions", project.stage.aws_region)
    events: list[dict[str, Any]] = []
    with aws_errors("reading the workflow's steps"):
        for page in sfn.get_paginator("get_execution_history").paginate(
                executionArn=execution_arn):
            events.extend(page["events"])
    by_id = {e["id"]: e for e in events}
    found: list[dict[str, Any]] = []
    open_steps: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = event["type"]
        if kind == "TaskStateEntered":
            step = {"step": event["stateEnteredEventDetails"]["name"], "status": "running",
                    "attempts": 0, "started_at": _stamp(event["timestamp"]), "ended_at": None,
                    "error": None}
            open_steps[event["id"]] = step
            found.append(step)
            continue
        entered = _entered(event, by_id)
        found_step = open_steps.get(entered) if entered is not None else None
        if found_step is None:
            continue
        step = found_step
        if kind == "TaskSucceeded":  # each attempt ends in one of these three
            step["attempts"] += 1
            step["status"] = "succeeded"
            step["error"] = None
            step["ended_at"] = _stamp(event["timestamp"])
        elif kind in ("TaskFailed", "TaskTimedOut"):
            step["attempts"] += 1
            details = event.get("taskFailedEventDetails") or event.get(
                "taskTimedOutEventDetails") or {}
            step["status"] = "timed_out" if kind == "TaskTimedOut" else "failed"
            step["error"] = ": ".join(x for x in (details.get("error"), details.get("cause"))
                                      if x)
            step["ended_at"] = _stamp(event["timestamp"])
    return found


def _entered(event: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> int | None:
    """The TaskStateEntered event an event belongs to, following previousEventId."""
    current: dict[str, Any] | None = event
    while current is not None:
        previous = current.get("previousEventId")
        if previous is None:
            return None
        current = by_id.get(previous)
        if current is not None and current["type"] == "TaskStateEntered":
            return int(current["id"])
    return None


def executions(project: Project, workflow: WorkflowSpec, last: int) -> list[dict[str, Any]]:
    """The workflow's latest executions, newest first, each with its steps."""
    sfn = client("stepfunctions", project.stage.aws_region)
    with aws_errors(f"reading the executions of {workflow.full_name}"):
        listed = sfn.list_executions(stateMachineArn=arn(project, workflow),
                                     maxResults=min(last, 1000))["executions"]
    rows = []
    for item in listed[:last]:
        described = describe(project, item["executionArn"])
        rows.append({
            "workflow": workflow.name,
            "execution": item.get("name") or item["executionArn"].rsplit(":", 1)[-1],
            "status": item["status"].lower(), "started_at": _stamp(item.get("startDate")),
            "stopped_at": _stamp(item.get("stopDate")),
            "error": ": ".join(x for x in (described.get("error"), described.get("cause"))
                               if x) or None,
            "output": _json(described.get("output")),
            "steps": steps(project, item["executionArn"]),
        })
    return rows


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return text


def _stamp(moment: Any) -> str | None:
    if not isinstance(moment, datetime):
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
