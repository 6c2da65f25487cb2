"""The whole AWS lifecycle with real terraform and the real provider against moto over HTTP."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, _run, assert_clean_error, boto, publish_image, use_network

pytestmark = pytest.mark.slow




def fargo(root: Path, aws: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run(list(args), cwd=root, env=aws, timeout=600)


def plan(root: Path, aws: dict[str, str], stage: str = "dev", tag: str | None = None) -> dict:
    r = fargo(root, aws, "plan", "--stage", stage, "--json",
              *(["--image-tag", tag] if tag else []))
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def built_tag(root: Path, stage: str) -> str:
    return json.loads((root / ".fargo" / "build" / stage / "image.json").read_text())["tag"]


def test_lifecycle_on_moto(example: Path, aws: dict[str, str]) -> None:
    use_network(example, aws, "dev")
    # --- no image, an image not pushed, stale code: each refused before terraform runs ------
    assert_clean_error(fargo(example, aws, "deploy", "--stage", "dev", "--yes"),
                       "no image was built for stage dev", "fargo build --stage dev --push")
    r = fargo(example, aws, "build", "--stage", "dev", "--push")
    assert r.returncode == 1, r.stdout + r.stderr  # no Docker engine here: nothing was pushed
    assert "was not pushed: no Docker engine" in r.stderr and "docker push" in r.stdout
    ecr = boto(aws, "ecr")
    (repository,) = ecr.describe_repositories()["repositories"]
    assert repository["repositoryName"] == "etl-platform"  # the app's, created once by build
    assert repository["imageTagMutability"] == "IMMUTABLE"
    tag = built_tag(example, "dev")
    assert_clean_error(fargo(example, aws, "deploy", "--stage", "dev", "--yes"),
                       f"etl-platform:{tag} is not in the registry")
    publish_image(aws, "etl-platform", tag)
    (example / "chalicelib" / "events.py").write_text(
        (example / "chalicelib" / "events.py").read_text() + "\n# edited after the build\n")
    assert_clean_error(fargo(example, aws, "deploy", "--stage", "dev", "--yes"),
                       f"the code changed since image {tag} was built",
                       f"--image-tag {tag}")
    assert_clean_error(fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag",
                             "never-pushed"), "etl-platform:never-pushed is not in the registry")
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", tag)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Deployed etl-platform stage dev" in r.stdout
    task_image = boto(aws, "ecs").describe_task_definition(
        taskDefinition="etl-platform-dev-fetch_events")["taskDefinition"]
    assert task_image["containerDefinitions"][0]["image"] == \
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/etl-platform:{tag}"

    # --- the module's names are the model's ----------------------------------------------------
    import os

    from fargo.project.load import load_project

    output = subprocess.run(["terraform", "output", "-json", "jobs"],
                            cwd=example / ".fargo" / "deploy" / "dev", capture_output=True,
                            text=True, env={**os.environ, **aws}, check=True)
    deployed_jobs = json.loads(output.stdout)
    project = load_project(example, "dev")
    assert set(deployed_jobs) == set(project.task_names)
    for spec in project.tasks:
        job = deployed_jobs[spec.name]
        assert job["name"] == spec.full_name and job["log_group"] == spec.log_group
        assert job["compute"] == spec.compute
        if spec.compute == "fargate":
            assert job["family"] == spec.full_name
        if spec.schedule:
            assert job["schedule_name"] == spec.full_name and job["schedule"] == spec.schedule

    # --- what AWS now has --------------------------------------------------------------------
    iam = boto(aws, "iam")
    roles = {r["RoleName"]: r for r in iam.list_roles(PathPrefix="/fargo/etl-platform/dev/")["Roles"]}
    assert set(roles) == {
        "etl-platform-dev-exec", "etl-platform-dev-scheduler", "etl-platform-dev-runner",
        "etl-platform-dev-fetch_events", "etl-platform-dev-transform_events",
        "etl-platform-dev-daily_report", "etl-platform-dev-maint_compact_landing",
        "etl-platform-dev-maint_heartbeat", "etl-platform-dev-watchdog"}
    function_trust = roles["etl-platform-dev-maint_heartbeat"]["AssumeRolePolicyDocument"]
    assert function_trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"}}
    trust = roles["etl-platform-dev-scheduler"]["AssumeRolePolicyDocument"]
    statement = trust["Statement"][0]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        ":schedule-group/etl-platform-dev")
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    policy = iam.get_role_policy(RoleName="etl-platform-dev-scheduler",
                                 PolicyName="etl-platform-dev-scheduler")["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    run_task = by_sid["RunJobTasks"]
    # the scheduler starts only the jobs that need no runner; the others it hands to the runner
    assert run_task["Resource"] in (
        "arn:aws:ecs:us-east-1:123456789012:task-definition/etl-platform-dev-daily_report:*",
        ["arn:aws:ecs:us-east-1:123456789012:task-definition/etl-platform-dev-daily_report:*"])
    assert run_task["Condition"]["ArnEquals"]["ecs:cluster"].endswith(":cluster/etl-platform-dev")
    role = "arn:aws:iam::123456789012:role/fargo/etl-platform/dev/etl-platform-dev-"
    assert sorted(by_sid["PassJobRoles"]["Resource"]) == [  # exactly the roles it hands to ECS
        f"{role}{name}" for name in ("daily_report", "exec")]
    runner_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:etl-platform-dev-runner"
    assert by_sid["StartRunner"]["Action"] in ("states:StartExecution",
                                               ["states:StartExecution"])
    assert by_sid["StartRunner"]["Resource"] == runner_arn

    # --- the runner: its role may do exactly what the runs need ------------------------------
    machine = boto(aws, "stepfunctions").describe_state_machine(stateMachineArn=runner_arn)
    asl = REPO / "src" / "fargo" / "synth" / "module" / "runner.asl.json"
    assert json.loads(machine["definition"]) == json.loads(asl.read_text())
    runner_trust = roles["etl-platform-dev-runner"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert runner_trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert runner_trust["Condition"]["ArnLike"]["aws:SourceArn"] == runner_arn
    runner_policy = iam.get_role_policy(RoleName="etl-platform-dev-runner",
                                        PolicyName="etl-platform-dev-runner")["PolicyDocument"]
    granted = {s["Sid"]: s for s in runner_policy["Statement"]}
    assert set(granted) == {"RunJobTasks", "WatchAndStopJobTasks", "FindRunningJobTasks",
                            "PassJobRoles", "TagStartedTasks", "SyncWithEcs",
                            "InvokeJobFunctions"}
    assert granted["TagStartedTasks"]["Condition"] == by_sid["TagStartedTasks"]["Condition"]
    # maint_compact_landing (Lambda, every 10 minutes in dev) goes through it; the others not
    assert granted["InvokeJobFunctions"]["Resource"] == \
        "arn:aws:lambda:us-east-1:123456789012:function:etl-platform-dev-maint_compact_landing"
    compact = boto(aws, "lambda").get_function(
        FunctionName="etl-platform-dev-maint_compact_landing")
    assert compact["Concurrency"]["ReservedConcurrentExecutions"] == 1  # keeps runs apart
    assert sorted(granted["RunJobTasks"]["Resource"]) == [
        f"arn:aws:ecs:us-east-1:123456789012:task-definition/etl-platform-dev-{j}:*"
        for j in ("fetch_events", "transform_events")]
    assert granted["FindRunningJobTasks"]["Condition"]["ArnEquals"]["ecs:cluster"].endswith(
        ":cluster/etl-platform-dev")
    assert sorted(granted["PassJobRoles"]["Resource"]) == [
        f"{role}{name}" for name in ("exec", "fetch_events", "transform_events")]
    assert granted["WatchAndStopJobTasks"]["Resource"] == \
        "arn:aws:ecs:us-east-1:123456789012:task/etl-platform-dev/*"
    assert granted["SyncWithEcs"]["Resource"] == \
        "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"
    assert by_sid["PassJobRoles"]["Condition"]["StringLike"]["iam:PassedToService"] == \
        "ecs-tasks.amazonaws.com"
    assert "InvokeJobFunctions" not in by_sid  # the one scheduled function goes through the runner
    job_policy = iam.get_role_policy(RoleName="etl-platform-dev-fetch_events",
                                     PolicyName="etl-platform-dev-fetch_events")
    assert job_policy["PolicyDocument"]["Statement"][0]["Action"] == ["s3:PutObject"]

    ecs = boto(aws, "ecs")
    task_def = ecs.describe_task_definition(
        taskDefinition="etl-platform-dev-daily_report")["taskDefinition"]
    assert (task_def["cpu"], task_def["memory"]) == ("2048", "4096")
    assert task_def["requiresCompatibilities"] == ["FARGATE"]
    assert task_def["networkMode"] == "awsvpc"
    assert task_def["ephemeralStorage"] == {"sizeInGiB": 50}
    container = task_def["containerDefinitions"][0]
    assert container["entryPoint"] == ["python", "-m", "fargo.runtime"]
    assert container["command"] == ["daily_report"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["FARGO_TASK"] == "daily_report" and env["FARGO_TIMEOUT"] == "7200"
    assert env["FARGO_MEMORY"] == "4096"  # the context's memory_limit_in_mb
    assert env["BATCH_SIZE"] == "50"
    logs = container["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert logs["options"]["awslogs-group"] == "/fargo/etl-platform/dev/daily_report"
    assert task_def["executionRoleArn"].endswith("/etl-platform-dev-exec")

    scheduler = boto(aws, "scheduler")
    schedules = {s["Name"] for s in scheduler.list_schedules(GroupName="etl-platform-dev")["Schedules"]}
    assert schedules == {"etl-platform-dev-fetch_events", "etl-platform-dev-transform_events",
                         "etl-platform-dev-daily_report", "etl-platform-dev-maint_compact_landing"}
    daily = scheduler.get_schedule(Name="etl-platform-dev-daily_report",
                                   GroupName="etl-platform-dev")
    assert daily["ScheduleExpression"] == "cron(0 7 ? * MON-FRI *)"
    assert daily["ScheduleExpressionTimezone"] == "America/New_York"
    assert daily["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = daily["Target"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 900, "MaximumRetryAttempts": 2}
    params = target["EcsParameters"]
    assert params["TaskDefinitionArn"].endswith("task-definition/etl-platform-dev-daily_report")
    assert params["LaunchType"] == "FARGATE"
    subnets = json.loads((example / ".fargo" / "config.json").read_text())["stages"]["dev"][
        "subnets"]
    assert params["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"] == subnets
    # the placeholders stand in the text as Scheduler looks for them (jsonencode escapes < >)
    assert '"<aws.scheduler.scheduled-time>"' in target["Input"]
    overrides = json.loads(target["Input"])["containerOverrides"][0]
    assert {e["name"] for e in overrides["environment"]} >= {"FARGO_SCHEDULED_TIME"}
    # a job with retries starts through the runner, with the input fargo run sends too
    from fargo.aws.runner import runner_input

    fetch = scheduler.get_schedule(Name="etl-platform-dev-fetch_events",
                                   GroupName="etl-platform-dev")["Target"]
    assert fetch["Arn"] == runner_arn and "EcsParameters" not in fetch
    assert '"run_id":"<aws.scheduler.execution-id>"' in fetch["Input"]
    assert json.loads(fetch["Input"]) == runner_input(
        project, project.require("fetch_events"), "<aws.scheduler.execution-id>",
        "<aws.scheduler.scheduled-time>", {})

    log_groups = {g["logGroupName"]: g.get("retentionInDays") for g in
                  boto(aws, "logs").describe_log_groups()["logGroups"]}
    assert log_groups["/fargo/etl-platform/dev/fetch_events"] == 14
    assert log_groups["/aws/lambda/etl-platform-dev-maint_heartbeat"] == 14
    function = boto(aws, "lambda").get_function(FunctionName="etl-platform-dev-maint_heartbeat")
    assert function["Configuration"]["Handler"] == "fargo.runtime.lambda_handler"
    assert function["Configuration"]["VpcConfig"]["SubnetIds"] == subnets  # the stage's network
    assert function["Configuration"]["Environment"]["Variables"]["FARGO_TASK"] == "maint_heartbeat"

    # --- a second plan is empty ------------------------------------------------------------
    again = plan(example, aws)
    assert (again["add"], again["change"], again["destroy"]) == (0, 0, 0), again["resources"]

    # --- changing one job's schedule changes only that job ----------------------------------
    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["dev"]["tasks"]["fetch_events"] = {"schedule": "rate(5 minutes)"}
    config_path.write_text(json.dumps(config))
    changed = plan(example, aws)
    assert (changed["add"], changed["change"], changed["destroy"]) == (0, 1, 0), changed["resources"]
    assert list(changed["jobs"]) == ["fetch_events"]
    assert fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag",
                 tag).returncode == 0
    assert scheduler.get_schedule(Name="etl-platform-dev-fetch_events",
                                  GroupName="etl-platform-dev")["ScheduleExpression"] == \
        "rate(5 minutes)"

    # --- a paused job: deploy says it resumes it -----------------------------------------------
    assert fargo(example, aws, "pause", "fetch_events", "--stage", "dev").returncode == 0
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", tag)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "deploy resumes fetch_events" in r.stderr

    # --- removing a job removes exactly its resources ---------------------------------------
    app = (example / "app.py").read_text()
    app = re.sub(r"@app\.task\(Cron\(0, 7.*?return \{\"days\": len\(report\)\}\n", "", app,
                 flags=re.S)
    (example / "app.py").write_text(app)
    config = json.loads(config_path.read_text())
    del config["tasks"]["daily_report"]
    del config["stages"]["dev"]["tasks"]["daily_report"]
    del config["stages"]["prod"]["tasks"]["daily_report"]
    config_path.write_text(json.dumps(config))
    (example / ".fargo" / "policy-daily_report.json").unlink()
    removed = plan(example, aws)
    assert (removed["add"], removed["destroy"]) == (0, 5), removed["resources"]
    assert {r["job"] for r in removed["resources"] if "delete" in r["actions"]} == {"daily_report"}
    updated = {r["address"] for r in removed["resources"] if r["actions"] == ["update"]}
    # the scheduler's RunTask list shrinks; the Lambda functions get the new app.py
    assert updated == {"module.jobs.aws_iam_role_policy.scheduler[0]",
                       'module.jobs.aws_lambda_function.job["maint_compact_landing"]',
                       'module.jobs.aws_lambda_function.job["maint_heartbeat"]'}
    assert fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag",
                 tag).returncode == 0
    gone = ecs.describe_task_definition(taskDefinition="etl-platform-dev-daily_report:1")
    assert gone["taskDefinition"]["status"] == "INACTIVE"  # deregistered, as AWS keeps them

    # --- destroy leaves nothing -------------------------------------------------------------
    r = fargo(example, aws, "destroy", "--stage", "dev", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert iam.list_roles(PathPrefix="/fargo/")["Roles"] == []
    assert boto(aws, "logs").describe_log_groups()["logGroups"] == []
    assert boto(aws, "lambda").list_functions()["Functions"] == []
    assert scheduler.list_schedules()["Schedules"] == []
    clusters = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
    assert all(c["status"] == "INACTIVE" for c in clusters), clusters  # moto keeps them listed
    assert ecr.describe_repositories()["repositories"], "a stage's destroy keeps the app's images"


def test_rules_backend_applies(example: Path, aws: dict[str, str]) -> None:
    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["dev"]["schedule_backend"] = "rules"
    config["tasks"]["daily_report"]["timezone"] = "UTC"
    config["stages"]["dev"]["create_dead_letter_queue"] = True
    config_path.write_text(json.dumps(config))
    use_network(example, aws, "dev")
    publish_image(aws, "etl-platform", "v1")
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1")
    assert r.returncode == 0, r.stdout + r.stderr
    events = boto(aws, "events")
    rule = events.describe_rule(Name="etl-platform-dev-transform_events")
    assert rule["ScheduleExpression"] == "cron(*/2 * * * ? *)"
    (target,) = events.list_targets_by_rule(Rule="etl-platform-dev-daily_report")["Targets"]
    assert target["EcsParameters"]["LaunchType"] == "FARGATE"
    assert target["RoleArn"].endswith("/etl-platform-dev-events")
    assert "FARGO_SCHEDULED_TIME" in target["InputTransformer"]["InputTemplate"]
    # a job that goes through the runner: the rule starts the runner with the job's input
    (runner,) = events.list_targets_by_rule(Rule="etl-platform-dev-transform_events")["Targets"]
    assert runner["Arn"].endswith(":stateMachine:etl-platform-dev-runner")
    assert runner["RoleArn"].endswith("/etl-platform-dev-events")
    assert runner["InputTransformer"]["InputPathsMap"] == {"time": "$.time", "id": "$.id"}
    assert '"run_id":"<id>"' in runner["InputTransformer"]["InputTemplate"]
    template = json.loads(runner["InputTransformer"]["InputTemplate"])
    assert (template["job"], template["run_id"], template["scheduled_time"]) == (
        "transform_events", "<id>", "<time>")
    (lambda_target,) = events.list_targets_by_rule(
        Rule="etl-platform-dev-maint_compact_landing")["Targets"]  # every 10 minutes: runner
    assert lambda_target["Arn"].endswith(":stateMachine:etl-platform-dev-runner")
    assert json.loads(lambda_target["InputTransformer"]["InputTemplate"])["event"]["id"] == "<id>"
    # rules deliver dead letters as the events service: the queue must allow exactly them
    sqs = boto(aws, "sqs")
    queue = sqs.get_queue_url(QueueName="etl-platform-dev-dead-letter")["QueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])[
        "Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == \
        "arn:aws:events:us-east-1:123456789012:rule/etl-platform-dev-*"
    assert plan(example, aws, tag="v1")["change"] == 0


def test_terraform_validate_on_packages_and_module_example(example: Path, tmp_path: Path,
                                                           terraform_env: dict[str, str]) -> None:
    for stage in ("dev", "prod"):
        out = tmp_path / stage
        assert _run(["package", "--stage", stage, "--out", str(out)], cwd=example).returncode == 0
        for args in (["init", "-backend=false", "-input=false", "-no-color"],
                     ["validate", "-no-color"]):
            r = subprocess.run(["terraform", *args], cwd=out, capture_output=True, text=True,
                               env={**__import__("os").environ, **terraform_env})
            assert r.returncode == 0, r.stdout + r.stderr
    module_example = tmp_path / "module-example"
    shutil.copytree(REPO / "terraform" / "modules" / "fargo-jobs", module_example / "fargo-jobs",
                    ignore=shutil.ignore_patterns(".terraform*"))
    basic = module_example / "fargo-jobs" / "examples" / "basic"
    for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
        r = subprocess.run(["terraform", *args], cwd=basic, capture_output=True, text=True,
                           env={**__import__("os").environ, **terraform_env})
        assert r.returncode == 0, r.stdout + r.stderr


def test_deploy_asks_on_a_terminal_and_refuses_without_one(example: Path,
                                                           aws: dict[str, str]) -> None:
    assert_clean_error(fargo(example, aws, "deploy", "--stage", "dev"), "--yes")
    assert_clean_error(fargo(example, aws, "deploy", "--stage", "staging", "--yes"),
                       "stage 'staging' is not defined")


def test_module_is_terraform_fmt_clean(terraform_env: dict[str, str]) -> None:
    import os

    r = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-diff", "."],
                       cwd=REPO / "terraform" / "modules" / "fargo-jobs", capture_output=True,
                       text=True, env={**os.environ, **terraform_env})
    assert r.returncode == 0, r.stdout


def test_the_longest_names_the_validator_allows_are_applied(tmp_path: Path,
                                                            aws: dict[str, str]) -> None:
    """An app and stage whose longest stage name (<prefix>-workflow-failures) is 64
    characters, jobs whose role, schedule, function and event rule names are 64, and a
    scheduled workflow of 64: fargo validate passes them, and terraform applies them with the
    real provider (which checks AWS's name lengths itself)."""
    from fargo.project import names
    from tests.conftest import write_project

    app, stage = "a" * 33, "s" * 12
    prefix = names.prefix(app, stage)
    assert len(max(names.stage_names(app, stage), key=len)) == 64
    fargate, function, evented, flow = "f" * 17, "l" * 17, "e" * 14, "w" * 17
    root = write_project(tmp_path / "long", f"""
        from fargo import App

        app = App("{app}")

        @app.task("rate(1 hour)", retries=1)
        def {fargate}(event):
            return None

        @app.schedule("rate(1 hour)")
        def {function}(event):
            return None

        @app.task(events={{"source": ["fargo.long"]}})
        def {evented}(event):
            return None

        app.workflow("{flow}", {fargate}, schedule="rate(1 day)")
        """, {"app_name": app, "stages": {stage: {"region": "us-east-1"}}})
    assert len(names.job_name(app, stage, fargate)) == 64
    assert len(names.event_rule(app, stage, evented)) == 64
    use_network(root, aws, stage)
    r = fargo(root, aws, "validate", "--stage", stage)
    assert r.returncode == 0, r.stderr
    publish_image(aws, app, "v1")
    r = fargo(root, aws, "deploy", "--stage", stage, "--yes", "--image-tag", "v1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert boto(aws, "lambda").get_function(FunctionName=f"{prefix}-{function}")
    assert boto(aws, "events").describe_rule(Name=f"{prefix}-{evented}-on")
    assert boto(aws, "iam").get_role(RoleName=f"{prefix}-{fargate}")


def test_job_groups_apply_and_a_stage_moves_between_layouts(example: Path,
                                                            aws: dict[str, str]) -> None:
    """Above the split line each job's resources live in its group's module instance; a stage
    that crosses the line keeps every resource (moved, never destroyed and re-created)."""
    use_network(example, aws, "dev")
    publish_image(aws, "etl-platform", "v1")
    grouped = {**aws, "FARGO_SPLIT_ABOVE": "0"}
    r = fargo(example, grouped, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1")
    assert r.returncode == 0, r.stdout + r.stderr
    package = example / ".fargo" / "deploy" / "dev"
    root = json.loads((package / "main.tf.json").read_text())
    assert root["module"]["jobs"]["part"] == "stage" and len(root["module"]) > 2
    state = subprocess.run(["terraform", "state", "list"], cwd=package, capture_output=True,
                           text=True, env={**__import__("os").environ, **aws}, check=True)
    addresses = state.stdout.split()
    assert 'module.jobs.aws_ecs_task_definition.job["fetch_events"]' not in addresses
    assert any(re.match(r'module\.jobs_\d\d\.aws_ecs_task_definition\.job\["fetch_events"\]', a)
               for a in addresses)
    assert "module.jobs.aws_iam_role.scheduler[0]" in addresses
    # the deployed jobs work as before: names, the schedule's target, the root's jobs output
    schedule = boto(aws, "scheduler").get_schedule(Name="etl-platform-dev-daily_report",
                                                   GroupName="etl-platform-dev")
    assert schedule["Target"]["RoleArn"].endswith("/etl-platform-dev-scheduler")
    assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"].endswith(
        ":task-definition/etl-platform-dev-daily_report")
    from fargo.project.load import load_project

    output = subprocess.run(["terraform", "output", "-json", "jobs"], cwd=package,
                            capture_output=True, text=True,
                            env={**__import__("os").environ, **aws}, check=True)
    assert set(json.loads(output.stdout)) == set(load_project(example, "dev").task_names)
    assert plan(example, grouped, tag="v1")["change"] == 0
    # back below the line: every job resource moves to module.jobs, nothing is re-created
    back = plan(example, aws, tag="v1")
    assert (back["add"], back["destroy"]) == (0, 0) and back["moved"] > 0, back
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "to this layout's job groups" in r.stdout + r.stderr
    root = json.loads((package / "main.tf.json").read_text())
    assert list(root["module"]) == ["jobs"] and "moved" in root
    state = subprocess.run(["terraform", "state", "list"], cwd=package, capture_output=True,
                           text=True, env={**__import__("os").environ, **aws}, check=True)
    assert 'module.jobs.aws_ecs_task_definition.job["fetch_events"]' in state.stdout.split()
    again = plan(example, aws, tag="v1")
    assert (again["add"], again["change"], again["destroy"]) == (0, 0, 0)
    # and up again
    up = plan(example, grouped, tag="v1")
    assert (up["add"], up["destroy"]) == (0, 0) and up["moved"] > 0, up


def test_an_unchanged_stage_deploys_without_terraform_and_the_record_is_honest(
        example: Path, aws: dict[str, str], tmp_path: Path) -> None:
    from fargo.deploy import applied

    use_network(example, aws, "dev")
    publish_image(aws, "etl-platform", "v1")
    package = example / ".fargo" / "deploy" / "dev"
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((package / applied.RECORD).read_text())["digest"]

    def unchanged(env: dict[str, str] = aws, *extra: str) -> bool:
        r = fargo(example, env, "plan", "--stage", "dev", "--json", *extra)
        assert r.returncode == 0, r.stdout + r.stderr
        return "unchanged_since" in json.loads(r.stdout)

    # nothing changed: no terraform at all, for plan and deploy alike
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1")
    assert r.returncode == 0 and "terraform" not in r.stderr, r.stdout + r.stderr
    assert "nothing fargo deploys changed since the last apply" in r.stdout
    assert unchanged(aws, "--image-tag", "v1")

    # every input counts: a policy file, an environment value, the image tag, terraform itself
    policy = example / ".fargo" / "policy-daily_report.json"
    original = policy.read_text()
    policy.write_text(original.replace("s3:GetObject", "s3:GetObjectVersion", 1))
    assert not unchanged(aws, "--image-tag", "v1")
    # a real plan, but no second terraform init: nothing init reads changed
    r = fargo(example, aws, "plan", "--stage", "dev", "--image-tag", "v1")
    assert r.returncode == 0 and "terraform init: already done" in r.stderr, r.stderr
    policy.write_text(original)
    assert unchanged(aws, "--image-tag", "v1")  # a plan that changed nothing kept the record
    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    before = json.dumps(config)
    config["stages"]["dev"].setdefault("environment_variables", {})["EXTRA"] = "1"
    config_path.write_text(json.dumps(config))
    assert not unchanged(aws, "--image-tag", "v1")
    config_path.write_text(before)
    publish_image(aws, "etl-platform", "v2")
    assert not unchanged(aws, "--image-tag", "v2")
    other = tmp_path / "terraform"
    shutil.copy2(shutil.which("terraform") or "terraform", other)
    r = fargo(example, {**aws, "FARGO_TERRAFORM": str(other)}, "plan", "--stage", "dev",
              "--image-tag", "v1")  # a real plan, and a new init: the binary is another
    assert r.returncode == 0 and "terraform init\n" in r.stderr, r.stderr
    assert "already done" not in r.stderr and "Plan: 0 to add" in r.stdout, r.stdout
    # that plan found nothing to do and recorded the other binary: back to this one, a real plan
    assert not unchanged(aws, "--image-tag", "v1")
    assert unchanged(aws, "--image-tag", "v1")
    # the module's files and the provider lock are part of it (the package carries both)
    first = applied.digest(package, {"image_tag": "v1"}, shutil.which("terraform") or "")
    module_file = package / "modules" / "fargo-jobs" / "outputs.tf"
    module_file.write_text(module_file.read_text() + "\n")
    assert applied.digest(package, {"image_tag": "v1"}, shutil.which("terraform") or "") != first

    # a change made in AWS outside fargo is found with --refresh, and deployed back
    logs = boto(aws, "logs")
    logs.put_retention_policy(logGroupName="/fargo/etl-platform/dev/daily_report",
                              retentionInDays=1)
    assert unchanged(aws, "--image-tag", "v1")
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1", "--refresh")
    assert r.returncode == 0 and "Deployed" in r.stdout, r.stdout + r.stderr
    group = logs.describe_log_groups(logGroupNamePrefix="/fargo/etl-platform/dev/daily_report")
    assert group["logGroups"][0]["retentionInDays"] != 1
    assert unchanged(aws, "--image-tag", "v1")
    # fargo pause changes AWS outside terraform: the next plan is a real one
    assert fargo(example, aws, "pause", "daily_report", "--stage", "dev").returncode == 0
    assert not (package / applied.RECORD).exists()
    assert not unchanged(aws, "--image-tag", "v1")
    # destroy removes the record with the stage
    assert fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag",
                 "v1").returncode == 0
    assert (package / applied.RECORD).exists()
    assert fargo(example, aws, "destroy", "--stage", "dev", "--yes").returncode == 0
    assert not (package / applied.RECORD).exists()
