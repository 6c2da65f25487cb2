"""Run a deployed job now, wait for it, and say how it ended.

RunTask gets exactly the schedule target's parameters (cluster, family, launch type or Spot,
platform version, network, task group, tags), so a manual run is the scheduled one, now.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fargo import limits
from fargo.aws.session import AwsFailed, aws_errors, client
from fargo.aws.watchdog_function import REASON_OVERRAN, REASON_STUCK
from fargo.project import names
from fargo.project.model import Project, TaskSpec
from fargo.runtime import contract

FAILURE_CODES = {
    "TaskFailedToStart": "the task failed to start",
    "SpotInterruption": "Fargate Spot reclaimed the capacity (2-minute warning, then SIGTERM)",
    "TerminationNotice": "the task was stopped by a termination notice",
    "InfrastructureHealth": "AWS stopped the task for an infrastructure health problem",
    "ServiceSchedulerInitiated": "an ECS service scheduler stopped the task",
    "UserInitiated": "someone stopped the task (StopTask)",
    "EssentialContainerExited": "the job's container exited",
}


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def run_overrides(spec: TaskSpec, event_json: str | None, env: dict[str, str],
                  run_id: str) -> dict[str, Any]:
    environment = [{"name": contract.RUN_ID, "value": run_id}]
    if event_json is not None:
        environment.append({"name": contract.EVENT, "value": event_json})
    environment += [{"name": k, "value": v} for k, v in sorted(env.items())]
    overrides = {"containerOverrides": [{"name": names.CONTAINER, "environment": environment}]}
    size = len(json.dumps(overrides, separators=(",", ":")))
    if size > limits.RUN_OVERRIDES_MAX_CHARS:
        raise AwsFailed(f"the run's overrides take {size} characters; ECS allows "
                        f"{limits.RUN_OVERRIDES_MAX_CHARS}: pass a smaller --event or fewer --env")
    return overrides


def run_task(project: Project, spec: TaskSpec, event_json: str | None,
             env: dict[str, str]) -> str:
    """RunTask with exactly the schedule target's parameters, plus overrides; the task ARN."""
    stage = project.stage
    params: dict[str, Any] = {
        "cluster": stage.cluster,
        "taskDefinition": spec.full_name,
        "count": 1,
        "platformVersion": names.PLATFORM_VERSION,
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": list(spec.subnets), "securityGroups": list(spec.security_groups),
            "assignPublicIp": "ENABLED" if stage.assign_public_ip else "DISABLED"}},
        "propagateTags": "TASK_DEFINITION",
        "enableECSManagedTags": True,
        "group": names.task_group(spec.full_name),
        "startedBy": "fargo-run",
        "overrides": run_overrides(spec, event_json, env,
                                   f"run-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"),
    }
    if spec.spot:
        params["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    else:
        params["launchType"] = "FARGATE"
    with aws_errors(f"starting {spec.full_name}"):
        response = client("ecs", stage.aws_region).run_task(**params)
    if response.get("failures"):
        failure = response["failures"][0]
        raise AwsFailed(f"ECS did not start {spec.full_name}: {failure.get('reason')} "
                        f"{failure.get('detail') or ''}".strip())
    return str(response["tasks"][0]["taskArn"])


def describe(project: Project, task_arn: str) -> dict[str, Any]:
    with aws_errors("reading the task"):
        tasks = client("ecs", project.stage.aws_region).describe_tasks(
            cluster=project.stage.cluster, tasks=[task_arn])["tasks"]
    if not tasks:
        raise AwsFailed(f"task {task_arn} is not known to ECS (stopped more than an hour ago?)")
    return dict(tasks[0])


def wait(project: Project, task_arn: str, timeout: float | None, poll: float,
         on_poll: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any] | None:
    """Poll until STOPPED; None when `timeout` seconds passed first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        task = describe(project, task_arn)
        if on_poll:
            on_poll(task)
        if task.get("lastStatus") == "STOPPED":
            return task
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(poll)


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | failed | timed_out | running
    exit_code: int
    explanation: str


def explain(task: dict[str, Any]) -> Outcome:
    """The job's outcome from a stopped task, with why when the container never ran."""
    container = next((c for c in task.get("containers", []) if c.get("name") == names.CONTAINER),
                     (task.get("containers") or [{}])[0])
    code = container.get("exitCode")
    stop_code = task.get("stopCode")
    reason = task.get("stoppedReason") or container.get("reason") or ""
    if reason.startswith(REASON_OVERRAN):  # ECS has no task timeout: the watchdog stopped it
        return Outcome("timed_out", contract.EXIT_TIMEOUT, reason)
    if reason.startswith(REASON_STUCK):
        return Outcome("failed", 1, f"the task failed to start: {reason}")
    if stop_code in names.FAILURE_STOP_CODES or code is None:
        what = FAILURE_CODES.get(stop_code or "", "the container never reported an exit code")
        hint = ""
        text = f"{reason} {container.get('reason') or ''}"
        if "CannotPullContainer" in text or "pull image" in text:
            hint = " (the image is missing or not readable: run fargo build --push)"
        elif "ResourceInitializationError" in text:
            hint = (" (secrets or the log group could not be read: check the execution role and "
                    "the network route to ECR/SSM)")
        detail = f"{what}{hint}" + (f": {reason}" if reason else "")
        return Outcome("failed", int(code) if code is not None else 1, detail)
    if code == 0:
        return Outcome("succeeded", 0, "the job succeeded")
    if code == contract.EXIT_TIMEOUT:
        return Outcome("timed_out", code, "the job ran past its timeout and was stopped (124)")
    return Outcome("failed", int(code), f"the job exited with {code}"
                   + (f": {reason}" if reason else ""))


def running_tasks(project: Project) -> dict[str, list[dict[str, Any]]]:
    region = project.stage.aws_region
    running: dict[str, list[dict[str, Any]]] = {}
    with aws_errors("listing running tasks"):
        ecs = client("ecs", region)
        for spec in project.tasks:
            if spec.compute != "fargate":
                continue
            arns = ecs.list_tasks(cluster=project.stage.cluster, family=spec.full_name,
                                  desiredStatus="RUNNING").get("taskArns", [])
            if arns:
                tasks = ecs.describe_tasks(cluster=project.stage.cluster, tasks=arns)["tasks"]
                alive = [t for t in tasks if t.get("lastStatus") != "STOPPED"]
                if alive:
                    running[spec.name] = alive
    return running


def invoke_function(project: Project, spec: TaskSpec, event_json: str | None,
                    wait_for_result: bool) -> tuple[int, str]:
    """Lambda jobs: invoke now; (exit code, what happened)."""
    payload = event_json or json.dumps({"detail-type": "Scheduled Event", "source": "fargo.run",
                                        "detail": {}})
    with aws_errors(f"invoking {spec.full_name}"):
        response = client("lambda", project.stage.aws_region).invoke(
            FunctionName=spec.full_name, Payload=payload.encode(),
            InvocationType="RequestResponse" if wait_for_result else "Event", LogType="Tail")
    if not wait_for_result:
        return 0, f"invoked {spec.full_name} (asynchronously)"
    body = response["Payload"].read().decode(errors="replace")
    if response.get("FunctionError"):
        return 1, f"{spec.full_name} failed: {body}"
    return 0, body
