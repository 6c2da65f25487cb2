"""The Lambda zip for compute = "lambda" jobs: app code, chalicelib/, and fargo's runtime.

Reproducible: files in sorted order, fixed timestamps and permissions, so the same inputs give
the same bytes (and Terraform sees no change when nothing changed).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from fargo import limits
from fargo.problems import Problem, ProblemsError
from fargo.project.interpreter import runtime_files
from fargo.project.paths import ProjectPaths, project_files

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip


def lambda_python() -> str:
    """The Python of the zip (its wheels and bytecode) and so of the functions' runtime."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def requirements(root: Path, side: str = "lambda") -> list[str]:
    """The requirement lines of one side: requirements.txt (both), plus requirements-lambda.txt
    for the zip or requirements-fargate.txt for the image (a package only one side needs never
    blocks the other)."""
    lines: list[str] = []
    for name in ("requirements.txt", f"requirements-{side}.txt"):
        path = root / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    lines.append(line)
    return lines


# Where sdists are built for Lambda when no wheel exists: Linux of the function's architecture
# and Python. An Amazon Linux build image (glibc no newer than Lambda's) suits C extensions.
BUILD_IMAGE_VARIABLE = "FARGO_LAMBDA_BUILD_IMAGE"


def dependency_files(root: Path, cache: Path, architecture: str,
                     python: str) -> dict[str, bytes]:
    """The requirements' wheels for Lambda's platform, unpacked: {archive name: bytes}.

    `pip download --only-binary` with Lambda's platform and Python version, so a wheel built
    for this machine never ends up in the zip; a requirement with only an sdist is built in a
    Linux container of that platform (sdists.py). Cached by requirements and target.
    """
    import os

    from fargo.packaging import sdists

    wanted = requirements(root)
    if not wanted:
        return {}
    platform_tag = sdists.platform_tag(architecture)
    key = hashlib.sha256("\n".join([*wanted, platform_tag, python]).encode()).hexdigest()[:16]
    wheels = cache / f"wheels-{key}"
    if not (wheels / ".complete").exists():
        wheels.mkdir(parents=True, exist_ok=True)
        failed = _download(wanted, wheels, platform_tag, python)
        if failed:
            missing = sdists.without_wheels(wanted, platform_tag, python)
            if not missing:
                raise ProblemsError([_download_problem(failed, platform_tag, python)])
            if not sdists.docker_answers():
                raise ProblemsError([sdists.no_wheel_problem(line, platform_tag, python)
                                     for line in missing])
            image = os.environ.get(BUILD_IMAGE_VARIABLE) or f"python:{python}-slim"
            problems = sdists.build_in_container(missing, wheels, architecture, python, image)
            if problems:
                raise ProblemsError(problems)
            rest = [line for line in wanted if line not in missing]
            failed = _download(rest, wheels, platform_tag, python) if rest else None
            if failed:
                raise ProblemsError([_download_problem(failed, platform_tag, python)])
        (wheels / ".complete").write_text("")
    files: dict[str, bytes] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if not name.endswith("/"):
                    files[name] = archive.read(name)
    return files


