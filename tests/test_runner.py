"""The stage's runner: which jobs need it, its definition, and its logic executed on moto.

The state machine is the module's runner.asl.json, executed by moto's Step Functions
interpreter against moto's ECS (tests/moto_fixes.py makes moto answer as AWS does). What moto
cannot run: a container (tests/moto_fixes.CONTAINER_EXITS says how each task's container ends)
and `lambda:invoke` (moto's Lambda needs Docker), so the Lambda branch is checked by the
validators and by reading its states, not executed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest

from fargo import estimate
from fargo.aws.runner import runner_input
from fargo.project import runner as rules
from fargo.project.load import load_project
from fargo.schedule import load_zone, next_fires, parse
from tests import moto_fixes
from tests.conftest import REPO, boto

ASL = REPO / "src" / "fargo" / "synth" / "module" / "runner.asl.json"
VALIDATOR = REPO / "tests" / "asl" / "node_modules" / ".bin" / "asl-validator"


def _project(tmp_path: Path, tasks: dict, decorators: str = "") -> object:
    root = tmp_path / "proj"
    (root / ".fargo").mkdir(parents=True)
    (root / "app.py").write_text(
        "from fargo import App\napp = App('demo')\n" + (decorators or "\n".join(
            f"@app.task(name={name!r})\ndef f_{name}(event):\n    pass\n" for name in tasks)))
    (root / ".fargo" / "config.json").write_text(json.dumps({
        "app_name": "demo", "tasks": tasks,
        "stages": {"dev": {"region": "us-east-1", "subnets": ["subnet-0abc1234"],
                           "security_groups": ["sg-0abc1234"]}}}))
    return load_project(root, "dev")


# --- which jobs go through the runner ------------------------------------------------------

@pytest.mark.parametrize(("settings", "runner"), [
    ({"schedule": "rate(1 hour)", "timeout": 3600}, True),  # a run may outlast the gap
    ({"schedule": "rate(1 day)", "timeout": 3600}, False),  # it cannot: direct target
    ({"schedule": "rate(1 day)", "timeout": 3600, "retries": 1}, True),
    ({"schedule": "rate(5 minutes)", "timeout": 60, "overlap": "allow"}, False),
    ({"schedule": "cron(0 2 * * ? *)", "timeout": "2h"}, False),
    ({"schedule": "cron(0,30 9 * * ? *)", "timeout": 600}, True),  # 30 minutes apart
    ({"schedule": "at(2030-01-01T00:00:00)", "timeout": "20h"}, False),  # fires once
    ({"timeout": 60}, False),  # on demand, nothing to retry
    ({"timeout": 60, "retries": 2}, True),
    ({"schedule": "rate(30 minutes)", "compute": "lambda", "timeout": 60}, False),
    ({"schedule": "rate(5 minutes)", "compute": "lambda", "timeout": 60}, True),
])
def test_jobs_go_through_the_runner_only_when_they_need_it(tmp_path: Path, settings: dict,
                                                           runner: bool) -> None:
    project = _project(tmp_path, {"job": settings})
    (spec,) = project.tasks
    assert spec.uses_runner is runner, spec.runner_reasons


CRONS = ["cron(0 2 * * ? *)", "cron(0,30 9 * * ? *)", "cron(*/20 * * * ? *)",
         "cron(30 1 ? * MON-FRI *)", "cron(0 23 L * ? *)", "cron(15 0,23 * * ? *)",
         "cron(0 1-3 ? * SUN *)", "cron(59 23 * * ? *)", "cron(0 0 1 1 ? *)"]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize("cron", CRONS)
def test_the_shortest_gap_is_never_longer_than_any_real_gap(cron: str, zone: str) -> None:
    """The proof that a job cannot overlap stands on this bound: it must hold over DST too."""
    bound = rules.shortest_gap(cron, zone)
    assert bound is not None
    fires = next_fires(parse(cron), load_zone(zone), datetime(2026, 1, 1, tzinfo=timezone.utc),
                       2000)
    real = min(b - a for a, b in pairwise(fires))
    assert bound <= real


def test_a_rate_gap_is_exact_and_a_dst_zone_costs_its_shift() -> None:
    assert rules.shortest_gap("rate(90 minutes)", "Europe/Berlin") == timedelta(minutes=90)
    assert rules.shortest_gap("cron(0 3 * * ? *)", "UTC") == timedelta(hours=24)
    assert rules.shortest_gap("cron(0 3 * * ? *)", "Europe/Berlin") == timedelta(hours=23)
    assert rules.shortest_gap("cron(0 3 * * ? *)", "Australia/Lord_Howe") == timedelta(
        hours=23, minutes=30)
    assert rules.shortest_gap("at(2030-01-01T00:00:00)", "UTC") is None


def test_backoff_is_the_same_as_fargo_up() -> None:
    assert [rules.retry_delay(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]


def test_a_lambda_job_is_kept_apart_by_its_own_concurrency(tmp_path: Path) -> None:
    project = _project(tmp_path, {"job": {"compute": "lambda", "schedule": "rate(1 minute)",
                                          "timeout": 60}})
    (spec,) = project.tasks
    assert spec.uses_runner and spec.reserved_concurrency == 1
    assert "overlap=skip" in spec.provenance["reserved_concurrency"]


def test_a_lambda_guard_that_cannot_hold_is_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _project(tmp_path, {"job": {"compute": "lambda", "schedule": "rate(1 minute)",
                                "timeout": 60, "reserved_concurrency": 5}})
    from fargo.project.load import check

    result = check(root, ["dev"])
    warnings = [p for p in result.notices if p.severity == "warning"]
    assert any("reserved_concurrency 5" in p.message
               and p.key == "tasks.job.reserved_concurrency"
               for p in warnings), result.notices


# --- the definition -------------------------------------------------------------------------

def test_the_definition_passes_the_asl_validator() -> None:
    if not VALIDATOR.exists():
        message = "asl-validator is not installed (npm ci --prefix tests/asl)"
        if os.environ.get("FARGO_REQUIRE_TERRAFORM") == "1":
            pytest.fail(message + " (CI must run this test)")
        pytest.skip(message)
    result = subprocess.run([str(VALIDATOR), "--json-path", str(ASL)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_asl_validator_catches_a_broken_definition(tmp_path: Path) -> None:
    """So that the check above can fail: a definition whose state leads nowhere."""
    if not VALIDATOR.exists():
        pytest.skip("asl-validator is not installed")
    broken = json.loads(ASL.read_text())
    broken["States"]["Backoff"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0


def test_every_state_is_reachable_and_every_target_exists() -> None:
    definition = json.loads(ASL.read_text())
    states = definition["States"]

    def targets(state: dict) -> set[str]:
        found = {state.get("Next"), state.get("Default")}
        found |= {c.get("Next") for c in state.get("Choices", [])}
        found |= {c.get("Next") for c in state.get("Catch", [])}
        return {t for t in found if t}

    reached, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        assert name in states, name
        todo.extend(targets(states[name]))
    assert reached == set(states)


def test_the_definition_names_the_runtime_contract() -> None:
    """The container, FARGO_* variables and exit code 124 are fargo's contract (one home)."""
    from fargo.project import names
    from fargo.runtime import contract

    text = ASL.read_text()
    definition = json.loads(text)
    (override,) = definition["States"]["RunOnFargate"]["Parameters"]["Overrides"][
        "ContainerOverrides"]
    assert override["Name"] == names.CONTAINER
    assert [e["Name"] for e in override["Environment"]] == [
        contract.RUN_ID, contract.ATTEMPT, contract.SCHEDULED_TIME, contract.EVENT]
    assert f'"ExitCode\\":{contract.EXIT_TIMEOUT}' in text


