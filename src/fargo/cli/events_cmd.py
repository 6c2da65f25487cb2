"""fargo events: the EventBridge patterns that start a job — an event they match, and a test."""

from __future__ import annotations

import json
import sys

import click

from fargo.cli.context import project_of
from fargo.cli.output import err, out, print_json
from fargo.cli.params import read_event, stage_option
from fargo.patterns import matches, sample
from fargo.problems import Problem, ProblemsError
from fargo.project.model import TaskSpec


@click.group()
def events() -> None:
    """The event patterns that start a job (the `events` setting, Chalice's on_cw_event)."""


def _patterns(spec: TaskSpec) -> list[dict[str, object]]:
    if not spec.events:
        raise ProblemsError([Problem(f"{spec.name} has no event pattern (set `events` in "
                                     "@app.task or .fargo/config.json)", key="TASK")])
    return [dict(p) for p in spec.events]


@events.command(name="sample")
@click.argument("task")
@stage_option()
@click.pass_context
def sample_cmd(ctx: click.Context, task: str, stage: str | None) -> None:
    """Print an event that TASK's first pattern matches (try it: fargo invoke TASK --event)."""
    spec = project_of(ctx, stage).require(task)
    try:
        print_json(sample(_patterns(spec)[0]))
    except ValueError:  # filters no single event satisfies
        raise ProblemsError([Problem(f"no event matches {spec.name}'s first pattern: its "
                                     "filters contradict each other", key="TASK")]) from None


@events.command(name="match")
@click.argument("task")
@click.option("--event", "event", required=True, help="Event JSON, or @file.json.")
@stage_option()
@click.pass_context
def match_cmd(ctx: click.Context, task: str, event: str, stage: str | None) -> None:
    """Say whether EVENT starts TASK, as EventBridge would match it; exit 0 if so, else 1."""
    spec = project_of(ctx, stage).require(task)
    given = json.loads(read_event(event) or "{}")
    hits = [i for i, pattern in enumerate(_patterns(spec)) if matches(pattern, given)]
    if hits:
        out.print(f"{spec.name}: matched by pattern {', '.join(str(i) for i in hits)}")
        return
    err.print(f"{spec.name}: no pattern of the job matches this event")
    sys.exit(1)


COMMANDS = [events]
