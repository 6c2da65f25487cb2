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
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{ecr_repository(app)}"


def workflow_task_group(app: str, stage: str, workflow: str) -> str:
    """The ECS task group of a workflow's steps (alerts go per failed execution, not task)."""
    return f"fargo-workflow:{job_name(app, stage, workflow)}"
