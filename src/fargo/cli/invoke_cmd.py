"""`fargo invoke TASK`: run one job now, exactly as its container will."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fargo.cli.context import project_of
from fargo.cli.output import warn
from fargo.local.invoke import run_foreground
from fargo.local.process import job_environment
from fargo.problems import Problem, ProblemsError, json_problem


def read_event(value: str | None) -> str | None:
    """--event JSON or --event @file: returns compact JSON text, or raises ProblemsError."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ProblemsError([Problem(f"{path} is not UTF-8 text ({exc.reason})",
                                         key="--event")]) from None
        except OSError as exc:
            raise ProblemsError([Problem(f"cannot read {path}: {exc.strerror}",
                                         key="--event")]) from None
    parsed, problem = json_problem(text, None, "--event")
    if problem is not None:
        raise ProblemsError([problem])
    if not isinstance(parsed, dict):
        raise ProblemsError([Problem("must be a JSON object, e.g. '{\"detail\": {}}'",
                                     key="--event")])
    return json.dumps(parsed)


@click.command()
@click.argument("task")
@click.option("--stage", "-s", help="Stage whose settings to use (default: dev).")
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
