"""Operate deployed jobs: run now (and wait, follow), status, pause, resume."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from fargo.aws import jobs
from fargo.aws.session import AwsFailed, as_problems
from fargo.cli.context import project_of
from fargo.cli.invoke_cmd import read_event
from fargo.cli.output import err, out, print_json, warn
from fargo.problems import Problem, ProblemsError
from fargo.project.model import Project, TaskSpec
from fargo.schedule import UTC, load_zone
from fargo.timeutil import format_duration, format_utc, parse_duration

POLL_SECONDS = 2.0


def poll_seconds() -> float:
    import os

    return float(os.environ.get("FARGO_POLL_SECONDS") or POLL_SECONDS)


def parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    problems = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.replace("_", "a").isalnum() or name[0].isdigit():
            problems.append(Problem(f"{pair!r} is not NAME=VALUE", key="--env"))
        elif name.startswith("FARGO_"):
            problems.append(Problem(f"{name}: FARGO_ variables are set by fargo", key="--env"))
        else:
            env[name] = value
    if problems:
        raise ProblemsError(problems)
    return env


@click.command()
@click.argument("task")
@click.option("--stage", "-s", required=True, help="Deployed stage.")
@click.option("--event", help="Event JSON, or @file.json.")
@click.option("--env", "env_pairs", multiple=True, metavar="NAME=VALUE",
              help="Extra environment for this run (repeatable).")
@click.option("--wait", is_flag=True, help="Wait until the task stops; exit with its code.")
@click.option("--follow", is_flag=True, help="Stream the run's log while it runs (implies --wait).")
@click.option("--timeout", metavar="DURATION", help="Stop waiting after this long (exit 124).")
@click.pass_context
def run(ctx: click.Context, task: str, stage: str, event: str | None,
        env_pairs: tuple[str, ...], wait: bool, follow: bool, timeout: str | None) -> None:
    """Run a deployed job now with its schedule's parameters; print the task ARN."""
    event_json = read_event(event)
    env = parse_env(env_pairs)
    seconds = parse_duration(timeout, "--timeout") if timeout else None
    project = project_of(ctx, stage)
    spec = project.require(task)
    try:
        if spec.compute == "lambda":
            if env:
                warn("--env is ignored for Lambda jobs (their environment is the function's)")
            code, text = jobs.invoke_function(project, spec, event_json, wait or follow)
            out.print(text)
            sys.exit(code)
        problems = project.network_problems((spec.name,))
        if problems:
            raise ProblemsError(problems)
        task_arn = jobs.run_task(project, spec, event_json, env)
        out.print(task_arn)
        if not (wait or follow):
            return
        stopped = _wait(project, spec, task_arn, seconds, follow)
    except AwsFailed as exc:
        raise as_problems(exc) from None
    if stopped is None:
        err.print(f"[yellow]still running after {timeout}; stopped waiting (the task goes on: "
                  f"fargo logs {task} --stage {stage} --run {jobs.task_id(task_arn)})[/yellow]")
        sys.exit(jobs.EXIT_WAIT_TIMEOUT)
    outcome = jobs.explain(stopped)
    style = "green" if outcome.status == "succeeded" else "red"
    err.print(f"[{style}]{spec.name}: {outcome.status}[/{style}] — {outcome.explanation}")
    sys.exit(outcome.exit_code)


def _wait(project: Project, spec: TaskSpec, task_arn: str, seconds: float | None,
          follow: bool) -> dict[str, Any] | None:
    poll = poll_seconds()
    if not follow:
        return jobs.wait(project, task_arn, seconds, poll)
    done = threading.Event()
    result: dict[str, Any] = {}

    def waiter() -> None:
        try:
            result["task"] = jobs.wait(project, task_arn, seconds, poll)
        except AwsFailed as exc:
            result["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    for line in jobs.follow_stream(project, spec.log_group, jobs.log_stream(task_arn),
                                   done.is_set, poll):
        out.print(line, markup=False, highlight=False)
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("task")


def _next_fire(spec: TaskSpec, state: str) -> str:
    """The next fire as AWS will do it: none while the schedule is off there."""
    if spec.schedule is None:
        return "on demand"
    if state == "DISABLED":
        return "paused"
    if state == "missing":
        return "not deployed"
    fire = spec.next_fire(datetime.now(UTC))
    if fire is None:
        return "disabled" if not spec.enabled else "never again"
    return fire.astimezone(load_zone(spec.timezone)).strftime("%Y-%m-%d %H:%M %Z")


