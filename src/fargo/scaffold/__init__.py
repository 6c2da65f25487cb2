"""`fargo new NAME`: a project a data team recognises, with jobs that do real ETL on local data."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from fargo.problems import Problem, ProblemsError
from fargo.project.config import schema_path

NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_TEXT_SUFFIXES = {".py", ".json", ".md", ".txt", ".jsonl"}


def create(name: str, parent: Path) -> Path:
    """Write the project into parent/name atomically (built aside, then renamed)."""
    if not NAME.match(name):
        raise ProblemsError([Problem(
            f"{name!r} is not a valid app name: lowercase letters, digits and '-', starting with "
            "a letter, at most 40 characters (it becomes part of AWS names)", key="NAME")])
    target = parent / name
    if target.exists():
        raise ProblemsError([Problem(f"{target} already exists; choose another name or "
                                     "directory", key="NAME")])
    template = Path(str(resources.files("fargo.scaffold").joinpath("template")))
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    try:
        for source in sorted(template.rglob("*")):
            if "__pycache__" in source.parts or source.suffix == ".pyc":
                continue
            relative = source.relative_to(template)
            dest = staging / relative
            if source.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.suffix in _TEXT_SUFFIXES:
                text = source.read_text(encoding="utf-8").replace("{{app_name}}", name)
                dest.write_text(text, encoding="utf-8")
            else:
                shutil.copyfile(source, dest)
        shutil.copyfile(schema_path(), staging / ".fargo" / "config.schema.json")
        (staging / ".gitignore").write_text(
            "__pycache__/\noutput/\n.fargo/local/\n.fargo/build/\n.fargo/deploy/\n",
            encoding="utf-8")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
