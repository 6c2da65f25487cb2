"""Finding and loading the project a command works on."""

from __future__ import annotations

from pathlib import Path

import click

from fargo.project.load import load_project
from fargo.project.model import Project
from fargo.runtime.loader import project_dir


def root_of(ctx: click.Context) -> Path:
    return project_dir((ctx.obj or {}).get("project_dir"))


def project_of(ctx: click.Context, stage: str | None) -> Project:
    """The validated project (exits 2 with every problem when it is not valid).

    Warnings and notices are shown by `fargo validate` only, so other commands stay quiet.
    """
    return load_project(root_of(ctx), stage)

