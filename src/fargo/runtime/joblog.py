"""The logger a job gets as `context.logger`: JSON lines on stdout, like the runtime's own.

Built on first use: `logging` costs milliseconds to import and many jobs never log.
"""

from __future__ import annotations

import logging
import sys
import time

from fargo.runtime.jsonl import json_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def job_logger(task: str, run_id: str) -> logging.Logger:
    logger = logging.getLogger(f"fargo.job.{task}")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_json_formatter({"task": task, "run_id": run_id}))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def _json_formatter(fields: dict[str, Any]) -> logging.Formatter:
    """One JSON object per line, so CloudWatch Logs Insights and `fargo logs` can query it."""

    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            entry = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z",
                "level": record.levelname.lower(),
                **fields,
                "message": record.getMessage(),
            }
            if record.exc_info:
                entry["traceback"] = self.formatException(record.exc_info)
            return json_line(entry)

    return JsonFormatter()
