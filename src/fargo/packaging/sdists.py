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
        archives = sorted(p.name for p in sdists.iterdir())
        if not archives or problems:
            return problems
        into.mkdir(parents=True, exist_ok=True)
        command = ["docker", "run", "--rm", "--network", "none", "--platform", platform,
                   "--user", "0", "-v", f"{sdists}:/in:ro", "-v", f"{into.resolve()}:/out",
                   image, "python", "-m", "pip", "wheel", "--quiet", "--no-deps",
                   "--no-build-isolation", "--disable-pip-version-check", "-w", "/out",
                   *[f"/in/{name}" for name in archives]]
        built = subprocess.run(command, capture_output=True, text=True)
        if built.returncode != 0:
            problems.append(Problem(
                f"building {', '.join(lines)} from source in {image} ({platform}, Python "
                f"{python}) failed: {_last(built.stderr)}", "requirements.txt"))
    return problems


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "failed"


def no_wheel_problem(line: str, platform_tag: str, python: str) -> Problem:
    """One package, why it blocks the zip, and every way out."""
    newer = newest_with_wheel(line, platform_tag, python)
    pin = f"pin {newer}, which has one; " if newer and newer != line.strip() else ""
    return Problem(
        f"{line.strip()} has no wheel for Lambda ({platform_tag}, Python {python}), only a "
        f"source distribution, and no Docker engine answers to build it in Lambda's platform. "
        f"Fixes: {pin}start Docker and package again (fargo builds it in a Linux container); "
        "move the jobs that use it to Fargate (compute: fargate) and list it in "
        "requirements-fargate.txt, which the Lambda zip leaves out; or ship it in a Lambda "
        "layer (the layers setting) and list it in requirements-fargate.txt",
        "requirements.txt")
