"""Requirements with no wheel for Lambda's platform: built in a Linux container where Docker
answers, else named with the fixes; a package only Fargate jobs need never blocks the zip.

The package index is a folder on this machine (PIP_NO_INDEX, PIP_FIND_LINKS): `slowpoke` 1.0
exists only as a source distribution, 0.9 also as a wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import _run, assert_clean_error, write_project

APP = """
    from fargo import App

    app = App("deps")

    @app.schedule("rate(1 hour)")
    def small(event):
        return None

    @app.task("rate(1 day)")
    def big(event):
        return None
    """


def _release(into: Path, work: Path, version: str, wheel: bool) -> None:
    source = work / f"slowpoke-{version}"
    source.mkdir(parents=True)
    (source / "slowpoke.py").write_text(f"VERSION = {version!r}\n")
    (source / "setup.py").write_text(textwrap.dedent(f"""
        from setuptools import setup
        setup(name="slowpoke", version={version!r}, py_modules=["slowpoke"])
        """))
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(into)], cwd=source,
                   check=True, capture_output=True)
    if wheel:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--no-build-isolation", "-w", str(into), str(source)], check=True,
                       capture_output=True)


@pytest.fixture
def index(tmp_path: Path) -> dict[str, str]:
    links = tmp_path / "index"
    links.mkdir()
    _release(links, tmp_path / "src", "0.9", wheel=True)
    _release(links, tmp_path / "src", "1.0", wheel=False)
    assert sorted(p.name for p in links.iterdir()) == [
        "slowpoke-0.9-py3-none-any.whl", "slowpoke-0.9.tar.gz", "slowpoke-1.0.tar.gz"]
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links)}


def _project(tmp_path: Path, requirements: dict[str, str]) -> Path:
    return write_project(tmp_path / "deps", APP, {
        "app_name": "deps", "subnets": ["subnet-0123456789abcdef0"],
        "security_groups": ["sg-0123456789abcdef0"], "stages": {"dev": {"region": "us-east-1"}}},
        files=requirements)


def test_without_docker_the_package_and_the_fixes_are_named(tmp_path: Path,
                                                            index: dict[str, str]) -> None:
    root = _project(tmp_path, {"requirements.txt": "slowpoke==1.0\n"})
    env = {**index, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    r = _run(["package", "--stage", "dev"], cwd=root, env=env, timeout=300)
    assert_clean_error(r, "requirements.txt", "slowpoke==1.0 has no wheel for Lambda",
                       "pin slowpoke==0.9, which has one", "requirements-fargate.txt",
                       "layer", "start Docker")
    assert not (root / ".fargo" / "deploy" / "dev" / "main.tf.json").exists()


def test_a_package_only_fargate_jobs_need_never_blocks_the_zip(tmp_path: Path,
                                                               index: dict[str, str]) -> None:
    root = _project(tmp_path, {"requirements.txt": "", "requirements-fargate.txt":
                               "slowpoke==1.0\n", "requirements-lambda.txt": "slowpoke==0.9\n"})
    env = {**index, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    r = _run(["package", "--stage", "dev"], cwd=root, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(root / ".fargo" / "deploy" / "dev" / "lambda.zip") as archive:
        assert archive.read("slowpoke.py") == b"VERSION = '0.9'\n"  # the zip's own pin
    from fargo.packaging.image import context_files
    from fargo.project.load import load_project

    context = dict(context_files(load_project(root, "dev")))
    assert b"slowpoke==1.0" in context["requirements.txt"]  # the image's
    assert b"0.9" not in context["requirements.txt"]


def test_with_docker_an_sdist_is_built_in_lambdas_platform(tmp_path: Path,
                                                            index: dict[str, str],
                                                            docker_env: dict[str, str]) -> None:
    root = _project(tmp_path, {"requirements.txt": "slowpoke==1.0\n"})
    env = {**index, **docker_env,
           "FARGO_LAMBDA_BUILD_IMAGE": docker_env["FARGO_TEST_BASE_IMAGE"]}
    r = _run(["package", "--stage", "dev"], cwd=root, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(root / ".fargo" / "deploy" / "dev" / "lambda.zip") as archive:
        assert archive.read("slowpoke.py") == b"VERSION = '1.0'\n"
        assert any(n.startswith("slowpoke-1.0.dist-info/") for n in archive.namelist())
    assert os.environ.get("PIP_NO_INDEX") is None  # nothing leaked into this process
