"""The `fargo` command group. Bad input anywhere ends in clear messages and exit code 2."""

from __future__ import annotations

import sys
from typing import Any

import click

from fargo import __version__
from fargo.cli.output import EXIT_FAILED, err, fail, styled
from fargo.problems import Problem, ProblemsError
from fargo.schedule import ScheduleError


class FargoGroup(click.Group):
    """The one place errors leave fargo: input and AWS errors exit 2, a failed terraform 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from fargo.aws.session import AwsFailed
        from fargo.deploy.terraform import TerraformFailed
        from fargo.local.store import StoreDamaged

        try:
            return super().invoke(ctx)
        except ProblemsError as exc:
            fail(exc.problems)
        except ScheduleError as exc:
            fail(Problem(m) for m in exc.messages)
        except AwsFailed as exc:
            fail([Problem(str(exc), key="aws")])
        except StoreDamaged as exc:
            fail([Problem(str(exc))])
        except TerraformFailed as exc:
            err.print(styled(("terraform failed:", "red"), " ", str(exc)))
            sys.exit(EXIT_FAILED)


@click.group(cls=FargoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fargo")
@click.option("-C", "--project-dir", type=click.Path(file_okay=False), envvar="FARGO_PROJECT_DIR",
              help="Project directory (default: the current directory).")
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None) -> None:
    """Scheduled ETL jobs as Python functions: run them locally, on AWS Lambda, or as
    scheduled ECS Fargate tasks."""
    ctx.obj = {"project_dir": project_dir}


def _register() -> None:
    from fargo.cli import (
        asl_cmd,
        build_cmd,
        deploy_cmds,
        estimate_cmds,
        events_cmd,
        import_cmd,
        invoke_cmd,
        operate_cmds,
        project_cmds,
        runs_cmds,
        schedule_cmd,
        up_cmd,
    )

    cli.add_command(schedule_cmd.schedule)
    for command in [*project_cmds.COMMANDS, invoke_cmd.invoke, *up_cmd.COMMANDS,
                    *runs_cmds.COMMANDS, *estimate_cmds.COMMANDS,
                    build_cmd.build, *deploy_cmds.COMMANDS, *operate_cmds.COMMANDS,
                    import_cmd.import_chalice, *events_cmd.COMMANDS, *asl_cmd.COMMANDS]:
        cli.add_command(command)


_register()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
