"""`python -m fargo.runtime TASK` and `lambda_handler` in real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_project

APP = """
import json, os, sys, time
from fargo import App

app = App("rt")

@app.task("rate(1 minute)")
def ok(event, context):
    context.logger.info("hello from %s", context.task_name)
    return {"detail": event.detail, "source": event.source, "type": event.detail_type,
            "stage": context.stage, "attempt": context.attempt,
            "remaining": context.get_remaining_time_in_millis() > 0,
            "id_ok": event.id == event.to_dict()["id"], "time": event.time}

@app.task()
def boom(event):
    raise ValueError("bad row 17")

@app.task()
def slow(event):
    time.sleep(30)

@app.schedule("rate(1 hour)")
def one_arg(event):
    print("plain print", event.detail_type)

@app.lambda_function()
def raw(event, context):
    return {"event": event, "has_context": context is not None}

@app.task()
def no_args():
    return "nothing needed"

@app.task()
def modules(event):
    heavy = [m for m in ("click", "rich", "jsonschema", "boto3", "fargo.project", "fargo.cli")
             if m in sys.modules]
    return heavy

@app.task()
def exits(event):
    sys.exit(3)

@app.task()
def wait_for_term(event):
    open(os.environ["READY_FILE"], "w").close()
    time.sleep(30)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("rt") / "rt", APP)


