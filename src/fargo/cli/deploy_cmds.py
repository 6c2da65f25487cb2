"""package, plan, deploy, destroy: a stage's AWS lifecycle through terraform."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.table import Table

from fargo.cli.context import project_of
from fargo.cli.output import err, notice, out, plural, print_json, styled, warn
from fargo.cli.params import stage_option
from fargo.deploy import applied
from fargo.deploy.terraform import Changes, Terraform, find_terraform
from fargo.problems import Problem, ProblemsError
from fargo.project.model import Project
from fargo.synth import groups
from fargo.synth.package import write_package


def _say(quiet: bool) -> Callable[[str], None]:
    def say(text: str) -> None:
        if not quiet:
            err.print(styled((text, "dim")))

    return say


def _variables(project: Project, image_tag: str | None, strict: bool) -> dict[str, str]:
    """The image tag to deploy, checked against the last build and the registry.

    `strict` (deploy) refuses on any problem; plan shows them as warnings and goes on.
    """
    from fargo.aws.preflight import bucket_notices, choose_image, network_problems
    from fargo.packaging.image import check_tag

    if image_tag is not None:
        check_tag(image_tag, "--image-tag")
    choice = choose_image(project, image_tag)
    for text in choice.notices:
        notice(text)
    problems = [*choice.problems, *network_problems(project)]
    if problems and strict:
        raise ProblemsError(problems)
    for problem in problems:
        warn(f"deploy would stop here: {problem}")
    for ready, text in bucket_notices(project):
        (notice if ready else warn)(text)
    return choice.variables


def _show(changes: Changes, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("job", "add", "change", "destroy"):
        table.add_column(column, justify="left" if column == "job" else "right")
    for job, counts in changes.jobs.items():
        table.add_row(job, str(counts["add"]), str(counts["change"]),
                      str(counts["destroy"]))
    if changes.jobs:
        out.print(table)
    moved = f", {changes.moved} to move" if changes.moved else ""
    out.print(f"Plan: {changes.add} to add, {changes.change} to change, "
              f"{changes.destroy} to destroy{moved}.")


def _prepare(project: Project, directory: Path, variables: dict[str, str],
             quiet: bool) -> tuple[Terraform, str]:
    """Init (and carry the state across the job-group line); the digest to record after.

    The digest is taken after init, which writes the provider lock file, and before any
    moved blocks, which the next package (its state then in this layout) does not have.
    """
    terraform = Terraform(directory, _say(quiet))
    terraform.init()
    current = applied.digest(directory, variables, terraform.binary)
    moved = groups.moves(terraform.state_addresses(), project.tasks)
    if moved:  # the stage crossed the job-group line (synth/groups.py): carry its resources
        _say(quiet)(f"moving {plural(len(moved), 'resource')} to this layout's job groups")
        write_package(project, directory, moved)
    return terraform, current


def _unchanged(record: applied.Record, current: str, directory: Path, stage: str,
               as_json: bool) -> bool:
    """Say so, and skip terraform, when nothing it reads changed since the last apply."""
    last = record.read()
    if last is None or last["digest"] != current:
        return False
    if as_json:
        print_json({"stage": stage, **Changes().to_dict(), "package": str(directory),
                    "unchanged_since": last.get("applied")})
        return True
    out.print(f"Nothing to deploy: nothing fargo deploys changed since the last apply "
              f"({last.get('applied', 'time unknown')}). --refresh plans anyway, to find "
              "changes made in AWS outside fargo.")
    return True


def _record(record: applied.Record, current: str) -> None:
    try:
        record.write(current)
    except Exception as exc:  # the deploy itself succeeded; the next one plans for real
        warn(f"could not record the apply ({exc}): the next deploy runs terraform plan")


def _can_ask(action: str, project: Project, yes: bool) -> None:
    """Refuse at once (not after a long plan) when no one can answer the question."""
    if not yes and not sys.stdin.isatty():
        raise ProblemsError([Problem(f"not a terminal: pass --yes to {action} stage "
                                     f"{project.stage.name} without a question", key="--yes")])


def _confirm(action: str, project: Project, yes: bool) -> None:
    _can_ask(action, project, yes)
    if yes:
        return
    if not click.confirm(f"{action.capitalize()} stage {project.stage.name} of "
                         f"{project.app_name}?", default=False):
        out.print("Nothing done.")
        sys.exit(0)


stage_required = stage_option("work", required=True)
out_option = click.option("--out", "out_dir", type=click.Path(file_okay=False),
                          help="Package directory (default: .fargo/deploy/<stage>).")
refresh_option = click.option(
    "--refresh", is_flag=True,
    help="Run terraform plan even when nothing changed since the last apply (finds changes "
         "made in AWS outside fargo).")
tag_option = click.option("--image-tag",
                          help="Deploy this pushed tag of the stage's image on purpose "
                               "(default: the last fargo build, if it matches the code).")



@click.command()
@stage_required
@out_option
@click.pass_context
def package(ctx: click.Context, stage: str, out_dir: str | None) -> None:
    """Write the stage's Terraform root, the module and the Lambda zip (deterministic)."""
    project = project_of(ctx, stage)
    directory = write_package(project, Path(out_dir) if out_dir else None)
    fargate = sum(t.compute == "fargate" for t in project.tasks)
    out.print(f"Packaged {project.app_name} stage {stage} ({plural(fargate, 'Fargate job')}, "
              f"{plural(len(project.tasks) - fargate, 'Lambda job')}) in {directory}")


