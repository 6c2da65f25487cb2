"""fargo from an environment of its own (pipx), the project with another (its .venv, with its
own libraries and pins): app.py is read and every job run by the project's interpreter, with only
fargo's standard-library runtime on its path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, _run, assert_clean_error

APP = '''
import sys

import lakelib
from fargo import App, each

app = App("lake")


@app.task("rate(1 minute)")
def tick(event):
    print("TICK", lakelib.VALUE, sys.prefix)


@app.task
def split(event):
    return [lakelib.VALUE, 2]


@app.task
def double(item):
    return item * 2


app.workflow("flow", split, each(double))
'''


def project(tmp_path: Path, app: str = APP) -> Path:
    root = tmp_path / "lake"
    (root / ".fargo").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(app))
    (root / ".fargo" / "config.json").write_text(json.dumps({"app_name": "lake"}))
    # the project's own environment: a library fargo's lacks, and a click fargo could not use
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")],
                   check=True)
    site = next((root / ".venv" / "lib").glob("python*/site-packages"))
    (site / "lakelib.py").write_text("VALUE = 21\n")
    (site / "click").mkdir()
    (site / "click" / "__init__.py").write_text("raise ImportError('click 0.1 pinned here')\n")
    return root


def test_the_projects_own_interpreter_reads_the_app_and_runs_the_jobs(tmp_path: Path) -> None:
    root = project(tmp_path)
    venv = str((root / ".venv").resolve())
    assert _run(["--version"], cwd=root).returncode == 0
    v = _run(["validate"], cwd=root)
    assert v.returncode == 0, v.stdout + v.stderr
    listed = _run(["ls"], cwd=root).stdout
    assert "tick" in listed and "flow" in listed
    ran = _run(["invoke", "tick"], cwd=root)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "TICK 21" in ran.stdout and venv in ran.stdout
    flow = _run(["invoke", "flow", "--event", "{}"], cwd=root)
    assert flow.returncode == 0, flow.stdout + flow.stderr
    assert json.loads(flow.stdout[flow.stdout.index("["):]) == [42, 4]
    up = _run(["up", "--plain", "--only", "tick", "--from", "2026-01-01T00:00:00Z", "--speed",
               "60", "--for", "90s", "--replay-name", "p"], cwd=root, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    history = json.loads(_run(["history", "--replay", "p", "--json"], cwd=root).stdout)
    (tick,) = [h for h in history if h["task"] == "tick"]
    assert tick["status"] == "succeeded"
    assert venv in (root / tick["log_file"]).read_text()
    # the runtime's copy carries bytecode for the project's Python, used even where it may
    # write none of its own (PYTHONDONTWRITEBYTECODE): no job start compiles the runtime
    (copy,) = (root / ".fargo" / "local" / "runtime").iterdir()
    loaded = subprocess.run([str(root / ".venv" / "bin" / "python"), "-v", "-c",
                             "import fargo.runtime.run"], capture_output=True, text=True,
                            env={"PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"})
    assert f"code object from '{copy}/fargo/runtime/__pycache__/run." in loaded.stderr, \
        loaded.stderr[-2000:]


def test_an_import_error_in_the_projects_interpreter_names_the_file_and_line(
        tmp_path: Path) -> None:
    root = project(tmp_path, "import lakelib\n\nraise RuntimeError(lakelib.VALUE)\n")
    assert_clean_error(_run(["validate"], cwd=root),
                       "app.py: line 3: importing the app failed: RuntimeError: 21")
    (root / "app.py").write_text("def broken(:\n")
    assert_clean_error(_run(["validate"], cwd=root), "app.py: line 1: syntax error")


def test_an_app_that_prints_while_imported_is_still_read(tmp_path: Path) -> None:
    """What app.py writes to stdout at import is its own business, not the app's description
    (it used to be read as part of it: 'could not read the app: no output')."""
    app = APP + "\nimport sys\nprint('{not json')\nsys.stdout.write('connected.')\n"
    root = project(tmp_path, app)
    listed = _run(["ls", "--json"], cwd=root)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert {row["name"] for row in json.loads(listed.stdout)} >= {"tick", "split", "double"}


def test_fargo_python_names_the_interpreter(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".venv").rename(root / "env")
    missing = _run(["validate"], cwd=root)
    assert_clean_error(missing, "No module named 'lakelib'")
    named = _run(["validate"], cwd=root, env={"FARGO_PYTHON": str(root / "env" / "bin" /
                                                                  "python")})
    assert named.returncode == 0, named.stderr
    wrong = _run(["validate"], cwd=root, env={"FARGO_PYTHON": str(root / "nope" / "python")})
    assert_clean_error(wrong, "cannot run the project's interpreter")


def test_job_names_are_the_jobs_own_not_their_functions(tmp_path: Path) -> None:
    """A blueprint's prefix and @app.task(name=...) survive the project's interpreter."""
    root = project(tmp_path, '''
        from fargo import App, Blueprint

        bp = Blueprint(__name__)


        @bp.task()
        def load(event):
            return "loaded"


        app = App("lake")
        app.register_blueprint(bp, name_prefix="nightly_")


        @app.task(name="compact-files")
        def compact(event):
            return "compacted"
        ''')
    listed = _run(["ls"], cwd=root)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "nightly_load" in listed.stdout and "compact-files" in listed.stdout
    for job, said in (("nightly_load", "loaded"), ("compact-files", "compacted")):
        ran = _run(["invoke", job], cwd=root)
        assert ran.returncode == 0 and f'"result": "{said}"' in ran.stdout, ran.stdout + ran.stderr


def _old_python() -> str | None:
    """An interpreter older than the runtime supports, where this machine has one."""
    import glob

    for path in sorted(glob.glob("/root/.pyenv/versions/3.[6-9].*/bin/python3")) + [
            shutil.which(f"python3.{minor}") or "" for minor in (9, 8, 7)]:
        if path and subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    return None


def test_an_interpreter_too_old_for_the_runtime_is_named_with_its_version(
        tmp_path: Path) -> None:
    old = _old_python()
    if old is None:
        pytest.skip("no Python older than 3.10 on this machine")
    root = project(tmp_path)
    assert_clean_error(_run(["ls"], cwd=root, env={"FARGO_PYTHON": old}),
                       f"the project's interpreter {old} is Python 3.",
                       "fargo's runtime needs Python 3.10 or newer")


def test_the_runtimes_python_floor_is_the_packages() -> None:
    import tomllib

    from fargo.project.described import MIN_PYTHON

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={MIN_PYTHON[0]}.{MIN_PYTHON[1]}"
