"""The Lambda zip for compute = "lambda" jobs: app code, chalicelib/, and fargo's runtime.

Reproducible: files in sorted order, fixed timestamps and permissions, so the same inputs give
the same bytes (and Terraform sees no change when nothing changed).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import fargo
from fargo import limits
from fargo.problems import Problem, ProblemsError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", ".fargo", ".git", "tests", ".venv", "venv", "node_modules",
             ".pytest_cache", ".mypy_cache"}
RUNTIME_FILES = ("__init__.py", "app.py", "py.typed")


def project_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of the project code: app.py, top-level modules, chalicelib/."""
    for path in sorted(root.glob("*.py")):
        yield path.name, path
    lib = root / "chalicelib"
    if lib.is_dir():
        for path in sorted(lib.rglob("*")):
            if path.is_file() and not (set(path.relative_to(root).parts) & SKIP_DIRS) \
                    and path.suffix != ".pyc":
                yield path.relative_to(root).as_posix(), path


def runtime_files() -> Iterator[tuple[str, Path]]:
    """fargo's runtime: the package root, fargo.app and fargo.runtime (standard library only)."""
    package = Path(fargo.__file__).parent
    for name in RUNTIME_FILES:
        if (package / name).exists():
            yield f"fargo/{name}", package / name
    for path in sorted((package / "runtime").glob("*.py")):
        yield f"fargo/runtime/{path.name}", path


def build_zip(root: Path, extra: list[tuple[str, Path]] | None = None) -> bytes:
    """The zip's bytes."""
    entries = sorted({name: path for name, path in
                      [*project_files(root), *runtime_files(), *(extra or [])]}.items())
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    payload = buffer.getvalue()
    problems = []
    if len(payload) > limits.LAMBDA_ZIP_MAX_BYTES:
        problems.append(Problem(f"the Lambda zip is {len(payload) / 2**20:.1f} MB; direct upload "
                                "allows 50 MB: move large jobs to Fargate (compute: fargate), "
                                "which uses the image", "lambda.zip"))
    if unzipped > limits.LAMBDA_UNZIPPED_MAX_BYTES:
        problems.append(Problem(f"the Lambda code is {unzipped / 2**20:.1f} MB unzipped; Lambda "
                                "allows 250 MB: move large jobs to Fargate (compute: fargate)",
                                "lambda.zip"))
    if problems:
        raise ProblemsError(problems)
    return payload
