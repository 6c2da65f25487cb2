"""`fargo package`: write the Terraform root, the module and the Lambda zip into a directory.

Re-packaging replaces only the files fargo owns (listed in a manifest), so terraform state and
the .terraform directory in the same place survive; each file is written to a temporary name and
renamed, so a failed package leaves the previous one intact.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from fargo.files import write_atomic
from fargo.packaging.lambda_zip import lambda_zip, watchdog_zip
from fargo.problems import Problem, ProblemsError
from fargo.project.model import Project
from fargo.project.paths import ProjectPaths
from fargo.synth.deadlines import deadline_checks
from fargo.synth.root import LAMBDA_ZIP, MODULE_DIR, WATCHDOG_ZIP, build_root, render

MANIFEST = ".fargo-package.json"


MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")


def module_source() -> Path:
    """The HCL module shipped inside the package (also at terraform/modules/fargo-jobs)."""
    return Path(str(resources.files("fargo.synth").joinpath("module"))).resolve()


def module_files() -> dict[str, bytes]:
    """The module's files; an install without them is an error, never an empty directory."""
    source = module_source()
    missing = [name for name in MODULE_FILES if not (source / name).is_file()]
    if missing:
        raise ProblemsError([Problem(
            f"this fargo installation lacks its Terraform module ({', '.join(missing)} not in "
            f"{source}): reinstall fargo from a wheel or source distribution "
            "(pip install --force-reinstall fargo)", key="fargo installation")])
    files = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        skip = relative.parts[0] == "examples" or ".terraform" in relative.parts
        if path.is_file() and not skip:
            files[f"{MODULE_DIR}/{relative.as_posix()}"] = path.read_bytes()
    return files


def package_files(project: Project, moved: list[dict[str, str]] | None = None) -> dict[str, bytes]:
    """Every file of the package, by relative path (all problems raised before any is written)."""
    problems = project.network_problems()
    if problems:
        raise ProblemsError(problems)
    files = {"main.tf.json": render(build_root(project, moved)).encode()}
    files.update(module_files())
    checks = deadline_checks(project)
    if checks or any(t.compute == "fargate" for t in project.tasks):
        files[WATCHDOG_ZIP] = watchdog_zip(checks)
    lambdas = [t for t in project.tasks if t.compute == "lambda"]
    if lambdas:
        files[LAMBDA_ZIP] = lambda_zip(project.root, project.stage.name,
                                       {t.architecture for t in lambdas})
    return files


def default_dir(project: Project) -> Path:
    return ProjectPaths(project.root).deploy(project.stage.name)


def write_package(project: Project, out: Path | None = None,
                  moved: list[dict[str, str]] | None = None) -> Path:
    target = (out or default_dir(project)).resolve()
    files = package_files(project, moved)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProblemsError([Problem(f"cannot write the package to {target}: "
                                     f"{exc.strerror or exc}", key="--out")]) from None
    manifest = target / MANIFEST
    previous: list[str] = []
    if manifest.exists():
        previous = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
    for name, data in files.items():
        write_atomic(target / name, data)
    for stale in set(previous) - set(files):
        (target / stale).unlink(missing_ok=True)
    write_atomic(manifest, (json.dumps({"files": sorted(files)}, indent=2) + "\n").encode())
    return target