@click.command()
@click.option("--stage", "-s", required=True, help="Deployed stage.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@click.pass_context
def status(ctx: click.Context, stage: str, as_json: bool) -> None:
    """Every job of a deployed stage: schedule, next fire, enabled, last run, running now."""
    project = project_of(ctx, stage)
    try:
        states = jobs.schedule_states(project)
        running = jobs.running_tasks(project)
        last: dict[str, dict[str, Any] | None] = {}
        for spec in project.tasks:
            if spec.compute == "fargate":
                recent = jobs.history(project, spec, 1)
                last[spec.name] = recent[0] if recent else None
    except AwsFailed as exc:
        raise as_problems(exc) from None
    rows: list[dict[str, Any]] = []
    for spec in project.tasks:
        run = last.get(spec.name)
        rows.append({
            "name": spec.name, "compute": spec.compute, "schedule": spec.schedule,
            "timezone": spec.timezone,
            "next_fire": _next_fire(spec, states.get(spec.name, "-")),
            "state": states.get(spec.name, "-"),
            "last_status": run["status"] if run else None,
            "last_started": run["started_at"] if run else None,
            "last_duration_s": run["duration_s"] if run else None,
            "running": len(running.get(spec.name, [])),
        })
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{project.app_name} · stage {stage}", title_justify="left")
    for column in ("job", "compute", "schedule", "next fire", "state", "last run", "running"):
        table.add_column(column)
    for row in rows:
        last_text = "-"
        if row["last_status"]:
            took = format_duration(row["last_duration_s"]) if row["last_duration_s"] else ""
            last_text = f"{row['last_status']} {row['last_started'] or ''} {took}".strip()
        state = row["state"]
        table.add_row(row["name"], row["compute"], row["schedule"] or "-", row["next_fire"],
                      f"[yellow]{state}[/yellow]" if state == "DISABLED" else state, last_text,
                      str(row["running"]) if row["running"] else "-")
    out.print(table)


def _set(ctx: click.Context, task: str, stage: str, enabled: bool) -> None:
    project = project_of(ctx, stage)
    spec = project.require(task)
    if spec.schedule is None:
        verb = "resume" if enabled else "pause"
        raise ProblemsError([Problem(f"{task} has no schedule to {verb}", key="TASK")])
    try:
        jobs.set_enabled(project, spec, enabled)
    except AwsFailed as exc:
        raise as_problems(exc) from None
    out.print(f"{spec.full_name}: {'resumed' if enabled else 'paused'}")
    if spec.enabled != enabled:
        warn(f"the next fargo deploy sets it back to enabled={str(spec.enabled).lower()} from the "
             "project; change `enabled` in .fargo/config.json to make this last")


@click.command()
@click.argument("task")
@click.option("--stage", "-s", required=True, help="Deployed stage.")
@click.pass_context
def pause(ctx: click.Context, task: str, stage: str) -> None:
    """Disable a job's schedule without deleting anything."""
    _set(ctx, task, stage, False)


@click.command()
@click.argument("task")
@click.option("--stage", "-s", required=True, help="Deployed stage.")
@click.pass_context
def resume(ctx: click.Context, task: str, stage: str) -> None:
    """Enable a paused job's schedule again."""
    _set(ctx, task, stage, True)


def aws_history(ctx: click.Context, task: str | None, stage: str, last: int,
                as_json: bool) -> None:
    project = project_of(ctx, stage)
    if task is None:
        raise ProblemsError([Problem("name the job: fargo history TASK --stage S", key="TASK")])
    spec = project.require(task)
    if spec.compute != "fargate":
        raise ProblemsError([Problem(f"{task} runs on Lambda: its runs are in its log group "
                                     f"/aws/lambda/{spec.full_name}", key="TASK")])
    try:
        rows = jobs.history(project, spec, last)
    except AwsFailed as exc:
        raise as_problems(exc) from None
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{spec.full_name}: last {len(rows)} runs", title_justify="left")
    for column in ("task", "scheduled", "started", "stopped", "duration", "status", "exit",
                   "stop reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["task"], row["scheduled_time"] or "-", row["started_at"] or "-",
                      row["stopped_at"] or "-",
                      format_duration(row["duration_s"]) if row["duration_s"] else "-",
                      row["status"], "-" if row["exit_code"] is None else str(row["exit_code"]),
                      " ".join(x for x in (row["stop_code"], row["stopped_reason"]) if x))
    out.print(table)


def aws_logs(ctx: click.Context, task: str, stage: str, since: str, follow: bool,
             run_id: str | None, pattern: str | None) -> None:
    import time

    project = project_of(ctx, stage)
    spec = project.require(task)
    seconds = parse_duration(since, "--since")
    since_ms = int((time.time() - seconds) * 1000)
    try:
        if follow and run_id:
            stream = jobs.log_stream(run_id)
            for line in jobs.follow_stream(project, spec.log_group, stream, lambda: False,
                                           poll_seconds()):
                out.print(line, markup=False, highlight=False)
            return
        while True:
            events = jobs.search_logs(project, spec, since_ms, pattern, run_id)
            for event in events:
                stamp = format_utc(datetime.fromtimestamp(event["timestamp"] / 1000, UTC))
                out.print(f"{stamp} {event['message']}", markup=False, highlight=False)
                since_ms = max(since_ms, event["timestamp"] + 1)
            if not follow:
                return
            time.sleep(poll_seconds())
    except AwsFailed as exc:
        raise as_problems(exc) from None


COMMANDS = [run, status, pause, resume]
