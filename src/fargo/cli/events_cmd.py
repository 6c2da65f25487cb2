"""fargo events (the patterns that start a job: an event they match, a test) and fargo emit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from fargo.cli.context import project_of, root_of
from fargo.cli.output import err, notice, out, print_json
from fargo.cli.params import read_event, read_text, stage_option
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
@click.argument("event", metavar="EVENT_JSON|BODY|@FILE")
@click.option("--source", help="The event's source (e.g. my.app); wins over the JSON's.")
@click.option("--detail-type", help="The event's detail-type; wins over the JSON's.")
@click.option("--sqs", "queue", metavar="QUEUE", help="Send BODY as a message of this SQS queue.")
@click.option("--sns", "topic", metavar="TOPIC", help="Publish BODY on this SNS topic.")
@click.option("--kinesis", "kinesis", metavar="STREAM", help="Put BODY as a Kinesis record.")
@click.option("--dynamodb", "dynamodb", metavar="STREAM_ARN",
              help="Write BODY (the record's `dynamodb` object: Keys, NewImage, OldImage) as a "
                   "DynamoDB stream record.")
@stage_option()
@click.pass_context
def emit(ctx: click.Context, event: str, source: str | None, detail_type: str | None,
         queue: str | None, topic: str | None, kinesis: str | None, dynamodb: str | None,
         stage: str | None) -> None:
    """Deliver an event to the fargo up running for this project: it starts every job whose
    pattern matches, once.

    EVENT_JSON is a whole event ({"source": ..., "detail-type": ..., "detail": {...}}) or only
    its detail; id, time, account and region are filled in as EventBridge fills them. With
    --sqs, --sns, --kinesis or --dynamodb, BODY is a message or record instead: the jobs whose
    event_sources name that queue, topic or stream get it in the `Records` shape Lambda gives.
    """
    given_sources = [(kind, target) for kind, target in (
        ("sqs", queue), ("sns", topic), ("kinesis", kinesis), ("dynamodb", dynamodb))
        if target is not None]
    if given_sources:
        if len(given_sources) > 1 or source is not None or detail_type is not None:
            raise ProblemsError([Problem("give one of --sqs, --sns, --kinesis, --dynamodb, and "
                                         "no --source or --detail-type with it", key="--sqs")])
        _deliver(ctx, *given_sources[0], read_text(event, "BODY"), stage)
        return
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
    jobs = [spec.name for spec in project.tasks if spec.enabled
            and any(matches(dict(p), full) for p in spec.patterns)]
    pid = _hand_to_up(root_of(ctx), full, "EVENT")
    out.print(f"event {full['id']} sent to fargo up (pid {pid})")
    if jobs:
        out.print(f"matches: {', '.join(jobs)}")
    else:
        notice("no job's pattern matches this event (fargo events match TASK --event ... "
               "says why)")


def _deliver(ctx: click.Context, kind: str, target: str, body: str, stage: str | None) -> None:
    """A queue's, topic's or stream's record to fargo up, for the jobs it invokes."""
    from fargo.local import records

    problems = records.body_problems(kind, body)
    if problems:
        raise ProblemsError([Problem(text, key="BODY") for text in problems])
    project = project_of(ctx, stage)
    item = records.delivery(kind, target, body, project.stage.region or "us-east-1")
    jobs = [spec.name for spec in project.tasks if spec.enabled
            and records.delivered_to(spec.event_sources, item[records.DELIVERY])]
    pid = _hand_to_up(root_of(ctx), item, "BODY")
    out.print(f"{kind} record {item['id']} on {target} sent to fargo up (pid {pid})")
    if jobs:
        out.print(f"invokes: {', '.join(jobs)}")
    else:
        notice(f"no job's event_sources name {kind} {target!r}: nothing will run")


def _hand_to_up(root: Path, item: dict[str, Any], key: str) -> int:
    """Put the item in the inbox of the fargo up running for the project and wake it; with
    none running, nothing is written and the command exits 1."""
    pid = inbox.running_scheduler(root)
    if pid is None:
        err.print("no fargo up is running for this project: start one (fargo up), then emit "
                  "again; nothing was sent")
        sys.exit(1)
    try:
        inbox.post(root, item)
    except OSError as exc:
        raise ProblemsError([Problem(f"cannot write to {inbox.inbox_dir(root)}: "
                                     f"{exc.strerror}", key=key)]) from None
    inbox.wake(pid)
    return pid