@click.command()
@stage_required
@out_option
@tag_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refresh_option
@click.pass_context
def plan(ctx: click.Context, stage: str, out_dir: str | None, image_tag: str | None,
         as_json: bool, refresh: bool) -> None:
    """Show what deploy would change, per job."""
    project = project_of(ctx, stage)
    binary = find_terraform()
    variables = _variables(project, image_tag, strict=False)
    directory = write_package(project, Path(out_dir) if out_dir else None)
    record = applied.record_for(project, directory)
    current = applied.digest(directory, variables, binary)
    if not refresh and _unchanged(record, current, directory, stage, as_json):
        return
    terraform, current = _prepare(project, directory, variables, as_json)
    changes = terraform.plan(variables, project.task_names)
    if changes.empty:
        _record(record, current)
    if as_json:
        print_json({"stage": stage, **changes.to_dict(), "package": str(terraform.workdir)})
    else:
        _show(changes, f"{project.app_name} · stage {stage}")


def _apply(project: Project, out_dir: str | None, variables: dict[str, str], yes: bool,
           destroy: bool, refresh: bool = False) -> None:
    """Plan, show, confirm and apply; the one path shared by deploy and destroy."""
    verb = "destroy" if destroy else "deploy"
    stage = project.stage.name
    directory = write_package(project, Path(out_dir) if out_dir else None)
    record = applied.record_for(project, directory)
    current = applied.digest(directory, variables, find_terraform())
    if not destroy and not refresh and _unchanged(record, current, directory, stage, False):
        return
    terraform, current = _prepare(project, directory, variables, False)
    changes = terraform.plan(variables, project.task_names, destroy=destroy)
    _show(changes, f"{project.app_name} · stage {stage}" + (" (destroy)" if destroy else ""))
    if changes.empty:
        out.print("Nothing to destroy." if destroy
                  else "Nothing to deploy: AWS matches the project.")
        if not destroy:
            _record(record, current)
        return
    if changes.resumed:
        notice(f"paused in AWS, enabled in the project: deploy resumes "
               f"{', '.join(changes.resumed)} (set enabled: false to keep a job off, or "
               "fargo pause it again after)")
    _confirm(verb, project, yes)
    problem = applied.drop_quietly(record)  # a failed or partial apply leaves no record
    if problem:
        raise ProblemsError([Problem(f"cannot remove the record of the last apply: {problem}",
                                     key="state")])
    terraform.apply()
    if not destroy:
        _record(record, current)
    out.print(styled(("Destroyed" if destroy else "Deployed", "green"),
                     f" {project.app_name} stage {stage}."))


def _build_first(project: Project) -> None:
    """`deploy --build`: exactly `fargo build --stage S --push`, as its own process."""
    import subprocess

    command = [sys.executable, "-m", "fargo", "-C", str(project.root), "build", "--stage",
               project.stage.name, "--push"]
    if subprocess.run(command).returncode != 0:
        err.print(styled(("error:", "red"), " fargo build --push failed; nothing was deployed"))
        sys.exit(1)


@click.command()
@stage_required
@out_option
@tag_option
@click.option("--build", "build_first", is_flag=True,
              help="Run fargo build --push first (needs a Docker engine).")
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@refresh_option
@click.pass_context
def deploy(ctx: click.Context, stage: str, out_dir: str | None, image_tag: str | None,
           build_first: bool, yes: bool, refresh: bool) -> None:
    """Package, plan and apply the stage (asks first on a terminal).

    Refuses (exit 2) to ship an image the registry lacks or one older than the code.
    """
    project = project_of(ctx, stage)
    _can_ask("deploy", project, yes)
    if build_first:
        if image_tag is not None:
            raise ProblemsError([Problem("--build builds and deploys the current code; leave "
                                         "out --image-tag", key="--build")])
        _build_first(project)
    find_terraform()
    _apply(project, out_dir, _variables(project, image_tag, strict=True), yes, destroy=False,
           refresh=refresh)


@click.command()
@stage_required
@out_option
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@click.pass_context
def destroy(ctx: click.Context, stage: str, out_dir: str | None, yes: bool) -> None:
    """Remove every AWS resource of the stage (asks first on a terminal)."""
    project = project_of(ctx, stage)
    _can_ask("destroy", project, yes)
    _apply(project, out_dir, {}, yes, destroy=True)
