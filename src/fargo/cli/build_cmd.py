"""`fargo build`: the stage's image build context (and image, when Docker is there)."""

from __future__ import annotations

import shlex
import subprocess
import sys

import click

from fargo.aws.session import AwsFailed, aws_errors, client
from fargo.cli.context import project_of
from fargo.cli.output import EXIT_FAILED, err, notice, out, plural, styled, warn
from fargo.cli.params import stage_option
from fargo.packaging.image import (
    build_command,
    check_tag,
    default_tag,
    docker_available,
    record,
    write_context,
)
from fargo.packaging.lambda_zip import lambda_zip
from fargo.project.model import Project


def repository_of(project: Project, push: bool) -> str:
    """The stage's image repository: the configured one, else the app's ECR repository."""
    from fargo.aws.preflight import app_repository

    if project.stage.image:
        image = project.stage.image
        last = image.rsplit("/", 1)[-1]
        return image.rsplit(":", 1)[0] if ":" in last and "@" not in image else image
    try:
        return app_repository(project)
    except AwsFailed as exc:
        if push:
            raise
        warn(f"{exc}; tagging the image with the local name {project.app_name!r}")
        return project.app_name


@click.command()
@stage_option("work", required=True)
@click.option("--tag", help="Image tag (default: the git commit, -dirty-<digest> with changes).")
@click.option("--push", is_flag=True,
              help="Create the app's ECR repository if needed, log in and push (exit 1 when "
                   "the image cannot be pushed).")
@click.option("--network", metavar="NAME",
              help="Network of the build's RUN steps (docker build --network), e.g. host on an "
                   "engine without a bridge.")
@click.pass_context
def build(ctx: click.Context, stage: str, tag: str | None, push: bool,
          network: str | None) -> None:
    """Write the image build context and the Lambda zip; build (and push) with Docker."""
    if tag is not None:
        check_tag(tag, "--tag")
    project = project_of(ctx, stage)
    context = write_context(project)
    chosen = tag or default_tag(project, context)
    repository = repository_of(project, push)
    reference = f"{repository}:{chosen}"
    out.print(f"Build context: {context.directory}")
    lambdas = [t for t in project.tasks if t.compute == "lambda"]
    if lambdas:
        zip_path = context.directory.parent / "lambda.zip"
        data = lambda_zip(project.root, stage, {t.architecture for t in lambdas})
        zip_path.write_bytes(data)
        out.print(f"Lambda zip: {zip_path} ({len(data) / 1024:.0f} KiB, "
                  f"{plural(len(lambdas), 'job')})")
    if push and not project.stage.image:
        from fargo.aws.preflight import ensure_repository

        if ensure_repository(project, repository):
            out.print(f"Created the app's ECR repository {repository}")
    command = build_command(reference, context.directory, project, network)
    if not docker_available():
        record(project, repository, chosen, context.digest, pushed=False)
        notice("no Docker engine is reachable, so the image was not built; build it with:")
        out.print("  " + shlex.join(command))
        if push:
            out.print("  " + shlex.join(["docker", "push", reference]))
            err.print(styled(("error:", "red"), f" {reference} was not pushed: no Docker engine"))
            sys.exit(EXIT_FAILED)
        out.print(f"Image (once built): {reference}")
        return
    err.print(styled((shlex.join(command), "dim")))
    if subprocess.run(command).returncode != 0:
        sys.exit(EXIT_FAILED)
    if push:
        _push(project, repository, reference)
    record(project, repository, chosen, context.digest, pushed=push)
    out.print(f"Image: {reference}" + (" (pushed)" if push else ""))


def _push(project: Project, repository: str, reference: str) -> None:
    import base64

    if ".dkr.ecr." not in repository:
        warn(f"{repository} is not an ECR repository; pushing with your Docker login")
    else:
        with aws_errors("logging in to ECR"):
            token = client("ecr", project.stage.aws_region).get_authorization_token()
        data = token["authorizationData"][0]
        user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        login = subprocess.run(["docker", "login", "--username", user, "--password-stdin",
                                data["proxyEndpoint"]], input=password, text=True)
        if login.returncode != 0:
            sys.exit(EXIT_FAILED)
    if subprocess.run(["docker", "push", reference]).returncode != 0:
        sys.exit(EXIT_FAILED)
