"""Operate deployed jobs: run now (and wait, follow), status, pause, resume."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from fargo import ledger as fargo_ledger
from fargo.aws import history, ledger, schedules
from fargo.aws import run as aws_run
from fargo.aws import runner as aws_runner
from fargo.aws.logs import follow_stream
from fargo.aws.session import AwsFailed, poll_seconds
from fargo.cli.context import project_of
from fargo.cli.output import err, out, plural, print_json, styled, warn
from fargo.cli.params import parse_env, read_event, stage_option
from fargo.cli.render import render
from fargo.problems import Problem, ProblemsError
from fargo.project import names
from fargo.project.model import Project, TaskSpec
from fargo.runtime import contract
from fargo.schedule import UTC, load_zone
from fargo.timeutil import format_duration, format_utc, parse_duration


@click.command()
@click.argument("task")
@stage_option("deployed", required=True)
@click.option("--event", help="Event JSON, or @file.json.")
@click.option("--env", "env_pairs", multiple=True, metavar="NAME=VALUE",
              help="Extra environment for this run (repeatable).")
@click.option("--wait", is_flag=True, help="Wait until the task stops; exit with its code.")
@click.option("--follow", is_flag=True, help="Stream the run's log while it runs (implies --wait).")
@click.option("--timeout", metavar="DURATION", help="Stop waiting after this long (exit 124).")
@click.pass_context
def run(ctx: click.Context, task: str, stage: str, event: str | None,
        env_pairs: tuple[str, ...], wait: bool, follow: bool, timeout: str | None) -> None:
    """Run a deployed job now as its schedule does; print the task (or runner run) ARN.

    A job with retries or an overlap guard runs through the stage's runner, like its
    scheduled runs: --wait exits with the run's final result, after all its attempts.
    """
    event_json = read_event(event, any_json=True)
    env = parse_env(env_pairs)
    seconds = parse_duration(timeout, "--timeout") if timeout else None
    project = project_of(ctx, stage)
    workflow = project.workflow(task)
    if workflow is None and event_json is not None:
        event_json = read_event(event)  # a job's event is an object
    if workflow is not None:
        if env:
            raise ProblemsError([Problem("a workflow's steps run with their own environment; "
                                         "--env is for one job", key="--env")])
        _run_workflow(project, workflow, event_json, wait or follow, seconds, timeout)
        return
    spec = project.require(task)
    if spec.uses_runner:
        _run_through_runner(project, spec, event_json, env, wait or follow, follow, seconds,
                            timeout)
        return
    if spec.compute == "lambda":
        if env:
            warn("--env is ignored for Lambda jobs (their environment is the function's)")
        code, text = aws_run.invoke_function(project, spec, event_json, wait or follow)
        out.print(text)
        sys.exit(code)
    problems = project.network_problems((spec.name,))
    if problems:
        raise ProblemsError(problems)
    task_arn = aws_run.run_task(project, spec, event_json, env)
    out.print(task_arn)
    if not (wait or follow):
        return
    stopped = _wait(project, spec, task_arn, seconds, follow)
    if stopped is None:
        err.print(styled((f"still running after {timeout}; stopped waiting (the task goes on: "
                          f"fargo logs {task} --stage {stage} --run "
                          f"{aws_run.task_id(task_arn)})", "yellow")))
        sys.exit(contract.EXIT_TIMEOUT)
    outcome = aws_run.explain(stopped)
    style = "green" if outcome.status == "succeeded" else "red"
    err.print(styled((f"{spec.name}: {outcome.status}", style), f" — {outcome.explanation}"))
    sys.exit(outcome.exit_code)


def _run_workflow(project: Project, workflow: Any, event_json: str | None, wait: bool,
                  seconds: float | None, timeout: str | None) -> None:
    """Start an execution; with --wait, say each step as it ends and exit with the result."""
    from fargo.aws import workflows

    execution_arn = workflows.start(project, workflow, event_json)
    out.print(execution_arn)
    if not wait:
        return
    said: set[tuple[int, int, str]] = set()

    def on_poll(_execution: dict[str, Any]) -> None:
        for index, step in enumerate(workflows.steps(project, execution_arn)):
            key = (index, step["attempts"], step["status"])
            if step["status"] != "running" and key not in said:
                said.add(key)
                style = "green" if step["status"] == "succeeded" else "red"
                attempt = f" (attempt {step['attempts']})" if step["attempts"] > 1 else ""
                err.print(styled(f"{step['step']}{attempt}: ", (step["status"], style),
                                 f" ({step['error']})" if step["error"] else ""))

    ended = workflows.wait(project, execution_arn, seconds, poll_seconds(), on_poll)
    if ended is None:
        err.print(styled((f"still running after {timeout}; stopped waiting (the execution goes "
                          "on)", "yellow")))
        sys.exit(contract.EXIT_TIMEOUT)
    on_poll(ended)
    if ended["status"] == "SUCCEEDED":
        err.print(styled((f"{workflow.name}: succeeded", "green")))
        print_json(json.loads(ended.get("output") or "null"))
        return
    err.print(styled((f"{workflow.name}: {ended['status'].lower()}", "red"),
                     f" — {ended.get('error') or ''}: {ended.get('cause') or ''}"))
    sys.exit(contract.EXIT_TIMEOUT if ended["status"] == "TIMED_OUT" else contract.EXIT_FAILED)


class _Waiting:
    """A wait on AWS in a thread of its own, while the command streams logs meanwhile."""

    def __init__(self, wait: Callable[[], dict[str, Any] | None]) -> None:
        self.done = threading.Event()
        self._result: dict[str, Any] = {}

        def waiter() -> None:
            try:
                self._result["value"] = wait()
            except AwsFailed as exc:
                self._result["error"] = exc
            finally:
                self.done.set()

        self._thread = threading.Thread(target=waiter, daemon=True)
        self._thread.start()

    def result(self) -> dict[str, Any] | None:
        self._thread.join()
        if "error" in self._result:
            raise self._result["error"]
        value: dict[str, Any] | None = self._result.get("value")
        return value


def _wait(project: Project, spec: TaskSpec, task_arn: str, seconds: float | None,
          follow: bool) -> dict[str, Any] | None:
    poll = poll_seconds()
    if not follow:
        return aws_run.wait(project, task_arn, seconds, poll)
    waiting = _Waiting(lambda: aws_run.wait(project, task_arn, seconds, poll))
    rendered = sys.stdout.isatty()
    for line in follow_stream(project, spec.log_group, names.log_stream(task_arn),
                              waiting.done.is_set, poll):
        _show(line, rendered)
    return waiting.result()


def _show(line: str, rendered: bool) -> None:
    if rendered:  # for people on a terminal; JSON lines when piped
        out.print(render(line), highlight=False)
    else:
        sys.stdout.write(line + "\n")


def _run_through_runner(project: Project, spec: TaskSpec, event_json: str | None,
                        env: dict[str, str], wait: bool, follow: bool, seconds: float | None,
                        timeout: str | None) -> None:
    if env:
        raise ProblemsError([Problem(
            f"{spec.name} runs through the stage's runner (it has {', '.join(spec.runner_reasons)})"
            ", whose runs carry only fargo's own variables: pass values in --event instead",
            key="--env")])
    if spec.compute == "fargate" and (problems := project.network_problems((spec.name,))):
        raise ProblemsError(problems)
    execution_arn, run_id = aws_runner.start(project, spec, event_json)
    out.print(execution_arn)
    if not wait:
        return
    ended = _wait_runner(project, spec, execution_arn, seconds, follow)
    if ended is None:
        err.print(styled((f"still going after {timeout}; stopped waiting (the run goes on: "
                          f"fargo status --stage {project.stage.name})", "yellow")))
        sys.exit(contract.EXIT_TIMEOUT)
    outcome, tried = aws_runner.outcome(project, ended)
    for number, attempt in enumerate(tried, 1):
        code = "" if attempt["exit_code"] is None else f" (exit {attempt['exit_code']})"
        err.print(f"attempt {number}: {attempt['status']}{code}")
    style = "green" if outcome.status in ("succeeded", "skipped") else "red"
    err.print(styled((f"{spec.name}: {outcome.status}", style),
                     f" — {outcome.explanation} (run {run_id})"))
    sys.exit(outcome.exit_code)


def _wait_runner(project: Project, spec: TaskSpec, execution_arn: str,
                 seconds: float | None, follow: bool) -> dict[str, Any] | None:
    poll = poll_seconds()
    if not follow or spec.compute != "fargate":
        return aws_runner.wait(project, execution_arn, seconds, poll)
    waiting = _Waiting(lambda: aws_runner.wait(project, execution_arn, seconds, poll))
    done = waiting.done
    followed: set[str] = set()
    rendered = sys.stdout.isatty()
    while not done.is_set():  # each attempt's log in turn, while the run goes on
        tried = aws_runner.attempts(project, execution_arn)
        current = next((a for a in tried if a["task"] and a["task"] not in followed), None)
        if current is None:
            done.wait(poll)
            continue
        followed.add(current["task"])
        number = tried.index(current) + 1

        def attempt_over(number: int = number) -> bool:
            if done.is_set():
                return True
            later = aws_runner.attempts(project, execution_arn)
            return len(later) > number or later[number - 1]["status"] != "running"

        err.print(f"attempt {number}: {aws_run.task_id(current['task'])}")
        for line in follow_stream(project, spec.log_group, names.log_stream(current["task"]),
                                  attempt_over, poll):
            _show(line, rendered)
    return waiting.result()


def _next_fire(spec: TaskSpec, state: str) -> tuple[datetime | None, str]:
    """The next fire as AWS will do it (none while the schedule is off there), and as text."""
    if spec.schedule is None:
        return None, "on demand"
    if state == "DISABLED":
        return None, "paused"
    if state == "missing":
        return None, "not deployed"
    fire = spec.next_fire(datetime.now(UTC))
    if fire is None:
        return None, "disabled" if not spec.enabled else "never again"
    return fire, fire.astimezone(load_zone(spec.timezone)).strftime("%Y-%m-%d %H:%M %Z")


@click.command()
@stage_option("deployed", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@click.pass_context
def status(ctx: click.Context, stage: str, as_json: bool) -> None:
    """Every job of a deployed stage: schedule, next fire, enabled, last run, running now."""
    project = project_of(ctx, stage)
    states = schedules.schedule_states(project)
    running = aws_run.running_tasks(project)
    going = aws_runner.in_progress(project)  # runs of the runner: queued, running, retrying
    last: dict[str, dict[str, Any] | None] = {}
    sources = history.read_sources(project)
    for spec in project.tasks:
        if spec.compute == "fargate" or spec.uses_runner:
            recent = [r for r in history.job_history(project, spec, 5, sources)
                      if r["status"] != "running"]
            last[spec.name] = recent[0] if recent else None
    day = ledger.stage_summary(ledger.stage_ledger(project, fargo_ledger.window(None, None)))
    rows: list[dict[str, Any]] = []
    for spec in project.tasks:
        run = last.get(spec.name)
        fire, fire_text = _next_fire(spec, states.get(spec.name, "-"))
        rows.append({
            "name": spec.name, "compute": spec.compute, "schedule": spec.schedule,
            "timezone": spec.timezone,
            "next_fire": format_utc(fire) if fire else None,  # ISO 8601, UTC
            "next_fire_text": fire_text,
            "state": states.get(spec.name, "-"),
            "last_status": run["status"] if run else None,
            "last_started": run["started_at"] if run else None,
            "last_duration_s": run["duration_s"] if run else None,
            "running": len(running.get(spec.name, [])),
            "runner": spec.uses_runner,
            "runs": going.get(spec.name, []),
            "ledger": day.get(spec.name),
        })
    flows = _workflow_status(project)
    for flow in flows:
        flow["ledger"] = day.get(flow["name"])
    if as_json:
        print_json(rows + flows)
        return
    table = Table(title=f"{project.app_name} · stage {stage}", title_justify="left")
    for column in ("job", "compute", "schedule", "next fire", "state", "last run", "last 24h",
                   "now"):
        table.add_column(column)
    for row in rows:
        last_text = "-"
        if row["last_status"]:
            took = format_duration(row["last_duration_s"]) if row["last_duration_s"] else ""
            last_text = f"{row['last_status']} {row['last_started'] or ''} {took}".strip()
        state = row["state"]
        now = [f"{plural(row['running'], 'task')} running"] if row["running"] else []
        now += [f"{run['state']} ({run['run_id']})" for run in row["runs"]
                if run["state"] != "running"]
        table.add_row(row["name"], row["compute"], row["schedule"] or "-", row["next_fire_text"],
                      styled((state, "yellow" if state == "DISABLED" else "")), last_text,
                      _day_text(row["ledger"]), ", ".join(now) or "-")
    out.print(table)
    if flows:
        table = Table(title="workflows", title_justify="left")
        for column in ("workflow", "schedule", "last execution", "running now"):
            table.add_column(column)
        for flow in flows:
            last_run = flow["last"]
            table.add_row(flow["name"], flow["schedule"] or "on demand",
                          f"{last_run['status']} {last_run['started_at'] or ''}".strip()
                          if last_run else "-",
                          ", ".join(f"{e['execution']} ({e['step'] or 'starting'})"
                                    for e in flow["running"]) or "-")
        out.print(table)


def _day_text(day: dict[str, Any] | None) -> Text:
    """The ledger's last day of a job, in a few words: what went wrong first."""
    if not day:
        return styled("-")
    counts = day["counts"]
    parts: list[str | tuple[str, str]] = []
    for state in ("missing", "failed_to_start", "stuck", "failed", "timed_out"):
        if counts.get(state):
            parts += [(f"{counts[state]} {state.replace('_', ' ')}", "red"), ", "]
    if day["start_failures"] and not counts.get("failed_to_start"):
        parts += [(f"{day['start_failures']} start retried", "yellow"), ", "]
    if day["late"]:
        parts += [(f"{day['late']} late", "yellow"), ", "]
    parts.append(f"{counts.get('succeeded', 0)} ok")
    going = sum(counts.get(state, 0) for state in ("running", "pending", "due"))
    if going:
        parts.append((f", {going} going or due", "dim"))
    return styled(*parts)


