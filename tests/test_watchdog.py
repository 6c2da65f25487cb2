"""The stage's watchdog: deployed by real terraform on moto, least privilege, and stopping a
task stuck in PENDING and one running past its timeout, with the alert and the ledger's word
for each (moto runs no schedules and no Lambda code, so the function's code is called here with
clients of the same moto)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fargo.aws import watchdog_function
from tests.conftest import _run, boto, publish_image, use_network, write_project

pytestmark = pytest.mark.slow

APP = """
    from fargo import App

    app = App("wd")

    @app.task("rate(5 minutes)", timeout="2m")
    def quick(event):
        return None

    @app.task("rate(1 day)", timeout="2h")
    def slow(event):
        return None
    """
PREFIX = "wd-dev"


def _start(aws: dict[str, str], root: Path, job: str, held: str | None = None) -> str:
    from fargo.project.load import load_project

    spec = load_project(root, "dev").require(job)
    environment = [{"name": "FARGO_EVENT", "value": json.dumps({"moto_status": held})}] \
        if held else []
    return boto(aws, "ecs").run_task(
        cluster=PREFIX, taskDefinition=spec.full_name, launchType="FARGATE",
        group=f"family:{spec.full_name}", startedBy="chronos",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": list(spec.subnets), "securityGroups": list(spec.security_groups)}},
        overrides={"containerOverrides": [{"name": "job", "environment": environment}]},
    )["tasks"][0]["taskArn"]


def _transition(aws: dict[str, str], transition: dict[str, object] | None) -> None:
    import urllib.request

    action = "set-transition" if transition else "unset-transition"
    body = {"model_name": "ecs::task", **({"transition": transition} if transition else {})}
    urllib.request.urlopen(urllib.request.Request(
        f"{aws['AWS_ENDPOINT_URL']}/moto-api/state-manager/{action}",
        data=json.dumps(body).encode(), method="POST")).read()


def test_the_watchdog_stops_stuck_and_overrunning_tasks_and_says_why(
        tmp_path: Path, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    root = write_project(tmp_path / "wd", APP, {
        "app_name": "wd", "tasks": {"quick": {"overlap": "allow"}, "slow": {"overlap": "allow"}},
        "stages": {"dev": {"region": "us-east-1", "pending_limit": "15m",
                           "alerts": {"emails": ["oncall@example.com"]}}}})
    use_network(root, aws, "dev")
    publish_image(aws, "wd", "v1")
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=aws,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    # deployed: the function (its zip is this very file), its rule, and a least-privilege role
    function = boto(aws, "lambda").get_function(FunctionName=f"{PREFIX}-watchdog")
    config = function["Configuration"]
    assert config["Handler"] == "fargo_watchdog.handler"
    assert config["Environment"]["Variables"]["FARGO_PENDING_LIMIT"] == "900"
    assert config["Environment"]["Variables"]["FARGO_CLUSTER"].endswith(f":cluster/{PREFIX}")
    package = root / ".fargo" / "deploy" / "dev" / "watchdog.zip"
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        assert archive.namelist() == ["fargo_watchdog.py"]
        assert archive.read("fargo_watchdog.py") == \
            Path(watchdog_function.__file__).read_bytes()
    rule = boto(aws, "events").describe_rule(Name=f"{PREFIX}-watchdog")
    assert rule["ScheduleExpression"] == "rate(5 minutes)"
    targets = boto(aws, "events").list_targets_by_rule(Rule=f"{PREFIX}-watchdog")["Targets"]
    assert [t["Arn"] for t in targets] == [config["FunctionArn"]]
    iam = boto(aws, "iam")
    policy = json.loads(json.dumps(iam.get_role_policy(
        RoleName=f"{PREFIX}-watchdog", PolicyName=f"{PREFIX}-watchdog")["PolicyDocument"]))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"ListStageTasks", "StopStuckTasks", "ReadJobTimeouts", "OwnLog",
                           "Alert"}
    stop = by_sid["StopStuckTasks"]
    assert sorted(stop["Action"]) == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert stop["Resource"].endswith(f":task/{PREFIX}/*")
    assert by_sid["Alert"]["Resource"].endswith(f":{PREFIX}-alerts")
    assert by_sid["ListStageTasks"]["Condition"]["ArnEquals"]["ecs:cluster"].endswith(
        f":cluster/{PREFIX}")

    # three tasks: one never leaves PROVISIONING, one of a 2-minute job, one of a 2-hour job
    # (moto moves a task on at each look unless told to hold it: it holds them here)
    _transition(aws, {"progression": "manual", "times": 1_000_000})
    request.addfinalizer(lambda: _transition(aws, None))
    stuck = _start(aws, root, "quick", held="PROVISIONING")
    overran = _start(aws, root, "quick")
    fine = _start(aws, root, "slow")
    ecs = boto(aws, "ecs")
    soon = datetime.now(timezone.utc) + timedelta(minutes=5)
    assert watchdog_function.check(ecs, PREFIX, PREFIX, 900, soon) == []  # nothing is late yet
    later = datetime.now(timezone.utc) + timedelta(minutes=16)
    stopped = watchdog_function.check(ecs, PREFIX, PREFIX, 900, later)
    assert sorted(s["task"] for s in stopped) == sorted([stuck, overran])
    tasks = {t["taskArn"]: t for t in ecs.describe_tasks(
        cluster=PREFIX, tasks=[stuck, overran, fine])["tasks"]}
    assert tasks[stuck]["lastStatus"] == "STOPPED"
    assert tasks[stuck]["stoppedReason"].startswith("fargo watchdog: stuck in PROVISIONING")
    assert "pending limit is 900 s" in tasks[stuck]["stoppedReason"]
    assert tasks[overran]["stoppedReason"].startswith(
        "fargo watchdog: ran past its timeout of 120 s")
    assert tasks[fine]["lastStatus"] != "STOPPED"

    # the history and the ledger say what happened to each
    rows = {r["task"]: r for r in json.loads(_run(
        ["history", "quick", "--stage", "dev", "--runs", "--json"], cwd=root, env=aws).stdout)}
    assert rows[stuck.rsplit("/", 1)[1]]["status"] == "failed"
    assert rows[overran.rsplit("/", 1)[1]]["status"] == "timed_out"
    assert rows[overran.rsplit("/", 1)[1]]["exit_code"] == 124
    ledger = json.loads(_run(["history", "quick", "--stage", "dev", "--json"], cwd=root,
                             env=aws).stdout)
    states = {r["run"]: r["state"] for r in ledger}
    assert states[stuck.rsplit("/", 1)[1]] == "failed_to_start"
    assert states[overran.rsplit("/", 1)[1]] == "timed_out"

    # the function itself, as Lambda runs it: stops what is stuck, and alerts once per task
    sqs, sns = boto(aws, "sqs"), boto(aws, "sns")
    queue = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    topic = config["Environment"]["Variables"]["FARGO_ALERT_TOPIC"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    again = _start(aws, root, "quick", held="PENDING")
    for name, value in {**config["Environment"]["Variables"], "FARGO_PENDING_LIMIT": "0",
                        **{k: v for k, v in aws.items() if k.startswith("AWS_")}}.items():
        monkeypatch.setenv(name, value)
    assert watchdog_function.handler({}, None) == {"stopped": 1, "missed_deadlines": 0}
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert "fargo wd-dev: family:wd-dev-quick fargo watchdog: stuck in PENDING" in \
        messages[0]["Body"] and again in messages[0]["Body"]


def test_a_pending_limit_out_of_range_is_one_error(tmp_path: Path) -> None:
    from tests.conftest import assert_clean_error

    for value, needle in (("30s", "allowed: 1m to 24h"), ("soon", "not a duration"),
                          (True, "expected integer or string")):
        root = write_project(tmp_path / f"p{value}", APP, {
            "app_name": "wd", "stages": {"dev": {"region": "us-east-1",
                                                 "pending_limit": value}}})
        r = _run(["validate", "--stage", "dev"], cwd=root)
        assert_clean_error(r, "stages.dev.pending_limit", needle)