def test_moto_validates_the_definition(aws: dict[str, str]) -> None:
    sfn = boto(aws, "stepfunctions")
    assert sfn.validate_state_machine_definition(definition=ASL.read_text())["result"] == "OK"
    broken = ASL.read_text().replace('"Type": "Wait"', '"Type": "Sleep"', 1)
    assert sfn.validate_state_machine_definition(definition=broken)["result"] == "FAIL"


# --- the logic, executed ---------------------------------------------------------------------

def _post(url: str, body: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request).read()


@pytest.fixture
def runner(aws: dict[str, str], tmp_path: Path):
    """The runner on moto's interpreter, a cluster and a job's task definition."""
    _post(f"{aws['AWS_ENDPOINT_URL']}/moto-api/config",
          {"stepfunctions": {"execute_state_machine": True}})
    ec2, ecs = boto(aws, "ec2"), boto(aws, "ecs")
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name",
                                                   "Values": ["default"]}])
    project = _project(tmp_path, {"nightly": {"schedule": "rate(1 hour)", "retries": 2}})
    stage = dataclasses.replace(project.stage, cluster="demo-dev", cluster_name="demo-dev")
    (spec,) = project.tasks
    spec = dataclasses.replace(spec, subnets=(subnet["Subnets"][0]["SubnetId"],),
                               security_groups=(group["SecurityGroups"][0]["GroupId"],))
    project = dataclasses.replace(project, stage=stage, tasks=(spec,))
    ecs.create_cluster(clusterName="demo-dev")
    ecs.register_task_definition(
        family=spec.full_name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512", containerDefinitions=[{"name": "job", "image": "x",
                                                        "memory": 512}])
    role = boto(aws, "iam").create_role(RoleName="runner", AssumeRolePolicyDocument="{}")
    machine = boto(aws, "stepfunctions").create_state_machine(
        name="demo-dev-runner", definition=ASL.read_text(),
        roleArn=role["Role"]["Arn"])["stateMachineArn"]

    class Runner:
        def __init__(self) -> None:
            self.spec, self.project = spec, project

        def run(self, wait: float = 60, given_changes: dict | None = None,
                **changes: object) -> dict:
            """One execution with the job's input (backoff shortened), run to its end."""
            given = runner_input(project, dataclasses.replace(spec, **changes), "run-1",
                                 "2026-01-01T00:00:00Z", {})
            given.update(backoff_seconds=1, backoff_max_seconds=2, queue_poll_seconds=1)
            given.update(given_changes or {})
            sfn = boto(aws, "stepfunctions")
            arn = sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex,
                                      input=json.dumps(given))["executionArn"]
            return self.finish(arn, wait)

        def finish(self, arn: str, wait: float = 60) -> dict:
            sfn = boto(aws, "stepfunctions")
            deadline = time.monotonic() + wait
            while True:
                execution = sfn.describe_execution(executionArn=arn)
                if execution["status"] != "RUNNING" or time.monotonic() > deadline:
                    return execution
                time.sleep(0.2)

        def tasks(self) -> list[dict]:
            arns = ecs.list_tasks(cluster="demo-dev")["taskArns"]
            return ecs.describe_tasks(cluster="demo-dev", tasks=arns)["tasks"] if arns else []

    return Runner()


