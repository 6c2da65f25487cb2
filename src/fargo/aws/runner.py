"""Runs through the stage's runner: started as a schedule starts them, waited for, read back.

A job that needs retries or an overlap guard on AWS (project/runner.py) is started by the
stage's runner state machine; `fargo run` starts an execution with exactly the input the
module's schedules send, so a manual run gets the scheduled run's semantics.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fargo import limits
from fargo.aws.run import Outcome
from fargo.aws.session import AwsFailed, account_id, aws_errors, client
from fargo.project import names
from fargo.project import runner as rules
from fargo.project.model import Project, TaskSpec
from fargo.runtime import contract
from fargo.timeutil import format_utc

# What a run's execution input may hold (Step Functions' limit on an execution's input).
INPUT_MAX_BYTES = 256 * 1024
# The runner's states, as `fargo status` names them.
STATE_NAMES = {"Queued": "queued", "QueuedInvoke": "queued", "Backoff": "waiting to retry",
               "FindRunning": "starting", "RunOnFargate": "running", "RunOnSpot": "running",
               "Invoke": "running"}


def runner_input(project: Project, spec: TaskSpec, run_id: str, scheduled_time: str,
                 event: dict[str, Any]) -> dict[str, Any]:
    """The execution input: the same fields as the module's schedules send (a test checks)."""
    fargate = spec.compute == "fargate"
    stage = project.stage
    network = {"AwsvpcConfiguration": {
        "Subnets": list(spec.subnets), "SecurityGroups": list(spec.security_groups),
        "AssignPublicIp": "ENABLED" if stage.assign_public_ip else "DISABLED"}}
    return {
        "job": spec.name, "compute": spec.compute, "spot": spec.spot, "overlap": spec.overlap,
        "retries": spec.retries, "retry_timeouts": spec.retry_timeouts,
        "timeout_seconds": spec.timeout + rules.GRACE_SECONDS[spec.compute],
        "backoff_seconds": rules.RETRY_BASE_SECONDS,
        "backoff_max_seconds": rules.RETRY_MAX_SECONDS,
        "queue_poll_seconds": rules.QUEUE_POLL_SECONDS,
        "target": {
            "Cluster": stage.cluster if fargate else None,
            "TaskDefinition": spec.full_name if fargate else None,
            "Family": spec.full_name if fargate else None,
            "Group": names.runner_task_group(spec.full_name) if fargate else None,
            "PlatformVersion": names.PLATFORM_VERSION if fargate else None,
            "NetworkConfiguration": network if fargate else None,
            "FunctionName": None if fargate else spec.full_name,
        },
        "run_id": run_id, "scheduled_time": scheduled_time, "event": event,
    }


def arn(project: Project) -> str:
    region = project.stage.aws_region
    return names.runner_arn(names.partition(region), region, account_id(region),
                            project.app_name, project.stage.name)


def start(project: Project, spec: TaskSpec, event_json: str | None) -> tuple[str, str]:
    """Start one run through the runner now; (execution ARN, run id)."""
    now = datetime.now(timezone.utc)
    run_id = f"run-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    if event_json is not None:
        event = json.loads(event_json)
    elif spec.compute == "lambda":
        event = {"detail-type": "Scheduled Event", "source": "fargo.run", "detail": {}}
    else:
        event = {}
    if spec.compute == "fargate":  # the event reaches the task as FARGO_EVENT, an override
        size = len(json.dumps(event, separators=(",", ":"))) + 400
        if size > limits.RUN_OVERRIDES_MAX_CHARS:
            raise AwsFailed(f"the run's overrides take about {size} characters; ECS allows "
                            f"{limits.RUN_OVERRIDES_MAX_CHARS}: pass a smaller --event (a "
                            "pointer such as an S3 key)")
    payload = json.dumps(runner_input(project, spec, run_id, now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      event), separators=(",", ":"))
    if len(payload.encode()) > INPUT_MAX_BYTES:
        raise AwsFailed(f"the run's input is {len(payload.encode())} bytes; Step Functions "
                        f"allows {INPUT_MAX_BYTES}: pass a smaller --event")
    machine = arn(project)
    with aws_errors(f"starting {spec.full_name} through the stage's runner"):
        response = client("stepfunctions", project.stage.aws_region).start_execution(
            stateMachineArn=machine, name=f"{spec.name[:50]}-{run_id}", input=payload)
    return str(response["executionArn"]), run_id


def describe(project: Project, execution_arn: str) -> dict[str, Any]:
    with aws_errors("reading the run"):
        return dict(client("stepfunctions", project.stage.aws_region)
                    .describe_execution(executionArn=execution_arn))


