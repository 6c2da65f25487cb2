"""Every setting a job or stage can have: default, where it applies, and what it means.

The JSON Schema (config.schema.json) and the model are checked against this table by the tests,
so a setting cannot exist in one and not the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    applies_to: str = "all"  # "all" | "fargate" | "lambda"
    merge: bool = False  # dict settings merge key by key across levels
    decorator: bool = False  # may be given in @app.task(...)


TASK_SETTINGS: tuple[Setting, ...] = (
    Setting("compute", "fargate", "fargate or lambda", decorator=True),
    Setting("schedule", None, "rate(), cron(), at(), @daily, @every 90m or Unix cron; "
            "null = on demand only", decorator=True),
    Setting("timezone", "UTC", "IANA time zone of the schedule", decorator=True),
    Setting("events", [], "EventBridge event patterns that start the job too (a list of "
            "objects)", decorator=True),
    Setting("s3", [], "S3 object events that start the job: {bucket, events, prefix, suffix} "
            "(Chalice's on_s3_event; a list of objects)", decorator=True),
    Setting("step_of", [], "Step Functions state machines (ARNs) that run the job as a step "
            "(fargo asl prints the state): its role may answer their task tokens", "fargate"),
    Setting("event_fields", {}, "when an event does not fit ECS's 8 KB of overrides: the detail "
            "fields the job still gets (name -> JSONPath)", "fargate"),
    Setting("flexible_window_minutes", None, "Scheduler may start the job up to N minutes late "
            "(1-1440; default off)"),
    Setting("start_date", None, "ISO 8601 instant: the schedule starts firing then"),
    Setting("end_date", None, "ISO 8601 instant: the schedule stops firing then"),
    Setting("enabled", True, "false keeps the job deployed but its schedule off"),
    Setting("cpu", 256, "Fargate cpu units (256-16384) or '1 vCPU'", "fargate", decorator=True),
    Setting("memory", None, "MiB or '2 GB' (default: Fargate 512, Lambda 128)", decorator=True),
    Setting("ephemeral_storage_gib", None, "Fargate task storage, 21-200 GiB (default 20)",
            "fargate"),
    Setting("architecture", "x86_64", "x86_64 or arm64"),
    Setting("spot", False, "run on Fargate Spot", "fargate"),
    Setting("subnets", [], "subnet ids: where Fargate tasks run; a Lambda job with subnets runs "
            "in their VPC"),
    Setting("security_groups", [], "security group ids of Fargate tasks and Lambda jobs in a "
            "VPC"),
    Setting("timeout", None, "seconds or '15m' (default: Fargate 3600, Lambda 60)",
            decorator=True),
    Setting("reserved_concurrency", None, "Lambda reserved concurrency (default: unreserved)",
            "lambda"),
    Setting("layers", [], "Lambda layer version ARNs (at most 5)", "lambda"),
    Setting("event_sources", [], "SNS topics, SQS queues, DynamoDB and Kinesis streams that "
            "invoke the job (Chalice's on_sns_message, on_sqs_message, on_dynamodb_record, "
            "on_kinesis_record)", "lambda"),
    Setting("retries", 0, "extra attempts after a failed run (0-10)", decorator=True),
    Setting("retry_timeouts", False, "retry runs that timed out too"),
    Setting("overlap", "skip", "when a run is still going at the next fire: skip, queue, allow"),
    Setting("deadline", None, "by when each slot's run must have succeeded: a duration after "
            "the slot ('2h') or a time of day ('07:00', '07:00 Europe/Berlin'); else one alert",
            decorator=True),
    Setting("catchup", "latest", "fires missed while the scheduler was down: none, latest, all"),
    Setting("environment_variables", {}, "environment of the job", merge=True),
    Setting("local_environment_variables", {}, "environment of local runs only (fargo invoke, "
            "fargo up), over environment_variables; never deployed", merge=True),
    Setting("secrets", {}, "env var -> SSM parameter name/ARN or Secrets Manager ARN",
            merge=True),
    Setting("iam_policy_file", None, "IAM policy for the job's role, relative to .fargo/ "
            "(default: policy-<task>.json when present)"),
    Setting("task_role_arn", None, "an existing IAM role for the job (Fargate task role or "
            "Lambda function role) instead of the one fargo creates"),
    Setting("tags", {}, "AWS tags on the job's resources", merge=True),
    Setting("log_retention_days", 30, "CloudWatch Logs retention"),
    Setting("description", None, "shown in fargo ls and on the schedule", decorator=True),
)

STAGE_SETTINGS: tuple[Setting, ...] = (
    Setting("region", None, "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the AWS "
            "profile's region)"),
    Setting("account", None, "12-digit AWS account id (checked at deploy when given)"),
    Setting("cluster", None, "an existing ECS cluster, name or ARN (default: <app>-<stage>, "
            "created)"),
    Setting("execution_role_arn", None, "an existing ECS task execution role (default: "
            "<app>-<stage>-exec, created)"),
    Setting("assign_public_ip", False, "give Fargate tasks a public IP"),
    Setting("image", None, "container image for Fargate jobs (default: built by fargo build)"),
    Setting("base_image", None, "base image of fargo build's Dockerfile (default: "
            "python:<major.minor>-slim of the packaging Python)"),
    Setting("schedule_backend", "scheduler", "scheduler (EventBridge Scheduler) or rules"),
    Setting("max_parallel", None, "fargo up: jobs running at once (default: CPU count)"),
    Setting("terraform_state", None, "S3 backend {bucket, key, region, dynamodb_table} "
            "(default: local state)"),
    Setting("create_dead_letter_queue", False, "SQS queue for undeliverable schedule invocations"),
    Setting("pending_limit", "10m", "a Fargate task still pending after this long is stopped by "
            "the stage's watchdog (a start that failed) and shown as stuck"),
    Setting("alerts", None, "failure alerts: {\"emails\": [...]} creates an SNS topic, or "
            "{\"topic_arn\": ...} uses one"),
)

TASK_SETTING_NAMES = tuple(s.name for s in TASK_SETTINGS)
STAGE_SETTING_NAMES = tuple(s.name for s in STAGE_SETTINGS)
BY_NAME = {s.name: s for s in (*TASK_SETTINGS, *STAGE_SETTINGS)}

FARGATE_DEFAULTS = {"memory": 512, "timeout": 3600}
LAMBDA_DEFAULTS = {"memory": 128, "timeout": 60}
