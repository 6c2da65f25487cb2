"""The stage's watchdog, a Lambda function run every few minutes: ECS has no start deadline and
no task timeout, so a task that never leaves PENDING or never ends would wait forever unheard.

It stops a task of the stage that is still PROVISIONING/PENDING after the stage's limit (a
start that failed) and one RUNNING past its job's timeout plus a grace (the job's own watchdog,
the runtime, should have stopped it at its timeout), and sends one alert per task it stops.
The stop reason starts with `fargo watchdog:`, which the run records and `fargo history` read.

It also checks the stage's deadlines (aws/deadline_function.py) and alerts once per slot that
missed one.

This file is the function's entry (fargo package zips it with the deadline check and fargo's
schedule engine, all standard library): it needs only boto3 besides, which Lambda provides.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

REASON_STUCK = "fargo watchdog: stuck"
REASON_OVERRAN = "fargo watchdog: ran past its timeout"
PENDING = ("PROVISIONING", "PENDING", "ACTIVATING")
# Beyond the job's timeout: the runtime stops the job at its timeout and exits 124; this is the
# time it has to do so (its stop grace, the container's exit) before the watchdog steps in.
OVERRUN_GRACE_SECONDS = 300
DEADLINES_FILE = "deadlines.json"  # the stage's deadline checks, beside this file in the zip


def _seconds(moment: Any, now: datetime) -> float | None:
    if not isinstance(moment, datetime):
        return None
    return (now - moment.astimezone(timezone.utc)).total_seconds()


def _timeout_of(ecs: Any, definition_arn: str, cache: dict[str, int | None]) -> int | None:
    """The job's timeout: FARGO_TIMEOUT in its task definition's container."""
    if definition_arn not in cache:
        cache[definition_arn] = None
        found = ecs.describe_task_definition(taskDefinition=definition_arn)
        for container in found.get("taskDefinition", {}).get("containerDefinitions", []):
            for item in container.get("environment", []):
                if item.get("name") == "FARGO_TIMEOUT" and str(item.get("value")).isdigit():
                    cache[definition_arn] = int(item["value"])
    return cache[definition_arn]


def check(ecs: Any, cluster: str, prefix: str, pending_limit: float, now: datetime,
          ) -> list[dict[str, Any]]:
    """Stop the stage's stuck and overrunning tasks; what was stopped and why."""
    groups = (f"family:{prefix}-", f"fargo-runner:{prefix}-")
    arns: list[str] = []
    for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster,
                                                         desiredStatus="RUNNING"):
        arns += page.get("taskArns", [])
    stopped: list[dict[str, Any]] = []
    timeouts: dict[str, int | None] = {}
    for start in range(0, len(arns), 100):
        for task in ecs.describe_tasks(cluster=cluster,
                                       tasks=arns[start:start + 100]).get("tasks", []):
            if not str(task.get("group", "")).startswith(groups):
                continue
            status = task.get("lastStatus")
            reason = None
            if status in PENDING:
                waited = _seconds(task.get("createdAt"), now)
                if waited is not None and waited > pending_limit:
                    reason = (f"{REASON_STUCK} in {status} for {int(waited)} s (the stage's "
                              f"pending limit is {int(pending_limit)} s)")
            elif status == "RUNNING":
                timeout = _timeout_of(ecs, str(task.get("taskDefinitionArn")), timeouts)
                ran = _seconds(task.get("startedAt"), now)
                if timeout is not None and ran is not None \
                        and ran > timeout + OVERRUN_GRACE_SECONDS:
                    reason = (f"{REASON_OVERRAN} of {timeout} s (running for {int(ran)} s; "
                              "the job did not stop itself)")
            if reason is None:
                continue
            ecs.stop_task(cluster=cluster, task=task["taskArn"], reason=reason[:1024])
            stopped.append({"task": task["taskArn"], "group": task.get("group"),
                            "status": status, "reason": reason})
    return stopped


def _moment(event: Any, now: datetime) -> datetime:
    """The minute this run stands for: its rule's scheduled time (a late or repeated delivery
    checks the same window), else now."""
    try:
        text = str(event.get("time"))
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (AttributeError, ValueError):
        return now


def deadline_checks(here: str, function_arn: str, prefix: str) -> list[dict[str, Any]]:
    """The stage's deadlines (deadlines.json beside this file, written by fargo package), with
    each workflow's state machine ARN in this function's partition, region and account."""
    path = os.path.join(here, DEADLINES_FILE)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        checks: list[dict[str, Any]] = json.load(handle)
    parts = function_arn.split(":")
    for check in checks:
        if check.get("source") == "workflow" and len(parts) >= 5:
            check["state_machine"] = (f"arn:{parts[1]}:states:{parts[3]}:{parts[4]}:"
                                      f"stateMachine:{prefix}-{check['name']}")
    return checks


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda's entry: the stage from the function's environment."""
    import boto3

    now = datetime.now(timezone.utc)
    prefix = os.environ["FARGO_PREFIX"]
    cluster = os.environ.get("FARGO_CLUSTER")
    stopped = check(boto3.client("ecs"), cluster, prefix,
                    float(os.environ.get("FARGO_PENDING_LIMIT", "600")), now) if cluster else []
    messages = [f"fargo {prefix}: {item['group']} {item['reason']} - {item['task']}"
                for item in stopped]
    subjects = [f"fargo {prefix}: a task was stopped"] * len(stopped)
    checks = deadline_checks(os.path.dirname(os.path.abspath(__file__)),
                             str(getattr(context, "invoked_function_arn", "")), prefix)
    missed: list[dict[str, Any]] = []
    if checks:
        from fargo.aws.deadline_function import check_deadlines

        until = _moment(event, now)
        every = timedelta(seconds=float(os.environ.get("FARGO_CHECK_EVERY", "300")))
        clients = {"logs": boto3.client("logs"), "states": boto3.client("stepfunctions"),
                   "scheduler": boto3.client("scheduler"), "events": boto3.client("events")}
        missed = check_deadlines(clients, checks, prefix, os.environ.get("FARGO_RUNS_GROUP", ""),
                                 until - every, until)
        messages += [item["message"] for item in missed]
        subjects += [f"fargo {prefix}: {item['name']} missed its deadline" for item in missed]
    topic = os.environ.get("FARGO_ALERT_TOPIC")
    if topic and messages:
        sns = boto3.client("sns")
        for subject, message in zip(subjects, messages, strict=True):
            sns.publish(TopicArn=topic, Subject=subject[:100], Message=message)
    print(json.dumps({"stopped": stopped, "missed_deadlines": missed, "time": now.isoformat()}))
    return {"stopped": len(stopped), "missed_deadlines": len(missed)}
