"""AWS limits fargo validates against, in one place (sources in docs/aws-limits.md)."""

from __future__ import annotations

# Fargate task sizes: cpu units -> (min MiB, max MiB, step MiB)
FARGATE_SIZES: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 0),  # 512, 1024, 2048 only
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}
FARGATE_256_MEMORY = (512, 1024, 2048)
FARGATE_EPHEMERAL_GIB = (21, 200)
FARGATE_DEFAULT_EPHEMERAL_GIB = 20

LAMBDA_TIMEOUT_MAX = 900
LAMBDA_MEMORY = (128, 10240)
LAMBDA_ZIP_MAX_BYTES = 50 * 1024 * 1024
LAMBDA_UNZIPPED_MAX_BYTES = 250 * 1024 * 1024
LAMBDA_ENV_MAX_BYTES = 4096

NAME_MAX = 64  # IAM role, Scheduler schedule, EventBridge rule and Lambda function names
NAME_CHARS = "A-Za-z0-9_-"
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)
TAGS_MAX = 50
FARGO_TAGS = ("fargo:app", "fargo:stage", "fargo:job", "managed-by")  # added to every job
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
TAG_PUNCTUATION = " _.:/=+-@"  # besides Unicode letters and digits
LAMBDA_DESCRIPTION_MAX = 256
DESCRIPTION_MAX = 512  # EventBridge Scheduler schedules and rules
# The largest event any AWS path takes: a synchronous Lambda invocation's payload (6 MB; an
# EventBridge event, a Step Functions input and an async invocation take 256 KB).
EVENT_MAX_BYTES = 6 * 1024 * 1024
# Names AWS reserves in a Lambda function's environment (Lambda Developer Guide,
# "Defined runtime environment variables").
LAMBDA_RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"})
# Suffixes of the stage's own resources (<app>-<stage>-<suffix>): a job of that name collides.
STAGE_SUFFIXES = ("exec", "scheduler", "events", "runs", "failures", "alerts", "dead-letter",
                  "dead-letters", "runner", "runner-runs", "runner-failures", "event-rules")
RUN_OVERRIDES_MAX_CHARS = 8192
TASK_DEFINITION_MAX_BYTES = 64 * 1024  # RegisterTaskDefinition's whole request
TASK_DEFINITION_ENV_BUDGET = 60 * 1024  # what the environment may take of it


def fargate_memory_choices(cpu: int) -> list[int]:
    """Every memory size (MiB) Fargate accepts with this cpu."""
    if cpu == 256:
        return list(FARGATE_256_MEMORY)
    low, high, step = FARGATE_SIZES[cpu]
    return list(range(low, high + 1, step))


def fargate_size_ok(cpu: int, memory: int) -> bool:
    return cpu in FARGATE_SIZES and memory in fargate_memory_choices(cpu)


def smallest_fargate_size(memory_mib: int) -> tuple[int, int] | None:
    """The cheapest (cpu, memory) with at least `memory_mib` MiB."""
    best: tuple[int, int] | None = None
    for cpu in FARGATE_SIZES:
        for memory in fargate_memory_choices(cpu):
            if memory >= memory_mib and (best is None or (memory, cpu) < (best[1], best[0])):
                best = (cpu, memory)
    return best

