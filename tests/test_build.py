"""fargo build without a Docker engine: the context runs jobs as the image would; the zip too."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fargo.packaging.lambda_zip import build_zip
from fargo.problems import ProblemsError
from tests.conftest import _run


def tree_digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_build_writes_a_context_docker_can_use(example: Path) -> None:
    r = _run(["build", "--stage", "dev", "--tag", "t1"], cwd=example, env={"PATH": os.environ["PATH"]})
    assert r.returncode == 0, r.stderr
    context = example / ".fargo" / "build" / "dev" / "image"
    dockerfile = (context / "Dockerfile").read_text()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"FROM python:{version}-slim" in dockerfile
    assert 'ENTRYPOINT ["python", "-m", "fargo.runtime"]' in dockerfile
    assert "USER 10001" in dockerfile
    assert dockerfile.index("pip install -r requirements.txt") < dockerfile.index("COPY *.py")
    assert {"app.py", "chalicelib/events.py", "chalicelib/maintenance.py", "requirements.txt",
            "fargo/runtime/run.py", ".dockerignore"} <= set(tree_digest(context))
    tag = sys.implementation.cache_tag  # bytecode for the image's Python (FROM python:<ours>)
    assert {f"__pycache__/app.{tag}.pyc", f"fargo/runtime/__pycache__/run.{tag}.pyc"} <= \
        set(tree_digest(context))
    assert "COPY __pycache__/ ./__pycache__/" in dockerfile
    assert "pyc" not in (context / ".dockerignore").read_text()
    assert "docker build --platform linux/amd64 -t" in r.stdout and ":t1 " in r.stdout
    assert "no Docker engine" in r.stderr
    assert json.loads((example / ".fargo/build/dev/image.json").read_text())["tag"] == "t1"
    # deploy uses the tag of the last build while the code is the one it was built from
    from fargo.packaging.image import context_digest, last_build
    from fargo.project.load import load_project

    project = load_project(example, "dev")
    built = last_build(project)
    assert built is not None and (built.tag, built.pushed) == ("t1", False)
    assert built.context_digest == context_digest(project)
    (example / "chalicelib" / "events.py").write_text("# changed\n", encoding="utf-8")
    assert context_digest(load_project(example, "dev")) != built.context_digest


def test_prod_with_arm64_jobs_builds_for_both_platforms(example: Path) -> None:
    r = _run(["build", "--stage", "prod", "--tag", "x"], cwd=example)
    assert "docker buildx build --platform linux/amd64,linux/arm64" in r.stdout


def test_job_runs_from_the_context_like_the_entrypoint(example: Path, tmp_path: Path) -> None:
    _run(["build", "--stage", "dev", "--tag", "t"], cwd=example)
    context = example / ".fargo" / "build" / "dev" / "image"
    data = tmp_path / "data"
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(data), "FARGO_STAGE": "dev",
           "FARGO_EVENT": json.dumps({"time": "2024-01-01T00:00:00Z"})}
    # -S: no site-packages; `-m` puts the working directory (the image's /app) first on sys.path
    r = subprocess.run([sys.executable, "-S", "-m", "fargo.runtime", "fetch_events"],
                       cwd=context, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"status": "succeeded"' in r.stdout
    assert list((data / "landing").glob("*.jsonl"))


def test_context_and_zip_are_reproducible(example: Path) -> None:
    _run(["build", "--stage", "dev", "--tag", "t"], cwd=example)
    base = example / ".fargo" / "build" / "dev"
    first = tree_digest(base / "image"), (base / "lambda.zip").read_bytes()
    _run(["build", "--stage", "dev", "--tag", "t"], cwd=example)
    assert (tree_digest(base / "image"), (base / "lambda.zip").read_bytes()) == first


def test_lambda_zip_failing_job_exit_path(example: Path, tmp_path: Path) -> None:
    (example / "chalicelib" / "failing.py").write_text(
        "from fargo import Blueprint\nbp = Blueprint(__name__)\n\n"
        "@bp.lambda_function()\ndef explode(event, context):\n    raise ValueError('bad input')\n")
    app = (example / "app.py").read_text().replace(
        'app.register_blueprint(bp, name_prefix="maint_")',
        'app.register_blueprint(bp, name_prefix="maint_")\n'
        'from chalicelib.failing import bp as failing\napp.register_blueprint(failing)')
    (example / "app.py").write_text(app)
    (example / ".fargo" / "policy-explode.json").write_text(
        (example / ".fargo" / "policy-maint_heartbeat.json").read_text())
    assert _run(["build", "--stage", "dev", "--tag", "t"], cwd=example).returncode == 0
    unpacked = tmp_path / "unzipped"
    with zipfile.ZipFile(example / ".fargo/build/dev/lambda.zip") as archive:
        archive.extractall(unpacked)
    script = (f"import sys\nsys.path.insert(0, {str(unpacked)!r})\n"
              "from fargo.runtime import lambda_handler\n"
              "lambda_handler({'detail': {}}, None)\n")
    r = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True,
                       text=True, env={"FARGO_TASK": "explode", "LAMBDA_TASK_ROOT": str(unpacked)})
    assert r.returncode == 1 and "ValueError: bad input" in r.stderr


def test_size_limits_are_clear(example: Path) -> None:
    with pytest.raises(ProblemsError) as info:
        build_zip(example, max_zip=1000)
    assert "direct upload allows 50 MB" in str(info.value) and "Fargate" in str(info.value)
    with pytest.raises(ProblemsError) as info:
        build_zip(example, max_unzipped=1000)
    assert "unzipped; Lambda allows" in str(info.value)


def test_dependencies_are_lambda_platform_wheels(example: Path) -> None:
    (example / "requirements.txt").write_text("six==1.16.0\n")
    r = _run(["build", "--stage", "dev", "--tag", "t"], cwd=example, timeout=300)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(example / ".fargo/build/dev/lambda.zip") as archive:
        assert "six.py" in archive.namelist()
        assert not any(n.startswith("boto3/") for n in archive.namelist())  # Lambda has it
    # the example's storage imports boto3, which Lambda provides and a container does not
    assert (example / ".fargo/build/dev/image/requirements.txt").read_text() == (
        "six==1.16.0\n# added by fargo: the code imports boto3, which Lambda provides and the "
        "image does not\nboto3\n")


def test_bad_tags_are_refused(example: Path) -> None:
    from tests.conftest import assert_clean_error

    assert_clean_error(_run(["build", "--stage", "dev", "--tag", "bad tag"], cwd=example),
                       "--tag", "not an image tag")
    assert_clean_error(_run(["plan", "--stage", "dev", "--image-tag", "-x"], cwd=example),
                       "--image-tag", "not an image tag")


def test_packaging_ships_no_dotfiles_and_nothing_outside_the_project(example: Path,
                                                                     tmp_path: Path) -> None:
    outside = tmp_path / "home-secrets.txt"
    outside.write_text("aws_secret_access_key = do-not-ship")
    (example / "chalicelib" / ".env").write_text("DB_PASSWORD=do-not-ship")
    (example / "chalicelib" / ".cache").mkdir()
    (example / "chalicelib" / ".cache" / "x.py").write_text("SECRET = 1")
    (example / "chalicelib" / "linked.txt").symlink_to(outside)
    (example / "escape.py").symlink_to(outside)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "mod.py").write_text("SECRET = 2")
    (example / "chalicelib" / "linked_dir").symlink_to(tmp_path / "elsewhere")
    assert _run(["build", "--stage", "dev", "--tag", "t"], cwd=example).returncode == 0
    base = example / ".fargo" / "build" / "dev"
    shipped = set(tree_digest(base / "image"))
    with zipfile.ZipFile(base / "lambda.zip") as archive:
        zipped = set(archive.namelist())
        contents = b"".join(archive.read(name) for name in zipped)
    for names in (shipped, zipped):
        assert not {n for n in names if "/." in n or (n.startswith(".") and n != ".dockerignore")}
        assert not {"chalicelib/linked.txt", "escape.py", "chalicelib/linked_dir/mod.py"} & names
    assert b"do-not-ship" not in contents
    assert "chalicelib/events.py" in zipped  # the project's own code is still there
