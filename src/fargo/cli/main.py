"""The `fargo` command group. Bad input anywhere ends in clear messages and exit code 2.

Each command's module is imported only when that command runs (`fargo --help` lists them all,
and so imports them all): `fargo --version` or `fargo schedule` need not load the project
loader, its JSON Schema validator, boto3's helpers or the local scheduler.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from fargo import __version__

# Every command: its name, the module of fargo.cli that defines it, and the attribute there.
COMMANDS = {
    "asl": ("asl_cmd", "asl"),
    "build": ("build_cmd", "build"),
    "config": ("project_cmds", "config_cmd"),
    "cost": ("estimate_cmds", "cost"),
    "deploy": ("deploy_cmds", "deploy"),
    "destroy": ("deploy_cmds", "destroy"),
    "emit": ("events_cmd", "emit"),
    "events": ("events_cmd", "events"),
    "history": ("runs_cmds", "history"),
    "import-chalice": ("import_cmd", "import_chalice"),
    "invoke": ("invoke_cmd", "invoke"),
    "logs": ("runs_cmds", "logs"),
    "ls": ("project_cmds", "ls"),
    "new": ("project_cmds", "new"),
    "package": ("deploy_cmds", "package"),
    "pause": ("operate_cmds", "pause"),
    "plan": ("deploy_cmds", "plan"),
    "resume": ("operate_cmds", "resume"),
    "run": ("operate_cmds", "run"),
    "schedule": ("schedule_cmd", "schedule"),
    "size": ("estimate_cmds", "size"),
    "status": ("operate_cmds", "status"),
    "up": ("up_cmd", "up"),
    "validate": ("project_cmds", "validate"),
}


class FargoGroup(click.Group):
    """The one place errors leave fargo: input and AWS errors exit 2, a failed terraform 1.
    Commands load when they are named (see COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        command: click.Command = getattr(importlib.import_module(f"fargo.cli.{where[0]}"),
                                         where[1])
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from fargo.aws.session import AwsFailed
        from fargo.cli.output import EXIT_FAILED, err, fail, styled
        from fargo.deploy.terraform import TerraformFailed
        from fargo.local.store import StoreDamaged
        from fargo.problems import Problem, ProblemsError
        from fargo.schedule import ScheduleError

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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