def _workflow_status(project: Project) -> list[dict[str, Any]]:
    """Each workflow: its last ended execution, and the ones running with their current step."""
    from fargo.aws import workflows

    rows = []
    for workflow in project.workflows:
        recent = workflows.executions(project, workflow, 10)
        ended = [e for e in recent if e["status"] != "running"]
        rows.append({
            "name": workflow.name, "workflow": True, "schedule": workflow.schedule,
            "timezone": workflow.timezone,
            "last": {k: ended[0][k] for k in ("execution", "status", "started_at",
                                              "stopped_at", "error")} if ended else None,
            "running": [{"execution": e["execution"],
                         "step": next((s["step"] for s in reversed(e["steps"])
                                       if s["status"] == "running"), None)}
                        for e in recent if e["status"] == "running"],
        })
    return rows


def _forget_apply(project: Project) -> None:
    """A schedule changed outside terraform: the next deploy must plan, not trust the record."""
    from fargo.deploy import applied
    from fargo.synth.package import default_dir

    problem = applied.drop_quietly(applied.record_for(project, default_dir(project)))
    if problem:
        warn(f"could not drop the record of the last apply ({problem}): run the next "
             "deploy with --refresh")


def _set(ctx: click.Context, task: str, stage: str, enabled: bool) -> None:
    project = project_of(ctx, stage)
    workflow = project.workflow(task)
    if workflow is not None:
        if workflow.schedule is None:
            raise ProblemsError([Problem(f"workflow {task} has no schedule to "
                                         f"{'resume' if enabled else 'pause'}", key="TASK")])
        schedules.set_schedule(project, workflow.full_name, enabled)
        _forget_apply(project)
        out.print(f"{workflow.full_name}: {'resumed' if enabled else 'paused'}")
        if not enabled:
            warn("the next fargo deploy resumes it (a workflow's schedule is on when deployed)")
        return
    spec = project.require(task)
    if spec.schedule is None:
        verb = "resume" if enabled else "pause"
        raise ProblemsError([Problem(f"{task} has no schedule to {verb}", key="TASK")])
    schedules.set_enabled(project, spec, enabled)
    _forget_apply(project)
    out.print(f"{spec.full_name}: {'resumed' if enabled else 'paused'}")
    if spec.enabled != enabled:
        warn(f"the next fargo deploy sets it back to enabled={str(spec.enabled).lower()} from the "
             "project; change `enabled` in .fargo/config.json to make this last")


@click.command()
@click.argument("task")
@stage_option("deployed", required=True)
@click.pass_context
def pause(ctx: click.Context, task: str, stage: str) -> None:
    """Disable a job's schedule without deleting anything."""
    _set(ctx, task, stage, False)


@click.command()
@click.argument("task")
@stage_option("deployed", required=True)
@click.pass_context
def resume(ctx: click.Context, task: str, stage: str) -> None:
    """Enable a paused job's schedule again."""
    _set(ctx, task, stage, True)
