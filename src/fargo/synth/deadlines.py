"""The stage's deadline checks, as the watchdog reads them (deadlines.json in its zip) and the
module grants them (the `deadline_checks` variable: what each check may read)."""

from __future__ import annotations

from typing import Any

from fargo.project.model import Project


def deadline_checks(project: Project) -> list[dict[str, Any]]:
    """One entry per job or workflow with a deadline: its schedule and where its success is
    recorded (`ecs`: the _runs records of its tasks, `runner`: the runner's executions,
    `lambda`: its function's log, `workflow`: its state machine's executions)."""
    rules = project.stage.schedule_backend == "rules"
    checks: list[dict[str, Any]] = []
    for spec in project.tasks:
        if spec.deadline is None or spec.schedule is None:
            continue
        source = "runner" if spec.uses_runner else "ecs" if spec.compute == "fargate" \
            else "lambda"
        checks.append({"name": spec.name, "kind": "job", "source": source,
                       "schedule": spec.schedule, "timezone": spec.timezone,
                       "deadline": spec.deadline.to_json(), "enabled": spec.enabled,
                       "start_date": spec.start_date, "end_date": spec.end_date,
                       "rules": rules})
    for workflow in project.workflows:
        if workflow.deadline is None or workflow.schedule is None:
            continue
        checks.append({"name": workflow.name, "kind": "workflow", "source": "workflow",
                       "schedule": workflow.schedule, "timezone": workflow.timezone,
                       "deadline": workflow.deadline.to_json(), "enabled": True,
                       "start_date": None, "end_date": None, "rules": False})
    return checks
