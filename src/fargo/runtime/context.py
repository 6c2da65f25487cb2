"""The optional second argument of a handler: who is running, and how much time is left."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # `typing` costs milliseconds at every job start; mypy reads this as usual
if TYPE_CHECKING:
    import logging
    from typing import Any


class TaskContext:
    """Task name, stage, attempt, remaining time and a JSON logger, in every environment."""

    def __init__(self, task_name: str, app_name: str, stage: str, attempt: int, run_id: str,
                 deadline: float | None, lambda_context: Any = None) -> None:
        self.task_name = task_name
        self.function_name = task_name
        self.app_name = app_name
        self.stage = stage
        self.attempt = attempt
        self.run_id = run_id
        self.aws_request_id = run_id
        self.deadline = deadline  # time.monotonic() value, or None for no limit
        self.lambda_context = lambda_context
        self._logger: logging.Logger | None = None

    @property
    def remaining_seconds(self) -> float | None:
        if self.lambda_context is not None:
            return float(self.lambda_context.get_remaining_time_in_millis()) / 1000.0
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's name for it; a very large number when the job has no timeout."""
        remaining = self.remaining_seconds
        return 2**31 - 1 if remaining is None else int(remaining * 1000)

    @property
    def logger(self) -> logging.Logger:
        if self._logger is None:
            from fargo.runtime.joblog import job_logger

            self._logger = job_logger(self.task_name, self.run_id)
        return self._logger