def run(project: Path, task: str, **env: str) -> tuple[int, list[dict], str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    full.update(env)
    r = subprocess.run([sys.executable, "-m", "fargo.runtime", task], cwd=project, env=full,
                       capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return r.returncode, lines, r.stdout + r.stderr


def test_success_logs_json_and_passes_event_and_context(project: Path) -> None:
    code, lines, _ = run(project, "ok", FARGO_STAGE="dev", FARGO_ATTEMPT="2",
                         FARGO_TIMEOUT="60", FARGO_EVENT='{"detail": {"day": "2024-01-01"}}')
    assert code == 0
    assert lines[0]["message"] == "started" and lines[0]["task"] == "ok"
    assert lines[1]["message"] == "hello from ok"
    result = lines[-1]["result"]
    assert lines[-1]["status"] == "succeeded"
    assert result["detail"] == {"day": "2024-01-01"}
    assert result["source"] == "aws.events" and result["type"] == "Scheduled Event"
    assert result["stage"] == "dev" and result["attempt"] == 2
    assert result["remaining"] and result["id_ok"]


def test_scheduled_time_becomes_event_time(project: Path) -> None:
    _, lines, _ = run(project, "ok", FARGO_SCHEDULED_TIME="2024-05-01T06:30:00Z")
    assert lines[-1]["result"]["time"] == "2024-05-01T06:30:00Z"


def test_project_dir_from_environment(project: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    env["FARGO_PROJECT_DIR"] = str(project)
    r = subprocess.run([sys.executable, "-m", "fargo.runtime", "no_args"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "nothing needed" in r.stdout


def test_exception_exits_1_with_traceback(project: Path) -> None:
    code, lines, _ = run(project, "boom")
    assert code == 1
    assert lines[-1]["status"] == "failed"
    assert "ValueError: bad row 17" in lines[-1]["traceback"]


def test_timeout_exits_124(project: Path) -> None:
    started = time.monotonic()
    code, lines, _ = run(project, "slow", FARGO_TIMEOUT="1")
    assert code == 124
    assert lines[-1]["status"] == "timed_out"
    assert time.monotonic() - started < 20


def test_sys_exit_code_is_kept(project: Path) -> None:
    code, lines, _ = run(project, "exits")
    assert code == 3 and lines[-1]["status"] == "failed"


def test_sigterm_exits_143(project: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    env["READY_FILE"] = str(ready)
    proc = subprocess.Popen([sys.executable, "-m", "fargo.runtime", "wait_for_term"],
                            cwd=project, env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert "stopped by SIGTERM" in out


def test_chalice_handler_shapes(project: Path) -> None:
    code, _, out = run(project, "one_arg")
    assert code == 0 and "plain print Scheduled Event" in out
    code, lines, _ = run(project, "raw", FARGO_EVENT='{"k": 1}')
    assert code == 0
    assert lines[-1]["result"]["event"]["k"] == 1 and lines[-1]["result"]["has_context"]


def test_unknown_job_and_bad_event_exit_2(project: Path) -> None:
    code, lines, _ = run(project, "nope")
    assert code == 2 and "no job named 'nope'" in lines[-1]["message"]
    code, lines, _ = run(project, "ok", FARGO_EVENT="{not json")
    assert code == 2 and "FARGO_EVENT" in lines[-1]["message"]
    r = subprocess.run([sys.executable, "-m", "fargo.runtime"], cwd=project,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


def test_runtime_imports_nothing_heavy(project: Path) -> None:
    code, lines, _ = run(project, "modules")
    assert code == 0 and lines[-1]["result"] == []


# What the runtime may add to the modules `python -m` itself loads: fargo's runtime (its hot
# path only: failures, Lambda, S3 shapes, the job logger and workflow results load when needed),
# the user's app, and two small C helpers (and for a run with an event, its reader and the
# `_json` accelerator). Anything else (typing, json, re, enum, pathlib,
# threading, importlib.util's own imports, logging, traceback, ...) costs milliseconds at every
# job start.
RUNTIME_MAY_IMPORT = {"__future__", "app", "fargo", "gc", "fargo.app", "fargo.runtime",
                      "fargo.runtime.__main__", "fargo.runtime.context", "fargo.runtime.contract",
                      "fargo.runtime.event", "fargo.runtime.jsonl", "fargo.runtime.loader",
                      "fargo.runtime.run"}


def test_the_runtime_import_set_stays_small(tmp_path: Path) -> None:
    root = write_project(tmp_path / "lean", """
        import atexit
        import sys
        from fargo import App

        app = App("lean")
        # at exit: what the run loaded, its result's log line and a step's output included
        atexit.register(lambda: print("MODULES " + " ".join(sorted(sys.modules))))

        @app.task()
        def loaded(event):
            pass

        @app.task()
        def counts(event):
            return {"rows": 120, "files": ["a.csv", "b.csv"], "ratio": 0.5, "late": None}
        """)
    (root / "empty.py").write_text("import sys\nprint('MODULES ' + ' '.join(sorted(sys.modules)))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}

    def modules(*args: str) -> set[str]:
        r = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        line = next(x for x in r.stdout.splitlines() if x.startswith("MODULES "))
        return set(line.split()[1:])

    floor = modules("-m", "empty") | {"empty", "atexit"}  # `python -m`, and this app's own
    added = modules("-m", "fargo.runtime", "loaded") - floor
    assert added <= RUNTIME_MAY_IMPORT, sorted(added - RUNTIME_MAY_IMPORT)
    # a result (logged by _json's encoder, without `json`)
    with_result = RUNTIME_MAY_IMPORT | {"_json", "fargo.runtime.jsonvalue"}
    added = modules("-m", "fargo.runtime", "counts") - floor
    assert added <= with_result, sorted(added - with_result)
    env["FARGO_EVENT"] = json.dumps({"source": "shop", "detail": {"order": [1, 2.5, None]}})
    added = modules("-m", "fargo.runtime", "loaded") - floor  # read without `json`
    with_event = RUNTIME_MAY_IMPORT | {"_json", "fargo.runtime.eventjson"}
    assert added <= with_event, sorted(added - with_event)
    # a workflow step run locally: its event and its output file, still without `json`
    env["FARGO_OUTPUT_FILE"] = str(tmp_path / "output.json")
    added = modules("-m", "fargo.runtime", "counts") - floor
    as_step = with_event | with_result | {"fargo.runtime.result"}
    assert added <= as_step, sorted(added - as_step)
    assert json.loads((tmp_path / "output.json").read_text()) == {
        "output": {"rows": 120, "files": ["a.csv", "b.csv"], "ratio": 0.5, "late": None}}


def _invoke_lambda(invocations: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`invocations` (Python using `lambda_handler` and `Ctx(request_id)`) in a fresh
    interpreter, as Lambda's runtime calls the handler of one execution environment."""
    script = (
        "import json, sys\n"
        "from fargo.runtime import lambda_handler\n"
        "class Ctx:\n"
        "    def __init__(self, request='req-1'):\n"
        "        self.aws_request_id = request\n"
        "    def get_remaining_time_in_millis(self):\n"
        "        return 5000\n" + invocations
    )
    full = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    return subprocess.run([sys.executable, "-c", script], env={**full, **env},
                          capture_output=True, text=True, cwd="/", timeout=60)


def test_lambda_handler_in_a_fresh_interpreter(project: Path) -> None:
    invocation = (
        "event = {'version': '0', 'id': 'e1', 'detail-type': 'Scheduled Event',\n"
        "         'source': 'aws.events', 'account': '123456789012', 'region': 'us-east-1',\n"
        "         'time': '2024-01-01T00:00:00Z', 'resources': [], 'detail': {'x': 1}}\n"
        "print(json.dumps(lambda_handler(event, Ctx())))\n")
    r = _invoke_lambda(invocation, FARGO_TASK="ok", FARGO_PROJECT_DIR=str(project),
                       FARGO_STAGE="prod")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["detail"] == {"x": 1} and result["stage"] == "prod"
    r = _invoke_lambda(invocation, FARGO_TASK="boom", FARGO_PROJECT_DIR=str(project),
                       FARGO_STAGE="prod")
    assert r.returncode == 1 and "ValueError: bad row 17" in r.stderr


def test_bad_runtime_settings_exit_2(project: Path) -> None:
    for env in ({"FARGO_TIMEOUT": "abc"}, {"FARGO_TIMEOUT": "nan"}, {"FARGO_TIMEOUT": "1e12"},
                {"FARGO_ATTEMPT": "x"}, {"FARGO_EVENT": "[" * 30_000 + "]" * 30_000}):
        code, lines, _ = run(project, "ok", **env)
        assert code == 2, env
        assert lines[-1]["level"] == "error" and "Traceback" not in json.dumps(lines), env


def test_a_large_event_reaches_the_job_through_a_file(fargo, tmp_path: Path) -> None:
    """An event over the 128 KiB a single environment string may hold (Linux)."""
    project = write_project(tmp_path / "rt", APP, {"app_name": "rt"})
    event = {"detail": {"rows": ["x" * 100] * 3000}}
    path = project / "big-event.json"
    path.write_text(json.dumps(event))
    r = fargo(["-C", str(project), "invoke", "ok", "--event", f"@{path}"], cwd=project)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"status": "succeeded"' in r.stdout


ODD_RESULTS = """
from fargo import App

app = App("odd")

@app.task()
def circular(event):
    loop = {"name": "loop"}
    loop["self"] = loop
    return loop

@app.task()
def not_finite(event):
    return {"ratio": float("nan"), "ceiling": float("inf"), "rows": [1, float("-inf")]}

@app.task()
def odd_keys(event):
    return {(1, 2): "pair", 3: {"tags": {1, 2}}}
"""


def test_a_result_json_cannot_hold_is_logged_as_valid_json(tmp_path: Path) -> None:
    """The job succeeded: its result is logged as strict JSON, whatever it is. A circular
    result ended the runtime with a traceback (exit 1), NaN was written as bare NaN."""
    root = write_project(tmp_path / "odd", ODD_RESULTS)

    def strict(text: str) -> dict:
        def refuse(constant: str) -> None:
            raise AssertionError(f"{constant} is not JSON: {text}")
        return json.loads(text, parse_constant=refuse)

    expected = {
        "circular": {"name": "loop", "self": "..."},
        "not_finite": {"ratio": "nan", "ceiling": "inf", "rows": [1, "-inf"]},
        "odd_keys": {"(1, 2)": "pair", "3": {"tags": "{1, 2}"}},
    }
    for task, result in expected.items():
        full = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
        r = subprocess.run([sys.executable, "-m", "fargo.runtime", task], cwd=root, env=full,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        last = strict(r.stdout.splitlines()[-1])
        assert last["status"] == "succeeded" and last["result"] == result, last


FORKED = '''
import json, os, sys
from fargo.runtime import loader, sources

root = loader.project_root()
sources.refresh(root)  # the launcher
edit = sys.argv[1]
if edit:  # a file changed after the launcher compiled it
    with open(os.path.join(root, "chalicelib", "util.py"), "w") as handle:
        handle.write(edit)
pid = os.fork()
if pid == 0:  # a job the launcher forked
    compiled = []
    sys.addaudithook(lambda event, args: compiled.append(args[1]) if event == "compile" else None)
    sources.install()
    try:
        app = loader.import_app_module(root)
        told = {"value": app.VALUE, "loader": type(app.__loader__).__name__}
    except SyntaxError as exc:
        told = {"syntax_error": exc.filename}
    told["compiled"] = sorted(os.path.relpath(c, root) for c in compiled
                              if isinstance(c, str) and c.startswith(root))
    print(json.dumps(told), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
'''


@pytest.mark.parametrize("edit", ["", "VALUE = 22\n", "VALUE = (\n"])
def test_a_forked_job_runs_the_code_the_launcher_compiled_while_files_stay_as_they_were(
        tmp_path: Path, edit: str) -> None:
    """fargo up's launcher compiles the project once: without bytecode (PYTHONDONTWRITEBYTECODE)
    a forked job compiles nothing of it, unless a file changed since, which it compiles anew
    (and whose errors it reports as ever)."""
    root = write_project(tmp_path / "warm", """
        from fargo import App
        from chalicelib.util import VALUE

        app = App("warm")
        """, files={"chalicelib/__init__.py": "", "chalicelib/util.py": "VALUE = 1\n"})
    (tmp_path / "forked.py").write_text(FORKED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    r = subprocess.run([sys.executable, str(tmp_path / "forked.py"), edit], cwd=root,
                       env={**env, "PYTHONDONTWRITEBYTECODE": "1"}, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    told = json.loads(r.stdout.strip().splitlines()[-1])
    if not edit:
        assert told == {"value": 1, "loader": "CompiledLoader", "compiled": []}
    elif "(" not in edit:
        assert told == {"value": 22, "loader": "CompiledLoader",
                        "compiled": ["chalicelib/util.py"]}
    else:
        assert told == {"syntax_error": str(root / "chalicelib" / "util.py"),
                        "compiled": ["chalicelib/util.py"]}


def test_warm_lambda_invocations_keep_the_app_imported_once(tmp_path: Path) -> None:
    """As Chalice's handler does: app.py and chalicelib/ are imported at the first invocation of
    an execution environment, and what they set up is there for the next ones."""
    root = write_project(tmp_path / "warm", """
        from chalicelib import clients
        from fargo import App

        app = App("warm")
        clients.IMPORTS.append("app")

        @app.task(compute="lambda")
        def count(event, context):
            clients.CALLS.append(context.aws_request_id)
            return {"imports": len(clients.IMPORTS), "calls": list(clients.CALLS)}
        """, files={"chalicelib/__init__.py": "",
                    "chalicelib/clients.py": "IMPORTS = []\nCALLS = []\n"})
    r = _invoke_lambda(
        "for request in ('req-1', 'req-2', 'req-3'):\n"
        "    print('RESULT ' + json.dumps(lambda_handler({}, Ctx(request))))\n",
        FARGO_TASK="count", LAMBDA_TASK_ROOT=str(root), FARGO_STAGE="prod")
    assert r.returncode == 0, r.stderr
    results = [json.loads(line.removeprefix("RESULT ")) for line in r.stdout.splitlines()
               if line.startswith("RESULT ")]
    assert results == [{"imports": 1, "calls": ["req-1"]},
                       {"imports": 1, "calls": ["req-1", "req-2"]},
                       {"imports": 1, "calls": ["req-1", "req-2", "req-3"]}]
