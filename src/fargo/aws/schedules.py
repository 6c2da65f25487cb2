"""Pause and resume a deployed job's schedule, and read every schedule's state."""

from __future__ import annotations

from fargo.aws.session import aws_errors, client
from fargo.project import names
from fargo.project.model import Project, TaskSpec

_UPDATABLE = ("Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone",
              "StartDate", "EndDate", "Description", "KmsKeyArn", "Target",
              "FlexibleTimeWindow", "ActionAfterCompletion")


def set_enabled(project: Project, spec: TaskSpec, enabled: bool) -> None:
    set_schedule(project, spec.full_name, enabled, project.stage.schedule_backend == "rules")


def set_schedule(project: Project, name: str, enabled: bool, rules: bool = False) -> None:
    """Enable or disable the schedule `name` (a job's, or a workflow's: always Scheduler)."""
    state = "ENABLED" if enabled else "DISABLED"
    region = project.stage.aws_region
    if rules:
        with aws_errors(f"{'resuming' if enabled else 'pausing'} {name}"):
            events = client("events", region)
            (events.enable_rule if enabled else events.disable_rule)(Name=name)
        return
    with aws_errors(f"{'resuming' if enabled else 'pausing'} {name}"):
        scheduler = client("scheduler", region)
        group = names.schedule_group(project.app_name, project.stage.name)
        current = scheduler.get_schedule(Name=name, GroupName=group)
        # UpdateSchedule replaces the whole schedule: send back everything, with the new state.
        update = {k: current[k] for k in _UPDATABLE if current.get(k) not in (None, "")}
        scheduler.update_schedule(**update, State=state)


def schedule_states(project: Project) -> dict[str, str]:
    """Job name -> ENABLED | DISABLED | missing, as AWS has it now."""
    region = project.stage.aws_region
    prefix = names.prefix(project.app_name, project.stage.name) + "-"
    found: dict[str, str] = {}
    with aws_errors("reading schedules"):
        if project.stage.schedule_backend == "rules":
            pages = client("events", region).get_paginator("list_rules").paginate(
                NamePrefix=prefix)
            for page in pages:
                for rule in page.get("Rules", []):
                    found[rule["Name"][len(prefix):]] = rule.get("State", "")
        else:
            scheduler = client("scheduler", region)
            try:
                pages = scheduler.get_paginator("list_schedules").paginate(
                    GroupName=names.schedule_group(project.app_name, project.stage.name))
                for page in pages:
                    for item in page.get("Schedules", []):
                        found[item["Name"][len(prefix):]] = item.get("State", "")
            except scheduler.exceptions.ResourceNotFoundException:
                pass
    return {spec.name: found.get(spec.name, "missing") for spec in project.tasks
            if spec.schedule is not None}
