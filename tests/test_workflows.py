"""Workflows of jobs: declared in app.py, checked by fargo validate, run locally with real job
processes, and deployed as Step Functions state machines that moto's interpreter executes — the
same path and the same output both ways. On moto no container runs, so the test plays the
container: it starts each task's job with `python -m fargo.runtime` and the task's own
environment (FARGO_EVENT, FARGO_TASK_TOKEN), and the runtime answers Step Functions itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import _run, assert_clean_error

APP = '''
import os

from fargo import App, each, parallel, step

app = App("lake")


@app.task
def extract(event):
    return {"files": [f"part-{i}.csv" for i in range(5)], "day": event.get("day")}


@app.task
def load(event):
    return {"file": event, "rows": len(event)}


@app.task
def report(event):
    return {"loaded": len(event), "rows": sum(item["rows"] for item in event)}


@app.task
def notify(event):
    return "notified"


@app.task
def flaky(event):
    marker = os.path.join(os.environ["MARKS"], "flaky")
    tries = int(open(marker).read()) if os.path.exists(marker) else 0
    with open(marker, "w") as handle:
        handle.write(str(tries + 1))
    if tries == 0:
        raise RuntimeError("the first attempt fails")
    return {"after": tries + 1}


@app.task
def publish(event):
    raise ValueError(f"cannot publish {len(event)} results")


@app.task
def rescue(event):
    return {"rescued": event["Error"], "why": event["Cause"]}


@app.task
def huge(event):
    return "x" * 300_000


app.workflow("nightly", extract, each(load, over="files", max_concurrency=2),
             parallel(report, [notify, step(flaky, retries=2, interval="1s")]),
             step(publish, catch=rescue), description="the nightly load")
app.workflow("too_big", huge, report)
app.workflow("fails", extract, publish)
app.workflow("minutely", extract, schedule="cron(5 2 * * ? *)", timezone="Europe/Berlin")
'''

EXPECTED = {"rescued": "fargo.JobFailed", "why": "ValueError: cannot publish 2 results"}


def project(tmp_path: Path, app: str = APP) -> Path:
    root = tmp_path / "lake"
    (root / ".fargo").mkdir(parents=True)
    (root / "marks").mkdir()
    (root / "app.py").write_text(textwrap.dedent(app))
    (root / ".fargo" / "config.json").write_text(json.dumps({
        "app_name": "lake", "stages": {"dev": {"region": "us-east-1"}}}))
    return root


def invoke(root: Path, name: str, event: str = '{"day": "2026-02-02"}'):
    return _run(["invoke", name, "--event", event], cwd=root, env={"MARKS": str(root / "marks")})


def test_a_workflow_runs_locally_with_step_functions_semantics(tmp_path: Path) -> None:
    root = project(tmp_path)
    listed = _run(["ls"], cwd=root)
    assert listed.returncode == 0 and "nightly" in listed.stdout, listed.stdout + listed.stderr
    r = invoke(root, "nightly")
    assert r.returncode == 0, r.stdout + r.stderr
    output = json.loads(r.stdout[r.stdout.index("{"):])
    assert output == EXPECTED
    said = r.stderr
    # the map ran five loads, at most two at once; the retry came a second after the failure
    assert said.count("started load") == 5
    assert "flaky failed" in said and "started flaky (attempt 2)" in said
    assert "catch.rescue: started rescue" in said
    history = json.loads(_run(["history", "--json", "--last", "100"], cwd=root).stdout)
    (execution,) = [h for h in history if h["step"] == "workflow"]
    steps = [h for h in history if h["workflow_run"] == execution["run_id"]]
    assert execution["status"] == "succeeded" and len(steps) == 12
    loads = sorted((h for h in steps if h["task"] == "load"), key=lambda h: h["started_at"])
    ends = sorted(h["ended_at"] for h in loads)
    assert loads[2]["started_at"] >= ends[0], "a third load waited for one of the first two"
    flaky = sorted((h for h in steps if h["task"] == "flaky"), key=lambda h: h["attempt"])
    assert [h["status"] for h in flaky] == ["failed", "succeeded"]
    assert "RuntimeError: the first attempt fails" in flaky[0]["reason"]


def test_a_result_that_is_not_json_fails_the_step(tmp_path: Path) -> None:
    """NaN, infinities and objects json cannot write are refused as Step Functions refuses
    them, not handed on as `NaN` text that no JSON reader takes."""
    root = project(tmp_path, """
        from fargo import App

        app = App("lake")


        @app.task
        def ratio(event):
            return {"ratio": float("nan")}


        @app.task
        def when(event):
            import datetime
            return {"at": datetime.date(2026, 1, 1)}


        @app.task
        def after(value):
            return value


        app.workflow("nan", ratio, after)
        app.workflow("date", when, after)
        """)
    for name, found in (("nan", "Out of range float values"), ("date", "date is not JSON")):
        r = invoke(root, name)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "fargo.OutputNotJSON" in r.stderr and found in r.stderr, r.stderr
        assert "started after" not in r.stderr


def test_a_result_over_256_kb_fails_the_step_with_what_to_do(tmp_path: Path) -> None:
    root = project(tmp_path)
    r = invoke(root, "too_big")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "fargo.OutputTooLarge" in r.stderr and "return a pointer" in r.stderr
    failed = invoke(root, "fails")
    assert failed.returncode == 1
    assert "workflow fails failed: fargo.JobFailed: ValueError: cannot publish" in " ".join(
        failed.stderr.split())


def test_workflows_step_functions_would_refuse_are_errors(tmp_path: Path) -> None:
    bad = APP.replace('app.workflow("too_big", huge, report)', '''
app.workflow("too_big", huge, each(report, over="not a key", max_concurrency=100))
app.workflow("extract", report)
app.workflow("empty")
app.workflow("lists", [report, notify])
app.workflow("unknown", "no_such_job", step(report, retries=99), parallel(report))
app.workflow("x" * 80, report)
''')
    root = project(tmp_path, bad)
    r = _run(["validate"], cwd=root)
    assert_clean_error(
        r, "max_concurrency=100: an inline map runs at most 40 iterations at once",
        "over='not a key': name the key of the list",
        "'extract' is also a job", "workflow 'empty': steps: has no steps",
        "a list of steps belongs in parallel(...)", "no job named 'no_such_job'",
        "retries=99: must be a whole number from 0 to 10",
        "parallel(...) needs at least two branches", "Step Functions allows 80")


# --- deployed: a state machine per workflow, executed by moto ---------------------------------

def _running_executions(aws: dict[str, str]) -> list:
    """What the executions still running wait for (their last events), to say why."""
    from tests.conftest import boto

    sfn = boto(aws, "stepfunctions")
    found = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"],
                                             statusFilter="RUNNING")["executions"]:
            events = sfn.get_execution_history(executionArn=execution["executionArn"],
                                               reverseOrder=True, maxResults=4)["events"]
            found.append((machine["name"], [(e["type"], {k: v for k, v in e.items() if
                                                          k.endswith("Details")}) for e in events]))
    return found


def _play_containers(aws: dict[str, str], root: Path, running, seen: set[str]) -> None:
    """Start the job of every new task of the cluster, as its container would, while
    `running()` says the execution goes on."""
    from tests.conftest import boto

    ecs = boto(aws, "ecs")
    processes: list[subprocess.Popen] = []
    deadline = time.monotonic() + 300
    while running():
        if time.monotonic() > deadline:
            raise AssertionError(f"the execution did not end: {_running_executions(aws)}")
        for task_arn in set(ecs.list_tasks(cluster="lake-dev")["taskArns"]) - seen:
            seen.add(task_arn)
            (task,) = ecs.describe_tasks(cluster="lake-dev", tasks=[task_arn])["tasks"]
            family = task["taskDefinitionArn"].rsplit("/", 1)[-1].rsplit(":", 1)[0]
            env = {e["name"]: e["value"] for e in task["overrides"]["containerOverrides"][0][
                "environment"]}
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "fargo.runtime", family.removeprefix("lake-dev-")],
                cwd=root, env={**os.environ, **aws, **env, "MARKS": str(root / "marks"),
                               "FARGO_PROJECT_DIR": str(root), "AWS_DEFAULT_REGION": "us-east-1"},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.2)
    for process in processes:
        process.wait(timeout=30)


def _execute(aws: dict[str, str], root: Path, arn: str, given: dict) -> dict:
    """Start an execution and play the container of every task it starts, until it ends."""
    from tests.conftest import boto

    sfn, ecs = boto(aws, "stepfunctions"), boto(aws, "ecs")
    seen = set(ecs.list_tasks(cluster="lake-dev")["taskArns"])  # earlier executions' tasks
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(given))["executionArn"]
    _play_containers(aws, root, lambda: sfn.describe_execution(
        executionArn=execution)["status"] == "RUNNING", seen)
    return sfn.describe_execution(executionArn=execution)


def test_workflows_deployed_run_the_same_path_on_moto(tmp_path: Path,
                                                      aws: dict[str, str]) -> None:
    import urllib.request

    from tests.conftest import boto, publish_image, use_network

    urllib.request.urlopen(urllib.request.Request(
        f"{aws['AWS_ENDPOINT_URL']}/moto-api/config", method="POST",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())).read()
    root = project(tmp_path)
    local = invoke(root, "nightly")
    assert local.returncode == 0, local.stderr
    (root / "marks" / "flaky").unlink()  # the deployed run meets the same first failure
    legacy = "arn:aws:states:us-east-1:123456789012:stateMachine:legacy-etl"
    config = json.loads((root / ".fargo" / "config.json").read_text())
    config["tasks"] = {"extract": {"step_of": [legacy]}}
    config["stages"]["dev"]["alerts"] = {"emails": ["data-team@example.com"]}
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    use_network(root, aws, "dev")
    publish_image(aws, "lake", "v1")
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=aws,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    sfn = boto(aws, "stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()[
        "stateMachines"]}
    assert {"lake-dev-nightly", "lake-dev-too_big", "lake-dev-fails",
            "lake-dev-minutely"} <= set(machines)
    definition = json.loads(sfn.describe_state_machine(
        stateMachineArn=machines["lake-dev-nightly"])["definition"])
    assert definition["States"]["extract"]["Resource"] == \
        "arn:aws:states:::ecs:runTask.waitForTaskToken"
    validator = Path(__file__).parent / "asl" / "node_modules" / ".bin" / "asl-validator"
    if validator.exists() or os.environ.get("FARGO_REQUIRE_TERRAFORM") == "1":
        (tmp_path / "nightly.json").write_text(json.dumps(definition))
        checked = subprocess.run([str(validator), "--json-path", str(tmp_path / "nightly.json")],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    rule = boto(aws, "events").describe_rule(Name="lake-dev-workflow-failures")
    pattern = json.loads(rule["EventPattern"])
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert sorted(pattern["detail"]["stateMachineArn"]) == sorted(
        machines[name] for name in ("lake-dev-fails", "lake-dev-minutely", "lake-dev-nightly",
                                    "lake-dev-too_big"))
    iam = boto(aws, "iam")
    callback = iam.get_role_policy(RoleName="lake-dev-extract",
                                   PolicyName="lake-dev-extract-workflow-steps")
    (grant,) = callback["PolicyDocument"]["Statement"]
    assert sorted(grant["Action"]) == ["states:SendTaskFailure", "states:SendTaskHeartbeat",
                                       "states:SendTaskSuccess"]
    assert legacy in grant["Resource"] and all(
        ":stateMachine:lake-dev-" in arn for arn in grant["Resource"] if arn != legacy)
    # a job as a step of the team's own state machine: the state `fargo asl` prints
    printed = _run(["asl", "extract", "--stage", "dev", "--name", "Extract"], cwd=root, env=aws)
    assert printed.returncode == 0 and "step_of" in printed.stderr, printed.stderr
    state = json.loads(printed.stdout)
    state["Extract"]["End"] = True
    role = iam.get_role(RoleName="lake-dev-workflows")["Role"]["Arn"]
    own = sfn.create_state_machine(name="legacy-etl", roleArn=role, definition=json.dumps(
        {"StartAt": "Extract", "States": state}))["stateMachineArn"]
    assert own == legacy
    step = _execute(aws, root, own, {"day": "2026-03-03"})
    assert step["status"] == "SUCCEEDED", step
    assert json.loads(step["output"])["day"] == "2026-03-03"

    ran = _execute(aws, root, machines["lake-dev-nightly"], {"day": "2026-02-02"})
    assert ran["status"] == "SUCCEEDED", ran
    assert json.loads(ran["output"]) == EXPECTED == json.loads(
        local.stdout[local.stdout.index("{"):])
    history = sfn.get_execution_history(executionArn=ran["executionArn"], maxResults=1000)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history["events"]
               if e["type"].endswith("StateEntered")]
    assert entered.count("load") == 5 and "rescue (catch of publish)" in entered
    # fargo run --wait: each step as it ends, then the output; history shows the steps
    (root / "marks" / "flaky").unlink()
    ecs = boto(aws, "ecs")
    seen = set(ecs.list_tasks(cluster="lake-dev")["taskArns"])
    waiting = subprocess.Popen(
        [sys.executable, "-m", "fargo", "run", "nightly", "--stage", "dev", "--wait",
         "--event", '{"day": "2026-02-02"}'], cwd=root, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, **aws, "NO_COLOR": "1",
                                                "FARGO_POLL_SECONDS": "0.2"})
    _play_containers(aws, root, lambda: waiting.poll() is None, seen)
    said, told = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, said + told
    assert json.loads(said[said.index("{"):]) == EXPECTED
    assert re.search(r"flaky: failed [^\n]*\n(flaky \(attempt 2\): failed [^\n]*\n)?"
                     r"flaky \(attempt [23]\): succeeded", told), told
    assert "publish: failed" in told
    assert "rescue (catch of publish): succeeded" in told
    ledger = _run(["history", "nightly", "--stage", "dev", "--json"], cwd=root, env=aws)
    assert ledger.returncode == 0, ledger.stderr
    assert [(r["job"], r["state"]) for r in json.loads(ledger.stdout)
            if r["kind"] == "run"] == [("nightly", "succeeded")] * 2
    history = _run(["history", "nightly", "--stage", "dev", "--runs", "--json"], cwd=root,
                   env=aws)
    assert history.returncode == 0, history.stderr
    executions = json.loads(history.stdout)
    assert [e["status"] for e in executions] == ["succeeded", "succeeded"]
    assert executions[0]["output"] == EXPECTED
    steps = [s["step"] for s in executions[0]["steps"]]
    assert steps.count("load") == 5 and steps[0] == "extract"
    flaky = [s for s in executions[0]["steps"] if s["step"] == "flaky"]
    assert flaky[-1]["status"] == "succeeded" and 2 <= sum(s["attempts"] for s in flaky) <= 3
    (publish,) = [s for s in executions[0]["steps"] if s["step"] == "publish"]
    assert publish["status"] == "failed" and "cannot publish" in publish["error"]
    status = _run(["status", "--stage", "dev", "--json"], cwd=root, env=aws)
    assert status.returncode == 0, status.stderr
    (nightly,) = [row for row in json.loads(status.stdout) if row["name"] == "nightly"]
    assert nightly["workflow"] and nightly["last"]["status"] == "succeeded"
    assert nightly["running"] == []
    paused = _run(["pause", "minutely", "--stage", "dev"], cwd=root, env=aws)
    assert paused.returncode == 0 and "lake-dev-minutely: paused" in paused.stdout, paused.stderr
    schedule = boto(aws, "scheduler").get_schedule(Name="lake-dev-minutely",
                                                   GroupName="lake-dev")
    assert schedule["State"] == "DISABLED"
    assert schedule["Target"]["Arn"] == machines["lake-dev-minutely"]
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    resumed = _run(["resume", "minutely", "--stage", "dev"], cwd=root, env=aws)
    assert resumed.returncode == 0, resumed.stderr
    assert boto(aws, "scheduler").get_schedule(Name="lake-dev-minutely", GroupName="lake-dev")[
        "State"] == "ENABLED"
    failed = _execute(aws, root, machines["lake-dev-fails"], {"day": "x"})
    assert failed["status"] == "FAILED"
    assert failed["error"] == "fargo.JobFailed" and "cannot publish" in failed["cause"]
    too_big = _execute(aws, root, machines["lake-dev-too_big"], {})
    assert too_big["status"] == "FAILED" and too_big["error"] == "fargo.OutputTooLarge"
    again = _run(["plan", "--stage", "dev", "--json", "--image-tag", "v1"], cwd=root, env=aws,
                 timeout=600)
    changes = json.loads(again.stdout)
    assert (changes["add"], changes["change"], changes["destroy"]) == (0, 0, 0), changes


@pytest.fixture(autouse=True)
def _no_project_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARGO_PROJECT_DIR", raising=False)


def test_the_image_of_a_step_can_answer_step_functions(tmp_path: Path) -> None:
    """A Fargate step sends its result with boto3: the image gets it when requirements.txt
    leaves it out; ordinary projects' images stay as they are."""
    from fargo.packaging.image import context_files
    from fargo.project.load import load_project

    root = project(tmp_path)
    (root / "requirements.txt").write_text("pandas==2.2.2\n")
    files = dict(context_files(load_project(root, "dev")))
    assert files["requirements.txt"].decode().splitlines()[-1] == "boto3"
    assert "fargo/runtime/result.py" in files and "fargo/workflow.py" in files
    plain = project(tmp_path / "plain", "from fargo import App\napp = App('lake')\n"
                    "@app.task\ndef job(event):\n    pass\n")
    (plain / "requirements.txt").write_text("pandas==2.2.2\n")
    assert dict(context_files(load_project(plain, "dev")))["requirements.txt"] == \
        b"pandas==2.2.2\n"


