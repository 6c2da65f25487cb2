"""The optional second argument of a handler: who is running, and how much time is left.

It has the whole interface of Lambda's context object (middleware written for Lambda reads
`invoked_function_arn`, `memory_limit_in_mb`, `log_group_name`...), with values that are true
where the run is: Lambda's own on Lambda, the task's on Fargate (from the ECS task metadata
endpoint, read once and only when asked), the run's own locally.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # `typing` costs milliseconds at every job start; mypy reads this as usual
if TYPE_CHECKING:
    import logging
    from typing import Any

METADATA_ENV = "ECS_CONTAINER_METADATA_URI_V4"  # set by ECS in every Fargate container
LOCAL_ACCOUNT = "000000000000"  # the account part of a local run's ARN: there is no account


class TaskContext:
    """Task name, stage, attempt, remaining time and a JSON logger, in every environment."""

    identity = None  # Lambda's: set only for mobile SDK callers
    client_context = None

    def __init__(self, task_name: str, app_name: str, stage: str, attempt: int, run_id: str,
                 deadline: float | None, lambda_context: Any = None) -> None:
        self.task_name = task_name
        self.app_name = app_name
        self.stage = stage
        self.attempt = attempt
        self.run_id = run_id
        self.aws_request_id = run_id
        self.deadline = deadline  # time.monotonic() value, or None for no limit
        self.lambda_context = lambda_context
        self._logger: logging.Logger | None = None
        self._metadata: dict[str, Any] | None = None

    # -- Lambda's context interface --------------------------------------------------------

    @property
    def function_name(self) -> str:
        """The name in AWS: the function, or the task definition family (app-stage-job)."""
        own = f"{self.app_name}-{self.stage}-{self.task_name}"
        return str(self._lambda("function_name") or own)

    @property
    def function_version(self) -> str:
        """Lambda's version; on Fargate the task definition's revision."""
        labels = self._ecs().get("Labels") or {}
        return str(self._lambda("function_version")
                   or labels.get("com.amazonaws.ecs.task-definition-version") or "$LATEST")

    @property
    def invoked_function_arn(self) -> str:
        """Lambda's function ARN. Code written for Lambda splits it on ":" into seven parts, so
        elsewhere it has that shape too: on Fargate the task definition's, with the revision
        where Lambda has a version (`arn:aws:ecs:REGION:ACCOUNT:task-definition:FAMILY:3`;
        ECS itself writes `task-definition/FAMILY:3`), locally `arn:fargo:local:...:job:NAME`."""
        arn = self._lambda("invoked_function_arn")
        if arn:
            return str(arn)
        task = self.task_arn
        if task:
            parts = task.split(":")
            return ":".join([*parts[:5], "task-definition", self.function_name,
                             self.function_version])
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "local"
        return f"arn:fargo:local:{region}:{LOCAL_ACCOUNT}:job:{self.function_name}"

    @property
    def task_arn(self) -> str | None:
        """The Fargate task's own ARN (None on Lambda and locally)."""
        found = (self._ecs().get("Labels") or {}).get("com.amazonaws.ecs.task-arn")
        return str(found) if found else None

    @property
    def memory_limit_in_mb(self) -> int:
        """The memory the run has: the function's, the task's, the job's setting locally."""
        value = self._lambda("memory_limit_in_mb") or os.environ.get("FARGO_MEMORY") or (
            self._ecs().get("Limits") or {}).get("Memory") or 0
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0

    @property
    def log_group_name(self) -> str:
        """Where the run's log lines go: its log group on AWS, its log file's folder locally."""
        return self._log("log_group_name", "awslogs-group", 0)

    @property
    def log_stream_name(self) -> str:
        """The log stream on AWS (Fargate: `fargo/job/<task id>`), the log file locally."""
        return self._log("log_stream_name", "awslogs-stream", 1)

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's name for it; a very large number when the job has no timeout."""
        remaining = self.remaining_seconds
        return 2**31 - 1 if remaining is None else int(remaining * 1000)

    # -- fargo's own ------------------------------------------------------------------------

    @property
    def remaining_seconds(self) -> float | None:
        if self.lambda_context is not None:
            return float(self.lambda_context.get_remaining_time_in_millis()) / 1000.0
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    @property
    def logger(self) -> logging.Logger:
        if self._logger is None:
            from fargo.runtime.joblog import job_logger

            self._logger = job_logger(self.task_name, self.run_id)
        return self._logger

    def _lambda(self, name: str) -> Any:
        return getattr(self.lambda_context, name, None) if self.lambda_context else None

    def _ecs(self) -> dict[str, Any]:
        """This container's ECS metadata (task ARN, log options, limits), {} outside ECS."""
        if self._metadata is None:
            self._metadata = {}
            uri = os.environ.get(METADATA_ENV)
            if uri and self.lambda_context is None:
                import json
                import urllib.request

                try:
                    with urllib.request.urlopen(uri, timeout=2) as answer:
                        found = json.loads(answer.read())
                    if isinstance(found, dict):
                        self._metadata = found
                except (OSError, ValueError):
                    pass  # the values fall back to what the environment says
        return self._metadata

    def _log(self, lambda_name: str, awslogs_option: str, local_part: int) -> str:
        found = self._lambda(lambda_name) or (self._ecs().get("LogOptions") or {}).get(
            awslogs_option)
        return str(found) if found else self._local_log()[local_part]

    def _local_log(self) -> tuple[str, str]:
        """A local run's log file: .fargo/local/logs/JOB/RUN.log (fargo up, fargo invoke)."""
        root = os.environ.get("FARGO_PROJECT_DIR")
        if not root:
            return "", ""
        return (os.path.join(root, ".fargo", "local", "logs", self.task_name),
                f"{self.run_id}.log")
