"""Every AWS name of an app's stage, computed once.

The HCL module repeats these rules where Terraform needs them (it cannot call Python); the
tests check that a deployed module's `jobs` output equals these names. Every consumer — the
model, the AWS operations, the CLI — asks here instead of formatting names itself.
"""

from __future__ import annotations

CONTAINER = "job"  # the one container of every task definition
PLATFORM_VERSION = "LATEST"  # Fargate platform of scheduled and manual runs alike
LOG_STREAM_PREFIX = "fargo"  # awslogs-stream-prefix: streams are fargo/job/<task id>
# ECS stop codes that mean a run failed even without an exit code (never started, reclaimed).
FAILURE_STOP_CODES = ("TaskFailedToStart", "SpotInterruption", "TerminationNotice",
                      "InfrastructureHealth")


# The names the module gives a stage's own resources: <app>-<stage>-<suffix> (roles, queues,
# rules, topics, state machines). tests/test_module_parity.py holds this list equal to the
# module's; a job or workflow named like one of them would collide with it.
STAGE_SUFFIXES = ("alerts", "dead-letter", "dead-letters", "event-rules", "events", "exec",
                  "failures", "runner", "runner-failures", "runner-runs", "runs", "scheduler",
                  "watchdog", "wf-start", "workflow-failures", "workflows")


_RUNNER_SUFFIXES = ("runner", "runner-failures", "runner-runs")
_WORKFLOW_SUFFIXES = ("wf-start", "workflow-failures", "workflows")
_EVENT_SUFFIXES = ("event-rules",)


def stage_names(app: str, stage: str, runner: bool = True, workflows: bool = True,
                events: bool = True) -> list[str]:
    """The names of the stage's own resources: those of the runner, of workflows and of event
    rules only when the stage has them (the module creates them only then)."""
    left_out = (() if runner else _RUNNER_SUFFIXES) + (() if workflows else _WORKFLOW_SUFFIXES) \
        + (() if events else _EVENT_SUFFIXES)
    return [f"{prefix(app, stage)}-{suffix}" for suffix in STAGE_SUFFIXES
            if suffix not in left_out]


def prefix(app: str, stage: str) -> str:
    """<app>-<stage>: the start of every name of the stage."""
    return f"{app}-{stage}"


def job_name(app: str, stage: str, job: str) -> str:
    """<app>-<stage>-<job>: role, task family, schedule, rule and function of a job."""
    return f"{app}-{stage}-{job}"


def job_log_group(app: str, stage: str, job: str, compute: str) -> str:
    """Where a job logs (a Lambda function writes to its own group)."""
    if compute == "lambda":
        return f"/aws/lambda/{job_name(app, stage, job)}"
    return f"/fargo/{app}/{stage}/{job}"


def runs_log_group(app: str, stage: str) -> str:
    """The stage's durable run records (stopped tasks), read by fargo history."""
    return f"/fargo/{app}/{stage}/_runs"


def schedule_group(app: str, stage: str) -> str:
    return prefix(app, stage)


def task_group(family: str) -> str:
    """The ECS task group of a job's runs, scheduled or started by fargo run."""
    return f"family:{family}"


def event_rule(app: str, stage: str, job: str) -> str:
    """The EventBridge rule that starts a job on its event patterns."""
    return f"{job_name(app, stage, job)}-on"


def event_pattern(patterns: list[dict[str, object]]) -> dict[str, object]:
    """A job's patterns as the one pattern of its rule (several: alternatives under $or)."""
    return dict(patterns[0]) if len(patterns) == 1 else {"$or": [dict(p) for p in patterns]}


def runner_task_group(family: str) -> str:
    """The ECS task group of runs the stage's runner starts (its own, so per-task failure
    alerts leave them to the runner's once-per-run alert)."""
    return f"fargo-runner:{family}"


def runner(app: str, stage: str) -> str:
    """The stage's runner: state machine and role."""
    return f"{prefix(app, stage)}-runner"


def runner_arn(partition: str, region: str, account: str, app: str, stage: str) -> str:
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{runner(app, stage)}"


def partition(region: str) -> str:
    """The AWS partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def log_stream(task_arn: str) -> str:
    """The awslogs stream of a task's job container."""
    return f"{LOG_STREAM_PREFIX}/{CONTAINER}/{task_arn.rsplit('/', 1)[-1]}"


def ecr_repository(app: str) -> str:
    """The app's image repository: one per app, shared by its stages."""
    return app


def ecr_url(account: str, region: str, app: str) -> str:
    """The app's ECR repository URL: its registry host is the partition's (China's regions
    end in amazonaws.com.cn). `account` may be a Terraform expression."""
    domain = "amazonaws.com.cn" if partition(region) == "aws-cn" else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{ecr_repository(app)}"


def workflow_task_group(app: str, stage: str, workflow: str) -> str:
    """The ECS task group of a workflow's steps (alerts go per failed execution, not task)."""
    return f"fargo-workflow:{job_name(app, stage, workflow)}"
