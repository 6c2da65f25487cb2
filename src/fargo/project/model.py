"""The resolved project model every consumer reads: Project -> Stage -> TaskSpec.

Immutable and fully validated: the local runner, Terraform synthesis, packaging and AWS
operations all read these objects and never re-read config files or re-parse schedules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fargo.problems import Problem, listed
from fargo.project import names
from fargo.project.paths import CONFIG_FILE
from fargo.runtime import contract

if TYPE_CHECKING:
    from fargo.app import Kind
    from fargo.project.workflows import WorkflowSpec
    from fargo.schedule.deadlines import Deadline


# The closed sets of the model. The JSON Schema admits exactly these values.
Compute = Literal["fargate", "lambda"]
Architecture = Literal["x86_64", "arm64"]
Overlap = Literal["skip", "queue", "allow"]
Catchup = Literal["none", "latest", "all"]
ScheduleBackend = Literal["scheduler", "rules"]


def job_variables(app: str, stage: str, task: str, timeout: int,
                  memory: int) -> dict[str, str]:
    """The FARGO_* variables every job is given (the module's ecs.tf sets the same)."""
    return {contract.APP: app, contract.STAGE: stage, contract.TASK: task,
            contract.TIMEOUT: str(timeout), contract.MEMORY: str(memory)}


@dataclass(frozen=True)
class TaskSpec:
    """One job in one stage, every setting resolved; `provenance` says where each came from."""

    name: str
    app_name: str
    stage: str
    kind: Kind
    handler: str  # module:function
    compute: Compute
    schedule: str | None  # AWS form
    timezone: str
    events: tuple[Mapping[str, Any], ...]  # EventBridge patterns that start the job too
    event_fields: Mapping[str, str]  # name -> JSONPath: the projection of an event over 8 KB
    s3: tuple[Mapping[str, Any], ...]  # S3 object events: {bucket, events, prefix, suffix}
    step_of: tuple[str, ...]  # state machines of the team's own that run the job as a step
    flexible_window_minutes: int | None
    start_date: str | None  # RFC 3339 UTC
    end_date: str | None
    enabled: bool
    cpu: int | None  # Fargate cpu units; None for Lambda
    memory: int  # MiB
    ephemeral_storage_gib: int | None
    architecture: Architecture
    spot: bool
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    timeout: int  # seconds
    reserved_concurrency: int | None  # Lambda only
    layers: tuple[str, ...]  # Lambda layer version ARNs
    # SNS subscriptions and event source mappings (SQS, DynamoDB, Kinesis): {type, ...}
    event_sources: tuple[Mapping[str, Any], ...]
    retries: int
    retry_timeouts: bool
    overlap: Overlap
    catchup: Catchup
    environment_variables: Mapping[str, str]
    local_environment_variables: Mapping[str, str]  # fargo invoke / up only, never deployed
    secrets: Mapping[str, str]
    iam_policy_file: str | None  # relative to the project root
    iam_policy: Mapping[str, Any] | None
    task_role_arn: str | None  # an existing role instead of the one fargo creates
    tags: Mapping[str, str]
    log_retention_days: int
    description: str | None
    provenance: Mapping[str, str] = field(default_factory=dict)
    # Why the job goes through the stage's runner on AWS (project/runner.py); empty: it is
    # started directly by its schedule.
    runner_reasons: tuple[str, ...] = ()
    deadline: Deadline | None = None  # by when each slot must have succeeded, else one alert

    @property
    def patterns(self) -> tuple[Mapping[str, Any], ...]:
        """Every EventBridge pattern that starts the job: its own and its S3 triggers'."""
        from fargo.patterns.s3 import s3_patterns

        found = [p for t in self.s3 for p in s3_patterns(
            str(t["bucket"]), list(t.get("events") or []), str(t.get("prefix") or ""),
            str(t.get("suffix") or ""))]
        return (*self.events, *found)

    @property
    def rule_patterns(self) -> tuple[Mapping[str, Any], ...]:
        """What the job's EventBridge rule matches: a Lambda job's S3 triggers are the
        bucket's own notifications instead, as Chalice deploys them."""
        return self.patterns if self.compute == "fargate" else self.events

    @property
    def uses_runner(self) -> bool:
        return bool(self.runner_reasons)

    @property
    def full_name(self) -> str:
        """<app>-<stage>-<task>: the name of every AWS resource of this job."""
        return names.job_name(self.app_name, self.stage, self.name)

    @property
    def log_group(self) -> str:
        """Where the job's logs go in CloudWatch (Lambda writes to its function's group)."""
        return names.job_log_group(self.app_name, self.stage, self.name, self.compute)

    @property
    def scheduled(self) -> bool:
        return self.schedule is not None

    def next_fire(self, after: datetime) -> datetime | None:
        """The next fire strictly after `after` (UTC), None when unscheduled, off or ended."""
        if self.schedule is None or not self.enabled:
            return None
        from fargo.schedule import load_zone, next_fires, parse

        fires = next_fires(parse(self.schedule), load_zone(self.timezone), after, 1)
        return fires[0] if fires else None

    def runtime_environment(self) -> dict[str, str]:
        """The environment a local run gets: the deployed one with the local overrides (a
        folder where AWS reads a bucket), fargo's own variables last, so they win."""
        env = dict(self.environment_variables)
        env.update(self.local_environment_variables)
        env.update(job_variables(self.app_name, self.stage, self.name, self.timeout,
                                  self.memory))
        return env


@dataclass(frozen=True)
class Stage:
    """A deployment stage: where its jobs run in AWS."""

    name: str
    region: str | None  # None: nothing names one (local runs need none)
    account: str | None
    cluster: str  # what ECS APIs take: the configured ARN, else the name
    cluster_name: str
    cluster_arn: str | None  # given when the config names an existing cluster by ARN
    create_cluster: bool  # False when the config names an existing cluster
    execution_role_arn: str | None  # an existing execution role, else fargo creates one
    subnets: tuple[str, ...]  # the stage-level network (jobs may override theirs)
    security_groups: tuple[str, ...]
    assign_public_ip: bool
    image: str | None
    base_image: str | None  # FROM of fargo build's Dockerfile; None: python:<X.Y>-slim
    schedule_backend: ScheduleBackend
    max_parallel: int | None
    terraform_state: Mapping[str, Any] | None
    create_dead_letter_queue: bool
    alerts: Mapping[str, Any] | None
    pending_limit: int = 600  # seconds: the watchdog stops a task still pending after it
    provenance: Mapping[str, str] = field(default_factory=dict)

    @property
    def aws_region(self) -> str:
        """The region for AWS work; ProblemsError (exit 2) when nothing names one."""
        if self.region is None:
            from fargo.problems import Problem, ProblemsError

            raise ProblemsError([Problem(
                f"no AWS region for stage {self.name}: set region in the config, or "
                "AWS_REGION / AWS_DEFAULT_REGION, or a region in your AWS profile",
                CONFIG_FILE, f"stages.{self.name}.region")])
        return self.region


@dataclass(frozen=True)
class Project:
    """One app in one stage."""

    root: Path
    app_name: str
    stage: Stage
    stages: tuple[str, ...]
    tasks: tuple[TaskSpec, ...]
    notices: tuple[Problem, ...] = ()  # warnings and conversions worth showing
    workflows: tuple[WorkflowSpec, ...] = ()

    def workflow(self, name: str) -> WorkflowSpec | None:
        return next((w for w in self.workflows if w.name == name), None)

    def task(self, name: str) -> TaskSpec | None:
        return next((t for t in self.tasks if t.name == name), None)

    def unknown_job(self, name: str, key: str = "TASK") -> Problem:
        """The message for a job name that is not in the project, with a hint."""
        from fargo.problems import did_you_mean

        return Problem(f"no job named {name!r}{did_you_mean(name, self.task_names)} "
                       f"(jobs: {listed(self.task_names) or 'none'})", key=key)

    def require(self, name: str, key: str = "TASK") -> TaskSpec:
        """The job, or ProblemsError (exit 2) naming the jobs there are."""
        spec = self.task(name)
        if spec is None:
            from fargo.problems import ProblemsError

            raise ProblemsError([self.unknown_job(name, key)])
        return spec

    def network_problems(self, names: tuple[str, ...] | None = None) -> list[Problem]:
        """Fargate jobs without subnets cannot run in AWS (local runs need none)."""
        missing = [t.name for t in self.tasks if t.compute == "fargate" and not t.subnets
                   and (names is None or t.name in names)]
        if not missing:
            return []
        return [Problem(f"Fargate jobs ({listed(missing)}) need subnets to run in AWS: set "
                        "subnets (and security_groups) for the stage or the job",
                        CONFIG_FILE, f"stages.{self.stage.name}.subnets")]

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)
