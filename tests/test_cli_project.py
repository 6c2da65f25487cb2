"""The project commands as a new user types them: new, validate, ls, config, invoke."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, assert_clean_error, write_project


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("new")
    from tests.conftest import _run

    r = _run(["new", "demo"], cwd=parent)
    assert r.returncode == 0, r.stderr
    return parent / "demo"


def copy_of(demo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(demo, target, ignore=shutil.ignore_patterns("output", "__pycache__"))
    return target


def edit_config(root: Path, change) -> None:
    path = root / ".fargo" / "config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config, indent=2))


def test_new_scaffolds_a_recognisable_project(demo: Path) -> None:
    for name in ("app.py", "chalicelib/etl.py", ".fargo/config.json", "requirements.txt",
                 ".fargo/policy-ingest_events.json", ".fargo/policy-daily_rollup.json",
                 ".fargo/config.schema.json", "tests/test_app.py", "README.md", "data/events.jsonl"):
        assert (demo / name).is_file(), name
    config = json.loads((demo / ".fargo/config.json").read_text())
    assert config["app_name"] == "demo" and set(config["stages"]) == {"dev", "prod"}
    assert config["$schema"] == "./config.schema.json"


def test_scaffold_has_no_placeholder_network(fargo, demo: Path) -> None:
    """Made-up subnet ids would pass every local check and fail at the first run in AWS."""
    config = json.loads((demo / ".fargo/config.json").read_text())
    assert all("subnets" not in stage for stage in config["stages"].values())
    r = fargo(["validate", "--stage", "prod"], cwd=demo)
    assert r.returncode == 0 and "no subnets for daily_rollup, ingest_events" in r.stderr
    assert_clean_error(fargo(["package", "--stage", "prod"], cwd=demo),
                       "stages.prod.subnets", "need subnets")


def test_new_refuses_bad_names_and_existing_dirs(fargo, demo: Path) -> None:
    assert_clean_error(fargo(["new", "Bad_Name"], cwd=demo.parent), "not a valid app name")
    assert_clean_error(fargo(["new", "demo"], cwd=demo.parent), "already exists")
    assert not list(demo.parent.glob(".demo-*")), "no half-written project left behind"


def test_validate_ls_config(fargo, demo: Path) -> None:
    r = fargo(["validate"], cwd=demo)
    assert r.returncode == 0, r.stderr
    assert "stage dev: 3 jobs valid" in r.stdout and "stage prod: 3 jobs valid" in r.stdout
    r = fargo(["validate", "--json"], cwd=demo)
    data = json.loads(r.stdout)
    assert data["ok"] is True and data["problems"] == []
    r = fargo(["ls", "--json"], cwd=demo)
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["daily_rollup"]["schedule"] == "cron(30 6 * * ? *)"
    assert rows["daily_rollup"]["timezone"] == "Europe/Berlin"
    assert rows["purge_old_outputs"]["compute"] == "lambda"
    assert rows["ingest_events"]["next_fire"].endswith("Z")
    r = fargo(["ls", "--stage", "prod"], cwd=demo)
    assert r.returncode == 0 and "daily_rollup" in r.stdout and "1 vCPU / 4 GB" in r.stdout
    r = fargo(["config", "daily_rollup", "--stage", "prod", "--json"], cwd=demo)
    data = json.loads(r.stdout)
    assert data["memory"] == {"value": 4096,
                              "source": ".fargo/config.json: stages.prod.tasks.daily_rollup.memory"}
    assert data["cpu"]["source"] == "app.py: @app.task(cpu=...) on daily_rollup"
    assert data["aws_name"]["value"] == "demo-prod-daily_rollup"
    r = fargo(["config", "--stage", "prod"], cwd=demo)
    assert "eu-west-1" in r.stdout and "demo-prod" in r.stdout


def test_invoke_runs_real_etl(fargo, demo: Path, tmp_path: Path) -> None:
    root = copy_of(demo, tmp_path)
    r = fargo(["invoke", "ingest_events"], cwd=root)
    assert r.returncode == 0, r.stderr
    assert "read 76 rows, dropped 9 malformed and 7 duplicates, wrote 60 rows" in r.stdout
    assert sorted(p.name for p in (root / "output" / "clean").iterdir()) == [
        "events-2024-05-01.jsonl", "events-2024-05-02.jsonl", "events-2024-05-03.jsonl"]
    r = fargo(["invoke", "daily_rollup", "--stage", "prod"], cwd=root)
    assert r.returncode == 0
    totals = json.loads((root / "output" / "daily_totals.json").read_text())
    assert set(totals) == {"2024-05-01", "2024-05-02", "2024-05-03"}


def test_invoke_event_and_exit_codes(fargo, tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / ".fargo").mkdir(parents=True)
    (root / ".fargo" / "config.json").write_text('{"app_name": "p", "tasks": {"slow": '
                                                 '{"timeout": 1}}}')
    (root / "app.py").write_text(
        "import time\nfrom fargo import App\napp = App('p')\n"
        "@app.task()\ndef echo(event):\n    print('DETAIL', event.detail)\n"
        "@app.task()\ndef fail(event):\n    raise RuntimeError('nope')\n"
        "@app.task()\ndef slow(event):\n    time.sleep(30)\n")
    (root / "event.json").write_text('{"detail": {"from": "file"}}')
    r = fargo(["invoke", "echo", "--event", '{"detail": {"a": 1}}'], cwd=root)
    assert r.returncode == 0 and "DETAIL {'a': 1}" in r.stdout
    r = fargo(["invoke", "echo", "--event", "@event.json"], cwd=root)
    assert "DETAIL {'from': 'file'}" in r.stdout
    assert fargo(["invoke", "fail"], cwd=root).returncode == 1
    assert fargo(["invoke", "slow"], cwd=root).returncode == 124
    assert_clean_error(fargo(["invoke", "echo", "--event", "{bad"], cwd=root),
                       "--event", "not valid JSON")
    assert_clean_error(fargo(["invoke", "echo", "--event", "@missing.json"], cwd=root),
                       "cannot read missing.json")
    assert_clean_error(fargo(["invoke", "ecoh"], cwd=root), "no job named 'ecoh'",
                       "did you mean 'echo'")


BAD_INPUTS = [
    ("broken JSON", lambda root: (root / ".fargo/config.json").write_text('{"app_name": "demo",'),
     [".fargo/config.json: line 1", "not valid JSON"]),
    ("unknown key", lambda root: edit_config(root, lambda c: c["tasks"]["ingest_events"].update(
        {"retires": 2})), ["tasks.ingest_events.retires", "did you mean 'retries'"]),
    ("invalid cron", lambda root: edit_config(root, lambda c: c["tasks"]["ingest_events"].update(
        {"schedule": "cron(0 9 * * MON *)"})), ["exactly one of them must be '?'"]),
    ("impossible size", lambda root: edit_config(root, lambda c: c["tasks"].update(
        {"daily_rollup": {"cpu": 256, "memory": 8192}})), ["does not fit cpu 256"]),
    ("missing handler", lambda root: edit_config(root, lambda c: c["tasks"].update(
        {"ingest_event": {}})), ["no job named 'ingest_event'", "did you mean 'ingest_events'"]),
    ("missing policy file", lambda root: edit_config(root, lambda c: c["tasks"]["ingest_events"]
        .update({"iam_policy_file": "policy-ingest.json"})),
     ["policy file .fargo/policy-ingest.json not found"]),
    ("missing app.py", lambda root: (root / "app.py").unlink(), ["no app.py here"]),
    ("broken app.py", lambda root: (root / "app.py").write_text("def (:\n"), ["syntax error"]),
    ("missing config", lambda root: (root / ".fargo/config.json").unlink(), ["not found"]),
    ("unknown stage", None, ["stage 'staging' is not defined"]),
]


@pytest.mark.parametrize(("label", "breakage", "needles"), BAD_INPUTS,
                         ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_everywhere(fargo, demo: Path, tmp_path: Path, label, breakage,
                                      needles) -> None:
    root = copy_of(demo, tmp_path)
    stage = ["--stage", "staging"] if breakage is None else []
    if breakage is not None:
        breakage(root)
    for command in (["validate"], ["ls"], ["config", "ingest_events"], ["invoke", "ingest_events"]):
        assert_clean_error(fargo([*command, *stage], cwd=root), *needles)
    assert not (root / "output").exists(), "a bad project must not run any job"


def test_project_dir_option(fargo, demo: Path, tmp_path: Path) -> None:
    r = fargo(["-C", str(demo), "ls", "--json"], cwd=tmp_path)
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 3
    assert_clean_error(fargo(["-C", str(tmp_path / "nowhere"), "ls"], cwd=tmp_path),
                       "-C:", "nowhere: no such directory")


def test_commands_find_the_project_from_a_directory_inside_it(fargo, demo: Path,
                                                             tmp_path: Path) -> None:
    """As git does: from chalicelib/ or tests/ the project is the one around it."""
    root = copy_of(demo, tmp_path)
    inside = fargo(["ls", "--json"], cwd=root / "chalicelib")
    assert inside.returncode == 0, inside.stderr
    at_root = fargo(["ls", "--json"], cwd=root)
    assert [row["name"] for row in json.loads(inside.stdout)] == \
        [row["name"] for row in json.loads(at_root.stdout)]
    ran = fargo(["invoke", "ingest_events"], cwd=root / "tests")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert_clean_error(fargo(["ls"], cwd=elsewhere), "no app.py here")


def test_scaffold_tests_pass(demo: Path, tmp_path: Path) -> None:
    root = copy_of(demo, tmp_path)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests"], cwd=root, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_example_project_validates_and_runs(fargo, tmp_path: Path) -> None:
    root = tmp_path / "etl-platform"
    shutil.copytree(REPO / "examples" / "etl-platform", root,
                    ignore=shutil.ignore_patterns("data", "__pycache__", "local"))
    r = fargo(["validate", "--json"], cwd=root)
    data = json.loads(r.stdout)
    assert data["ok"], data
    assert sorted(data["stages"]["prod"]) == ["daily_report", "fetch_events",
                                               "maint_compact_landing", "maint_heartbeat",
                                               "transform_events"]
    r = fargo(["ls", "--stage", "prod", "--json"], cwd=root)
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["maint_compact_landing"]["schedule"] == "rate(30 minutes)"
    assert rows["daily_report"]["compute"] == "fargate"
    assert rows["maint_heartbeat"]["schedule"] is None
    for job in ("fetch_events", "transform_events", "maint_heartbeat"):
        assert fargo(["invoke", job], cwd=root).returncode == 0, job
    assert list((root / "data" / "clean").glob("day=*.jsonl"))


def test_outside_a_project_the_hint_names_dash_c(fargo, tmp_path: Path) -> None:
    r = fargo(["validate"], cwd=tmp_path)
    assert r.returncode == 2 and "fargo -C DIR" in r.stderr and "FARGO_PROJECT_DIR" not in r.stderr


def test_what_app_py_prints_while_imported_stays_out_of_json_output(fargo, tmp_path: Path) -> None:
    """stdout is fargo's: `ls --json` and `validate --json` are parsed by scripts."""
    root = write_project(tmp_path / "chatty", """
        import os
        from fargo import App

        print("connecting at import")
        os.write(1, b"low-level write\\n")
        app = App("chatty")


        @app.task("rate(1 hour)")
        def job(event):
            pass
        """, {"app_name": "chatty"})
    for args in (["ls", "--json"], ["validate", "--json"], ["config", "job", "--json"]):
        r = fargo(args, cwd=root)
        assert r.returncode == 0, r.stdout + r.stderr
        json.loads(r.stdout)
        assert "connecting at import" in r.stderr and "low-level write" in r.stderr