def wait(project: Project, execution_arn: str, timeout: float | None, poll: float,
         on_poll: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any] | None:
    """Poll until the run ended (all its attempts); None when `timeout` seconds passed first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        execution = describe(project, execution_arn)
        if on_poll:
            on_poll(execution)
        if execution.get("status") != "RUNNING":
            return execution
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def attempts(project: Project, execution_arn: str) -> list[dict[str, Any]]:
    """The run's attempts so far, oldest first: task ARN (Fargate), error and exit code."""
    found: list[dict[str, Any]] = []
    with aws_errors("reading the run's attempts"):
        pages = client("stepfunctions", project.stage.aws_region).get_paginator(
            "get_execution_history").paginate(executionArn=execution_arn)
        for page in pages:
            for event in page.get("events", []):
                kind = event.get("type")
                if kind == "TaskSubmitted":
                    output = _json(event.get("taskSubmittedEventDetails", {}).get("output"))
                    tasks = output.get("Tasks") or [] if isinstance(output, dict) else []
                    found.append({"task": tasks[0].get("TaskArn") if tasks else None,
                                  "status": "running", "exit_code": None, "error": None})
                elif kind == "TaskScheduled" and _is_invoke(event):
                    found.append({"task": None, "status": "running", "exit_code": None,
                                  "error": None})
                elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut") and found:
                    details = (event.get("taskFailedEventDetails")
                               or event.get("taskTimedOutEventDetails") or {})
                    if _is_list_tasks(event, details):
                        continue
                    last = found[-1]
                    if kind == "TaskSucceeded":
                        last.update(status="succeeded", exit_code=0)
                        continue
                    cause = _json(details.get("cause"))
                    code = _exit_code(cause)
                    last.update(exit_code=code, error=details.get("error"),
                                status="timed_out" if kind == "TaskTimedOut"
                                or code == contract.EXIT_TIMEOUT else "failed")
    return found


def _is_invoke(event: dict[str, Any]) -> bool:
    details = event.get("taskScheduledEventDetails", {})
    return bool(details.get("resourceType") == "lambda")


def _is_list_tasks(event: dict[str, Any], details: dict[str, Any]) -> bool:
    resource = details.get("resource") or event.get("taskSucceededEventDetails", {}).get(
        "resource", "")
    return "listTasks" in str(resource)


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _exit_code(task: Any) -> int | None:
    if not isinstance(task, dict):
        return None
    for container in task.get("Containers") or []:
        if container.get("Name") == names.CONTAINER and container.get("ExitCode") is not None:
            return int(container["ExitCode"])
    return None


def outcome(project: Project, execution: dict[str, Any]) -> tuple[Outcome, list[dict[str, Any]]]:
    """How the run ended, with the job's last exit code, and its attempts."""
    tried = attempts(project, str(execution["executionArn"]))
    status = execution.get("status")
    if status == "SUCCEEDED":
        result = _json(execution.get("output")) or {}
        if result.get("status") == "skipped":
            return Outcome("skipped", 0, str(result.get("reason") or "skipped")), tried
        count = len(tried) or 1
        return Outcome("succeeded", 0, "the job succeeded" + (
            f" on attempt {count}" if count > 1 else "")), tried
    last_code = next((a["exit_code"] for a in reversed(tried) if a["exit_code"] is not None),
                     None)
    cause = str(execution.get("cause") or execution.get("error") or status)
    if execution.get("error") == "fargo.JobTimedOut":
        return Outcome("timed_out", contract.EXIT_TIMEOUT, cause), tried
    code = last_code if last_code not in (None, 0) else contract.EXIT_FAILED
    return Outcome("failed", int(code), cause), tried


def in_progress(project: Project) -> dict[str, list[dict[str, Any]]]:
    """Runs of the runner not ended yet, by job: run id, since when, and what it waits for."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not any(s.uses_runner for s in project.tasks):
        return found
    machine = arn(project)
    with aws_errors("listing the runner's runs"):
        sfn = client("stepfunctions", project.stage.aws_region)
        try:
            executions = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING",
                                             maxResults=100).get("executions", [])
        except sfn.exceptions.StateMachineDoesNotExist:
            return found
        for item in executions:
            execution = sfn.describe_execution(executionArn=item["executionArn"])
            run = _json(execution.get("input")) or {}
            events = sfn.get_execution_history(executionArn=item["executionArn"],
                                               reverseOrder=True, maxResults=20)["events"]
            state = next((e["stateEnteredEventDetails"]["name"] for e in events
                          if "stateEnteredEventDetails" in e), "")
            started = item.get("startDate")
            found.setdefault(str(run.get("job")), []).append({
                "run_id": run.get("run_id"), "state": STATE_NAMES.get(state, "running"),
                "since": format_utc(started) if isinstance(started, datetime) else None})
    return found