def _env(task: dict) -> dict[str, str]:
    (override,) = task["overrides"]["containerOverrides"]
    return {e["name"]: e["value"] for e in override["environment"]}


def _entered(aws: dict[str, str], execution: dict) -> int:
    """States the execution entered: what AWS bills as state transitions."""
    events = boto(aws, "stepfunctions").get_execution_history(
        executionArn=execution["executionArn"], maxResults=1000)["events"]
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


# The runner's paths whose transitions `fargo cost` counts (estimate.RUNNER_TRANSITIONS);
# a poll is a loop that comes back to its first state.
RUNNER_PATHS = {
    ("fargate", "run"): ["Prepare", "Overlap", "FindRunning", "Busy", "RunOnFargate",
                         "Succeeded"],
    ("fargate", "run_allow"): ["Prepare", "Overlap", "Attempt", "RunOnFargate", "Succeeded"],
    ("fargate", "skipped"): ["Prepare", "Overlap", "FindRunning", "Busy", "Skipped"],
    ("fargate", "poll"): ["Queued", "FindRunning", "Busy"],
    ("lambda", "run"): ["Prepare", "Overlap", "Attempt", "Invoke", "Succeeded"],
    ("lambda", "run_allow"): ["Prepare", "Overlap", "Attempt", "Invoke", "Succeeded"],
    ("lambda", "skipped"): ["Prepare", "Overlap", "Attempt", "Invoke", "Throttled", "Skipped"],
    ("lambda", "poll"): ["QueuedInvoke", "Invoke", "Throttled"],
}


