"""What runs inside every job (container, Lambda, local): standard library only, fast to import.

`python -m fargo.runtime TASK` is the container entrypoint; `fargo.runtime.lambda_handler` is
the Lambda handler. Environment contract (set by fargo up / invoke, the task definition, or the
Lambda function):

- FARGO_PROJECT_DIR  where app.py lives (default: the working directory)
- FARGO_EVENT        JSON of the event (missing keys filled as for a scheduled event)
- FARGO_EVENT_FILE   a file holding that JSON instead (events too large for the environment)
- FARGO_TIMEOUT      seconds; the job is stopped with exit code 124 when it runs longer
- FARGO_STAGE, FARGO_ATTEMPT, FARGO_RUN_ID   shown to the job through its context
- FARGO_TASK         the job a Lambda function runs (lambda_handler only)
"""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` costs milliseconds at every job start; mypy reads this as usual
if TYPE_CHECKING:
    from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    """Lambda entry point: runs the job named by FARGO_TASK with the Lambda's event."""
    from fargo.runtime.aws_lambda import run_in_lambda

    return run_in_lambda(event, context)
