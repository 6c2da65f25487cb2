"""Requirements that have no wheel for Lambda's platform: built in a container of that
platform where a Docker engine answers (as Chalice builds sdists in a Lambda-like
environment), else named one by one with the fixes.

A wheel built for this machine must never reach the zip (a macOS or newer-glibc build fails
on Lambda), so the host's pip only downloads; building happens in a Linux container of the
function's architecture and Python, without network.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from fargo.problems import Problem

_PIP = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--disable-pip-version-check"]


def _platform_args(platform_tag: str, python: str) -> list[str]:
    return ["--only-binary=:all:", "--platform", platform_tag,
            "--platform", "manylinux_2_17_" + platform_tag[14:], "--python-version", python,
            "--implementation", "cp"]


def without_wheels(lines: list[str], platform_tag: str, python: str) -> list[str]:
    """The requirement lines pip finds no Lambda-platform wheel for (one pip call each)."""
    missing = []
    with tempfile.TemporaryDirectory() as scratch:
        for line in lines:
            done = subprocess.run([*_PIP, *_platform_args(platform_tag, python), "-d", scratch,
                                   line], capture_output=True, text=True)
            if done.returncode != 0:
                missing.append(line)
    return missing


def newest_with_wheel(line: str, platform_tag: str, python: str) -> str | None:
    """`name==version` of the newest release that has a Lambda-platform wheel, if any."""
    import re

    name = re.split(r"[\s<>=!~;\[]", line.strip(), maxsplit=1)[0]
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([*_PIP, *_platform_args(platform_tag, python), "-d", scratch,
                               name], capture_output=True, text=True)
        if done.returncode != 0:
            return None
        for wheel in Path(scratch).glob("*.whl"):
            parts = wheel.name.split("-")
            if len(parts) >= 2:
                return f"{name}=={parts[1]}"
    return None


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def build_in_container(lines: list[str], into: Path, architecture: str, python: str,
                       image: str) -> list[Problem]:
    """Wheels of `lines` built from their sdists in `image` (Linux, the function's
    architecture), into `into`; a problem for each that could not be built."""
    problems: list[Problem] = []
    platform = "linux/arm64" if architecture == "arm64" else "linux/amd64"
    with tempfile.TemporaryDirectory() as scratch:
        sdists = Path(scratch)
        for line in lines:
            got = subprocess.run([*_PIP, "--no-binary=:all:", "-d", str(sdists), line],
                                 capture_output=True, text=True)
            if got.returncode != 0:  # pip reads the sdist's metadata: without an index to
                # install its build backend from, with the one fargo's Python has
                got = subprocess.run([*_PIP, "--no-binary=:all:", "--no-build-isolation", "-d",
                                      str(sdists), line], capture_output=True, text=True)
            if got.returncode != 0:
                problems.append(Problem(
                    f"{line}: no Lambda wheel, and pip found no source distribution either: "
                    f"{_last(got.stderr)}", "requirements.txt"))
        if problems:
            return problems
        into.mkdir(parents=True, exist_ok=True)
        for line in lines:  # one container each: a failure names its package
            archives = sorted(p.name for p in sdists.iterdir() if _named(p.name, line))
            command = ["docker", "run", "--rm", "--network", "none", "--platform", platform,
                       "--user", "0", "-v", f"{sdists}:/in:ro", "-v", f"{into.resolve()}:/out",
                       image, "python", "-m", "pip", "wheel", "--quiet", "--no-deps",
                       "--no-build-isolation", "--disable-pip-version-check", "-w", "/out",
                       *[f"/in/{name}" for name in archives]]
            built = subprocess.run(command, capture_output=True, text=True)
            if built.returncode != 0:
                problems.append(_fixes(
                    f"{line} has no wheel for Lambda ({platform}, Python {python}), and "
                    f"building it from source in {image} failed ({_last(built.stderr)})", line,
                    platform_tag(architecture), python,
                    "set FARGO_LAMBDA_BUILD_IMAGE to a build image with what it needs "
                    "(compilers, headers)"))
    return problems


def platform_tag(architecture: str) -> str:
    return "manylinux2014_aarch64" if architecture == "arm64" else "manylinux2014_x86_64"


def _named(archive: str, line: str) -> bool:
    """Whether a downloaded sdist is the one `line` asks for (names compare normalised)."""
    import re

    def norm(text: str) -> str:
        return re.sub(r"[-_.]+", "-", text).lower()

    name = re.split(r"[\s<>=!~;\[]", line.strip(), maxsplit=1)[0]
    return norm(archive).startswith(norm(name) + "-")


def _last(text: str) -> str:
    """The line of pip's output that says what went wrong (not its closing hints)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if "rror" in line and not line.startswith(("hint:", "note:", "╰", "│")):
            return line
    useful = [line for line in lines if not line.startswith(("hint:", "note:"))]
    return useful[-1] if useful else "failed"


def _fixes(what: str, line: str, tag: str, python: str, instead: str) -> Problem:
    newer = newest_with_wheel(line, tag, python)
    pin = f"pin {newer}, which has one; " if newer and newer != line.strip() else ""
    return Problem(
        f"{what}. Fixes: {pin}{instead}; move the jobs that use it to Fargate (compute: "
        "fargate) and list it in requirements-fargate.txt, which the Lambda zip leaves out; or "
        "ship it in a Lambda layer (the layers setting) and list it in requirements-fargate.txt",
        "requirements.txt")


def no_wheel_problem(line: str, tag: str, python: str) -> Problem:
    """One package, why it blocks the zip, and every way out."""
    return _fixes(f"{line.strip()} has no wheel for Lambda ({tag}, Python {python}), only a "
                  "source distribution, and no Docker engine answers to build it in Lambda's "
                  "platform", line, tag, python,
                  "start Docker and package again (fargo builds it in a Linux container)")
