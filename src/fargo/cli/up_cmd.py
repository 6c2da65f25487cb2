"""`fargo up` (the local scheduler) and the commands that read its run store."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from rich.table import Table

from fargo.cli.context import project_of, root_of
from fargo.cli.output import out, print_json, warn
from fargo.local.clock import Clock, SimulatedClock
from fargo.local.display import STYLE, LiveReporter, PlainReporter
from fargo.local.scheduler import DEFAULT_GRACE_SECONDS, Scheduler
from fargo.local.store import RunStore, store_path
from fargo.problems import Problem, ProblemsError, did_you_mean
from fargo.timeutil import format_duration, parse_duration, parse_instant

YEAR = 365 * 86400


@click.command()
@click.option("--stage", "-s", help="Stage whose settings to use (default: dev).")
@click.option("--only", multiple=True, metavar="TASK", help="Run only these jobs (repeatable).")
@click.option("--for", "run_for", metavar="DURATION", help="Stop after this long, e.g. 3m, 1h.")
@click.option("--max-parallel", type=click.IntRange(1, 1000),
              help="Jobs running at once (default: stage max_parallel, else CPU count).")
@click.option("--grace", default=f"{DEFAULT_GRACE_SECONDS:g}s", show_default=True,
              help="Seconds jobs get to finish after SIGTERM when stopping.")
@click.option("--from", "start", metavar="ISO8601",
              help="Replay schedules from this instant instead of now (with --speed).")
@click.option("--speed", type=click.FloatRange(min=1.0, max=1_000_000.0), default=1.0,
              show_default=True,
              help="Run the clock this many times faster (e.g. 60: an hour in a minute).")
@click.option("--plain", is_flag=True, help="Plain log lines even on a terminal.")
@click.option("--no-memory-limit", is_flag=True, help="Don't cap each job's memory.")
@click.pass_context
def up(ctx: click.Context, stage: str | None, only: tuple[str, ...], run_for: str | None,
       max_parallel: int | None, grace: str, start: str | None, speed: float, plain: bool,
       no_memory_limit: bool) -> None:
    """Run every enabled job on its schedule on this machine, recording runs in SQLite."""
    problems: list[Problem] = []
    seconds = None
    try:
        seconds = parse_duration(run_for, "--for") if run_for else None
        grace_seconds = parse_duration(grace, "--grace")
    except ProblemsError as exc:
        problems.extend(exc.problems)
        grace_seconds = DEFAULT_GRACE_SECONDS
    # A year is far past any test or replay; beyond it the clock's arithmetic overflows.
    if seconds is not None and not 0 < seconds <= YEAR:
        problems.append(Problem(f"{run_for!r} must be more than 0 and at most a year (365d)",
                                key="--for"))
        seconds = None
    if not 0 <= grace_seconds <= YEAR:
        problems.append(Problem(f"{grace!r} must be at most a year", key="--grace"))
        grace_seconds = DEFAULT_GRACE_SECONDS
    clock: Clock = Clock()
    if speed != speed:  # nan passes FloatRange's comparisons
        problems.append(Problem("--speed must be a number from 1 to 1000000", key="--speed"))
        speed = 1.0
    if start or speed != 1.0:
        try:
            begin = parse_instant(start, "--from") if start else datetime.now().astimezone()
            clock = SimulatedClock(begin, speed)
        except ProblemsError as exc:
            problems.extend(exc.problems)
    project = project_of(ctx, stage)
    for name in only:
        spec = project.task(name)
        if spec is None:
            problems.append(project.unknown_job(name, "--only"))
        elif spec.schedule is None:
            warn(f"{name} has no schedule; fargo up will not run it (use fargo invoke)")
    if problems:
        raise ProblemsError(problems)
    live = sys.stdout.isatty() and not plain
    reporter = LiveReporter() if live else PlainReporter()
    scheduler = Scheduler(project, clock, reporter, only=only, run_for=seconds,
                          max_parallel=max_parallel, grace_seconds=grace_seconds,
                          memory_limit=not no_memory_limit)
    try:
        code = scheduler.run()
    finally:
        reporter.close()
    sys.exit(code)


def _store(ctx: click.Context) -> RunStore:
    root = root_of(ctx)
    path = store_path(root)
    if not path.exists():
        raise ProblemsError([Problem("no local runs yet: start jobs with fargo up or check the "
                                     "project directory (-C)", str(path.relative_to(root)))])
    return RunStore(path, write=False)


@click.command()
@click.argument("task", required=False)
@click.option("--stage", "-s", help="Read the deployed stage's runs from AWS (default: local).")
@click.option("--last", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@click.pass_context
def history(ctx: click.Context, task: str | None, stage: str | None, last: int,
            as_json: bool) -> None:
    """Recent runs, newest first: local (fargo up) or, with --stage, deployed (AWS)."""
    if stage is not None:
        from fargo.cli.operate_cmds import aws_history

        aws_history(ctx, task, stage, last, as_json)
        return
    store = _store(ctx)
    runs = store.history(task, last)
    if task and not runs:
        known = {r.task for r in store.history(None, 10_000)}
        if task not in known:
            raise ProblemsError([Problem(f"no runs of {task!r}{did_you_mean(task, known)}",
                                         key="TASK")])
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    table = Table(title_justify="left", title=f"last {len(runs)} runs")
    for column in ("run", "job", "scheduled", "started", "duration", "status", "exit", "try",
                   "reason"):
        table.add_column(column)
    for run in runs:
        duration = "-"
        if run.started_at and run.ended_at:
            delta = datetime.fromisoformat(run.ended_at.replace("Z", "+00:00")) - \
                datetime.fromisoformat(run.started_at.replace("Z", "+00:00"))
            duration = format_duration(delta.total_seconds())
        style = STYLE.get(run.status, "")
        table.add_row(run.run_id, run.task, run.scheduled_time or "-", run.started_at or "-",
                      duration, f"[{style}]{run.status}[/]" if style else run.status,
                      "-" if run.exit_code is None else str(run.exit_code), str(run.attempt),
                      run.reason or "")
    out.print(table)


@click.command()
@click.argument("task")
@click.option("--run", "run_id", help="A run id (local) or ECS task id (--stage) from history.")
@click.option("--stage", "-s", help="Read the deployed stage's CloudWatch logs (default: local).")
@click.option("--since", default="1h", show_default=True, help="With --stage: how far back.")
@click.option("--follow", "-f", is_flag=True, help="With --stage: keep printing new lines.")
@click.option("--filter", "pattern", help="With --stage: a CloudWatch Logs filter pattern.")
@click.pass_context
def logs(ctx: click.Context, task: str, run_id: str | None, stage: str | None, since: str,
         follow: bool, pattern: str | None) -> None:
    """A job's log: the latest local run (fargo up), or with --stage its CloudWatch logs."""
    if stage is not None:
        from fargo.cli.operate_cmds import aws_logs

        aws_logs(ctx, task, stage, since, follow, run_id, pattern)
        return
    store = _store(ctx)
    root = root_of(ctx)
    if run_id:
        run = store.get(run_id)
        if run is None or run.task != task:
            raise ProblemsError([Problem(f"no run {run_id!r} of {task!r} (see fargo history "
                                         f"{task})", key="--run")])
    else:
        runs = [r for r in store.history(task, 50) if r.log_file]
        if not runs:
            known = {r.task for r in store.history(None, 10_000)}
            raise ProblemsError([Problem(f"no runs of {task!r} with a log"
                                         f"{did_you_mean(task, known)}", key="TASK")])
        run = runs[0]
    if not run.log_file or not (root / run.log_file).exists():
        raise ProblemsError([Problem(f"run {run.run_id} has no log file", key="--run")])
    sys.stdout.write((root / run.log_file).read_text(encoding="utf-8", errors="replace"))


COMMANDS = [up, history, logs]
