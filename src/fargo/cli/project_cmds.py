"""Project commands: new, validate, ls, config."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from fargo.cli.context import project_of, root_of
from fargo.cli.output import err, out, plural, print_json, print_table, report, styled
from fargo.cli.params import stage_option
from fargo.problems import Problem, ProblemsError
from fargo.project.config import read_config
from fargo.project.load import check, pick_stage, stage_names
from fargo.project.model import TaskSpec
from fargo.schedule import UTC, load_zone
from fargo.timeutil import format_utc


@click.command()
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False), default=".",
              help="Where to create the project directory.")
def new(name: str, parent: str) -> None:
    """Create a new project NAME with ETL jobs that run on local data."""
    from fargo.scaffold import create

    target = create(name, Path(parent).resolve())
    out.print(f"Created {target}")
    out.print(f"  cd {Path(parent) / name}")
    out.print("  fargo validate && fargo ls")
    out.print("  fargo invoke ingest_events")


@click.command()
@stage_option(help="Validate one stage (default: every stage).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def validate(ctx: click.Context, stage: str | None, as_json: bool) -> None:
    """Check everything AWS would reject, for every job and stage; exit 0 or 2."""
    root = root_of(ctx)
    stage_problems: list[Problem] = []
    stages = None
    read = read_config(root)
    if stage is not None:
        chosen, stage_problems = pick_stage(read[0], stage)
        stages = [] if stage_problems else [chosen]
    result = check(root, stages, read)
    problems = [*stage_problems, *result.problems]
    from fargo.synth.workflow_asl import definition_text

    for project in result.projects:  # what Step Functions would refuse of the definitions
        for workflow in project.workflows:
            try:
                definition_text(project, workflow)
            except ProblemsError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        print_json({
            "ok": not errors,
            "problems": [p.to_dict() for p in problems],
            "notices": [p.to_dict() for p in result.notices],
            "stages": {p.stage.name: list(p.task_names) for p in result.projects},
        })
    else:
        report(result.notices)
        report(problems)
        if not errors:
            for project in result.projects:
                out.print(styled(("ok", "green"), f" {project.app_name} stage "
                                 f"{project.stage.name}: {plural(len(project.tasks), 'job')} "
                                 "valid"))
        else:
            err.print(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found")
    if errors:
        ctx.exit(2)


def _size(spec: TaskSpec) -> str:
    memory = f"{spec.memory / 1024:g} GB" if spec.memory >= 1024 else f"{spec.memory} MB"
    if spec.compute == "lambda":
        return memory
    return f"{(spec.cpu or 0) / 1024:g} vCPU / {memory}"


@click.command(name="ls")
@stage_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@click.pass_context
def ls(ctx: click.Context, stage: str | None, as_json: bool) -> None:
    """List every job: compute, schedule, time zone, next fire, size, how AWS starts it."""
    project = project_of(ctx, stage)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    fires = [spec.next_fire(now) for spec in project.tasks]
    for spec, fire in zip(project.tasks, fires, strict=True):
        rows.append({
            "name": spec.name, "compute": spec.compute, "schedule": spec.schedule,
            "timezone": spec.timezone, "next_fire": format_utc(fire) if fire else None,
            "cpu": spec.cpu, "memory": spec.memory, "timeout": spec.timeout,
            "enabled": spec.enabled, "description": spec.description,
            "aws_name": spec.full_name, "on_aws": _on_aws(spec),
            "events": [dict(p) for p in spec.events],
            "s3": [dict(t) for t in spec.s3],
            "runner_reasons": list(spec.runner_reasons),
        })
    if as_json:
        print_json(rows)
        return
    cells: list[list[str | Text]] = []
    for spec, fire in zip(project.tasks, fires, strict=True):
        local = ""
        if fire is not None:
            local = fire.astimezone(load_zone(spec.timezone)).strftime("%Y-%m-%d %H:%M %Z")
        cells.append([
            spec.name, spec.compute + (" (spot)" if spec.spot else ""),
            _trigger(spec), spec.timezone, local or "-", _size(spec),
            f"{spec.timeout}s", "yes" if spec.enabled else styled(("no", "yellow")),
            _on_aws(spec)])
    print_table(f"{project.app_name} · stage {project.stage.name}",
                ("job", "compute", "schedule", "time zone", "next fire", "size", "timeout",
                 "enabled", "on AWS"), cells)
    if project.workflows:
        from fargo.project.workflows import describe

        flows = Table(title="workflows", title_justify="left")
        for column in ("workflow", "schedule", "time zone", "steps"):
            flows.add_column(column)
        for workflow in project.workflows:
            flows.add_row(workflow.name, workflow.schedule or "on demand", workflow.timezone,
                          describe(workflow.steps))
        out.print(flows)
    runner = [s for s in project.tasks if s.uses_runner]
    if runner:
        out.print("runner: started through the stage's runner, which keeps overlap, retries "
                  "and timeout as fargo up does (" + _runner_why(runner) + ")")
    if any(s.scheduled for s in project.tasks):
        out.print("catchup applies to fargo up only: on AWS a fire missed while a schedule was "
                  "paused or disabled is not run later")


def _runner_why(runner: list[TaskSpec]) -> str:
    """Each runner job and why; on many jobs, how many share each reason (one line, not
    thousands of names)."""
    if len(runner) <= 10:
        return "; ".join(f"{s.name}: {', '.join(s.runner_reasons)}" for s in runner)
    counts: dict[str, int] = {}
    for spec in runner:
        for reason in spec.runner_reasons:
            head = reason.split(":", 1)[0]
            counts[head] = counts.get(head, 0) + 1
    return f"{len(runner)} jobs: " + ", ".join(f"{n} by {head}" for head, n in counts.items()) \
        + "; fargo ls --json has each job's runner_reasons"


def _trigger(spec: TaskSpec) -> str:
    """What starts the job: its schedule, event patterns, or only a person."""
    parts = [f"{len(spec.events)} event pattern{'s' if len(spec.events) != 1 else ''}"] \
        if spec.events else []
    parts += [f"s3://{t['bucket']}/{t.get('prefix') or ''}*{t.get('suffix') or ''}"
              for t in spec.s3]
    found = " + ".join(parts)
    if spec.schedule and found:
        return f"{spec.schedule} + {found}"
    return spec.schedule or found or "on demand"


def _on_aws(spec: TaskSpec) -> str:
    """How AWS starts the job: directly by its schedule, or through the stage's runner."""
    if spec.uses_runner:
        return "runner"
    return "direct" if spec.scheduled or spec.patterns else "on demand"


