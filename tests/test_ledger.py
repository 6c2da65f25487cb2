"""The ledger: every slot a deployed schedule owed, matched to what AWS recorded of it.

The unit tests check the slot arithmetic and the states; the moto test deploys a project with
real terraform, writes a day of records as EventBridge, ECS and Scheduler write them (moto runs
no schedules), and reads the day back through `fargo history --stage` and `fargo status`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fargo import ledger
from tests.conftest import (
    _run,
    assert_clean_error,
    boto,
    publish_image,
    use_network,
    write_project,
)

UTC = timezone.utc


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- slots ------------------------------------------------------------------------------------

def test_a_rate_counts_from_its_anchor_not_from_the_window() -> None:
    anchor = _at("2026-03-01T00:02:30Z")
    got = ledger.slots("rate(5 minutes)", "UTC", _at("2026-03-01T10:00:00Z"),
                       _at("2026-03-01T10:20:00Z"), anchor)
    assert [ledger._key(s) for s in got] == ["2026-03-01T10:02:30Z", "2026-03-01T10:07:30Z",
                                             "2026-03-01T10:12:30Z", "2026-03-01T10:17:30Z"]
    # an anchor after the window counts back on the same grid
    later = ledger.slots("rate(5 minutes)", "UTC", _at("2026-03-01T10:00:00Z"),
                         _at("2026-03-01T10:10:00Z"), _at("2026-03-02T00:02:30Z"))
    assert [ledger._key(s) for s in later] == ["2026-03-01T10:02:30Z", "2026-03-01T10:07:30Z"]


def test_a_day_of_a_five_minute_rate_is_288_slots() -> None:
    until = _at("2026-03-02T00:00:00Z")
    assert len(ledger.slots("rate(5 minutes)", "UTC", until - timedelta(days=1), until,
                            until)) == 288


def test_cron_slots_follow_the_zone_across_dst() -> None:
    # Europe/Berlin springs forward on 2026-03-29: 02:30 does not exist that day
    got = ledger.slots("cron(30 2 * * ? *)", "Europe/Berlin", _at("2026-03-27T00:00:00Z"),
                       _at("2026-03-31T00:00:00Z"))
    assert [ledger._key(s) for s in got] == ["2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z",
                                             "2026-03-30T00:30:00Z"]


def test_a_window_of_too_many_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="slots"):
        ledger.slots("rate(1 minute)", "UTC", _at("2026-01-01T00:00:00Z"),
                     _at("2026-12-01T00:00:00Z"))


# --- states -----------------------------------------------------------------------------------

def _window(now: str) -> ledger.Window:
    moment = _at(now)
    return ledger.Window(moment - timedelta(hours=1), moment, moment)


def test_each_state_of_a_slot() -> None:
    window = _window("2026-03-01T11:00:00Z")
    slots = ledger.slots("rate(10 minutes)", "UTC", window.since, window.until,
                         _at("2026-03-01T10:00:00Z"))
    assert len(slots) == 6
    runs = [
        {"task": "ok", "status": "succeeded", "scheduled_time": "2026-03-01T10:10:00Z",
         "started_at": "2026-03-01T10:10:40Z", "exit_code": 0},
        {"task": "pull", "status": "failed", "scheduled_time": "2026-03-01T10:20:00Z",
         "stop_code": "TaskFailedToStart", "exit_code": None,
         "stopped_reason": "CannotPullContainerError"},
        {"task": "stuck", "status": "running", "last_status": "PROVISIONING",
         "scheduled_time": "2026-03-01T10:30:00Z", "created_at": "2026-03-01T10:30:05Z"},
        # slot 10:40 has no record
        {"task": "t1", "status": "failed", "scheduled_time": "2026-03-01T10:50:00Z",
         "stop_code": "TaskFailedToStart", "exit_code": None, "attempt": 1},
        {"task": "t2", "status": "failed", "scheduled_time": "2026-03-01T10:50:00Z",
         "started_at": "2026-03-01T10:52:00Z", "exit_code": 3, "attempt": 2},
        {"task": "manual", "status": "succeeded", "started_at": "2026-03-01T10:45:00Z",
         "trigger": "manual"},
        {"task": "old", "status": "succeeded", "started_at": "2026-03-01T08:00:00Z"},
    ]
    rows = ledger.ordered(ledger.reconcile("job", slots, runs, window))
    by_slot = {r["slot"]: r for r in rows if r["kind"] == "slot"}
    assert by_slot["2026-03-01T10:10:00Z"]["state"] == "succeeded"
    assert by_slot["2026-03-01T10:10:00Z"]["start_latency_s"] == 40
    assert by_slot["2026-03-01T10:20:00Z"]["state"] == "failed_to_start"
    assert by_slot["2026-03-01T10:30:00Z"]["state"] == "stuck"
    assert "still PROVISIONING after 1795 s" in by_slot["2026-03-01T10:30:00Z"]["reason"]
    assert by_slot["2026-03-01T10:40:00Z"]["state"] == "missing"
    retried = by_slot["2026-03-01T10:50:00Z"]
    assert (retried["state"], retried["attempts"], retried["start_failures"],
            retried["retried"], retried["exit_code"]) == ("failed", 2, 1, True, 3)
    assert by_slot["2026-03-01T11:00:00Z"]["state"] == "due"
    (loose,) = [r for r in rows if r["kind"] == "run"]  # the old run is outside the window
    assert loose["run"] == "manual" and loose["trigger"] == "manual"
    assert [r["slot"] for r in rows][:2] == ["2026-03-01T11:00:00Z", "2026-03-01T10:50:00Z"]
    paused = ledger.reconcile("job", slots, [], window, paused=True)
    assert {r["state"] for r in paused} == {"paused", "due"}


def test_a_run_without_a_scheduled_time_may_be_matched_by_when_it_started() -> None:
    window = _window("2026-03-01T11:00:00Z")
    slots = [_at("2026-03-01T10:00:00Z"), _at("2026-03-01T10:30:00Z")]
    runs = [{"task": "e1", "status": "succeeded", "started_at": "2026-03-01T10:30:02Z"}]
    rows = ledger.reconcile("flow", slots, runs, window, match_by_start=900)
    assert [(r["slot"], r["state"]) for r in rows] == [
        ("2026-03-01T10:00:00Z", "missing"), ("2026-03-01T10:30:00Z", "succeeded")]


def test_a_manual_run_does_not_move_a_rates_grid() -> None:
    runs = [{"task": "exec-1", "scheduled_time": "2026-03-01T10:00:00Z"},
            {"task": "run-20260301T101234-abc123", "scheduled_time": "2026-03-01T10:12:34Z"},
            {"task": "t9", "trigger": "manual", "scheduled_time": "2026-03-01T10:13:00Z"}]
    assert ledger.anchor_of(runs, None) == _at("2026-03-01T10:00:00Z")


def test_the_job_owes_slots_from_its_first_record_or_its_schedule() -> None:
    created = _at("2026-03-01T10:00:00Z")
    assert ledger.job_start(created, []) == created
    older = [{"scheduled_time": "2026-02-28T10:00:00Z"}]
    assert ledger.job_start(created, older) == _at("2026-02-28T10:00:00Z")
    assert ledger.job_start(None, []) is None


# --- a deployed stage on moto ------------------------------------------------------------------

APP = """
    from fargo import App

    app = App("ledger")

    @app.task("rate(5 minutes)", cpu=256, memory=512, timeout="2m")
    def every_five(event):
        return None

    @app.task("rate(1 hour)", retries=1, timeout="2m")
    def hourly(event):
        return None

    @app.schedule("cron(30 2 * * ? *)")
    def nightly(event):
        return None
    """
GROUP = "ledger-dev"
RUNS = "/fargo/ledger/dev/_runs"


def _stopped(task: str, slot: datetime, exit_code: int | None, stop_code: str, reason: str = "",
             attempt: int = 1) -> str:
    containers = [{"name": "job", "lastStatus": "STOPPED"}]
    if exit_code is not None:
        containers[0]["exitCode"] = exit_code
    stamp = lambda s: (slot + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    detail = {
        "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/{GROUP}/{task}",
        "group": f"family:{GROUP}-every_five", "lastStatus": "STOPPED", "stopCode": stop_code,
        "stoppedReason": reason, "version": 5, "containers": containers,
        "overrides": {"containerOverrides": [{"name": "job", "environment": [
            {"name": "FARGO_SCHEDULED_TIME", "value": ledger._key(slot)},
            {"name": "FARGO_ATTEMPT", "value": str(attempt)},
            {"name": "FARGO_RUN_ID", "value": f"exec-{task}"}]}]},
        "createdAt": stamp(5), "stoppedAt": stamp(100), "startedBy": "chronos"}
    if exit_code is not None:
        detail["startedAt"] = stamp(40)
    return json.dumps({"source": "aws.ecs", "detail-type": "ECS Task State Change",
                       "detail": detail})


def _dead_letter(env: dict[str, str], slot: datetime, code: str, message: str) -> None:
    """What Scheduler puts in the dead-letter queue when it could not start a run."""
    sqs = boto(env, "sqs")
    url = sqs.get_queue_url(QueueName=f"{GROUP}-dead-letter")["QueueUrl"]
    body = {"containerOverrides": [{"name": "job", "environment": [
        {"name": "FARGO_SCHEDULED_TIME", "value": ledger._key(slot)},
        {"name": "FARGO_ATTEMPT", "value": "186"},
        {"name": "FARGO_RUN_ID", "value": f"dl-{ledger._key(slot)}"}]}]}
    text = lambda v: {"DataType": "String", "StringValue": v}  # noqa: E731
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), MessageAttributes={
        "ERROR_CODE": text(code), "ERROR_MESSAGE": text(message),
        "EXECUTION_ID": text(f"dl-{ledger._key(slot)}"),
        "SCHEDULE_ARN": text(f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/"
                             f"{GROUP}-every_five"),
        "TARGET_ARN": text(f"arn:aws:ecs:us-east-1:123456789012:cluster/{GROUP}")})


@pytest.mark.slow
def test_a_day_of_a_five_minute_job_is_288_slots_each_accounted_for(
        tmp_path: Path, aws: dict[str, str]) -> None:
    root = write_project(tmp_path / "ledger", APP, {
        "app_name": "ledger", "tasks": {"every_five": {"overlap": "allow"}},
        "stages": {"dev": {"region": "us-east-1", "create_dead_letter_queue": True}}})
    use_network(root, aws, "dev")
    publish_image(aws, "ledger", "v1")
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=aws,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    until = now - timedelta(minutes=now.minute % 5) - timedelta(minutes=5)
    since = until - timedelta(days=1)
    grid = [since + timedelta(minutes=5 * (i + 1)) for i in range(288)]
    failed = {i for i in range(288) if i % 50 == 7}
    timed_out, pull, eni_retry = 100, 120, 140
    dead = {130: ("ECS.RunTask.Failure", "RESOURCE:ENI"),
            131: ("AWS.Scheduler.ThrottlingException", "Rate exceeded")}
    missing = set(range(200, 206))  # e.g. the task definition was deregistered
    stuck = 287  # the last slot: a task still PROVISIONING
    records = []
    for i, slot in enumerate(grid):
        if i in missing or i in dead or i == stuck:
            continue
        if i in failed:
            records.append(_stopped(f"t{i}", slot, 1, "EssentialContainerExited"))
        elif i == timed_out:
            records.append(_stopped(f"t{i}", slot, 124, "EssentialContainerExited"))
        elif i == pull:
            records.append(_stopped(f"t{i}", slot, None, "TaskFailedToStart",
                                    "CannotPullContainerError: pull image manifest has been "
                                    "retried 5 time(s)"))
        elif i == eni_retry:
            records.append(_stopped(f"t{i}a", slot, None, "TaskFailedToStart",
                                    "ResourceInitializationError: ENI", attempt=1))
            records.append(_stopped(f"t{i}b", slot, 0, "EssentialContainerExited", attempt=2))
        else:
            records.append(_stopped(f"t{i}", slot, 0, "EssentialContainerExited"))
    logs = boto(aws, "logs")
    logs.create_log_stream(logGroupName=RUNS, logStreamName="events")
    stamp = int(time.time() * 1000)
    for start in range(0, len(records), 100):  # PutLogEvents takes batches; EventBridge too
        logs.put_log_events(logGroupName=RUNS, logStreamName="events", logEvents=[
            {"timestamp": stamp + start + i, "message": m}
            for i, m in enumerate(records[start:start + 100])])
    for i, (code, message) in dead.items():
        _dead_letter(aws, grid[i], code, message)
    # the last slot's task was placed and never got past PROVISIONING
    from fargo.project.load import load_project

    spec = load_project(root, "dev").require("every_five")
    boto(aws, "ecs").run_task(
        cluster=GROUP, taskDefinition=spec.full_name, launchType="FARGATE",
        group=f"family:{spec.full_name}", startedBy="chronos",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": list(spec.subnets), "securityGroups": list(spec.security_groups)}},
        overrides={"containerOverrides": [{"name": "job", "environment": [
            {"name": "FARGO_SCHEDULED_TIME", "value": ledger._key(grid[stuck])},
            {"name": "FARGO_EVENT", "value": '{"moto_status": "PROVISIONING"}'}]}]})

    window = ["--since", ledger._key(since), "--until", ledger._key(until)]
    r = _run(["history", "every_five", "--stage", "dev", "--json", "--pending-limit", "0s",
              *window], cwd=root, env=aws, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads(r.stdout)
    slots = [row for row in rows if row["kind"] == "slot"]
    assert len(slots) == 288 and len(rows) == 288
    state = {_at(row["slot"]): row for row in slots}
    assert sorted(state) == grid
    expected_counts = {"succeeded": 288 - len(failed) - 1 - 1 - len(dead) - len(missing) - 1,
                       "failed": len(failed), "timed_out": 1, "failed_to_start": 1 + len(dead),
                       "missing": len(missing), "stuck": 1}
    assert ledger.summary(rows) == {k: v for k, v in expected_counts.items() if v}
    for i, slot in enumerate(grid):
        row = state[slot]
        want = ("missing" if i in missing else "stuck" if i == stuck
                else "failed_to_start" if i in dead or i == pull
                else "failed" if i in failed else "timed_out" if i == timed_out
                else "succeeded")
        assert row["state"] == want, (i, row)
    assert state[grid[0]]["start_latency_s"] == 40 and state[grid[0]]["run"] == "t0"
    assert state[grid[7]]["exit_code"] == 1
    assert "CannotPullContainerError" in state[grid[pull]]["reason"]
    assert "RESOURCE:ENI" in state[grid[130]]["reason"]
    assert "dead-letter" in state[grid[131]]["reason"]
    assert "Rate exceeded" in state[grid[131]]["reason"]
    retried = state[grid[eni_retry]]
    assert (retried["state"], retried["attempts"], retried["start_failures"],
            retried["retried"]) == ("succeeded", 2, 1, True)
    assert "no record" in state[grid[200]]["reason"]
    assert "PROVISIONING" in state[grid[stuck]]["reason"]
    assert state[grid[0]]["reason"] is None  # a success needs no reason

    # the dead letters were moved into the run records: the queue is empty, the ledger the same
    sqs = boto(aws, "sqs")
    url = sqs.get_queue_url(QueueName=f"{GROUP}-dead-letter")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    again = json.loads(_run(["history", "every_five", "--stage", "dev", "--json",
                             "--pending-limit", "0s", *window], cwd=root, env=aws,
                            timeout=120).stdout)
    brief = lambda rs: [(r["slot"], r["state"], r["run"], r["attempts"]) for r in rs]  # noqa: E731
    assert brief(again) == brief(rows)

    # the table, and the whole stage: the Lambda and runner jobs owe their own slots
    table = _run(["history", "--stage", "dev", *window], cwd=root, env=aws, timeout=120)
    assert table.returncode == 0, table.stderr
    assert "missing" in table.stdout and "failed_to_start" in table.stdout
    assert "RESOURCE:ENI" in table.stdout
    everything = json.loads(_run(["history", "--stage", "dev", "--json", *window], cwd=root,
                                 env=aws, timeout=120).stdout)
    jobs = {row["job"] for row in everything}
    assert jobs == {"every_five"}  # the others were deployed now: they owed nothing yet
    recent = json.loads(_run(["history", "--stage", "dev", "--json", "--since", "1h"],
                             cwd=root, env=aws, timeout=120).stdout)
    assert {r["job"] for r in recent} >= {"every_five", "hourly"}

    # a schedule deleted behind fargo's back: its slots are still owed, and missing says why
    boto(aws, "scheduler").delete_schedule(Name=f"{GROUP}-every_five", GroupName=GROUP)
    gone = json.loads(_run(["history", "every_five", "--stage", "dev", "--json",
                            "--pending-limit", "0s", *window], cwd=root, env=aws,
                           timeout=120).stdout)
    assert len(gone) == 288
    (hole,) = [r for r in gone if r["slot"] == ledger._key(grid[200])]
    assert hole["state"] == "missing" and "schedule is not deployed" in hole["reason"]

    # status: the ledger's last day per job
    status = {row["name"]: row for row in json.loads(
        _run(["status", "--stage", "dev", "--json"], cwd=root, env=aws, timeout=120).stdout)
        if "ledger" in row}
    assert status["every_five"]["ledger"]["counts"]["missing"] >= 5
    assert status["every_five"]["ledger"]["start_failures"] >= 4


def test_a_window_that_makes_no_sense_is_one_error(tmp_path: Path) -> None:
    root = write_project(tmp_path / "w", APP, {"app_name": "ledger",
                                              "stages": {"dev": {"region": "us-east-1"}}})
    r = _run(["history", "--stage", "dev", "--since", "2026-01-02T00:00:00Z", "--until",
              "2026-01-01T00:00:00Z"], cwd=root)
    assert_clean_error(r, "--since", "not before --until")
    r = _run(["history", "--stage", "dev", "--since", "90d"], cwd=root)
    assert_clean_error(r, "at most 31")
    r = _run(["history", "--stage", "dev", "--since", "soon"], cwd=root)
    assert_clean_error(r, "--since", "not a duration")
    r = _run(["history", "nope", "--stage", "dev"], cwd=root)
    assert_clean_error(r, "nope")


@pytest.mark.slow
def test_a_stage_without_run_records_shows_its_dead_letters_and_keeps_them(
        tmp_path: Path, aws: dict[str, str]) -> None:
    """Lambda jobs only: no _runs log group to move dead letters into; they are shown, and
    left in the queue (its retention is their only home)."""
    root = write_project(tmp_path / "fn", """
        from fargo import App

        app = App("fn")

        @app.schedule("rate(1 hour)")
        def hourly(event):
            return None
        """, {"app_name": "fn", "stages": {"dev": {"region": "us-east-1",
                                                     "create_dead_letter_queue": True}}})
    r = _run(["deploy", "--stage", "dev", "--yes"], cwd=root, env=aws, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    sqs = boto(aws, "sqs")
    url = sqs.get_queue_url(QueueName="fn-dev-dead-letter")["QueueUrl"]
    slot = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    text = lambda v: {"DataType": "String", "StringValue": v}  # noqa: E731
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
        "version": "0", "id": "exec-1", "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "time": ledger._key(slot), "detail": {}}),
        MessageAttributes={"ERROR_CODE": text("Lambda.TooManyRequestsException"),
                           "ERROR_MESSAGE": text("Rate Exceeded."),
                           "SCHEDULE_ARN": text("arn:aws:scheduler:us-east-1:123456789012:"
                                                "schedule/fn-dev/fn-dev-hourly")})
    r = _run(["history", "--stage", "dev", "--json"], cwd=root, env=aws, timeout=120)
    assert r.returncode == 0, r.stderr
    (row,) = [row for row in json.loads(r.stdout) if row["run"] == "exec-1"]
    assert row["state"] == "failed_to_start" and "Rate Exceeded." in row["reason"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    kept = int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"])
    assert kept == 1
