"""A step's result, handed to whoever runs the workflow: a file (locally) or a task token.

Loaded only when the run is a workflow step (FARGO_OUTPUT_FILE or FARGO_TASK_TOKEN is set), so
ordinary runs never pay for it. With a task token (Step Functions' callback pattern,
`ecs:runTask.waitForTaskToken`) the result goes back by SendTaskSuccess, a failure by
SendTaskFailure, and heartbeats are sent while the job runs; boto3 is imported only here.
"""

from __future__ import annotations

import os

from fargo.runtime.jsonvalue import encode as to_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

OUTPUT_FILE = "FARGO_OUTPUT_FILE"
TASK_TOKEN = "FARGO_TASK_TOKEN"
HEARTBEAT = "FARGO_HEARTBEAT_SECONDS"
PAYLOAD_MAX_BYTES = 256 * 1024  # Step Functions passes at most this between states
CAUSE_MAX = 32768  # SendTaskFailure's cause

JOB_FAILED = "fargo.JobFailed"
JOB_TIMED_OUT = "fargo.JobTimedOut"
OUTPUT_TOO_LARGE = "fargo.OutputTooLarge"
OUTPUT_NOT_JSON = "fargo.OutputNotJSON"


def wanted() -> bool:
    return bool(os.environ.get(OUTPUT_FILE) or os.environ.get(TASK_TOKEN))


def encode(result: Any) -> tuple[str | None, str | None, str | None]:
    """(output JSON, or error and cause): what the workflow can be given."""
    try:  # NaN and infinities are not JSON: Step Functions refuses them as output
        text = to_json(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return None, OUTPUT_NOT_JSON, f"the job's result is not JSON ({exc}): return dicts, " \
            "lists, strings, finite numbers, booleans or None"
    except RecursionError:
        return None, OUTPUT_NOT_JSON, "the job's result is nested deeper than JSON can be " \
            "written here (and than Step Functions reads): return a flatter structure"
    size = len(text.encode())
    if size > PAYLOAD_MAX_BYTES:
        return None, OUTPUT_TOO_LARGE, (
            f"the job returned {size} bytes of JSON; Step Functions passes at most "
            f"{PAYLOAD_MAX_BYTES} (256 KB) from one step to the next: write the data somewhere "
            "(an S3 object) and return a pointer to it (its key)")
    return text, None, None


def succeed(result: Any) -> tuple[str | None, str | None]:
    """Hand the result on; (error, cause) when it cannot be, which fails the step."""
    text, error, cause = encode(result)
    if text is None:
        fail(str(error), str(cause))
        return error, cause
    path = os.environ.get(OUTPUT_FILE)
    if path:
        _write(path, '{"output": ' + text + "}")
    token = os.environ.get(TASK_TOKEN)
    if token:
        _client().send_task_success(taskToken=token, output=text)
    return None, None


def fail(error: str, cause: str) -> None:
    path = os.environ.get(OUTPUT_FILE)
    if path:
        _write(path, to_json({"error": error, "cause": cause}))
    token = os.environ.get(TASK_TOKEN)
    if token:
        _client().send_task_failure(taskToken=token, error=error[:256],
                                    cause=cause[:CAUSE_MAX])


def start_heartbeats() -> None:
    """Tell Step Functions the task is alive every FARGO_HEARTBEAT_SECONDS (default 60)."""
    token = os.environ.get(TASK_TOKEN)
    if not token:
        return
    import threading
    import time

    every = float(os.environ.get(HEARTBEAT) or 60)
    client = _client()

    def beat() -> None:
        while True:
            time.sleep(every)
            try:
                client.send_task_heartbeat(taskToken=token)
            except Exception:  # a missed beat is retried at the next one
                continue

    threading.Thread(target=beat, name="fargo-heartbeat", daemon=True).start()


def _write(path: str, text: str) -> None:
    """The whole JSON text at `path`, or nothing there: written aside, then renamed."""
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


_CLIENT: Any = None


def _client() -> Any:
    global _CLIENT
    if _CLIENT is None:
        import boto3

        _CLIENT = boto3.client("stepfunctions")
    return _CLIENT