def test_the_transitions_fargo_cost_counts_are_paths_of_the_runner() -> None:
    states = json.loads(ASL.read_text())["States"]

    def after(name: str) -> set[str]:
        state = states[name]
        return ({state.get("Next"), state.get("Default")}
                | {c["Next"] for c in state.get("Choices", [])}
                | {c["Next"] for c in state.get("Catch", [])}) - {None}

    assert {(c, k) for c, per in estimate.RUNNER_TRANSITIONS.items() for k in per} == \
        set(RUNNER_PATHS)
    for (compute, kind), path in RUNNER_PATHS.items():
        steps = [*path, path[0]] if kind == "poll" else path
        for here, there in pairwise(steps):
            assert there in after(here), (compute, kind, here, there)
        if kind != "poll":
            assert path[0] == json.loads(ASL.read_text())["StartAt"]
            assert states[path[-1]].get("End"), (compute, kind)
        assert estimate.RUNNER_TRANSITIONS[compute][kind] == len(path), (compute, kind)


def test_a_run_that_succeeds_starts_one_task_as_the_schedule_would(runner, aws) -> None:
    execution = runner.run()
    assert execution["status"] == "SUCCEEDED"
    assert _entered(aws, execution) == estimate.RUNNER_TRANSITIONS["fargate"]["run"]
    assert json.loads(execution["output"])["status"] == "succeeded"
    (task,) = runner.tasks()
    assert task["group"] == f"fargo-runner:{runner.spec.full_name}"
    assert task["launchType"] == "FARGATE"
    assert _env(task) == {"FARGO_RUN_ID": "run-1", "FARGO_ATTEMPT": "1",
                          "FARGO_SCHEDULED_TIME": "2026-01-01T00:00:00Z", "FARGO_EVENT": "{}"}


def test_retries_until_one_succeeds(runner) -> None:
    moto_fixes.exit_next_tasks(runner.spec.full_name, 1, 1, 0)
    execution = runner.run()
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["attempts"] == 3
    assert sorted(_env(t)["FARGO_ATTEMPT"] for t in runner.tasks()) == ["1", "2", "3"]


def test_gives_up_after_its_retries(runner) -> None:
    moto_fixes.exit_next_tasks(runner.spec.full_name, 1, 1, 1, 0)
    execution = runner.run()
    assert execution["status"] == "FAILED"
    assert execution["error"] == "fargo.JobFailed"
    assert "failed after 3 attempt(s)" in execution["cause"]
    assert len(runner.tasks()) == 3  # retries=2: three attempts, the fourth never starts


def test_backoff_doubles_up_to_its_limit(runner, aws: dict[str, str]) -> None:
    moto_fixes.exit_next_tasks(runner.spec.full_name, 1, 1, 1, 1, 0)
    execution = runner.run(retries=4)
    assert execution["status"] == "SUCCEEDED"
    events = boto(aws, "stepfunctions").get_execution_history(
        executionArn=execution["executionArn"], maxResults=1000)["events"]
    waits = [json.loads(e["stateEnteredEventDetails"]["input"])["run"]["backoff"]
             for e in events if e["type"] == "WaitStateEntered"
             and e["stateEnteredEventDetails"]["name"] == "Backoff"]
    assert waits == [1, 2, 2, 2]  # base 1 doubling, at most 2: min(1 * 2**(n-1), 2)


def test_a_timed_out_run_is_not_retried(runner) -> None:
    moto_fixes.exit_next_tasks(runner.spec.full_name, 124, 0)
    execution = runner.run()
    assert execution["status"] == "FAILED"
    assert execution["error"] == "fargo.JobTimedOut"
    assert len(runner.tasks()) == 1


def test_a_timed_out_run_is_retried_with_retry_timeouts(runner) -> None:
    moto_fixes.exit_next_tasks(runner.spec.full_name, 124, 0)
    execution = runner.run(retry_timeouts=True)
    assert execution["status"] == "SUCCEEDED"
    assert len(runner.tasks()) == 2


def test_a_task_past_its_timeout_is_stopped(runner, aws: dict[str, str]) -> None:
    """The job's own watchdog never answered: the runner stops waiting at its timeout."""
    _post(f"{aws['AWS_ENDPOINT_URL']}/moto-api/state-manager/set-transition",
          {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**6}})
    try:
        started = time.monotonic()
        execution = runner.run(given_changes={"timeout_seconds": 3})
        elapsed = time.monotonic() - started
    finally:
        _post(f"{aws['AWS_ENDPOINT_URL']}/moto-api/state-manager/unset-transition",
              {"model_name": "ecs::task"})
    assert execution["status"] == "FAILED"
    assert execution["error"] == "fargo.JobTimedOut"
    assert "States.Timeout" in execution["cause"]
    assert elapsed < 30


