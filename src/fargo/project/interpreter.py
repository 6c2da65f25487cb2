"""The interpreter a project's code runs in, when it is not fargo's own.

fargo may run from an environment of its own (pipx) while the project has another (its
`.venv`, with its own pinned libraries). Then app.py is imported, and every job run, by the
project's interpreter, with only fargo's standard-library runtime (fargo/__init__.py, app.py,
blueprint.py, rate_cron.py, workflow.py, runtime/) on its path: never fargo's own
dependencies, which could clash with the project's. FARGO_PYTHON names the interpreter;
otherwise a `.venv` or `venv` in the project is used when fargo is not running from it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import fargo
from fargo.files import write_atomic
from fargo.project.paths import ProjectPaths

PYTHON_ENV = "FARGO_PYTHON"
RUNTIME_FILES = ("__init__.py", "app.py", "blueprint.py", "py.typed", "rate_cron.py", "workflow.py")


def runtime_files() -> Iterator[tuple[str, Path]]:
    """fargo's runtime: the package root, fargo.app (with Blueprint, Rate and Cron),
    fargo.workflow and fargo.runtime."""
    package = Path(fargo.__file__).parent
    for name in RUNTIME_FILES:
        if (package / name).exists():
            yield f"fargo/{name}", package / name
    for path in sorted((package / "runtime").glob("*.py")):
        yield f"fargo/runtime/{path.name}", path


def project_python(root: Path) -> str | None:
    """The project's own interpreter, or None when the code runs in fargo's."""
    named = os.environ.get(PYTHON_ENV)
    if named:
        return named
    for folder in (".venv", "venv"):
        candidate = root / folder / "bin" / "python"
        if candidate.exists() and Path(sys.prefix).resolve() != (root / folder).resolve():
            return str(candidate)
    return None


@functools.lru_cache(maxsize=1)
def _runtime_digest() -> str:
    """fargo's runtime files, hashed once per process (fargo up asks at every job start)."""
    digest = hashlib.sha256()
    for name, path in runtime_files():
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def runtime_path(root: Path, python: str | None = None) -> Path:
    """A directory holding fargo's runtime alone (kept under .fargo/local/, per version), with
    bytecode for `python`, the project's interpreter."""
    target = ProjectPaths(root).local / "runtime" / _runtime_digest()
    done = target / ".complete"
    if not done.exists():
        for name, path in runtime_files():
            write_atomic(target / name, path.read_bytes())
        if python is not None:
            _compile(python, target)
        write_atomic(done, b"")
    return target


def _compile(python: str, target: Path) -> None:
    """Bytecode for the project's interpreter, as pip writes it at install: without it every
    job start compiles the runtime again (about 6 ms) wherever that Python writes no bytecode
    of its own (PYTHONDONTWRITEBYTECODE, a read-only tree). Unchecked hashes: the directory's
    name is the sources' digest. A failure only costs that time."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([python, "-m", "compileall", "-q", "--invalidation-mode",
                        "unchecked-hash", str(target)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
                       check=False)


def python_and_env(root: Path) -> tuple[str, dict[str, str]]:
    """The interpreter that runs the project's code, and what its environment needs."""
    python = project_python(root)
    if python is None:
        return sys.executable, {}
    path = str(runtime_path(root, python))
    existing = os.environ.get("PYTHONPATH")
    return python, {"PYTHONPATH": path + (os.pathsep + existing if existing else "")}


def missing_module_hint(root: Path, python: str | None = None) -> str:
    """What to say when app.py imports a module its interpreter lacks: which interpreter that
    was, and how to point fargo at the project's own (fargo installed by pipx, say)."""
    if python is None:
        return (f"; app.py was imported by fargo's own interpreter {sys.executable}: install "
                "the project's requirements there, or point fargo at the project's "
                f"environment (a .venv or venv folder in the project, or {PYTHON_ENV}="
                "/path/to/its/bin/python)")
    why = f"{PYTHON_ENV}" if os.environ.get(PYTHON_ENV) else "the project's virtual environment"
    return (f"; app.py was imported by {python} ({why}): install the project's requirements "
            f"there ({python} -m pip install -r requirements.txt), or name another "
            f"interpreter with {PYTHON_ENV}")
