"""Operating a deployed stage (deployed by real terraform) on moto: run, wait, follow, logs,
history, pause/resume, status, and AWS errors as messages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from fargo.aws.run import explain
from tests.conftest import REPO, _run, assert_clean_error, boto, publish_image, use_network

# one deployment for the whole module: keep its tests on one worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("operate")]
GROUP = "etl-platform-dev"


def _post(url: str, body: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request).read()


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory, terraform_env: dict[str, str]):
    """The example's dev stage, with real moto subnets, alerts and a DLQ, deployed once.

    Its moto runs in a process of its own: moto's state is global to a process, so a server
    in the test process would share (and be reset with) every other test's AWS.
    """
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tests.moto_server", str(port)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)
    env = {**terraform_env, "AWS_ENDPOINT_URL": endpoint,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "FARGO_POLL_SECONDS": "0.1"}
    # the stage's runner executes on moto's Step Functions interpreter
    _post(f"{endpoint}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
    try:
        root = tmp_path_factory.mktemp("operate") / "etl-platform"
        shutil.copytree(REPO / "examples" / "etl-platform", root,
                        ignore=shutil.ignore_patterns("data", "__pycache__", "local", "deploy",
                                                      "build"))
        use_network(root, env, "dev")
        config_path = root / ".fargo" / "config.json"
        config = json.loads(config_path.read_text())
        config["stages"]["dev"].update(create_dead_letter_queue=True,
                                       alerts={"emails": ["oncall@example.com"]})
        config_path.write_text(json.dumps(config))
        publish_image(env, "etl-platform", "v1")
        r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=env,
                 timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        yield root, env
    finally:
        server.terminate()
        server.wait(timeout=30)


def fargo(deployed, *args: str, **kw):
    root, env = deployed
    return _run(list(args), cwd=root, env={**env, **kw.pop("env", {})}, timeout=120, **kw)


def manual_tasks(env: dict[str, str], times: int) -> None:
    """moto advances a task one state per `times` DescribeTasks calls (RUNNING ... STOPPED)."""
    _post(f"{env['AWS_ENDPOINT_URL']}/moto-api/state-manager/set-transition",
          {"model_name": "ecs::task", "transition": {"progression": "manual", "times": times}})


def test_alert_and_run_record_rules_exist(deployed) -> None:
    _, env = deployed
    events = boto(env, "events")
    failures = json.loads(events.describe_rule(Name=f"{GROUP}-failures")["EventPattern"])
    assert failures["detail"]["lastStatus"] == ["STOPPED"]
    assert {"stopCode": ["TaskFailedToStart", "SpotInterruption", "TerminationNotice",
                         "InfrastructureHealth"]} in failures["detail"]["$or"]
    # tasks the runner starts have their own group: the runner alerts once per run instead
    assert failures["detail"]["group"] == [{"prefix": f"family:{GROUP}-"}]
    (target,) = events.list_targets_by_rule(Rule=f"{GROUP}-failures")["Targets"]
    assert target["Arn"].endswith(f":{GROUP}-alerts")
    (runs,) = events.list_targets_by_rule(Rule=f"{GROUP}-runs")["Targets"]
    assert runs["Arn"].endswith(":log-group:/fargo/etl-platform/dev/_runs")
    recorded = json.loads(events.describe_rule(Name=f"{GROUP}-runs")["EventPattern"])
    assert recorded["detail"]["group"] == [{"prefix": f"family:{GROUP}-"},
                                           {"prefix": f"fargo-runner:{GROUP}-"}]
    runner_arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{GROUP}-runner"
    ended = json.loads(events.describe_rule(Name=f"{GROUP}-runner-runs")["EventPattern"])
    assert ended == {"source": ["aws.states"],
                     "detail-type": ["Step Functions Execution Status Change"],
                     "detail": {"stateMachineArn": [runner_arn],
                                "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]}}
    (ended_target,) = events.list_targets_by_rule(Rule=f"{GROUP}-runner-runs")["Targets"]
    assert ended_target["Arn"] == runs["Arn"]
    failed = json.loads(events.describe_rule(Name=f"{GROUP}-runner-failures")["EventPattern"])
    assert failed["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    (alert,) = events.list_targets_by_rule(Rule=f"{GROUP}-runner-failures")["Targets"]
    assert alert["Arn"] == target["Arn"]
    alarm = boto(env, "cloudwatch").describe_alarms(AlarmNames=[f"{GROUP}-dead-letters"])
    assert alarm["MetricAlarms"][0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    # only this stage's failure rule and alarm may publish to its topic
    topic = target["Arn"]
    policy = json.loads(boto(env, "sns").get_topic_attributes(TopicArn=topic)["Attributes"][
        "Policy"])
    (statement,) = policy["Statement"]
    assert sorted(statement["Condition"]["ArnLike"]["aws:SourceArn"]) == [
        f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{GROUP}-dead-letters",
        f"arn:aws:events:us-east-1:123456789012:rule/{GROUP}-failures",
        f"arn:aws:events:us-east-1:123456789012:rule/{GROUP}-runner-failures"]


def test_run_uses_the_schedule_target_parameters_and_overrides(deployed) -> None:
    _, env = deployed
    manual_tasks(env, 1000)
    r = fargo(deployed, "run", "daily_report", "--stage", "dev", "--env", "LIMIT=5",
              "--event", '{"detail": {"backfill": "2024-01-01"}}')
    assert r.returncode == 0, r.stderr
    task_arn = r.stdout.strip().splitlines()[-1]
    task = boto(env, "ecs").describe_tasks(cluster=GROUP, tasks=[task_arn])["tasks"][0]
    assert task["taskDefinitionArn"].split("/")[-1].startswith("etl-platform-dev-daily_report:")
    assert task["launchType"] == "FARGATE" and task["group"] == f"family:{GROUP}-daily_report"
    assert task["startedBy"] == "fargo-run"
    environment = {e["name"]: e["value"]
                   for e in task["overrides"]["containerOverrides"][0]["environment"]}
    assert environment["LIMIT"] == "5"
    assert json.loads(environment["FARGO_EVENT"]) == {"detail": {"backfill": "2024-01-01"}}


def test_run_wait_returns_the_exit_code(deployed) -> None:
    _, env = deployed
    manual_tasks(env, 2)
    r = fargo(deployed, "run", "daily_report", "--stage", "dev", "--wait",
              "--timeout", "60s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "daily_report: succeeded" in r.stderr


def test_wait_timeout_exits_124(deployed) -> None:
    _, env = deployed
    manual_tasks(env, 10_000)
    r = fargo(deployed, "run", "daily_report", "--stage", "dev", "--wait", "--timeout", "1s")
    assert r.returncode == 124 and "stopped waiting" in r.stderr
    r = fargo(deployed, "run", "fetch_events", "--stage", "dev", "--wait", "--timeout", "1s")
    assert r.returncode == 124 and "stopped waiting" in r.stderr, r.stderr  # the runner's run


def test_follow_streams_the_runs_log(deployed) -> None:
    root, env = deployed
    manual_tasks(env, 8)  # a few seconds of polling at 0.1 s before the task stops
    process = subprocess.Popen(
        [sys.executable, "-m", "fargo", "run", "daily_report", "--stage", "dev", "--follow"],
        cwd=root, env={**os.environ, **env, "NO_COLOR": "1", "COLUMNS": "200"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    task_arn = process.stdout.readline().strip()
    logs = boto(env, "logs")
    stream = f"fargo/job/{task_arn.rsplit('/', 1)[-1]}"
    logs.create_log_stream(logGroupName="/fargo/etl-platform/dev/daily_report",
                           logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/fargo/etl-platform/dev/daily_report", logStreamName=stream,
                        logEvents=[{"timestamp": now, "message": '{"message": "started"}'},
                                   {"timestamp": now + 1, "message": "fetched 200 events"}])
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert '{"message": "started"}' in out and "fetched 200 events" in out


def test_logs_since_filter_and_run(deployed) -> None:
    _, env = deployed
    logs = boto(env, "logs")
    group = "/fargo/etl-platform/dev/transform_events"
    now = int(time.time() * 1000)
    for task, lines in (("aaa111", ["rows: 10", "ERROR bad row"]), ("bbb222", ["rows: 20"])):
        logs.create_log_stream(logGroupName=group, logStreamName=f"fargo/job/{task}")
        logs.put_log_events(logGroupName=group, logStreamName=f"fargo/job/{task}",
                            logEvents=[{"timestamp": now + i, "message": m}
                                       for i, m in enumerate(lines)])
    r = fargo(deployed, "logs", "transform_events", "--stage", "dev", "--since", "10m")
    assert r.returncode == 0, r.stderr
    assert "rows: 10" in r.stdout and "rows: 20" in r.stdout
    r = fargo(deployed, "logs", "transform_events", "--stage", "dev", "--run", "bbb222")
    assert "rows: 20" in r.stdout and "rows: 10" not in r.stdout
    r = fargo(deployed, "logs", "transform_events", "--stage", "dev", "--filter", "ERROR")
    assert "ERROR bad row" in r.stdout and "rows: 20" not in r.stdout
    # a job no test writes logs for
    r = fargo(deployed, "logs", "maint_compact_landing", "--stage", "dev", "--since", "10m")
    assert r.returncode == 0
    assert r.stdout.strip() == "no log events in " \
        "/aws/lambda/etl-platform-dev-maint_compact_landing in the last 10m"


def test_history_of_the_whole_stage_includes_lambda_jobs(deployed) -> None:
    """Lambda runs are the runtime's started/succeeded/failed lines in the function's log."""
    _, env = deployed
    logs = boto(env, "logs")
    group = "/aws/lambda/etl-platform-dev-maint_heartbeat"
    logs.create_log_stream(logGroupName=group, logStreamName="2024/05/01/[$LATEST]abc")
    now = int(time.time() * 1000)
    lines = [
        {"time": "2024-05-01T08:00:00.000Z", "level": "info", "task": "maint_heartbeat",
         "run_id": "req-1", "event_time": "2024-05-01T08:00:00Z", "message": "started"},
        {"time": "2024-05-01T08:00:02.000Z", "level": "error", "task": "maint_heartbeat",
         "run_id": "req-1", "status": "failed", "error": "KeyError: 'bucket'",
         "duration_s": 2.0, "message": "failed: KeyError: 'bucket'"},
        "START RequestId: req-1 Version: $LATEST",
    ]
    logs.put_log_events(logGroupName=group, logStreamName="2024/05/01/[$LATEST]abc",
                        logEvents=[{"timestamp": now + i, "message": line if isinstance(
                            line, str) else json.dumps(line)} for i, line in enumerate(lines)])
    r = fargo(deployed, "history", "--stage", "dev", "--runs", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    heartbeat = [row for row in rows if row["job"] == "maint_heartbeat"]
    assert heartbeat == [{**heartbeat[0], "task": "req-1", "status": "failed",
                          "started_at": "2024-05-01T08:00:00.000Z",
                          "stopped_reason": "KeyError: 'bucket'"}]
    table = fargo(deployed, "history", "--stage", "dev", "--runs")
    assert "maint_heartbeat" in table.stdout and "KeyError" in table.stdout
    r = fargo(deployed, "history", "maint_compact_landing", "--stage", "dev", "--runs")
    assert r.returncode == 0 and "no runs of etl-platform-dev-maint_compact_landing recorded" \
        in r.stdout


def _state_change(task: str, version: int, exit_code: int | None, stop_code: str,
                  reason: str = "", scheduled: str | None = None) -> str:
    containers = [{"name": "job", "lastStatus": "STOPPED"}]
    if exit_code is not None:
        containers[0]["exitCode"] = exit_code
    overrides = {"containerOverrides": [{"name": "job", "environment": [
        {"name": "FARGO_SCHEDULED_TIME", "value": scheduled}]}]} if scheduled else {}
    return json.dumps({
        "source": "aws.ecs", "detail-type": "ECS Task State Change",
        "detail": {
            "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/{GROUP}/{task}",
            "group": f"family:{GROUP}-daily_report", "lastStatus": "STOPPED",
            "stopCode": stop_code, "stoppedReason": reason, "version": version,
            "containers": containers, "overrides": overrides,
            "createdAt": "2024-05-01T07:00:01.000Z", "startedAt": "2024-05-01T07:00:30.000Z",
            "stoppedAt": "2024-05-01T07:05:30.000Z", "startedBy": "chronos"}})


def test_history_reads_the_durable_run_records(deployed) -> None:
    _, env = deployed
    logs = boto(env, "logs")
    group = "/fargo/etl-platform/dev/_runs"
    logs.create_log_stream(logGroupName=group, logStreamName="events")
    now = int(time.time() * 1000)
    records = [
        _state_change("t-ok", 3, 0, "EssentialContainerExited", scheduled="2024-05-01T11:00:00Z"),
        _state_change("t-ok", 2, None, "EssentialContainerExited"),  # an older duplicate
        _state_change("t-timeout", 4, 124, "EssentialContainerExited"),
        _state_change("t-pull", 2, None, "TaskFailedToStart",
                      "CannotPullContainerError: pull image manifest has been retried"),
        _state_change("t-spot", 5, 143, "SpotInterruption", "Your Spot Task was interrupted."),
    ]
    logs.put_log_events(logGroupName=group, logStreamName="events",
                        logEvents=[{"timestamp": now + i, "message": m}
                                   for i, m in enumerate(records)])
    r = fargo(deployed, "history", "daily_report", "--stage", "dev", "--runs", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["task"]: row for row in json.loads(r.stdout)}
    assert set(rows) >= {"t-ok", "t-timeout", "t-pull", "t-spot"}  # and the runs of other tests
    assert rows["t-ok"]["status"] == "succeeded" and rows["t-ok"]["duration_s"] == 300
    assert rows["t-ok"]["scheduled_time"] == "2024-05-01T11:00:00Z"
    assert rows["t-timeout"]["status"] == "timed_out"
    assert rows["t-pull"]["status"] == "failed" and rows["t-pull"]["exit_code"] is None
    assert rows["t-spot"]["status"] == "failed"
    table = fargo(deployed, "history", "daily_report", "--stage", "dev", "--runs")
    assert "TaskFailedToStart" in table.stdout


def test_pause_resume_and_status(deployed) -> None:
    _, env = deployed
    scheduler = boto(env, "scheduler")
    before = scheduler.get_schedule(Name=f"{GROUP}-daily_report", GroupName=GROUP)
    r = fargo(deployed, "pause", "daily_report", "--stage", "dev")
    assert r.returncode == 0 and "paused" in r.stdout and "next fargo deploy" in r.stderr
    after = scheduler.get_schedule(Name=f"{GROUP}-daily_report", GroupName=GROUP)
    assert after["State"] == "DISABLED"
    for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "Target",
                "FlexibleTimeWindow"):
        assert after[key] == before[key], key
    status = {row["name"]: row for row in json.loads(
        fargo(deployed, "status", "--stage", "dev", "--json").stdout)}
    assert status["daily_report"]["state"] == "DISABLED"
    assert status["daily_report"]["next_fire"] is None  # AWS fires nothing while paused
    assert status["daily_report"]["next_fire_text"] == "paused"
    assert status["fetch_events"]["state"] == "ENABLED"
    assert status["maint_heartbeat"]["next_fire_text"] == "on demand"
    assert fargo(deployed, "resume", "daily_report", "--stage", "dev").returncode == 0
    assert scheduler.get_schedule(Name=f"{GROUP}-daily_report",
                                  GroupName=GROUP)["State"] == "ENABLED"
    status = {row["name"]: row for row in json.loads(
        fargo(deployed, "status", "--stage", "dev", "--json").stdout)}
    assert status["daily_report"]["next_fire_text"].endswith(("EST", "EDT"))
    datetime.strptime(status["daily_report"]["next_fire"], "%Y-%m-%dT%H:%M:%SZ")  # ISO 8601
    table = fargo(deployed, "status", "--stage", "dev")
    assert "daily_report" in table.stdout and "ENABLED" in table.stdout


def test_aws_errors_are_messages(deployed, tmp_path: Path) -> None:
    # prod is not deployed on this moto: its cluster and its runner do not exist
    r = fargo(deployed, "run", "daily_report", "--stage", "prod")
    assert_clean_error(r, "ClusterNotFoundException", "fargo deploy")
    r = fargo(deployed, "run", "fetch_events", "--stage", "prod")
    assert_clean_error(r, "StateMachineDoesNotExist", "fargo deploy")
    r = fargo(deployed, "run", "fetch_events", "--stage", "dev", "--env", "LIMIT=5")
    assert_clean_error(r, "runs through the stage's runner", "--event")
    r = fargo(deployed, "status", "--stage", "dev",
              env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})
    assert_clean_error(r, "cannot reach AWS")
    r = fargo(deployed, "pause", "daily_report", "--stage", "dev",
              env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                   "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                   "AWS_CONFIG_FILE": str(tmp_path / "none")})
    assert_clean_error(r, "no AWS credentials")
    assert_clean_error(fargo(deployed, "run", "fetch_event", "--stage", "dev"),
                       "did you mean 'fetch_events'")
    assert_clean_error(fargo(deployed, "run", "fetch_events", "--stage", "dev", "--env", "x"),
                       "is not NAME=VALUE")
    big_event = json.dumps({"detail": {"ids": "x" * 9000}})
    assert_clean_error(fargo(deployed, "run", "fetch_events", "--stage", "dev", "--event",
                             big_event), "8192")
    assert_clean_error(fargo(deployed, "pause", "maint_heartbeat", "--stage", "dev"),
                       "has no schedule")


@pytest.mark.parametrize(("task", "status", "code", "needle"), [
    ({"containers": [{"name": "job", "exitCode": 0}], "stopCode": "EssentialContainerExited"},
     "succeeded", 0, "succeeded"),
    ({"containers": [{"name": "job", "exitCode": 3}], "stopCode": "EssentialContainerExited"},
     "failed", 3, "exited with 3"),
    ({"containers": [{"name": "job", "exitCode": 124}]}, "timed_out", 124, "timeout"),
    ({"containers": [{"name": "job"}], "stopCode": "TaskFailedToStart",
      "stoppedReason": "CannotPullContainerError: image not found"}, "failed", 1,
     "fargo build --push"),
    ({"containers": [{"name": "job"}], "stopCode": "TaskFailedToStart",
      "stoppedReason": "ResourceInitializationError: unable to pull secrets"}, "failed", 1,
     "execution role"),
    ({"containers": [{"name": "job", "exitCode": 143}], "stopCode": "SpotInterruption"},
     "failed", 143, "Spot"),
])
def test_explaining_stopped_tasks(task: dict, status: str, code: int, needle: str) -> None:
    outcome = explain(task)
    assert (outcome.status, outcome.exit_code) == (status, code)
    assert needle in outcome.explanation


# --- jobs that run through the stage's runner ------------------------------------------------

def _record_ended_runs(env: dict[str, str]) -> None:
    """What EventBridge writes to the _runs log group when a run of the runner ends.

    moto emits no "Step Functions Execution Status Change" events; the records carry the
    fields AWS documents for them, read from the executions themselves.
    """
    sfn, logs = boto(env, "stepfunctions"), boto(env, "logs")
    machine = f"arn:aws:states:us-east-1:123456789012:stateMachine:{GROUP}-runner"
    records = []
    for item in sfn.list_executions(stateMachineArn=machine)["executions"]:
        execution = sfn.describe_execution(executionArn=item["executionArn"])
        if execution["status"] == "RUNNING":
            continue
        detail = {key: execution.get(key) for key in ("executionArn", "stateMachineArn",
                                                       "name", "status", "input", "output",
                                                       "error", "cause")}
        detail.update(startDate=int(execution["startDate"].timestamp() * 1000),
                      stopDate=int(execution["stopDate"].timestamp() * 1000))
        records.append(json.dumps({"source": "aws.states",
                                   "detail-type": "Step Functions Execution Status Change",
                                   "detail": detail}))
    stream = f"runner-{time.monotonic_ns()}"
    logs.create_log_stream(logGroupName="/fargo/etl-platform/dev/_runs", logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/fargo/etl-platform/dev/_runs", logStreamName=stream,
                        logEvents=[{"timestamp": now + i, "message": m}
                                   for i, m in enumerate(records)])


def test_a_run_through_the_runner_exits_with_the_jobs_result(deployed) -> None:
    _, env = deployed
    manual_tasks(env, 1)
    r = fargo(deployed, "run", "transform_events", "--stage", "dev", "--wait", "--timeout",
              "60s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ":execution:etl-platform-dev-runner:transform_events-run-" in r.stdout
    assert "attempt 1: succeeded" in r.stderr and "transform_events: succeeded" in r.stderr
    # the job's own exit code, and its own timeout (124), come back as fargo run's
    r = fargo(deployed, "run", "transform_events", "--stage", "dev", "--wait", "--event",
              '{"moto_exit_codes": [3]}')
    assert r.returncode == 3, r.stdout + r.stderr
    assert "attempt 1: failed (exit 3)" in r.stderr and "failed after 1 attempt" in r.stderr
    r = fargo(deployed, "run", "transform_events", "--stage", "dev", "--wait", "--event",
              '{"moto_exit_codes": [124]}')
    assert r.returncode == 124, r.stdout + r.stderr
    assert "transform_events: timed_out" in r.stderr


def test_a_failed_attempt_is_retried_and_the_history_shows_both(deployed) -> None:
    """fetch_events has retries=2: its first attempt fails, the second (30 s later) succeeds."""
    _, env = deployed
    manual_tasks(env, 1)
    root, _ = deployed
    r = _run(["run", "fetch_events", "--stage", "dev", "--wait", "--event",
              '{"moto_exit_codes": [1, 0]}'], cwd=root, env=env, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "attempt 1: failed (exit 1)" in r.stderr and "attempt 2: succeeded" in r.stderr
    assert "succeeded on attempt 2" in r.stderr
    run_id = r.stderr.rsplit("(run ", 1)[1].split(")")[0]
    _record_ended_runs(env)
    rows = json.loads(fargo(deployed, "history", "fetch_events", "--stage", "dev",
                            "--runs", "--json").stdout)
    (run,) = [row for row in rows if row["task"] == run_id]
    assert run["status"] == "succeeded" and run["started_by"] == "runner"
    assert [(a["attempt"], a["status"], a["exit_code"]) for a in run["attempts"]] == [
        (1, "failed", 1), (2, "succeeded", 0)]
    table = fargo(deployed, "history", "fetch_events", "--stage", "dev", "--runs")
    assert "attempt 1" in table.stdout and "attempt 2" in table.stdout


def test_a_run_is_skipped_while_one_is_going_and_history_says_why(deployed) -> None:
    root, env = deployed
    manual_tasks(env, 10_000)  # the run started directly below keeps going
    from fargo.project.load import load_project

    spec = load_project(root, "dev").require("transform_events")
    going = boto(env, "ecs").run_task(
        cluster=GROUP, taskDefinition=spec.full_name, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": list(spec.subnets), "securityGroups": list(spec.security_groups)}})
    try:
        r = fargo(deployed, "run", "transform_events", "--stage", "dev", "--wait")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "transform_events: skipped" in r.stderr and "still going" in r.stderr
        assert "attempt" not in r.stderr  # nothing was started
        run_id = r.stderr.rsplit("(run ", 1)[1].split(")")[0]
    finally:
        boto(env, "ecs").stop_task(cluster=GROUP, task=going["tasks"][0]["taskArn"])
    _record_ended_runs(env)
    rows = json.loads(fargo(deployed, "history", "transform_events", "--stage", "dev",
                            "--runs", "--json").stdout)
    (run,) = [row for row in rows if row["task"] == run_id]
    assert run["status"] == "skipped" and "overlap=skip" in run["stopped_reason"]


def test_status_shows_a_run_of_the_runner_that_is_still_going(deployed) -> None:
    _, env = deployed
    manual_tasks(env, 10_000)
    r = fargo(deployed, "run", "fetch_events", "--stage", "dev")
    assert r.returncode == 0, r.stderr
    execution = r.stdout.strip().splitlines()[-1]
    try:
        deadline = time.monotonic() + 30
        while True:
            rows = {row["name"]: row for row in json.loads(
                fargo(deployed, "status", "--stage", "dev", "--json").stdout)}
            runs = rows["fetch_events"]["runs"]
            if any(run["state"] == "running" for run in runs) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert rows["fetch_events"]["runner"] is True
        assert any(run["state"] == "running" for run in runs), runs
        assert rows["daily_report"]["runner"] is False
    finally:
        boto(env, "stepfunctions").stop_execution(executionArn=execution)


def test_follow_streams_each_attempt_of_a_run_through_the_runner(deployed) -> None:
    root, env = deployed
    manual_tasks(env, 30)  # a few seconds of polling before the task stops
    process = subprocess.Popen(
        [sys.executable, "-m", "fargo", "run", "transform_events", "--stage", "dev", "--follow"],
        cwd=root, env={**os.environ, **env, "NO_COLOR": "1", "COLUMNS": "200"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    assert ":execution:" in process.stdout.readline()
    line = process.stderr.readline()  # "attempt 1: <task id>", once the runner started it
    assert line.startswith("attempt 1: "), line
    stream = f"fargo/job/{line.split(': ', 1)[1].strip()}"
    logs = boto(env, "logs")
    group = "/fargo/etl-platform/dev/transform_events"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "transformed 50 rows"}])
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    assert "transformed 50 rows" in out and "transform_events: succeeded" in err