def _download(lines: list[str], into: Path, platform_tag: str, python: str) -> str | None:
    """pip's complaint when it could not download every wheel, else None."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(lines) + "\n")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "--platform", platform_tag, "--platform", "manylinux_2_17_" + platform_tag[14:],
             "--python-version", python, "--implementation", "cp", "-d", str(into),
             "--disable-pip-version-check", "-r", listing.name],
            capture_output=True, text=True)
    finally:
        Path(listing.name).unlink(missing_ok=True)
    if done.returncode == 0:
        return None
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"


def _download_problem(failed: str, platform_tag: str, python: str) -> Problem:
    return Problem(f"pip could not download Lambda wheels ({platform_tag}, Python {python}): "
                   f"{failed}", "requirements.txt")


def reproducible_zip(contents: dict[str, bytes]) -> bytes:
    """A zip of these files whose bytes depend on their names and contents only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in sorted(contents.items()):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def watchdog_zip(checks: list[dict[str, Any]] | None = None) -> bytes:
    """The stage watchdog's function as its zip: its entry (aws/watchdog_function.py) and, when
    the stage has deadlines, their check with fargo's schedule engine (standard library), the
    zones they use (Lambda's Python may have no zone files) and the checks themselves."""
    import fargo.schedule
    from fargo.aws import deadline_function, watchdog_function

    files = {"fargo_watchdog.py": Path(watchdog_function.__file__).read_bytes()}
    if checks:
        files["fargo/__init__.py"] = b'"""The part of fargo the watchdog carries."""\n'
        files["fargo/aws/__init__.py"] = b""
        files["fargo/aws/deadline_function.py"] = Path(deadline_function.__file__).read_bytes()
        engine = Path(fargo.schedule.__file__).parent
        for path in sorted(engine.glob("*.py")):
            files[f"fargo/schedule/{path.name}"] = path.read_bytes()
        files[watchdog_function.DEADLINES_FILE] = (json.dumps(checks, indent=1, sort_keys=True)
                                                   + "\n").encode()
        files.update(_zone_files({z for c in checks for z in (
            c["timezone"], c["deadline"].get("zone")) if z and z != "UTC"}))
    return reproducible_zip(files)


def _zone_files(zones: set[str]) -> dict[str, bytes]:
    """The tzdata package's files for these zones (zoneinfo falls back to it)."""
    import importlib.util

    found = importlib.util.find_spec("tzdata")  # a dependency of fargo
    if found is None or found.origin is None:
        return {}
    root = Path(found.origin).parent
    files = {"tzdata/__init__.py": (root / "__init__.py").read_bytes()}
    for zone in sorted(zones):
        path = root / "zoneinfo" / zone
        if not path.is_file():
            continue
        files[f"tzdata/zoneinfo/{zone}"] = path.read_bytes()
        folder = path.parent
        while folder != root:  # every folder on the way is a package of resources
            init = folder / "__init__.py"
            files[init.relative_to(root.parent).as_posix()] = init.read_bytes() \
                if init.exists() else b""
            folder = folder.parent
    return files


def build_zip(root: Path, dependencies: dict[str, bytes] | None = None,
              max_zip: int = limits.LAMBDA_ZIP_MAX_BYTES,
              max_unzipped: int = limits.LAMBDA_UNZIPPED_MAX_BYTES) -> bytes:
    """The zip's bytes: project code, fargo's runtime, and the unpacked dependencies."""
    from fargo.packaging.bytecode import compiled
    from fargo.packaging.chalice_runtime import chalice_files

    contents: dict[str, bytes] = dict(dependencies or {})
    code = list(project_files(root))
    for name, path in [*code, *runtime_files(), *chalice_files(root, [p for _, p in code])]:
        contents[name] = path.read_bytes()
    contents.update(compiled(contents, LAMBDA_TASK_ROOT))
    payload = reproducible_zip(contents)
    unzipped = sum(len(data) for data in contents.values())
    problems = []
    if len(payload) > max_zip:
        problems.append(Problem(f"the Lambda zip is {len(payload) / 2**20:.1f} MB; direct upload "
                                "allows 50 MB: move large jobs to Fargate (compute: fargate), "
                                "which uses the image", "lambda.zip"))
    if unzipped > max_unzipped:
        problems.append(Problem(f"the Lambda code is {unzipped / 2**20:.1f} MB unzipped; Lambda "
                                "allows 250 MB: move large jobs to Fargate (compute: fargate)",
                                "lambda.zip"))
    if problems:
        raise ProblemsError(problems)
    return payload


def lambda_zip(root: Path, stage: str, architectures: set[str]) -> bytes:
    """The stage's Lambda zip with dependencies (wheels cached under .fargo/build/<stage>/)."""
    version = lambda_python()
    architecture = "arm64" if architectures == {"arm64"} else "x86_64"
    deps = dependency_files(root, ProjectPaths(root).build(stage), architecture, version)
    return build_zip(root, deps)
