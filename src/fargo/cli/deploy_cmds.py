"""package, plan, deploy, destroy: a stage's AWS lifecycle through terraform."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from fargo.cli.context import project_of
from fargo.cli.output import err, out, print_json
from fargo.deploy.terraform import Changes, Terraform, TerraformFailed
from fargo.project.model import Project
from fargo.synth.package import write_package

EXIT_FAILED = 1


def _say(quiet: bool) -> Callable[[str], None]:
    def say(text: str) -> None:
        if not quiet:
            err.print(f"[dim]{escape(text)}[/dim]")

    return say


def _variables(project: Project, image_tag: str | None) -> dict[str, str]:
    """--image-tag, else the tag of the last fargo build for the stage, else the default."""
    from fargo.packaging.image import check_tag, last_built_tag

    tag = check_tag(image_tag, "--image-tag") if image_tag else last_built_tag(project)
    return {"image_tag": tag} if tag else {}


def _show(changes: Changes, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("job", "add", "change", "destroy"):
        table.add_column(column, justify="left" if column == "job" else "right")
    for job, counts in changes.jobs.items():
        table.add_row(job, str(counts["add"]), str(counts["change"]), str(counts["destroy"]))
    if changes.jobs:
        out.print(table)
    out.print(f"Plan: {changes.add} to add, {changes.change} to change, "
              f"{changes.destroy} to destroy.")


def _prepare(project: Project, out_dir: str | None, quiet: bool) -> Terraform:
    directory = write_package(project, Path(out_dir) if out_dir else None)
    terraform = Terraform(directory, _say(quiet))
    terraform.init()
    return terraform


def _confirm(action: str, project: Project, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        from fargo.problems import Problem, ProblemsError

        raise ProblemsError([Problem(f"not a terminal: pass --yes to {action} stage "
                                     f"{project.stage.name} without a question", key="--yes")])
    if not click.confirm(f"{action.capitalize()} stage {project.stage.name} of "
                         f"{project.app_name}?", default=False):
        out.print("Nothing done.")
        sys.exit(0)


def _fail(exc: TerraformFailed) -> None:
    err.print(f"[red]terraform failed:[/red] {exc}")
    sys.exit(EXIT_FAILED)


stage_required = click.option("--stage", "-s", required=True, help="Stage to work on.")
out_option = click.option("--out", "out_dir", type=click.Path(file_okay=False),
                          help="Package directory (default: .fargo/deploy/<stage>).")
tag_option = click.option("--image-tag",
                          help="Tag of the stage's image (default: the last fargo build, else "
                               "latest).")


@click.command()
@stage_required
@out_option
@click.pass_context
def package(ctx: click.Context, stage: str, out_dir: str | None) -> None:
    """Write the stage's Terraform root, the module and the Lambda zip (deterministic)."""
    project = project_of(ctx, stage)
    directory = write_package(project, Path(out_dir) if out_dir else None)
    fargate = sum(t.compute == "fargate" for t in project.tasks)
    out.print(f"Packaged {project.app_name} stage {stage} ({fargate} Fargate, "
              f"{len(project.tasks) - fargate} Lambda jobs) in {directory}")


@click.command()
@stage_required
@out_option
@tag_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def plan(ctx: click.Context, stage: str, out_dir: str | None, image_tag: str | None,
         as_json: bool) -> None:
    """Show what deploy would change, per job."""
    project = project_of(ctx, stage)
    variables = _variables(project, image_tag)
    try:
        terraform = _prepare(project, out_dir, as_json)
        changes = terraform.plan(variables)
    except TerraformFailed as exc:
        _fail(exc)
        return
    if as_json:
        print_json({"stage": stage, **changes.to_dict(), "package": str(terraform.workdir)})
    else:
        _show(changes, f"{project.app_name} · stage {stage}")


def _apply(project: Project, out_dir: str | None, variables: dict[str, str], yes: bool,
           destroy: bool) -> None:
    """Plan, show, confirm and apply; the one path shared by deploy and destroy."""
    verb = "destroy" if destroy else "deploy"
    stage = project.stage.name
    try:
        terraform = _prepare(project, out_dir, False)
        changes = terraform.plan(variables, destroy=destroy)
        _show(changes, f"{project.app_name} · stage {stage}" + (" (destroy)" if destroy else ""))
        if changes.empty:
            out.print("Nothing to destroy." if destroy
                      else "Nothing to deploy: AWS matches the project.")
            return
        _confirm(verb, project, yes)
        terraform.apply()
    except TerraformFailed as exc:
        _fail(exc)
    out.print(f"[green]{'Destroyed' if destroy else 'Deployed'}[/green] {project.app_name} "
              f"stage {stage}.")


@click.command()
@stage_required
@out_option
@tag_option
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@click.pass_context
def deploy(ctx: click.Context, stage: str, out_dir: str | None, image_tag: str | None,
           yes: bool) -> None:
    """Package, plan and apply the stage (asks first on a terminal)."""
    project = project_of(ctx, stage)
    _apply(project, out_dir, _variables(project, image_tag), yes, destroy=False)


@click.command()
@stage_required
@out_option
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@click.pass_context
def destroy(ctx: click.Context, stage: str, out_dir: str | None, yes: bool) -> None:
    """Remove every AWS resource of the stage (asks first on a terminal)."""
    _apply(project_of(ctx, stage), out_dir, {}, yes, destroy=True)


COMMANDS = [package, plan, deploy, destroy]
