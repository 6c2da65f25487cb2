"""`fargo invoke JOB --container`: one run in what fargo ships, on this machine's Docker engine.

A Fargate job runs in the stage's last built image, from the task definition the module deploys;
a Lambda job runs from the stage's zip under Lambda's runtime interface client. The job gets the
stage's deployed environment (not local_environment_variables), the caller's AWS credentials as
its role would give them, and its secrets from the caller's environment, else read from SSM and
Secrets Manager as ECS reads them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fargo.packaging.image import base_image, context_digest, last_build, python_version
from fargo.problems import Problem, ProblemsError
from fargo.project.model import Project, TaskSpec
from fargo.runtime import contract

# What the caller's environment lends the container (the task role's credentials on AWS).
AWS_PASSED = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SSM",
              "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_STEPFUNCTIONS")


@dataclass(frozen=True)
class Ended:
    code: int
    reason: str | None  # what ECS or Lambda would report beyond the exit code


Start = Callable[[Path, Callable[[str], None]], Ended]  # (log path, on_line) -> how it ended


def prepare(project: Project, spec: TaskSpec, event_json: str | None, run_id: str,
            network: str = "host", extra: dict[str, str] | None = None,
            say: Callable[[str], None] = lambda _text: None) -> Start:
    """Everything the run needs checked and made (the image, the zip, the runtime image);
    ProblemsError (exit 2) when it cannot start, before anything is recorded. What the caller
    should know before the run (a stale image, secrets not found) goes to `say`."""
    from fargo.packaging.image import docker_available

    if not docker_available():
        raise ProblemsError([Problem(
            "a Docker engine is needed, and none answers (docker info failed): start "
            "one, or set DOCKER_HOST (docs/build.md says how on a machine without one)",
            key="--container")])
    region = project.stage.region or "us-east-1"
    client_env = dict(os.environ)
    passed = {**{k: client_env[k] for k in AWS_PASSED if k in client_env}, **(extra or {})}
    secrets = {k: client_env[k] for k in spec.secrets if k in client_env}
    wanted = {k: v for k, v in spec.secrets.items() if k not in secrets}
    if wanted:  # as ECS does at the start: read from SSM / Secrets Manager
        from fargo.aws.secrets import resolve
        from fargo.aws.session import AwsFailed

        try:
            secrets.update(resolve(wanted, region))
        except AwsFailed as exc:
            say(f"secrets {', '.join(sorted(wanted))} are not resolved ({exc}); set them in "
                "your environment to provide them")
    if spec.compute == "lambda":
        return _lambda(project, spec, event_json, run_id, region, client_env,
                       {**passed, **secrets}, network)
    from fargo.local import container

    built = last_build(project)
    if built is None:
        raise ProblemsError([Problem(
            f"no image was built for stage {project.stage.name}: run fargo build --stage "
            f"{project.stage.name}", key="--container")])
    reference = f"{built.repository}:{built.tag}"
    if not container.image_present(reference, client_env):
        raise ProblemsError([Problem(
            f"the image {reference} is not on this Docker engine: run fargo build --stage "
            f"{project.stage.name}", key="--container")])
    if built.context_digest != context_digest(project):
        say(f"the code changed since {reference} was built; this runs the image as built "
            f"(fargo build --stage {project.stage.name} to rebuild)")
    overrides = {contract.RUN_ID: run_id, **passed}
    if event_json is not None:
        overrides[contract.EVENT] = event_json
    command = container.docker_run(container.task_definition(spec, reference),
                                   f"fargo-{run_id}".lower(), region=region, overrides=overrides,
                                   secrets=secrets, client_env=client_env, network=network)

    def start(log_path: Path, on_line: Callable[[str], None]) -> Ended:
        stopped = container.run(command, project.root, spec.timeout + 30, log_path, on_line)
        return Ended(stopped.code, stopped.reason)

    return start


def _lambda(project: Project, spec: TaskSpec, event_json: str | None, run_id: str,
            region: str, client_env: dict[str, str], extra: dict[str, str],
            network: str) -> Start:
    from fargo.local import lambda_sandbox
    from fargo.packaging.image import build_dir
    from fargo.packaging.lambda_zip import lambda_zip

    zip_path = build_dir(project) / "lambda.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    from fargo.files import write_atomic

    write_atomic(zip_path, lambda_zip(project.root, project.stage.name, {spec.architecture}))
    try:
        image = lambda_sandbox.ensure_runtime_image(base_image(project), python_version(),
                                                    client_env, network)
    except RuntimeError as exc:
        raise ProblemsError([Problem(str(exc), key="--container")]) from None
    configuration = lambda_sandbox.function_configuration(spec, python_version())
    configuration["Environment"]["Variables"].update(
        {**extra, contract.RUN_ID: run_id})
    event = json.loads(event_json) if event_json is not None else _scheduled_event(project, spec)

    def start(log_path: Path, on_line: Callable[[str], None]) -> Ended:
        answer = lambda_sandbox.invoke(zip_path, configuration, event, image=image,
                                       region=region, client_env=client_env, log_path=log_path,
                                       on_line=on_line)
        return Ended(answer.code, answer.reason)

    return start


def _scheduled_event(project: Project, spec: TaskSpec) -> dict[str, object]:
    """What EventBridge sends a scheduled function: a Scheduled Event for now."""
    import uuid
    from datetime import datetime, timezone

    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": project.stage.account or "000000000000",
            "time": f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}",
            "region": project.stage.region or "us-east-1", "resources": [], "detail": {}}
