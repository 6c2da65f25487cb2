"""Deadlines: when a slot's run must have succeeded, the setting's checks, and the ledger's
word for a slot past its deadline."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from fargo import ledger
from fargo.project.deadline import resolve_deadline
from fargo.schedule.deadlines import Deadline, at_deadline, due, slots_due
from tests.conftest import _run, write_project


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def test_a_time_of_day_is_the_first_one_after_the_slot_in_its_zone() -> None:
    seven = at_deadline("07:00 Europe/Berlin")
    assert seven == Deadline(at="07:00", zone="Europe/Berlin")
    # winter: Berlin is UTC+1; a 05:00 Berlin slot is due at 06:00Z the same day
    assert due(seven, utc("2026-01-10T04:00:00Z"), "UTC") == utc("2026-01-10T06:00:00Z")
    # summer: UTC+2
    assert due(seven, utc("2026-07-10T03:00:00Z"), "UTC") == utc("2026-07-10T05:00:00Z")
    # a slot after 07:00 is due the next day's 07:00
    assert due(seven, utc("2026-07-10T20:00:00Z"), "UTC") == utc("2026-07-11T05:00:00Z")
    # without a zone: the job's own
    assert due(at_deadline("7:30"), utc("2026-03-01T10:00:00Z"), "America/New_York") \
        == utc("2026-03-01T12:30:00Z")


def test_a_deadline_in_a_dst_gap_is_the_hour_after() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: the deadline is 03:30 CEST (01:30Z)
    late = at_deadline("02:30 Europe/Berlin")
    assert due(late, utc("2026-03-28T23:00:00Z"), "UTC") == utc("2026-03-29T01:30:00Z")


def test_slots_whose_deadline_falls_in_a_window() -> None:
    nightly = Deadline(at="07:00", zone="Europe/Berlin")
    found = slots_due("cron(0 5 * * ? *)", "Europe/Berlin", nightly,
                      utc("2026-07-10T04:55:00Z"), utc("2026-07-10T05:00:00Z"))
    assert found == [(utc("2026-07-10T03:00:00Z"), utc("2026-07-10T05:00:00Z"))]
    assert slots_due("cron(0 5 * * ? *)", "Europe/Berlin", nightly,
                     utc("2026-07-10T05:00:00Z"), utc("2026-07-10T05:05:00Z")) == []
    # a rate on its recorded grid, ten minutes to succeed
    quick = Deadline(after=600)
    found = slots_due("rate(5 minutes)", "UTC", quick, utc("2026-07-10T05:00:00Z"),
                      utc("2026-07-10T05:05:00Z"), anchor=utc("2026-07-10T04:02:00Z"))
    assert found == [(utc("2026-07-10T04:52:00Z"), utc("2026-07-10T05:02:00Z"))]


@pytest.mark.parametrize(("value", "schedule", "expected"), [
    ("2h", "cron(0 5 * * ? *)", Deadline(after=7200)),
    (5400, "cron(0 5 * * ? *)", Deadline(after=5400)),
    ("07:00 Europe/Berlin", "cron(0 5 * * ? *)", Deadline(at="07:00", zone="Europe/Berlin")),
    ("30m", "rate(5 minutes)", Deadline(after=1800)),
])
def test_good_deadlines(value: object, schedule: str, expected: Deadline) -> None:
    assert resolve_deadline(value, schedule) == (expected, [])


@pytest.mark.parametrize(("value", "schedule", "words"), [
    ("2h", None, "has none"),
    ("07:00", "rate(5 minutes)", "a rate has no day"),
    ("07:00 Europe/Berlln", "cron(0 5 * * ? *)", "Europe/Berlin"),
    ("25:00", "cron(0 5 * * ? *)", "not a deadline"),
    ("soon", "cron(0 5 * * ? *)", "not a deadline"),
    ("10s", "cron(0 5 * * ? *)", "1 minute to 7 days"),
    ("8d", "cron(0 5 * * ? *)", "1 minute to 7 days"),
    (True, "cron(0 5 * * ? *)", "not a deadline"),
])
def test_bad_deadlines(value: object, schedule: str | None, words: str) -> None:
    found, problems = resolve_deadline(value, schedule)
    assert found is None
    assert any(words in p for p in problems), problems


def test_the_ledger_marks_slots_past_their_deadline() -> None:
    window = ledger.Window(utc("2026-07-10T00:00:00Z"), utc("2026-07-12T00:00:00Z"),
                           utc("2026-07-11T06:00:00Z"))
    slots = [utc("2026-07-09T03:00:00Z"), utc("2026-07-10T03:00:00Z"),
             utc("2026-07-11T03:00:00Z")]
    runs = [
        {"task": "a", "status": "succeeded", "scheduled_time": "2026-07-10T03:00:00Z",
         "started_at": "2026-07-10T03:01:00Z", "stopped_at": "2026-07-10T05:30:00Z"},
        {"task": "b", "status": "running", "scheduled_time": "2026-07-11T03:00:00Z",
         "started_at": "2026-07-11T03:01:00Z", "last_status": "RUNNING"},
    ]
    rows = ledger.reconcile("nightly", slots, runs, window)
    ledger.mark_deadlines(rows, Deadline(at="07:00", zone="Europe/Berlin"), "UTC", window.now)
    by_slot = {r["slot"]: r for r in rows}
    # succeeded, but at 05:30Z: after 07:00 Berlin (05:00Z)
    assert by_slot["2026-07-10T03:00:00Z"]["late"] is True
    assert "missed its deadline 07:00 Europe/Berlin" in by_slot["2026-07-10T03:00:00Z"]["reason"]
    # still running at 06:00Z, due 05:00Z
    assert by_slot["2026-07-11T03:00:00Z"]["late"] is True
    assert by_slot["2026-07-11T03:00:00Z"]["due"] == "2026-07-11T05:00:00Z"
    assert by_slot["2026-07-09T03:00:00Z"]["state"] == "missing"
    assert by_slot["2026-07-09T03:00:00Z"]["late"] is True


APP = """
    from fargo import App

    app = App("dl")

    @app.task("cron(0 5 * * ? *)", deadline="07:00 Europe/Berlin")
    def nightly(event):
        return None

    @app.task(deadline="1h")
    def ondemand(event):
        return None

    app.workflow("flow", nightly, schedule="cron(0 1 * * ? *)", deadline="3h")
    """


def test_a_deadline_without_a_schedule_is_one_error_naming_the_job(tmp_path: Path) -> None:
    root = write_project(tmp_path / "dl", APP, {"app_name": "dl",
                                                "tasks": {"nightly": {"deadline": "30"}}})
    r = _run(["validate"], cwd=root)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "ondemand" in r.stderr and "has none" in r.stderr
    assert "'30' is 30 s after the slot" in r.stderr
    assert "Traceback" not in r.stderr


AWS_APP = """
    from fargo import App

    app = App("dl")

    @app.task("cron(0 5 * * ? *)", timezone="Europe/Berlin", deadline="07:00")
    def nightly(event):
        return None

    @app.task("cron(0 * * * ? *)", deadline="30m")
    def hourly(event):
        return None

    @app.task("cron(0 * * * ? *)", deadline="30m", retries=1)
    def guarded(event):
        return None

    @app.schedule("cron(0 * * * ? *)")
    def report(event):
        return None

    app.workflow("flow", hourly, schedule="cron(0 * * * ? *)", deadline="20m")
    """
DL = "dl-dev"


def _task_record(job: str, slot: datetime, exit_code: int, ended: datetime) -> dict:
    return {"source": "aws.ecs", "detail": {
        "group": f"family:{DL}-{job}", "lastStatus": "STOPPED",
        "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/{DL}/{job}{slot:%H}",
        "containers": [{"name": "job", "exitCode": exit_code}],
        "stoppedAt": ended.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "overrides": {"containerOverrides": [{"name": "job", "environment": [
            {"name": "FARGO_SCHEDULED_TIME", "value": slot.strftime("%Y-%m-%dT%H:%M:%SZ")}]}]}}}


@pytest.mark.slow
def test_deadlines_on_aws_are_checked_by_the_watchdog_and_alert_once(
        tmp_path: Path, aws: dict[str, str]) -> None:
    import io
    import json
    import os
    import subprocess
    import sys
    import zipfile
    from datetime import timedelta

    from fargo.aws.deadline_function import check_deadlines
    from tests.conftest import boto, publish_image, use_network

    root = write_project(tmp_path / "dl", AWS_APP, {
        "app_name": "dl", "tasks": {"report": {"deadline": "1h"}, "hourly": {"overlap": "allow"},
                                  "nightly": {"overlap": "allow"}},
        "stages": {"dev": {"region": "us-east-1",
                           "alerts": {"emails": ["oncall@example.com"]}}}})
    use_network(root, aws, "dev")
    publish_image(aws, "dl", "v1")
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=aws,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    # least privilege: exactly the reads the four kinds of check need
    policy = boto(aws, "iam").get_role_policy(RoleName=f"{DL}-watchdog",
                                              PolicyName=f"{DL}-watchdog")["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    logs_read = by_sid["ReadRunsForDeadlines"]["Resource"]
    assert sorted(r.split(":log-group:")[1] for r in logs_read) == \
        ["/aws/lambda/dl-dev-report:*", "/fargo/dl/dev/_runs:*"]
    assert by_sid["ReadExecutionsForDeadlines"]["Resource"].endswith(":stateMachine:dl-dev-flow")
    schedules = by_sid["ReadSchedulesForDeadlines"]["Resource"]
    assert sorted(s.rsplit("/", 1)[1] for s in schedules) == \
        ["dl-dev-flow", "dl-dev-guarded", "dl-dev-hourly", "dl-dev-nightly", "dl-dev-report"]
    package = root / ".fargo" / "deploy" / "dev" / "watchdog.zip"
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        checks = json.loads(archive.read("deadlines.json"))
        assert {c["name"]: c["source"] for c in checks} == {
            "nightly": "ecs", "hourly": "ecs", "guarded": "runner", "report": "lambda",
            "flow": "workflow"}
        assert "tzdata/zoneinfo/Europe/Berlin" in archive.namelist()
        unpacked = tmp_path / "watchdog"
        archive.extractall(unpacked)

    # two hours ago: hourly succeeded in time; an hour ago it failed. The runner's guarded
    # succeeded for the older slot; report's Lambda line says it succeeded an hour ago.
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    older, newer = now - timedelta(hours=2), now - timedelta(hours=1)
    records = [_task_record("hourly", older, 0, older + timedelta(minutes=10)),
               _task_record("hourly", newer, 1, newer + timedelta(minutes=5)),
               {"source": "aws.states", "detail": {
                   "status": "SUCCEEDED", "stopDate": int((older + timedelta(minutes=9))
                                                          .timestamp() * 1000),
                   "input": json.dumps({"job": "guarded", "run_id": "x",
                                        "scheduled_time": older.strftime("%Y-%m-%dT%H:%M:%SZ")}),
                   "output": json.dumps({"status": "succeeded"})}}]
    logs = boto(aws, "logs")
    logs.create_log_stream(logGroupName="/fargo/dl/dev/_runs", logStreamName="test")
    logs.put_log_events(logGroupName="/fargo/dl/dev/_runs", logStreamName="test", logEvents=[
        {"timestamp": int((older + timedelta(minutes=12 + i)).timestamp() * 1000),
         "message": json.dumps(record)} for i, record in enumerate(records)])
    logs.create_log_stream(logGroupName="/aws/lambda/dl-dev-report", logStreamName="test")
    logs.put_log_events(logGroupName="/aws/lambda/dl-dev-report", logStreamName="test",
                        logEvents=[{"timestamp": int((newer + timedelta(minutes=2))
                                                     .timestamp() * 1000),
                                    "message": json.dumps({
                                        "run_id": "r1", "status": "succeeded",
                                        "event_time": newer.strftime("%Y-%m-%dT%H:%M:%SZ")})}])
    clients = {name: boto(aws, name) for name in ("logs", "stepfunctions", "scheduler", "events")}
    clients["states"] = clients["stepfunctions"]
    for check in checks:
        if check["source"] == "workflow":
            check["state_machine"] = f"arn:aws:states:us-east-1:123456789012:stateMachine:{DL}-flow"

    def missed(since: datetime, until: datetime) -> list[tuple[str, str]]:
        # (nightly's 07:00 Berlin may fall in any window, depending on when the test runs)
        return sorted((m["name"], m["slot"][11:16]) for m in check_deadlines(
            clients, checks, DL, "/fargo/dl/dev/_runs", since, until) if m["name"] != "nightly")

    hh = lambda moment: moment.strftime("%H:%M")  # noqa: E731
    # the deadlines of the older slot (30m, 20m for the workflow) passed in this window
    assert missed(older + timedelta(minutes=15), older + timedelta(minutes=35)) == [
        ("flow", hh(older))]
    # report's 1h deadline for the older slot: it has no succeeded line for it
    assert missed(newer - timedelta(minutes=5), newer + timedelta(minutes=5)) == [
        ("report", hh(older))]
    # the newer slot: hourly failed, guarded has no run at all; report succeeded
    assert missed(newer + timedelta(minutes=15), newer + timedelta(minutes=35)) == [
        ("flow", hh(newer)), ("guarded", hh(newer)), ("hourly", hh(newer))]
    # a window in which no deadline fell says nothing
    assert missed(newer + timedelta(minutes=36), newer + timedelta(minutes=40)) == []
    # a paused schedule owes nothing
    assert _run(["pause", "flow", "--stage", "dev"], cwd=root, env=aws).returncode == 0
    assert ("flow", hh(newer)) not in missed(newer + timedelta(minutes=15),
                                             newer + timedelta(minutes=35))

    # the zip as Lambda runs it, in a fresh interpreter with no zone files but its own: one
    # alert per missed slot, on the stage's topic
    sqs, sns = boto(aws, "sqs"), boto(aws, "sns")
    queue = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    function = boto(aws, "lambda").get_function(FunctionName=f"{DL}-watchdog")["Configuration"]
    variables = function["Environment"]["Variables"]
    sns.subscribe(TopicArn=variables["FARGO_ALERT_TOPIC"], Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    moment = (newer + timedelta(minutes=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code = ("import json, types, fargo_watchdog\n"
            f"context = types.SimpleNamespace(invoked_function_arn={function['FunctionArn']!r})\n"
            f"print(json.dumps(fargo_watchdog.handler({{'time': {moment!r}}}, context)))\n")
    env = {**os.environ, **variables, "PYTHONPATH": str(unpacked), "PYTHONTZPATH": "",
           **{k: v for k, v in aws.items() if k.startswith("AWS_")}}
    done = subprocess.run([sys.executable, "-c", code], cwd=unpacked, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"stopped": 0, "missed_deadlines": 2}
    bodies = sorted(m["Body"] for m in sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10)["Messages"])
    assert len(bodies) == 2
    assert bodies[0].startswith("fargo dl-dev: job guarded missed its deadline (30m after its "
                                "slot)")
    assert bodies[1].startswith("fargo dl-dev: job hourly missed its deadline")

    # and the ledger says the same of the slots
    rows = json.loads(_run(["history", "hourly", "--stage", "dev", "--json", "--since", "3h"],
                           cwd=root, env=aws).stdout)
    late = {r["slot"][11:16]: r["late"] for r in rows if r["kind"] == "slot"}
    assert late[hh(older)] is False and late[hh(newer)] is True