def _blocker(runner, aws: dict[str, str]) -> str:
    """A run of the job that is still going (started directly, as a manual run would)."""
    network = {"awsvpcConfiguration": {"subnets": list(runner.spec.subnets),
                                       "securityGroups": list(runner.spec.security_groups)}}
    task = boto(aws, "ecs").run_task(cluster="demo-dev", taskDefinition=runner.spec.full_name,
                                     launchType="FARGATE", networkConfiguration=network)
    return task["tasks"][0]["taskArn"]


def test_skips_while_a_run_is_going(runner, aws: dict[str, str]) -> None:
    _blocker(runner, aws)
    execution = runner.run()
    assert execution["status"] == "SUCCEEDED"
    result = json.loads(execution["output"])
    assert result["status"] == "skipped"
    assert "still going" in result["reason"]
    assert _entered(aws, execution) == estimate.RUNNER_TRANSITIONS["fargate"]["skipped"]
    assert len(runner.tasks()) == 1  # the blocker only


def test_queues_until_the_run_going_has_stopped(runner, aws: dict[str, str]) -> None:
    blocker = _blocker(runner, aws)
    sfn = boto(aws, "stepfunctions")
    given = runner_input(runner.project, dataclasses.replace(runner.spec, overlap="queue"),
                         "run-2", "", {})
    given.update(queue_poll_seconds=1)
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex,
                              input=json.dumps(given))["executionArn"]
    time.sleep(3)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert len(runner.tasks()) == 1  # still waiting for the blocker
    boto(aws, "ecs").stop_task(cluster="demo-dev", task=blocker, reason="done")
    execution = runner.finish(arn)
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["status"] == "succeeded"
    assert len(runner.tasks()) == 2
    per = estimate.RUNNER_TRANSITIONS["fargate"]
    polls, rest = divmod(_entered(aws, execution) - per["run"], per["poll"])
    assert polls >= 1 and rest == 0  # a run, and a look again for each poll while it waited


def test_a_run_without_an_overlap_check_goes_straight_to_its_task(runner, aws) -> None:
    execution = runner.run(overlap="allow")
    assert execution["status"] == "SUCCEEDED"
    assert _entered(aws, execution) == estimate.RUNNER_TRANSITIONS["fargate"]["run_allow"]


def test_spot_jobs_run_on_fargate_spot(runner) -> None:
    execution = runner.run(spot=True)
    assert execution["status"] == "SUCCEEDED"
    (task,) = runner.tasks()
    assert task.get("capacityProviderName") == "FARGATE_SPOT" or "launchType" not in task


def test_the_lambda_branch_invokes_the_function_and_keeps_runs_apart() -> None:
    """Not executable on moto (its Lambda needs Docker): the states say what AWS will do."""
    states = json.loads(ASL.read_text())["States"]
    invoke = states["Invoke"]
    assert invoke["Resource"] == "arn:aws:states:::lambda:invoke"
    assert invoke["Parameters"] == {"FunctionName.$": "$.target.FunctionName",
                                    "Payload.$": "$.event"}
    catch = {tuple(c["ErrorEquals"]): c["Next"] for c in invoke["Catch"]}
    assert catch[("Lambda.TooManyRequestsException",)] == "Throttled"
    throttled = {c["Next"] for c in states["Throttled"]["Choices"]}
    assert {"Skipped", "QueuedInvoke", "AttemptFailed"} <= throttled


def test_the_package_carries_the_definition(tmp_path: Path) -> None:
    root = tmp_path / "etl"
    shutil.copytree(REPO / "examples" / "etl-platform", root,
                    ignore=shutil.ignore_patterns("data", "__pycache__", "local", "deploy",
                                                  "build"))
    from tests.conftest import _run

    r = _run(["package", "--stage", "dev"], cwd=root)
    assert r.returncode == 0, r.stderr
    copied = root / ".fargo" / "deploy" / "dev" / "modules" / "fargo-jobs" / "runner.asl.json"
    assert copied.read_text() == ASL.read_text()
    main = json.loads((root / ".fargo" / "deploy" / "dev" / "main.tf.json").read_text())
    jobs = main["module"]["jobs"]["jobs"]
    assert jobs["fetch_events"]["runner"] is True  # retries=2
    assert jobs["daily_report"]["runner"] is False  # a weekday cron with a 2h timeout
