"""What users install: a wheel in a clean virtual environment, not this checkout.

Builds the wheel, installs it (with its dependencies, no editable link) into a new venv, and
runs fargo from there: fargo new, fargo package, terraform validate on the package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the venv's bin directory)."""
    base = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(base / "dist"), str(REPO)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    (wheel,) = (base / "dist").glob("fargo-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    return wheel, venv / "bin"


def test_wheel_carries_the_terraform_module(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "iam.tf", "ecs.tf",
                 "lambda.tf", "schedules.tf", "operations.tf", "README.md"):
        assert f"fargo/synth/module/{name}" in names, name
    assert "fargo/project/config.schema.json" in names
    assert "fargo/scaffold/template/app.py" in names


def test_installed_fargo_scaffolds_packages_and_validates(installed: tuple[Path, Path],
                                                          tmp_path: Path,
                                                          terraform_env: dict[str, str]) -> None:
    _, bin_dir = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FARGO_PROJECT_DIR")}
    env.update(terraform_env, PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               AWS_DEFAULT_REGION="eu-west-1", NO_COLOR="1")
    where = subprocess.run([str(bin_dir / "python"), "-c", "import fargo; print(fargo.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert str(bin_dir.parent) in where.stdout, where.stdout  # the venv's copy, not the checkout

    def fargo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(bin_dir / "fargo"), *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=300)

    assert fargo("new", "demo", cwd=tmp_path).returncode == 0
    project = tmp_path / "demo"
    config_path = project / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["dev"].update(subnets=["subnet-0abc1234"], security_groups=["sg-0abc1234"])
    config_path.write_text(json.dumps(config))
    r = fargo("package", "--stage", "dev", "--out", str(tmp_path / "pkg"), cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
    module = tmp_path / "pkg" / "modules" / "fargo-jobs"
    assert (module / "main.tf").is_file() and (module / "variables.tf").is_file()
    for args in (["init", "-backend=false", "-input=false", "-no-color"],
                 ["validate", "-no-color"]):
        done = subprocess.run(["terraform", *args], cwd=tmp_path / "pkg", env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    r = fargo("invoke", "ingest_events", cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