def test_fargo_up_runs_scheduled_workflows_and_history_nests_their_steps(tmp_path: Path) -> None:
    app = APP + '\napp.workflow("every_minute", extract, each(load, over="files"), report,\n' \
                '             schedule="rate(1 minute)")\n'
    root = project(tmp_path, app)
    r = _run(["up", "--plain", "--only", "every_minute", "--from", "2026-01-01T00:00:00Z",
              "--speed", "30", "--for", "2m30s", "--replay-name", "w"], cwd=root, env={"MARKS": str(root / "marks")},
             timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "and 1 workflow," in r.stdout and r.stdout.count("succeeded") >= 2, r.stdout
    history = json.loads(_run(["history", "--replay", "w", "--json", "--last", "1000"],
                              cwd=root).stdout)
    executions = [h for h in history if h["step"] == "workflow"]
    assert [e["scheduled_time"] for e in sorted(executions, key=lambda e: e["run_id"])] == [
        "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"]
    assert all(e["status"] == "succeeded" and e["trigger"] == "schedule" for e in executions)
    for execution in executions:
        steps = [h["task"] for h in history if h["workflow_run"] == execution["run_id"]]
        assert sorted(steps) == ["extract"] + ["load"] * 5 + ["report"]
    table = _run(["history", "--replay", "w", "--last", "1000"], cwd=root).stdout
    assert "  2.each[4].1.load" in table or "2.each[4].1.load" in table
    lines = table.splitlines()
    first = next(i for i, line in enumerate(lines) if "-every_minute-" in line)
    assert "1.extract" in lines[first + 1], "an execution's steps follow it"


def test_a_blueprint_workflow_takes_the_blueprint_prefix(tmp_path: Path) -> None:
    from fargo.project.load import load_project

    root = project(tmp_path, "from fargo import App\nfrom chalicelib.etl import bp\n"
                   "app = App('lake')\napp.register_blueprint(bp, name_prefix='etl_')\n")
    (root / "chalicelib").mkdir()
    (root / "chalicelib" / "__init__.py").write_text("")
    (root / "chalicelib" / "etl.py").write_text(textwrap.dedent('''
        from fargo import Blueprint, each

        bp = Blueprint(__name__)

        @bp.task
        def split(event):
            return [1, 2]

        @bp.task
        def work(item):
            return item * 2

        bp.workflow("flow", split, each(work))
        bp.workflow("doubles", each(work))
    '''))
    loaded = load_project(root, "dev")
    flow = loaded.workflow("etl_flow")
    assert flow is not None
    assert flow.name == "etl_flow" and flow.jobs == ("etl_split", "etl_work")
    r = invoke(root, "etl_flow", "{}")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout[r.stdout.index("["):]) == [2, 4]
    listed = invoke(root, "etl_doubles", "[3, 4]")  # a workflow's input may be any JSON
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout[listed.stdout.index("["):]) == [6, 8]


