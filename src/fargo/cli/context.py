"""Finding and loading the project a command works on."""

from __future__ import annotations

from pathlib import Path

import click

from fargo.problems import Problem, ProblemsError
from fargo.project.load import load_project
from fargo.project.model import Project
from fargo.project.paths import CONFIG_FILE
from fargo.runtime.loader import project_root


def root_of(ctx: click.Context) -> Path:
    """The project directory: -C (or FARGO_PROJECT_DIR) as given, else the working directory,
    or, from a directory inside a project (chalicelib/, tests/), the project around it."""
    given = (ctx.obj or {}).get("project_dir")
    if given is not None:
        if not Path(given).is_dir():
            raise ProblemsError([Problem(f"{given}: no such directory", key="-C")])
        return Path(project_root(given))
    here = Path(project_root())
    return find_project(here)


def find_project(start: Path) -> Path:
    """`start` when it looks like a project (app.py or .fargo/), else the nearest directory
    above it with a .fargo/config.json; else `start`, so the messages name it."""
    if (start / "app.py").is_file() or (start / ".fargo").is_dir():
        return start
    for parent in start.parents:
        if (parent / CONFIG_FILE).is_file():
            return parent
    return start


def project_of(ctx: click.Context, stage: str | None) -> Project:
    """The validated project (exits 2 with every problem when it is not valid).

    Warnings and notices are shown by `fargo validate` only, so other commands stay quiet.
    """
    return load_project(root_of(ctx), stage)
