"""The command table: every command is listed once, and a command loads only what it uses."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

import fargo.cli
from fargo.cli.main import COMMANDS, cli


def _module_commands() -> dict[str, click.Command]:
    """Every click command defined at the top of a fargo.cli module, by its module:attribute."""
    found: dict[str, click.Command] = {}
    for info in pkgutil.iter_modules(fargo.cli.__path__):
        module = importlib.import_module(f"fargo.cli.{info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, click.Command) and value.callback is not None \
                    and value.callback.__module__ == module.__name__:
                found[f"{info.name}:{attribute}"] = value
    return found


def test_each_name_in_the_table_is_the_command_of_that_name() -> None:
    with click.Context(cli) as ctx:
        for name in COMMANDS:
            command = cli.get_command(ctx, name)
            assert command is not None and command.name == name, name
        assert cli.list_commands(ctx) == sorted(COMMANDS)
        assert cli.get_command(ctx, "nosuch") is None


def test_every_command_a_module_defines_is_reachable() -> None:
    with click.Context(cli) as ctx:
        top = {id(cli.get_command(ctx, name)) for name in COMMANDS}
        nested = {id(sub) for name in COMMANDS
                  for sub in getattr(cli.get_command(ctx, name), "commands", {}).values()}
    missing = [where for where, command in _module_commands().items()
               if command is not cli and id(command) not in top | nested]
    assert not missing, f"commands not in fargo.cli.main.COMMANDS: {missing}"


def _modules_loaded_by(args: list[str], cwd: Path) -> set[str]:
    """The modules a real `fargo ARGS` process has loaded when it exits."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sys.modules)))\n"
            f"sys.argv = ['fargo', *{args!r}]\n"
            "from fargo.cli.main import main\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(result.stderr.rsplit("MODULES ", 1)[1].split())


@pytest.mark.parametrize("args", [["--version"], ["schedule", "rate(5 minutes)"]])
def test_a_command_without_a_project_loads_no_project_machinery(args: list[str],
                                                                tmp_path: Path) -> None:
    loaded = _modules_loaded_by(args, tmp_path)
    heavy = {"jsonschema", "fargo.project.load", "boto3", "botocore", "fargo.local.scheduler",
             "fargo.synth", "fargo.cli.up_cmd", "fargo.cli.deploy_cmds"}
    assert not heavy & loaded, sorted(heavy & loaded)
    if args != ["--version"]:
        assert "fargo.cli.schedule_cmd" in loaded  # the command itself did run