def test_fargo_asl_refuses_a_fargate_step_without_a_network(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert_clean_error(_run(["asl", "extract", "--stage", "dev"], cwd=root),
                       "Fargate jobs (extract) need subnets")
    assert_clean_error(_run(["asl", "no_such", "--stage", "dev"], cwd=root),
                       "no job named 'no_such'")


STOPS = '''
import os
import time
from pathlib import Path

from fargo import App, parallel

app = App("lake")


@app.task(timeout=120)
def slow(event):
    Path("marks", "slow").write_text(str(os.getpid()))
    time.sleep(60)


@app.task
def broken(event):
    time.sleep(0.5)
    raise ValueError("broken on purpose")


app.workflow("late", slow, timeout=2)
app.workflow("branches", parallel(slow, broken))
app.workflow("long", slow)
'''


def _run_workflow(root: Path, name: str, started: list[object] | None = None) -> object:
    """WorkflowRun of `name`, as fargo invoke runs it: its StepFailed, or its output."""
    from fargo.local.workflow import StepFailed, WorkflowRun
    from fargo.project.load import load_project

    project = load_project(root, "dev")
    spec = project.workflow(name)
    assert spec is not None
    run = WorkflowRun(project, spec)
    if started is not None:
        started.append(run)
    try:
        return run.run({})
    except StepFailed as exc:
        return exc


def _ended(root: Path) -> None:
    """The slow job's process no longer exists (killed and reaped), nor its process group."""
    pid = int((root / "marks" / "slow").read_text())
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_a_workflow_past_its_timeout_kills_its_step_and_times_out(tmp_path: Path) -> None:
    root = project(tmp_path, STOPS)
    began = time.monotonic()
    failed = _run_workflow(root, "late")
    assert getattr(failed, "error", None) == "States.Timeout", failed
    assert time.monotonic() - began < 30  # the 60 s sleep was cut at the 2 s timeout
    _ended(root)


def test_a_failed_branch_stops_the_branches_still_running(tmp_path: Path) -> None:
    root = project(tmp_path, STOPS)
    began = time.monotonic()
    failed = _run_workflow(root, "branches")
    assert getattr(failed, "error", None) == "fargo.JobFailed", failed
    assert "broken on purpose" in getattr(failed, "cause", "")
    assert time.monotonic() - began < 30
    _ended(root)


def test_stopping_a_workflow_kills_the_step_that_runs(tmp_path: Path) -> None:
    import threading

    root = project(tmp_path, STOPS)
    runs: list[object] = []
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(_run_workflow(root, "long", runs)))
    thread.start()
    deadline = time.monotonic() + 30
    while not (root / "marks" / "slow").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    runs[0].stop()  # type: ignore[attr-defined]
    thread.join(timeout=30)
    assert not thread.is_alive() and getattr(outcome[0], "error", None) == "fargo.JobFailed"
    _ended(root)


def test_a_result_nested_too_deep_fails_the_step_as_not_json(tmp_path: Path) -> None:
    root = project(tmp_path, """
        from fargo import App

        app = App("lake")


        @app.task
        def deep(event):
            node = []
            for _ in range(5000):
                node = [node]
            return node


        @app.task
        def after(event):
            return 1


        app.workflow("flow", deep, after)
        """)
    r = invoke(root, "flow", "{}")
    assert r.returncode != 0 and "fargo.OutputNotJSON" in r.stderr, r.stderr
    assert "nested deeper than JSON can be written" in r.stderr
    alone = _run(["invoke", "deep", "--json"], cwd=root)
    assert alone.returncode == 0, alone.stdout + alone.stderr  # a job alone hands nothing on
    assert "nested too deep to show" in alone.stdout
