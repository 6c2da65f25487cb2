"""`fargo up` (the local scheduler) and the commands that read its run store."""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path

import click

from fargo.cli.context import project_of, root_of
from fargo.cli.output import warn
from fargo.cli.params import stage_option
from fargo.local.clock import Clock, SimulatedClock
from fargo.local.display import LiveReporter, PlainReporter
from fargo.local.scheduler import DEFAULT_GRACE_SECONDS, Scheduler
from fargo.problems import Problem, ProblemsError
from fargo.project.paths import ProjectPaths
from fargo.timeutil import parse_duration, parse_instant

YEAR = 365 * 86400


@click.command()
@stage_option()
@click.option("--only", multiple=True, metavar="TASK",
              help="Run only these jobs or workflows (repeatable).")
@click.option("--for", "run_for", metavar="DURATION",
              help="Stop after this long on fargo up's clock (simulated time with --speed), "
                   "e.g. 3m, 1h.")
@click.option("--max-parallel", type=click.IntRange(1, 1000),
              help="Jobs running at once (default: stage max_parallel, else CPU count).")
@click.option("--grace", default=f"{DEFAULT_GRACE_SECONDS:g}s", show_default=True,
              help="Seconds jobs get to finish after SIGTERM when stopping.")
@click.option("--from", "start", metavar="ISO8601",
              help="Replay schedules from this instant instead of now (with --speed); a replay "
                   "has its own history (fargo history --replay).")
@click.option("--speed", type=click.FloatRange(min=1.0, max=1_000_000.0), default=1.0,
              show_default=True,
              help="Run the clock this many times faster (e.g. 60: an hour in a minute).")
@click.option("--plain", is_flag=True, help="Plain log lines even on a terminal.")
@click.option("--no-memory-limit", is_flag=True, help="Don't cap each job's memory.")
@click.option("--replay-name", metavar="NAME",
              help="With --from/--speed: continue the replay history NAME (default: a new one).")
@click.option("--watch-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Files appearing under DIR/<bucket>/<key> are S3 Object Created events "
                   "for the jobs they match (s3 triggers, event patterns).")
@click.option("--cold", is_flag=True,
              help="Start every job as a new interpreter (python -m fargo.runtime TASK) instead "
                   "of forking the warm runtime.")
@click.pass_context
def up(ctx: click.Context, stage: str | None, only: tuple[str, ...], run_for: str | None,
       max_parallel: int | None, grace: str, start: str | None, speed: float, plain: bool,
       no_memory_limit: bool, replay_name: str | None, watch_dir: Path | None,
       cold: bool) -> None:
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
    store_file = None
    if start or speed != 1.0:
        try:
            begin = parse_instant(start, "--from") if start else datetime.now().astimezone()
            clock = SimulatedClock(begin, speed)
        except ProblemsError as exc:
            problems.extend(exc.problems)
        name = replay_name or datetime.now().strftime("%Y%m%dT%H%M%S-%f")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
            problems.append(Problem(f"{name!r}: 1-64 letters, digits, '_', '.' and '-'",
                                    key="--replay-name"))
        else:
            store_file = ProjectPaths(root_of(ctx)).replay_db(name)
    elif replay_name is not None:
        problems.append(Problem("a replay needs --from or --speed", key="--replay-name"))
    project = project_of(ctx, stage)
    for name in only:
        spec = project.task(name)
        if spec is None and project.workflow(name) is None:
            problems.append(project.unknown_job(name, "--only"))
        elif spec is not None and spec.schedule is None and not spec.patterns:
            warn(f"{name} has no schedule or event pattern; fargo up will not run it (use "
                 "fargo invoke)")
    if watch_dir is not None and store_file is not None:
        problems.append(Problem("a replay (--from/--speed) takes no events", key="--watch-dir"))
    if watch_dir is not None and not any(spec.s3 for spec in project.tasks):
        warn("no job has an S3 trigger (s3, Chalice's on_s3_event): files in --watch-dir start "
             "only jobs whose event patterns match S3 Object Created events")
    if problems:
        raise ProblemsError(problems)
    live = sys.stdout.isatty() and not plain
    reporter = LiveReporter() if live else PlainReporter()
    scheduler = Scheduler(project, clock, reporter, only=only, run_for=seconds,
                          max_parallel=max_parallel, grace_seconds=grace_seconds,
                          memory_limit=not no_memory_limit, warm=not cold,
                          store_file=store_file, watch_dir=watch_dir)
    try:
        code = scheduler.run()
    finally:
        reporter.close()
    sys.exit(code)
