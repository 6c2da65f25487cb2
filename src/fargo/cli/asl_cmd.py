"""`fargo asl JOB --stage S`: the Task state that runs a job as a step of your own state machine."""

from __future__ import annotations

import click

from fargo.cli.context import project_of
from fargo.cli.output import notice, print_json
from fargo.cli.params import stage_option
from fargo.problems import Problem, ProblemsError
from fargo.project import names
from fargo.synth.workflow_asl import task_state

STATE_NAME_MAX = 80  # Step Functions: a state's name


@click.command()
@click.argument("task")
@stage_option("deployed", required=True)
@click.option("--name", "state_name", help="Wrap it as {NAME: state}, ready to paste into "
              "States.")
@click.pass_context
def asl(ctx: click.Context, task: str, stage: str, state_name: str | None) -> None:
    """Print the Task state that runs TASK as a step: its input is the job's event, its output
    the job's return value (a Fargate job answers with the task token; add Next or End)."""
    if state_name is not None and not 1 <= len(state_name) <= STATE_NAME_MAX:
        raise ProblemsError([Problem(f"a state name is 1-{STATE_NAME_MAX} characters; "
                                     f"{len(state_name)} given", key="--name")])
    project = project_of(ctx, stage)
    spec = project.require(task)
    problems = project.network_problems((spec.name,))
    if problems:  # a state without subnets would fail at its first run, in AWS
        raise ProblemsError(problems)
    state = task_state(project, spec, names.workflow_task_group(
        project.app_name, project.stage.name, "steps"))
    print_json({state_name: state} if state_name else state)
    if spec.compute == "fargate":
        notice(f"the task answers with its task token: add your state machine's ARN to "
               f"tasks.{spec.name}.step_of in .fargo/config.json and deploy, so the job's role "
               "may call states:SendTaskSuccess/Failure/Heartbeat on it (and nothing else)")
    else:
        notice("the function returns the job's result; your state machine's role needs "
               f"lambda:InvokeFunction on {spec.full_name}")