def test_messages_about_many_jobs_name_a_dozen_and_count_the_rest(fargo, tmp_path: Path) -> None:
    jobs = "".join(f"\n@app.task('rate(1 hour)')\ndef job_{i:02d}(event):\n    pass\n"
                   for i in range(30))
    root = write_project(tmp_path / "many", "from fargo import App\napp = App('many')\n" + jobs,
                         {"app_name": "many"})
    r = fargo(["invoke", "nope"], cwd=root)
    assert_clean_error(r, "job_00, job_01", "job_11 and 18 more)")
    assert "job_12" not in r.stderr
    warned = fargo(["validate"], cwd=root).stderr
    assert "no subnets for job_00" in warned and "job_11 and 18 more:" in warned, warned


def test_ls_of_hundreds_of_jobs_prints_plain_rows_and_sums_up_the_runner(fargo,
                                                                         tmp_path: Path) -> None:
    jobs = "".join(f"\n@app.task('rate({5 + i % 3} minutes)')\ndef job_{i:03d}(event):\n    pass\n"
                   for i in range(250))
    root = write_project(tmp_path / "many", "from fargo import App\napp = App('many')\n" + jobs,
                         {"app_name": "many", "tasks": {"job_000": {"retries": 1}}})
    r = fargo(["ls"], cwd=root)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "many · stage dev" and lines[1].split()[:3] == ["job", "compute",
                                                                       "schedule"]
    rows = [line.split() for line in lines[2:252]]
    assert [row[0] for row in rows] == [f"job_{i:03d}" for i in range(250)]
    assert rows[1][1:3] == ["fargate", "rate(6"] and rows[1][-1] == "runner"
    assert "┃" not in r.stdout  # no box drawing: plain, streamed rows
    (why,) = [line for line in lines if line.startswith("runner:")]
    assert "250 jobs: 1 by retries=1, 250 by overlap=skip" in why and "job_001" not in why
    listed = json.loads(fargo(["ls", "--json"], cwd=root).stdout)
    assert listed[0]["runner_reasons"][0] == "retries=1"


