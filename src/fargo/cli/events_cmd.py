"""fargo events (the patterns that start a job: an event they match, a test) and fargo emit."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from fargo.cli.context import project_of, root_of
from fargo.cli.output import err, notice, out, print_json
from fargo.cli.params import read_event, stage_option
from fargo.local import inbox
from fargo.patterns import matches, sample
from fargo.problems import Problem, ProblemsError
from fargo.project.model import TaskSpec


@click.group()
def events() -> None:
    """The event patterns that start a job (the `events` setting, Chalice's on_cw_event)."""


def _patterns(spec: TaskSpec) -> list[dict[str, object]]:
    if not spec.patterns:
        raise ProblemsError([Problem(f"{spec.name} has no event pattern (set `events` or `s3` "
                                     "in @app.task or .fargo/config.json)", key="TASK")])
    return [dict(p) for p in spec.patterns]


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


@click.command()
@click.argument("event", metavar="EVENT_JSON|@FILE")
@click.option("--source", help="The event's source (e.g. my.app); wins over the JSON's.")
@click.option("--detail-type", help="The event's detail-type; wins over the JSON's.")
@stage_option()
@click.pass_context
def emit(ctx: click.Context, event: str, source: str | None, detail_type: str | None,
         stage: str | None) -> None:
    """Deliver an event to the fargo up running for this project: it starts every job whose
    pattern matches, once.

    EVENT_JSON is a whole event ({"source": ..., "detail-type": ..., "detail": {...}}) or only
    its detail; id, time, account and region are filled in as EventBridge fills them.
    """
    def not_json(constant: str) -> Any:
        raise ProblemsError([Problem(f"the event holds {constant}, which JSON does not have "
                                     "(EventBridge refuses it)", key="EVENT")])

    given = json.loads(read_event(event, "EVENT") or "{}", parse_constant=not_json)
    refused = inbox.caller_problems(given)
    if refused:
        raise ProblemsError([Problem(text, key="EVENT") for text in refused])
    project = project_of(ctx, stage)
    full = inbox.envelope(given, source, detail_type, "000000000000",
                          project.stage.region or "us-east-1")
    problems = inbox.envelope_problems(full)
    if problems:
        raise ProblemsError([Problem(text, key="EVENT") for text in problems])
    root = root_of(ctx)
    pid = inbox.running_scheduler(root)
    if pid is None:
        err.print("no fargo up is running for this project: start one (fargo up), then emit "
                  "again; nothing was sent")
        sys.exit(1)
    jobs = [spec.name for spec in project.tasks if spec.enabled
            and any(matches(dict(p), full) for p in spec.patterns)]
    try:
        inbox.post(root, full)
    except OSError as exc:
        raise ProblemsError([Problem(f"cannot write the event to {inbox.inbox_dir(root)}: "
                                     f"{exc.strerror}", key="EVENT")]) from None
    inbox.wake(pid)
    out.print(f"event {full['id']} sent to fargo up (pid {pid})")
    if jobs:
        out.print(f"matches: {', '.join(jobs)}")
    else:
        notice("no job's pattern matches this event (fargo events match TASK --event ... "
               "says why)")
