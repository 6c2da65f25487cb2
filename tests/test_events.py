"""Jobs started by events: patterns in @app.task and the config, Chalice's on_cw_event, checked
by fargo validate; fargo events sample / match; the sample runs the job with fargo invoke."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from fargo.project.load import load_project
from tests.conftest import _run, assert_clean_error

APP = '''
from fargo import App

app = App("lake")

LANDED = {"source": ["aws.s3"], "detail-type": ["Object Created"],
          "detail": {"bucket": {"name": ["raw-landing"]},
                     "object": {"key": [{"prefix": "incoming/"}]}}}


@app.task(events=LANDED, timeout="10m")
def load_file(event):
    return {"key": event.detail["object"]["key"], "source": event.source}


@app.task("rate(1 hour)")
def compact(event):
    return "compacted"
'''


def project(tmp_path: Path, config_tasks: dict | None = None, app: str = APP) -> Path:
    root = tmp_path / "lake"
    (root / ".fargo").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(app))
    (root / ".fargo" / "config.json").write_text(json.dumps({
        "app_name": "lake", "tasks": config_tasks or {},
        "stages": {"dev": {"region": "us-east-1"}}}))
    return root


def test_a_job_started_by_events_runs_with_a_sample_event(tmp_path: Path) -> None:
    root = project(tmp_path, {"compact": {"events": [
        {"source": ["fargo.lake"], "detail-type": ["Compaction Requested"]}]}})
    v = _run(["validate"], cwd=root)
    assert v.returncode == 0, v.stderr
    spec = load_project(root, "dev").require("compact")
    assert spec.schedule == "rate(1 hour)" and spec.events[0]["source"] == ["fargo.lake"]
    listed = {j["name"]: j for j in json.loads(_run(["ls", "--json"], cwd=root).stdout)}
    assert listed["load_file"]["events"][0]["source"] == ["aws.s3"]
    table = _run(["ls"], cwd=root).stdout
    assert "rate(1 hour) + 1 event pattern" in table
    sample = _run(["events", "sample", "load_file"], cwd=root)
    assert sample.returncode == 0, sample.stderr
    event = json.loads(sample.stdout)
    assert event["detail"]["object"]["key"].startswith("incoming/")
    (root / "event.json").write_text(sample.stdout)
    assert _run(["events", "match", "load_file", "--event", "@event.json"], cwd=root
                ).returncode == 0
    miss = _run(["events", "match", "load_file", "--event",
                 '{"source": "aws.s3", "detail-type": "Object Deleted"}'], cwd=root)
    assert miss.returncode == 1 and "no pattern" in miss.stderr
    ran = _run(["invoke", "load_file", "--event", "@event.json"], cwd=root)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert '"source": "aws.s3"' in ran.stdout and "incoming/" in ran.stdout


def test_patterns_eventbridge_would_reject_are_errors(tmp_path: Path) -> None:
    root = project(tmp_path, {"compact": {"events": [{"source": "aws.s3"}]}},
                   app=APP.replace('[{"prefix": "incoming/"}]', '[{"prefix": 5}]'))
    r = _run(["validate"], cwd=root)
    assert_clean_error(r, "events[0]: detail.object.key[0].prefix: must be a string, found 5",
                       "tasks.compact.events[0]: source: must be a list of values")
    assert_clean_error(_run(["events", "sample", "compact"], cwd=project(
        tmp_path / "b")), "has no event pattern")


def test_chalice_on_cw_event_patterns_are_the_jobs(tmp_path: Path) -> None:
    app = '''
    from chalice import Chalice

    app = Chalice(app_name="lake")


    @app.on_cw_event({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]})
    def on_state(event):
        return event.detail_type
    '''
    root = project(tmp_path, app=app)
    spec = load_project(root, "dev").require("on_state")
    assert spec.events == ({"source": ["aws.ec2"],
                            "detail-type": ["EC2 Instance State-change Notification"]},)
    sample = json.loads(_run(["events", "sample", "on_state"], cwd=root).stdout)
    assert sample["detail-type"] == "EC2 Instance State-change Notification"


# --- deployed: a rule per job, applied by real terraform on moto --------------------------

DEPLOYED_APP = APP.replace('@app.task("rate(1 hour)")\ndef compact(event):',
                           '@app.task(events=[{"source": ["fargo.lake"]}, '
                           '{"detail-type": ["Compact"]}], compute="lambda")\n'
                           'def compact(event, context):')


def test_event_rules_are_deployed_and_hand_the_event_to_the_job(tmp_path: Path,
                                                               aws: dict[str, str]) -> None:
    import time
    import urllib.request
    import uuid

    from moto.events.utils import EventTemplateParser

    from tests.conftest import boto, publish_image, use_network

    request = urllib.request.Request(f"{aws['AWS_ENDPOINT_URL']}/moto-api/config",
                                     method="POST", data=json.dumps(
                                         {"stepfunctions": {"execute_state_machine": True}}
                                     ).encode())
    urllib.request.urlopen(request).read()
    root = project(tmp_path, {"load_file": {"event_fields": {
        "bucket": "$.detail.bucket.name", "key": "$.detail.object.key"}}}, app=DEPLOYED_APP)
    use_network(root, aws, "dev")
    publish_image(aws, "lake", "v1")
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=aws,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    events = boto(aws, "events")
    rule = events.describe_rule(Name="lake-dev-load_file-on")
    assert json.loads(rule["EventPattern"]) == load_project(root, "dev").require(
        "load_file").events[0]
    assert json.loads(events.describe_rule(Name="lake-dev-compact-on")["EventPattern"]) == {
        "$or": [{"source": ["fargo.lake"]}, {"detail-type": ["Compact"]}]}
    # a Lambda job: the function itself, with the permission for exactly its rule
    (direct,) = events.list_targets_by_rule(Rule="lake-dev-compact-on")["Targets"]
    assert direct["Arn"].endswith(":function:lake-dev-compact") and "InputTransformer" not in direct
    policy = json.loads(boto(aws, "lambda").get_policy(FunctionName="lake-dev-compact")["Policy"])
    assert policy["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(
        ":rule/lake-dev-compact-on")
    # a Fargate job: the runner, with the whole event as its input's event
    (target,) = events.list_targets_by_rule(Rule="lake-dev-load_file-on")["Targets"]
    assert target["Arn"].endswith(":stateMachine:lake-dev-runner")
    assert target["RoleArn"].endswith("/lake-dev-event-rules")
    iam = boto(aws, "iam")
    trust = iam.get_role(RoleName="lake-dev-event-rules")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        ":rule/lake-dev-*-on")
    granted = iam.get_role_policy(RoleName="lake-dev-event-rules",
                                  PolicyName="lake-dev-event-rules")["PolicyDocument"]
    (statement,) = granted["Statement"]
    assert statement["Resource"].endswith(":stateMachine:lake-dev-runner")
    # moto delivers events only to SQS and log groups: the transformation is moto's own, the
    # delivery to Step Functions is done here; the runner then runs the task with the event
    landed = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created",
              "source": "aws.s3", "account": "123456789012", "time": "2026-01-01T00:00:00Z",
              "region": "us-east-1", "resources": [], "ingestion-time": "2026-01-01T00:00:01Z",
              "detail": {"bucket": {"name": "raw-landing"},
                         "object": {"key": "incoming/orders \"2026\".csv", "size": 512}}}
    transformer = target["InputTransformer"]
    given = EventTemplateParser.parse(transformer["InputTemplate"],
                                      transformer["InputPathsMap"], landed)
    assert given["run_id"] == landed["id"] and given["event"]["detail"] == landed["detail"]
    assert given["overlap"] == "queue", "an event waits its turn; it is never skipped"
    sfn = boto(aws, "stepfunctions")
    ecs = boto(aws, "ecs")

    def run_with(event: dict) -> dict:
        """The runner started as the rule starts it; the event the task got."""
        given = EventTemplateParser.parse(transformer["InputTemplate"],
                                          transformer["InputPathsMap"], event)
        before = set(ecs.list_tasks(cluster="lake-dev")["taskArns"])
        arn = sfn.start_execution(stateMachineArn=target["Arn"], name=event["id"],
                                  input=json.dumps(given))["executionArn"]
        deadline = time.monotonic() + 60
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
        (task,) = ecs.describe_tasks(cluster="lake-dev", tasks=list(set(ecs.list_tasks(
            cluster="lake-dev")["taskArns"]) - before))["tasks"]
        env = {e["name"]: e["value"] for e in task["overrides"]["containerOverrides"][0][
            "environment"]}
        return json.loads(env["FARGO_EVENT"])

    assert run_with(landed)["detail"] == landed["detail"]  # escaped, whole
    # Over ECS's 8 KB of overrides: RunTask refuses it, and the same attempt runs with the
    # projection (the envelope and the job's event_fields), which says what it is.
    large = {**landed, "id": str(uuid.uuid4()), "detail": {
        **landed["detail"], "manifest": [f"part-{i:05d}.parquet" for i in range(600)]}}
    assert len(json.dumps(large)) > 8192
    projected = run_with(large)
    assert projected["detail"] == {"bucket": "raw-landing", "key": landed["detail"]["object"][
        "key"]}
    assert (projected["id"], projected["source"], projected["detail-type"]) == (
        large["id"], "aws.s3", "Object Created")
    assert "8 KB" in projected["fargo_projection"]
    again = _run(["plan", "--stage", "dev", "--json", "--image-tag", "v1"], cwd=root, env=aws,
                 timeout=600)
    changes = json.loads(again.stdout)
    assert (changes["add"], changes["change"], changes["destroy"]) == (0, 0, 0), changes


EMIT_APP = '''
import json
import os

from fargo import App

app = App("lake")

LANDED = {"source": ["fargo.lake"], "detail-type": ["File Landed"],
          "detail": {"key": [{"prefix": "incoming/"}]}}


def mark(name, event):
    with open(os.path.join(os.environ["MARKS"], name), "a") as handle:
        handle.write(json.dumps({"id": event.id, "detail": event.detail,
                                 "attempt": os.environ["FARGO_ATTEMPT"]}) + "\\n")


@app.task(events=LANDED)
def load_file(event):
    mark("load_file", event)


@app.task(events={"source": ["fargo.lake"]}, retries=1)
def audit(event):
    mark("audit", event)
    if event.detail.get("fail") and os.environ["FARGO_ATTEMPT"] == "1":
        raise RuntimeError("first attempt fails")


@app.task("rate(1 hour)")
def compact(event):
    return "compacted"
'''


def _marks(root: Path, name: str) -> list[dict]:
    path = root / "marks" / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait(predicate, seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_fargo_emit_starts_exactly_the_matching_jobs_once(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from fargo.local import inbox

    root = project(tmp_path, app=EMIT_APP)
    (root / "marks").mkdir()
    env = {"MARKS": str(root / "marks")}
    landed = ["emit", '{"key": "incoming/a.csv"}', "--source", "fargo.lake",
              "--detail-type", "File Landed"]
    refused = _run(landed, cwd=root, env=env)
    assert refused.returncode == 1 and "no fargo up is running" in refused.stderr
    assert not inbox.waiting(root), "nothing is left behind when no fargo up runs"
    assert_clean_error(_run(["emit", '{"key": 1}'], cwd=root),
                       "EVENT: the event has no source: give --source",
                       "EVENT: the event has no detail-type")
    assert_clean_error(_run(["emit", "[1]"], cwd=root), "EVENT: must be a JSON object")
    (root / "big.json").write_text(json.dumps({"source": "s", "detail-type": "d",
                                               "detail": {"x": "a" * 300_000}}))
    assert_clean_error(_run(["emit", "@big.json"], cwd=root), "EventBridge accepts at most 262144")

    up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain"], cwd=root,
                          env={**os.environ, **env, "NO_COLOR": "1"}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    try:
        _wait(lambda: inbox.running_scheduler(root) is not None)
        first = _run(landed, cwd=root, env=env)
        assert first.returncode == 0, first.stderr
        assert "matches: audit, load_file" in first.stdout
        second = _run(["emit", json.dumps({"source": "fargo.lake", "detail-type": "Other",
                                           "detail": {"fail": True}})], cwd=root, env=env)
        assert "matches: audit" in second.stdout
        nothing = _run(["emit", '{"a": 1}', "--source", "elsewhere", "--detail-type", "X"],
                       cwd=root, env=env)
        assert nothing.returncode == 0 and "no job's pattern matches" in nothing.stderr
        _wait(lambda: len(_marks(root, "audit")) == 3 and len(_marks(root, "load_file")) == 1,
              90)  # the retry waits its 30 s backoff

        def retried() -> bool:  # recorded as ended: a stop now would SIGTERM a running job
            runs = json.loads(_run(["history", "--json"], cwd=root).stdout)
            return any(r["task"] == "audit" and r["attempt"] == 2 and r["status"] != "running"
                       for r in runs)

        _wait(retried)
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=30)
    ids = [line.split()[1] for line in (first.stdout, second.stdout)]
    assert [m["id"] for m in _marks(root, "load_file")] == [ids[0]]
    assert _marks(root, "load_file")[0]["detail"] == {"key": "incoming/a.csv"}
    assert sorted((m["id"], m["attempt"]) for m in _marks(root, "audit")) == sorted(
        [(ids[0], "1"), (ids[1], "1"), (ids[1], "2")])
    history = json.loads(_run(["history", "--json"], cwd=root).stdout)
    by_event = {(r["task"], r["event_id"], r["attempt"]): r for r in history}
    assert by_event[("load_file", ids[0], 1)]["trigger"] == "event"
    assert by_event[("audit", ids[1], 1)]["status"] == "failed"
    assert by_event[("audit", ids[1], 2)]["trigger"] == "retry"
    assert by_event[("audit", ids[1], 2)]["status"] == "succeeded"
    assert "matches no job" in output
    table = _run(["history"], cwd=root).stdout
    assert f"event {ids[0][:8]}" in table

    # A crash after the event was recorded but before its file was removed leaves a copy: the
    # next fargo up drops it and starts nothing twice.
    inbox.post(root, {"id": ids[0], "source": "fargo.lake", "detail-type": "File Landed",
                      "detail": {"key": "incoming/a.csv"}})
    again = _run(["up", "--plain", "--for", "1s"], cwd=root, env=env)
    assert again.returncode == 0, again.stdout
    assert "already taken" in again.stdout and not inbox.waiting(root)
    assert len(_marks(root, "load_file")) == 1


def test_no_caller_string_becomes_a_path_or_an_id(tmp_path: Path) -> None:
    """PutEvents takes no id, account, version or region: fargo emit refuses them (before it
    looks for a fargo up), and the inbox names its files without any part of the event."""
    from fargo.local import inbox

    root = project(tmp_path, app=EMIT_APP)
    before = (root / ".fargo" / "config.json").read_bytes()
    for key, value in (("id", "../../../../config"), ("account", "999999999999"),
                       ("version", "1"), ("region", "mars-1")):
        event = {"source": "x", "detail-type": "t", "detail": {}, key: value}
        assert_clean_error(_run(["emit", json.dumps(event)], cwd=root),
                           f"the event sets {key!r}: EventBridge sets it")
    assert_clean_error(_run(["emit", '{"source": "x", "detail-type": "t", "detail": {}, '
                                     '"time": "yesterday"}'], cwd=root),
                       "time 'yesterday' is not an RFC 3339 instant")
    assert_clean_error(_run(["emit", '{"source": "x", "detail-type": "t", '
                                     '"detail": {"n": NaN}}'], cwd=root),
                       "the event holds NaN")
    assert_clean_error(_run(["emit", '{"source": "x", "detail-type": "t", '
                                     '"detail": {"k": "\\ud800"}}'], cwd=root),
                       "the event holds a lone surrogate")
    assert (root / ".fargo" / "config.json").read_bytes() == before
    # a time is the caller's to give, as PutEvents' Time
    ok = _run(["emit", '{"source": "x", "detail-type": "t", "detail": {}, '
                       '"time": "2026-12-07T06:30:00Z"}'], cwd=root)
    assert ok.returncode == 1 and "no fargo up is running" in ok.stderr
    written = inbox.post(root, {"id": "../../../../config", "source": "x"})
    assert written.parent == inbox.inbox_dir(root) and "config" not in written.name
    assert (root / ".fargo" / "config.json").read_bytes() == before


KILLED_APP = '''
import os
import time

from fargo import App

app = App("lake")


@app.task(events={"source": ["fargo.lake"]}, retries=10, timeout="1m")
def load(event):
    time.sleep(event.detail["sleep"])
    with open(os.path.join(os.environ["MARKS"], event.id), "a") as handle:
        handle.write(os.environ["FARGO_ATTEMPT"] + "\\n")
'''


def test_every_event_runs_once_across_sigkills_of_fargo_up(tmp_path: Path) -> None:
    """Events arrive while fargo up is SIGKILLed at random moments and started again: every
    event's job ends succeeded exactly once in the history and did its work once. A run that
    never started starts after the restart; one cut off is retried; one that ended unseen is
    recorded from its log. (Retries 10: five kills cannot use up an event's attempts.)"""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    from fargo.local import inbox

    root = project(tmp_path, app=KILLED_APP)
    config = json.loads((root / ".fargo" / "config.json").read_text())
    config["stages"]["dev"]["max_parallel"] = 6
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    marks = root / "marks"
    marks.mkdir()
    env = {**os.environ, "MARKS": str(marks), "NO_COLOR": "1"}
    env.pop("FARGO_PROJECT_DIR", None)
    chance = random.Random(7)

    def start() -> subprocess.Popen[str]:
        up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain"], cwd=root,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              text=True)
        _wait(lambda: inbox.running_scheduler(root) is not None)
        return up

    ids: list[str] = []
    up = start()
    try:
        for _kill in range(5):
            for _ in range(12):
                event = inbox.envelope({"source": "fargo.lake", "detail-type": "Landed",
                                        "detail": {"sleep": chance.choice([0.05, 0.3, 0.5])}},
                                       None, None, "000000000000", "us-east-1")
                ids.append(event["id"])
                inbox.post(root, event)
                pid = inbox.running_scheduler(root)
                if pid is not None:
                    inbox.wake(pid)
                time.sleep(chance.uniform(0, 0.05))
            time.sleep(chance.uniform(0.05, 0.8))
            up.send_signal(signal.SIGKILL)
            up.wait(timeout=30)
            up = start()

        def settled() -> bool:
            runs = json.loads(_run(["history", "--json", "--last", "1000"], cwd=root).stdout)
            done = {r["event_id"] for r in runs if r["status"] == "succeeded"}
            return done >= set(ids) and not any(r["status"] == "running" for r in runs)

        _wait(settled, 120)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=30)
    runs = json.loads(_run(["history", "--json", "--last", "1000"], cwd=root).stdout)
    succeeded = [r["event_id"] for r in runs if r["status"] == "succeeded"]
    assert sorted(succeeded) == sorted(ids), "each event's job succeeded exactly once"
    assert {r["event_id"] for r in runs} == set(ids)
    worked = {path.name: path.read_text().split() for path in marks.iterdir()}
    assert set(worked) == set(ids)
    assert [e for e, attempts in worked.items() if len(attempts) != 1] == []


