"""How a job process is started locally: the same entrypoint and environment as its container."""

from __future__ import annotations

import os
from pathlib import Path

from fargo.project.interpreter import python_and_env
from fargo.project.model import TaskSpec
from fargo.project.paths import ProjectPaths
from fargo.runtime import contract


def job_command(spec: TaskSpec, root: Path) -> list[str]:
    """The container's command: python -m fargo.runtime TASK (in the project's interpreter
    when it has its own, project/interpreter.py)."""
    return [python_and_env(root)[0], "-m", "fargo.runtime", spec.name]


def job_environment(spec: TaskSpec, root: Path, *, event: str | None = None, attempt: int = 1,
                    run_id: str | None = None, scheduled_time: str | None = None,
                    base: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """The job's environment, and the secrets that could not be provided locally.

    Secrets are references to SSM or Secrets Manager; locally a secret is taken from the
    calling environment when a variable of that name is set there, otherwise it is reported.
    """
    env = dict(os.environ if base is None else base)
    missing = [name for name in spec.secrets if name not in env]
    env.update(spec.runtime_environment())
    env[contract.PROJECT_DIR] = str(root)
    env.update(python_and_env(root)[1])
    env[contract.ATTEMPT] = str(attempt)
    env["PYTHONUNBUFFERED"] = "1"
    if run_id:
        env[contract.RUN_ID] = run_id
    if scheduled_time:
        env[contract.SCHEDULED_TIME] = scheduled_time
    env.pop(contract.EVENT, None)
    env.pop(contract.EVENT_FILE, None)
    if event is not None and len(event.encode()) > EVENT_ENV_MAX:
        env[contract.EVENT_FILE] = str(event_file(root, event))
    elif event is not None:
        env[contract.EVENT] = event
    return env, missing


# One environment string may hold 128 KiB on Linux (MAX_ARG_STRLEN); larger events go in a file.
EVENT_ENV_MAX = 64 * 1024


def event_file(root: Path, event: str) -> Path:
    """The event written under .fargo/local/events/, named by its content."""
    import hashlib

    from fargo.files import write_atomic

    path = ProjectPaths(root).events / (
        hashlib.sha256(event.encode()).hexdigest()[:16] + ".json")
    write_atomic(path, event.encode())
    return path
