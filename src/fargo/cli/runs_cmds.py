"""fargo history and fargo logs: what ran, locally (fargo up's store) or deployed (AWS)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from fargo.aws import history as aws_history
from fargo.aws.logs import follow_stream, search_logs
from fargo.aws.session import poll_seconds
from fargo.cli.context import project_of, root_of
from fargo.cli.output import out, plural, print_json, styled, warn
from fargo.cli.params import stage_option
from fargo.cli.render import render
from fargo.local.display import STYLE
from fargo.local.store import RunRecord, RunStore, store_path
from fargo.problems import Problem, ProblemsError, did_you_mean
from fargo.project import names
from fargo.project.paths import ProjectPaths
from fargo.schedule import UTC
from fargo.timeutil import format_duration, format_utc, parse_duration


def _store(ctx: click.Context, replay: str | None = None) -> RunStore:
    """The real history, or with `replay` a replay's (its name, or `latest`)."""
    root = root_of(ctx)
    paths = ProjectPaths(root)
    if replay is None:
        path = store_path(root)
        if not path.exists():
            raise ProblemsError([Problem("no local runs yet: start jobs with fargo up or fargo "
                                         "invoke, or name the project with -C DIR",
                                         str(path.relative_to(root)))])
        return RunStore(path, write=False)
    replays = paths.replays()
    if replay == "latest":
        if not replays:
            raise ProblemsError([Problem("no replays yet: fargo up --from ISO8601 --speed N "
                                         "makes one", key="--replay")])
        return RunStore(replays[-1], write=False)
    path = paths.replay_db(replay)
    if not path.exists():
        known = [p.stem.removeprefix("replay-") for p in replays]
        raise ProblemsError([Problem(f"no replay named {replay!r}{did_you_mean(replay, known)}",
                                     key="--replay")])
    return RunStore(path, write=False)


replay_option = click.option(
    "--replay", is_flag=False, flag_value="latest", default=None, metavar="[NAME]",
    help="Read a replay's history (fargo up --from/--speed): the latest, or NAME.")


@click.command()
@click.argument("task", required=False)
@stage_option("read")
@click.option("--last", type=click.IntRange(1, 100_000), default=None,
              help="At most N rows (default: 20 runs; with --stage, every row of the window).")
@click.option("--since", default="24h", show_default=True,
              help="With --stage: the window's start, a duration back (24h, 7d) or an instant.")
@click.option("--until", default=None, help="With --stage: the window's end (default: now).")
@click.option("--runs", "runs_only", is_flag=True,
              help="With --stage: recorded runs only (with their attempts and steps), not the "
              "ledger of slots.")
