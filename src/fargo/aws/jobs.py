"""Deployed jobs: run now, wait, logs, history, pause/resume, status.

Every AWS name follows from the model (`<app>-<stage>-<job>`, `/fargo/<app>/<stage>/<job>`), so
these operations need no Terraform state, only credentials for the stage's account.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fargo import limits
from fargo.aws.session import AwsFailed, aws_errors, client
from fargo.project.model import Project, TaskSpec

CONTAINER = "job"
LOG_PREFIX = "fargo"
EXIT_WAIT_TIMEOUT = 124
FAILURE_CODES = {
    "TaskFailedToStart": "the task failed to start",
    "SpotInterruption": "Fargate Spot reclaimed the capacity (2-minute warning, then SIGTERM)",
    "TerminationNotice": "the task was stopped by a termination notice",
    "InfrastructureHealth": "AWS stopped the task for an infrastructure health problem",
    "ServiceSchedulerInitiated": "an ECS service scheduler stopped the task",
    "UserInitiated": "someone stopped the task (StopTask)",
    "EssentialContainerExited": "the job's container exited",
}


def runs_log_group(project: Project) -> str:
    return f"/fargo/{project.app_name}/{project.stage.name}/_runs"


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def log_stream(task_arn: str) -> str:
    return f"{LOG_PREFIX}/{CONTAINER}/{task_id(task_arn)}"


# --- run now ------------------------------------------------------------------------------

def run_overrides(spec: TaskSpec, event_json: str | None, env: dict[str, str],
                  run_id: str) -> dict[str, Any]:
    environment = [{"name": "FARGO_RUN_ID", "value": run_id}]
    if event_json is not None:
        environment.append({"name": "FARGO_EVENT", "value": event_json})
    environment += [{"name": k, "value": v} for k, v in sorted(env.items())]
    overrides = {"containerOverrides": [{"name": CONTAINER, "environment": environment}]}
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
        "platformVersion": "LATEST",
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": list(spec.subnets), "securityGroups": list(spec.security_groups),
            "assignPublicIp": "ENABLED" if stage.assign_public_ip else "DISABLED"}},
        "propagateTags": "TASK_DEFINITION",
        "enableECSManagedTags": True,
        "group": f"family:{spec.full_name}",
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
    container = next((c for c in task.get("containers", []) if c.get("name") == CONTAINER),
                     (task.get("containers") or [{}])[0])
    code = container.get("exitCode")
    stop_code = task.get("stopCode")
    reason = task.get("stoppedReason") or container.get("reason") or ""
    if stop_code in ("TaskFailedToStart", "SpotInterruption", "TerminationNotice",
                     "InfrastructureHealth") or code is None:
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
    if code == EXIT_WAIT_TIMEOUT:
        return Outcome("timed_out", code, "the job ran past its timeout and was stopped (124)")
    return Outcome("failed", int(code), f"the job exited with {code}"
                   + (f": {reason}" if reason else ""))


# --- logs ---------------------------------------------------------------------------------

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
        params["logStreamNames"] = [log_stream(task)]
    events: list[dict[str, Any]] = []
    with aws_errors(f"reading {spec.log_group}"):
        paginator = client("logs", project.stage.aws_region).get_paginator("filter_log_events")
        for page in paginator.paginate(**params):
            events.extend(page.get("events", []))
    return sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", "")))


# --- history ------------------------------------------------------------------------------

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
            if item.get("name") == "FARGO_SCHEDULED_TIME":
                scheduled = item.get("value")
    stopped = task.get("lastStatus") == "STOPPED"
    outcome = explain(task) if stopped else Outcome("running", 0, "")
    started, ended = _iso(task.get("startedAt")), _iso(task.get("stoppedAt"))
    duration = None
    if started and ended:
        duration = (datetime.fromisoformat(ended.replace("Z", "+00:00"))
                    - datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds()
    exit_code = next((c.get("exitCode") for c in task.get("containers", [])
                      if c.get("name") == CONTAINER), None)
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
    group = f"family:{spec.full_name}"
    with aws_errors("reading run records"):
        logs = client("logs", region)
        try:
            paginator = logs.get_paginator("filter_log_events")
            for page in paginator.paginate(logGroupName=runs_log_group(project)):
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


# --- pause / resume / status ---------------------------------------------------------------

_UPDATABLE = ("Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone",
              "StartDate", "EndDate", "Description", "KmsKeyArn", "Target",
              "FlexibleTimeWindow", "ActionAfterCompletion")


def set_enabled(project: Project, spec: TaskSpec, enabled: bool) -> None:
    state = "ENABLED" if enabled else "DISABLED"
    region = project.stage.aws_region
    if project.stage.schedule_backend == "rules":
        with aws_errors(f"{'resuming' if enabled else 'pausing'} {spec.full_name}"):
            events = client("events", region)
            (events.enable_rule if enabled else events.disable_rule)(Name=spec.full_name)
        return
    with aws_errors(f"{'resuming' if enabled else 'pausing'} {spec.full_name}"):
        scheduler = client("scheduler", region)
        current = scheduler.get_schedule(Name=spec.full_name,
                                         GroupName=f"{project.app_name}-{project.stage.name}")
        # UpdateSchedule replaces the whole schedule: send back everything, with the new state.
        update = {k: current[k] for k in _UPDATABLE if current.get(k) not in (None, "")}
        scheduler.update_schedule(**update, State=state)


def schedule_states(project: Project) -> dict[str, str]:
    """Job name -> ENABLED | DISABLED | missing, as AWS has it now."""
    region = project.stage.aws_region
    prefix = f"{project.app_name}-{project.stage.name}-"
    found: dict[str, str] = {}
    with aws_errors("reading schedules"):
        if project.stage.schedule_backend == "rules":
            pages = client("events", region).get_paginator("list_rules").paginate(
                NamePrefix=prefix)
            for page in pages:
                for rule in page.get("Rules", []):
                    found[rule["Name"][len(prefix):]] = rule.get("State", "")
        else:
            scheduler = client("scheduler", region)
            try:
                pages = scheduler.get_paginator("list_schedules").paginate(
                    GroupName=f"{project.app_name}-{project.stage.name}")
                for page in pages:
                    for item in page.get("Schedules", []):
                        found[item["Name"][len(prefix):]] = item.get("State", "")
            except scheduler.exceptions.ResourceNotFoundException:
                pass
    return {spec.name: found.get(spec.name, "missing") for spec in project.tasks
            if spec.schedule is not None}


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