def test_a_second_ctrl_c_stops_a_job_that_ignores_the_first(tmp_path: Path) -> None:
    """The first SIGINT is the job's to handle; asked again, fargo invoke stops it."""
    import os
    import signal
    import time

    root = write_project(tmp_path / "stubborn", """
        import signal
        import time
        from fargo import App

        app = App("stubborn")


        @app.task
        def stubborn(event):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            print("ignoring SIGINT", flush=True)
            time.sleep(60)
        """, {"app_name": "stubborn"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    process = subprocess.Popen([sys.executable, "-m", "fargo", "invoke", "stubborn", "--json"],
                               cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    while "ignoring SIGINT" not in process.stdout.readline():
        pass
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert process.poll() is None, "the job ignored the first Ctrl-C, and fargo waits for it"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 128 + signal.SIGKILL  # as a shell reports it
    history = json.loads(subprocess.run([sys.executable, "-m", "fargo", "history", "--json"],
                                        cwd=root, env=env, capture_output=True, text=True,
                                        timeout=60).stdout)
    assert history[0]["status"] == "failed" and "SIGKILL" in history[0]["reason"], history[0]


def test_invoke_into_a_reader_that_stops_early_still_records_the_run(tmp_path: Path) -> None:
    """`fargo invoke JOB | head -1`: the job runs to its end and its run is recorded (the run
    stayed 'running' forever, fargo ended with exit 1)."""
    import os

    root = write_project(tmp_path / "chatty", """
        import time
        from fargo import App

        app = App("chatty")


        @app.task
        def chatty(event):
            for i in range(2000):
                print("line", i, "x" * 200, flush=True)
            time.sleep(0.5)
        """, {"app_name": "chatty"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    process = subprocess.Popen([sys.executable, "-m", "fargo", "invoke", "chatty", "--json"],
                               cwd=root, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()  # the reader is gone, as head's is
    assert process.wait(timeout=60) == 0
    history = json.loads(subprocess.run([sys.executable, "-m", "fargo", "history", "--json"],
                                        cwd=root, env=env, capture_output=True, text=True,
                                        timeout=60).stdout)
    assert history[0]["status"] == "succeeded", history[0]
    log = (root / history[0]["log_file"]).read_text()
    assert "line 1999" in log


def test_history_says_when_the_fargo_that_ran_a_run_is_gone(tmp_path: Path) -> None:
    """A run left 'running' by a fargo that was killed is not shown as if it were going on."""
    import os
    import signal

    root = write_project(tmp_path / "orphan", """
        import os
        import time
        from fargo import App

        app = App("orphan")


        @app.task
        def slow(event):
            print("started", os.getpid(), flush=True)
            time.sleep(60)
        """, {"app_name": "orphan"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}

    def history() -> str:
        return subprocess.run([sys.executable, "-m", "fargo", "history"], cwd=root, env=env,
                              capture_output=True, text=True, timeout=60).stdout

    process = subprocess.Popen([sys.executable, "-m", "fargo", "invoke", "slow", "--json"],
                               cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    while not line.startswith("started "):  # the job's own line, after the runtime's
        line = process.stdout.readline()
    job_pid = int(line.split()[1])
    assert "running" in history() and "is gone" not in history()  # its fargo lives
    process.kill()  # fargo invoke dies; its job, in a session of its own, is stopped here
    process.wait()
    os.kill(job_pid, signal.SIGKILL)
    shown = " ".join(history().split())
    assert "running" in shown and f"(pid {process.pid}) is gone" in shown, shown


def test_a_hand_damaged_history_row_is_named_and_skipped(tmp_path: Path) -> None:
    import sqlite3

    from tests.conftest import _run

    assert _run(["new", "demo"], cwd=tmp_path).returncode == 0
    root = tmp_path / "demo"
    for _ in range(3):
        assert _run(["invoke", "ingest_events"], cwd=root).returncode == 0
    db = sqlite3.connect(root / ".fargo" / "local" / "runs.db")
    ids = [r[0] for r in db.execute("SELECT run_id FROM runs ORDER BY rowid")]
    db.execute("UPDATE runs SET duration_s='abc' WHERE run_id=?", (ids[0],))
    db.execute("UPDATE runs SET attempt='x' WHERE run_id=?", (ids[1],))
    db.commit()
    db.close()
    for args in (["history"], ["history", "--json"], ["size"], ["cost", "--stage", "prod"]):
        r = _run(args, cwd=root)
        assert r.returncode == 0 and "Traceback" not in r.stderr, (args, r.stderr)
    r = _run(["history", "--json"], cwd=root)
    assert [run["run_id"] for run in json.loads(r.stdout)] == [ids[2]]
    assert f"run {ids[0]!r} of the history has duration_s 'abc'" in r.stderr
    assert f"run {ids[1]!r} of the history has attempt 'x'" in r.stderr
