"""`fargo invoke TASK`: run one job now, exactly as its container will."""

from __future__ import annotations

import sys

import click

from fargo.cli.context import project_of
from fargo.cli.output import warn
from fargo.cli.params import read_event, stage_option
from fargo.local.invoke import run_foreground
from fargo.local.process import job_environment


@click.command()
@click.argument("task")
@stage_option()
@click.option("--event", help="Event JSON, or @file.json (default: a scheduled event for now).")
@click.pass_context
def invoke(ctx: click.Context, task: str, stage: str | None, event: str | None) -> None:
    """Run TASK now through `python -m fargo.runtime`, with its stage environment and timeout."""
    event_json = read_event(event)
    project = project_of(ctx, stage)
    spec = project.require(task)
    _env, missing = job_environment(spec, project.root, event=event_json)
    for name in missing:
        warn(f"secret {name} ({spec.secrets[name]}) is not resolved locally; set {name} in your "
             "environment to provide it")
    sys.exit(run_foreground(spec, project.root, event_json))