def test_a_clean_stop_keeps_the_events_it_did_not_start(tmp_path: Path) -> None:
    """SIGTERM with events queued behind max_parallel: their runs wait for the next fargo up
    (an event is never skipped), which starts each once."""
    import os
    import signal
    import subprocess
    import sys

    from fargo.local import inbox

    root = project(tmp_path, app=KILLED_APP)
    config = json.loads((root / ".fargo" / "config.json").read_text())
    config["stages"]["dev"]["max_parallel"] = 1
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    (root / "marks").mkdir()
    env = {**os.environ, "MARKS": str(root / "marks"), "NO_COLOR": "1"}
    env.pop("FARGO_PROJECT_DIR", None)
    up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain"], cwd=root, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait(lambda: inbox.running_scheduler(root) is not None)
    ids = []
    for _ in range(4):
        event = inbox.envelope({"source": "fargo.lake", "detail-type": "Landed",
                                "detail": {"sleep": 0.5}}, None, None, "0" * 12, "us-east-1")
        ids.append(event["id"])
        inbox.post(root, event)
    inbox.wake(up.pid)
    _wait(lambda: len(json.loads(_run(["history", "--json"], cwd=root).stdout)) == 4)
    up.send_signal(signal.SIGTERM)
    output, _ = up.communicate(timeout=30)
    assert "waits for the next fargo up" in output, output
    again = _run(["up", "--plain", "--for", "4s"], cwd=root, env={"MARKS": str(root / "marks")})
    assert "never started; starting it now" in again.stdout, again.stdout
    runs = json.loads(_run(["history", "--json"], cwd=root).stdout)
    done = sorted(r["event_id"] for r in runs if r["status"] == "succeeded")
    stopped = [r for r in runs if r["status"] not in ("succeeded",)]
    # the one SIGTERM cut off is failed, and its retry succeeded
    assert sorted(set(done)) == sorted(ids) and len(done) == 4, (runs, again.stdout)
    assert all(r["status"] == "failed" for r in stopped), stopped


def test_patterns_that_fit_alone_but_not_joined_in_one_rule_are_refused(tmp_path: Path) -> None:
    sources = [f"fargo.source.{'x' * 40}.{i}" for i in range(30)]
    patterns = [{"source": [s], "detail-type": ["Landed"]} for s in sources]
    app = f'''
from fargo import App

app = App("lake")


@app.task(events={patterns!r})
def many(event):
    return None
'''
    root = project(tmp_path, app=app)
    assert_clean_error(_run(["validate"], cwd=root), "event patterns make one rule pattern of",
                       "EventBridge allows 2048")