@click.option("--pending-limit", default="10m", show_default=True,
              help="With --stage: a task still pending after this long is stuck.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@replay_option
@click.pass_context
def history(ctx: click.Context, task: str | None, stage: str | None, last: int | None,
            since: str, until: str | None, runs_only: bool, pending_limit: str,
            as_json: bool, replay: str | None) -> None:
    """What ran, newest first: local runs (fargo up, fargo invoke), or with --stage the
    deployed stage's ledger: every slot its schedules owed in the window and what became of it
    (succeeded, failed, failed to start, stuck, skipped, missing), and every other run."""
    if stage is not None:
        if runs_only:
            _aws_history(ctx, task, stage, last or 20, as_json)
            return
        from fargo.cli import ledger_view

        window = ledger_view.window_of(since, until)
        limit = parse_duration(pending_limit, "--pending-limit")
        project = project_of(ctx, stage)
        if task is not None and project.workflow(task) is None:
            project.require(task)
        ledger_view.show(project, window, task, last, as_json, limit)
        return
    last = last or 20
    store = _store(ctx, replay)
    runs = store.history(task, last)
    if task and not runs:
        known = {r.task for r in store.history(None, 10_000)}
        if task not in known:
            raise ProblemsError([Problem(f"no runs of {task!r}{did_you_mean(task, known)}",
                                         key="TASK")])
    for note in store.damaged:
        warn(note)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    table = Table(title_justify="left", title=f"last {plural(len(runs), 'run')}")
    for column in ("run", "job", "trigger", "scheduled", "started", "duration", "status", "exit",
                   "try", "reason"):
        table.add_column(column)
    for run, depth in _nested(runs):
        duration = "-"
        if run.duration_s is not None:  # real seconds, also in replays
            duration = format_duration(run.duration_s)
        elif run.started_at and run.ended_at:
            delta = datetime.fromisoformat(run.ended_at.replace("Z", "+00:00")) - \
                datetime.fromisoformat(run.started_at.replace("Z", "+00:00"))
            duration = format_duration(delta.total_seconds())
        style = STYLE.get(run.status, "")
        trigger = run.trigger or "schedule"
        if run.event_id:
            trigger += f" {run.event_id[:8]}"
        reason = run.reason or ""
        if _owner_gone(run):
            reason = (f"the fargo that ran it (pid {run.owner_pid}) is gone; the next fargo up "
                      "marks it lost")
        table.add_row(("  " * depth) + (run.run_id if not depth else f"{run.step}"),
                      run.task, trigger, run.scheduled_time or "-",
                      run.started_at or "-",
                      duration, styled((run.status, style)),
                      "-" if run.exit_code is None else str(run.exit_code), str(run.attempt),
                      reason)
    out.print(table)


def _owner_gone(run: RunRecord) -> bool:
    """A run still 'running' whose fargo process died (killed, the machine restarted): say so
    here; marking it lost is fargo up's recovery, which also stops what it left running."""
    if run.status != "running" or not run.owner_pid:
        return False
    try:
        os.kill(run.owner_pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


@click.command()
@click.argument("task")
@click.option("--run", "run_id", help="A run id (local) or ECS task id (--stage) from history.")
@stage_option("read")
@click.option("--since", default="1h", show_default=True, help="With --stage: how far back.")
@click.option("--follow", "-f", is_flag=True, help="With --stage: keep printing new lines.")
@click.option("--filter", "pattern", help="With --stage: a CloudWatch Logs filter pattern.")
@replay_option
@click.option("--json", "as_json", is_flag=True, help="The JSON lines as the job wrote them.")
@click.option("--verbose", "-v", is_flag=True, help="Keep fargo's frames in tracebacks.")
@click.pass_context
def logs(ctx: click.Context, task: str, run_id: str | None, stage: str | None, since: str,
         follow: bool, pattern: str | None, replay: str | None, as_json: bool,
         verbose: bool) -> None:
    """A job's log: the latest local run (fargo up), or with --stage its CloudWatch logs."""
    if stage is not None:
        _aws_logs(ctx, task, stage, since, follow, run_id, pattern, _printer(as_json, verbose))
        return
    store = _store(ctx, replay)
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
    show = _printer(as_json, verbose)
    for line in (root / run.log_file).read_text(encoding="utf-8", errors="replace").splitlines():
        show(line)


def _workflow_history(project: Any, workflow: Any, last: int, as_json: bool) -> None:
    """A deployed workflow's executions, newest first, each with its steps below it."""
    from fargo.aws import workflows

    rows = workflows.executions(project, workflow, last)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"no executions of {workflow.full_name} yet")
        return
    table = Table(title=f"{workflow.full_name}: last {plural(len(rows), 'execution')}",
                  title_justify="left")
    for column in ("execution / step", "started", "stopped", "status", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["execution"], row["started_at"] or "-", row["stopped_at"] or "-",
                      row["status"], row["error"] or "")
        for step in row["steps"]:
            table.add_row(f"  {step['step']}", step["started_at"] or "-",
                          step["ended_at"] or "-", step["status"], step["error"] or "")
    out.print(table)


def _nested(runs: list[Any]) -> list[tuple[Any, int]]:
    """Runs newest first, each workflow execution followed by its steps in the order they
    started (indented); a step whose execution is not in the list stands alone."""
    executions = {r.run_id for r in runs if r.step == "workflow"}
    steps: dict[str, list[Any]] = {}
    for run in runs:
        if run.workflow_run in executions:
            steps.setdefault(run.workflow_run, []).append(run)
    ordered: list[tuple[Any, int]] = []
    for run in runs:
        if run.workflow_run in executions:
            continue
        ordered.append((run, 0))
        for step in sorted(steps.get(run.run_id, []),
                           key=lambda r: (r.started_at or "", r.attempt)):
            ordered.append((step, 1))
    return ordered


def _aws_history(ctx: click.Context, task: str | None, stage: str, last: int,
                as_json: bool) -> None:
    project = project_of(ctx, stage)
    workflow = project.workflow(task) if task else None
    if workflow is not None:
        _workflow_history(project, workflow, last, as_json)
        return
    if task is None:
        rows = aws_history.stage_history(project, last)
        title = f"{project.app_name}-{stage}"
    else:
        spec = project.require(task)
        rows = [{"job": spec.name, **row}
                for row in aws_history.job_history(project, spec, last)]
        title = spec.full_name
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"no runs of {title} recorded yet")
        return
    table = Table(title=f"{title}: last {plural(len(rows), 'run')}", title_justify="left")
    for column in ("job", "run", "scheduled", "started", "stopped", "duration", "status", "exit",
                   "stop reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["job"], row["task"], row["scheduled_time"] or "-",
                      row["started_at"] or "-",
                      row["stopped_at"] or "-",
                      format_duration(row["duration_s"]) if row["duration_s"] else "-",
                      row["status"], "-" if row["exit_code"] is None else str(row["exit_code"]),
                      " ".join(x for x in (row["stop_code"], row["stopped_reason"]) if x))
        for number, attempt in enumerate(row.get("attempts") or [], 1):  # a runner's run
            table.add_row("", f"  attempt {attempt.get('attempt') or number}: {attempt['task']}",
                          "", attempt["started_at"] or "-", attempt["stopped_at"] or "-",
                          format_duration(attempt["duration_s"]) if attempt["duration_s"]
                          else "-", attempt["status"],
                          "-" if attempt["exit_code"] is None else str(attempt["exit_code"]),
                          " ".join(x for x in (attempt["stop_code"], attempt["stopped_reason"])
                                   if x))
    out.print(table)


