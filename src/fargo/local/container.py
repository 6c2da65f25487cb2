"""A Fargate job in its built image, run as ECS runs it: `docker run` from its task definition.

The task definition is the one terraform applied (read back from ECS), or the one the module
would deploy, made here from the model (`task_definition`); a test holds the two equal. What
ECS gives a container is mapped onto docker's flags: entry point and command, environment and
resolved secrets, user, working directory, CPU and memory limits, a read-only root with a
writable /tmp, the stop timeout. Values travel in the docker client's environment (`-e NAME`),
never in its argv.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargo.local.invoke import Finished, run_streaming
from fargo.project import names
from fargo.project.model import TaskSpec
from fargo.runtime import contract

# What Fargate sets in every container besides the task definition's environment.
FARGATE_ENVIRONMENT = {"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}
# Names the docker client itself reads: passed as NAME=value instead of through its environment.
_CLIENT_NAMES = frozenset({"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT",
                           "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"})
EXIT_OOM = 137  # what ECS reports for a container its memory limit killed (128 + SIGKILL)
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"


def task_definition(spec: TaskSpec, image: str, readonly_root: bool = False) -> dict[str, Any]:
    """The job's task definition as the module deploys it (synth/module/ecs.tf)."""
    env = {**spec.environment_variables,
           **{k: v for k, v in spec.runtime_environment().items() if k in contract.JOB_VARIABLES}}
    return {
        "family": spec.full_name,
        "cpu": str(spec.cpu), "memory": str(spec.memory),
        "containerDefinitions": [{
            "name": names.CONTAINER, "image": image, "essential": True,
            "entryPoint": ["python", "-m", "fargo.runtime"], "command": [spec.name],
            "memory": spec.memory,
            "environment": [{"name": k, "value": env[k]} for k in sorted(env)],
            "secrets": [{"name": k, "valueFrom": spec.secrets[k]} for k in sorted(spec.secrets)],
            "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
            "readonlyRootFilesystem": readonly_root,
        }],
    }


@dataclass(frozen=True)
class DockerRun:
    argv: list[str]
    env: dict[str, str]  # the docker client's environment: it carries the container's values
    name: str


def docker_run(definition: Mapping[str, Any], name: str, *, region: str | None,
               overrides: Mapping[str, str], secrets: Mapping[str, str],
               client_env: Mapping[str, str], network: str = "host",
               image: str | None = None) -> DockerRun:
    """`docker run` for the task definition's job container, as Fargate would start it.

    `secrets` are the resolved values of the definition's secrets; `overrides` is what RunTask's
    containerOverrides would add (the run id, the event).
    """
    container = next(c for c in definition["containerDefinitions"]
                     if c.get("name") == names.CONTAINER)
    memory = int(definition.get("memory") or container.get("memory"))
    argv = ["docker", "run", "--name", name, "--network", network,
            "--memory", f"{memory}m", "--memory-swap", f"{memory}m"]
    cpu = definition.get("cpu")
    if cpu:
        argv += ["--cpus", f"{int(cpu) / 1024:g}"]
    if container.get("user"):
        argv += ["--user", str(container["user"])]
    if container.get("workingDirectory"):
        argv += ["--workdir", str(container["workingDirectory"])]
    if container.get("stopTimeout"):
        argv += ["--stop-timeout", str(container["stopTimeout"])]
    if container.get("readonlyRootFilesystem"):
        argv.append("--read-only")
    for mount in container.get("mountPoints") or []:
        # Fargate's task volumes are empty and writable for the task's life: a tmpfs here
        argv += ["--tmpfs", f"{mount['containerPath']}:rw,exec,mode=1777"]
    values: dict[str, str] = dict(FARGATE_ENVIRONMENT)
    if region:
        values.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    values.update({e["name"]: str(e["value"]) for e in container.get("environment") or []})
    values.update(secrets)
    values.update(overrides)
    env = dict(client_env)
    for key, value in values.items():
        if key in _CLIENT_NAMES:
            argv += ["--env", f"{key}={value}"]
        else:
            argv += ["--env", key]
            env[key] = value
    entry = list(container.get("entryPoint") or [])
    if entry:
        argv += ["--entrypoint", entry[0]]
    argv.append(image or str(container["image"]))
    argv += entry[1:] + list(container.get("command") or [])
    return DockerRun(argv, env, name)


@dataclass(frozen=True)
class Stopped:
    """How the container ended, as ECS would report it."""

    code: int
    reason: str | None  # ECS's container reason (OutOfMemoryError...), None when plain
    usage: dict[str, float]


def run(command: DockerRun, cwd: Path, limit: float, log_path: Path | None = None,
        on_line: Callable[[str], None] | None = None) -> Stopped:
    """Run the container to its end (killed `limit` seconds on), then read and remove it."""
    try:
        finished: Finished = run_streaming(command.argv, cwd, command.env, limit, log_path,
                                           on_line)
        state = _state(command.name, command.env)
    finally:
        subprocess.run(["docker", "rm", "--force", command.name], env=command.env,
                       capture_output=True, timeout=60)
    code = finished.code if finished.code == contract.EXIT_TIMEOUT else \
        int(state.get("ExitCode", finished.code))
    reason = OOM_REASON if state.get("OOMKilled") else None
    return Stopped(code, reason, {})


def _state(name: str, env: Mapping[str, str]) -> dict[str, Any]:
    done = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", name],
                          env=dict(env), capture_output=True, text=True, timeout=60)
    try:
        state = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        state = {}
    return state if isinstance(state, dict) else {}


def image_present(reference: str, env: Mapping[str, str]) -> bool:
    done = subprocess.run(["docker", "image", "inspect", reference], env=dict(env),
                          capture_output=True, timeout=60)
    return done.returncode == 0