@click.command(name="config")
@click.argument("task", required=False)
@stage_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def config_cmd(ctx: click.Context, task: str | None, stage: str | None, as_json: bool) -> None:
    """Print every resolved setting of TASK (or of the stage) and where it came from."""
    project = project_of(ctx, stage)
    if task is None:
        stage_spec = project.stage
        values = {k: getattr(stage_spec, k) for k in stage_spec.provenance}
        _show(f"stage {stage_spec.name}", values, dict(stage_spec.provenance), as_json)
        return
    spec = project.require(task)
    values = {k: getattr(spec, k) for k in spec.provenance}
    values = {"aws_name": spec.full_name, "handler": spec.handler, "log_group": spec.log_group,
              "region": project.stage.region, **values}
    provenance = {"aws_name": "<app>-<stage>-<task>", "handler": "app.py",
                  "log_group": "/fargo/<app>/<stage>/<task> (Lambda: /aws/lambda/<name>)",
                  "region": project.stage.provenance.get("region", ""), **spec.provenance}
    _show(f"{spec.name} · stage {spec.stage}", values, provenance, as_json)


def _show(title: str, values: dict[str, Any], provenance: dict[str, str], as_json: bool) -> None:
    if as_json:
        print_json({k: {"value": _plain(v), "source": provenance.get(k, "")}
                    for k, v in values.items()})
        return
    table = Table(title=title, title_justify="left")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    for key, value in values.items():
        table.add_row(key, _text(value), provenance.get(key, ""))
    out.print(table)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "items"):
        return dict(value.items())
    return value


def _text(value: Any) -> str:
    import json

    if value is None:
        return "-"
    if isinstance(value, (dict, list, tuple)) or hasattr(value, "items"):
        return json.dumps(_plain(value))
    return str(value)
_ = stage_names
