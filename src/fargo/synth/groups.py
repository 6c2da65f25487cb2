"""Job groups: a stage of many jobs is planned as one module instance per group of jobs.

Terraform's plan time grows with the square of a resource's instance count (measured in
benchmarks/terraform_scale.py: 400 jobs in one instance of the module plan in 92 s, in four
instances of 100 in 28 s). Above SPLIT_ABOVE jobs, the root holds the stage's shared resources
in `module.jobs` (part "stage") and each job's resources in `module.jobs_NN` (part "jobs").

A job's group is a pure function of its name, so adding or removing a job never moves another
one; a stage that crosses SPLIT_ABOVE is carried to the other layout by `moved` blocks written
from its state (fargo plan and deploy read it after terraform init).
"""

from __future__ import annotations

import os
import re
import zlib

from fargo.problems import Problem, ProblemsError
from fargo.project.model import TaskSpec

SPLIT_ABOVE = 150  # measured: below it, one instance plans faster than 32 of them
GROUPS = 32
STAGE_MODULE = "jobs"
S3_GROUP = "jobs_s3"  # Lambda jobs on S3 notifications: a bucket's configuration is one resource

# The module's resources that belong to one job, keyed by its name (or "<job>/<bucket>"), and
# the bucket-keyed one that belongs to the S3 group.
JOB_RESOURCES = frozenset({
    "aws_cloudwatch_log_group.job", "aws_ecs_task_definition.job", "aws_iam_role.task",
    "aws_iam_role_policy.task", "aws_iam_role_policy.step_callback", "aws_iam_role.function",
    "aws_iam_role_policy.function", "aws_lambda_function.job", "aws_scheduler_schedule.job",
    "aws_cloudwatch_event_rule.job", "aws_cloudwatch_event_target.job",
    "aws_lambda_permission.rule", "aws_cloudwatch_event_rule.events",
    "aws_cloudwatch_event_target.events", "aws_lambda_permission.events",
    "aws_lambda_permission.s3"})
BUCKET_RESOURCES = frozenset({"aws_s3_bucket_notification.lambda"})
ADDRESS = re.compile(r'^module\.([A-Za-z0-9_-]+)\.([a-z0-9_]+\.[a-z0-9_]+)\["([^"]+)"\]$')


def split_above() -> int:
    """SPLIT_ABOVE, or FARGO_SPLIT_ABOVE (a whole number) to choose the line."""
    value = os.environ.get("FARGO_SPLIT_ABOVE")
    if value is None:
        return SPLIT_ABOVE
    if not value.isascii() or not value.isdigit():
        raise ProblemsError([Problem(f"FARGO_SPLIT_ABOVE is {value!r}: set it to a whole number "
                                     "of jobs (0 or more), or unset it for the default "
                                     f"({SPLIT_ABOVE})", key="FARGO_SPLIT_ABOVE")])
    return int(value)


def split(tasks: tuple[TaskSpec, ...] | list[TaskSpec]) -> bool:
    return len(tasks) > split_above()


def group_of(task: TaskSpec) -> str:
    if task.compute == "lambda" and task.s3:
        return S3_GROUP
    return f"jobs_{zlib.crc32(task.name.encode()) % GROUPS:02d}"


def groups(tasks: tuple[TaskSpec, ...] | list[TaskSpec]) -> dict[str, list[TaskSpec]]:
    found: dict[str, list[TaskSpec]] = {}
    for task in tasks:
        found.setdefault(group_of(task), []).append(task)
    return dict(sorted(found.items()))


def home(tasks: tuple[TaskSpec, ...] | list[TaskSpec]) -> dict[str, str]:
    """Job name -> the module instance that holds its resources in this layout."""
    grouped = split(tasks)
    return {t.name: group_of(t) if grouped else STAGE_MODULE for t in tasks}


def moves(state: list[str], tasks: tuple[TaskSpec, ...] | list[TaskSpec]) -> list[dict[str, str]]:
    """`moved` blocks for the resources the state holds in another instance than this layout's.

    Read from the state, not guessed: a stage whose layout is unchanged gets none (9,000 moved
    blocks, one per job resource of 1,000 jobs, cost terraform 90 s of planning).
    """
    where = home(tasks)
    bucket_home = {str(s["bucket"]): (S3_GROUP if split(tasks) else STAGE_MODULE)
                   for t in tasks if t.compute == "lambda" for s in t.s3}
    blocks = []
    for address in state:
        found = ADDRESS.match(address)
        if not found:
            continue
        module, kind, key = found.groups()
        if kind in JOB_RESOURCES:
            target = where.get(key.split("/", 1)[0])
        elif kind in BUCKET_RESOURCES:
            target = bucket_home.get(key)
        else:
            continue
        if target and target != module:
            rest = address[len(f"module.{module}."):]
            blocks.append({"from": address, "to": f"module.{target}.{rest}"})
    return blocks