def _printer(as_json: bool, verbose: bool) -> Callable[[str], None]:
    """Rendered for people on a terminal; JSON lines as they are when piped or with --json."""
    if sys.stdout.isatty() and not as_json:
        return lambda line: out.print(render(line, verbose), highlight=False)

    def raw(line: str) -> None:
        sys.stdout.write(line + "\n")

    return raw


def _aws_logs(ctx: click.Context, task: str, stage: str, since: str, follow: bool,
             run_id: str | None, pattern: str | None, show: Callable[[str], None]) -> None:
    import time

    project = project_of(ctx, stage)
    spec = project.require(task)
    seconds = parse_duration(since, "--since")
    since_ms = int((time.time() - seconds) * 1000)
    if follow and run_id:
        stream = names.log_stream(run_id)
        for line in follow_stream(project, spec.log_group, stream, lambda: False,
                                  poll_seconds()):
            show(line)
        return
    printed = False
    while True:
        events = search_logs(project, spec, since_ms, pattern, run_id)
        if not events and not follow and not printed:
            out.print(f"no log events in {spec.log_group} in the last {since}"
                      + (f" matching {pattern!r}" if pattern else ""))
        printed = printed or bool(events)
        for event in events:
            message = str(event["message"]).rstrip("\n")
            if not message.startswith("{"):  # Lambda's own lines carry no time of their own
                stamp = format_utc(datetime.fromtimestamp(event["timestamp"] / 1000, UTC))
                message = f"{stamp} {message}"
            show(message)
            since_ms = max(since_ms, event["timestamp"] + 1)
        if not follow:
            return
        time.sleep(poll_seconds())
