"""Deploying as data teams do, with real terraform against moto over HTTP: several stages and
apps in one account, existing clusters and roles, Lambda jobs in a VPC."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import _run, boto, publish_image, use_network

pytestmark = pytest.mark.slow


def fargo(root: Path, aws: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run(list(args), cwd=root, env=aws, timeout=600)


def deployed(root: Path, aws: dict[str, str], stage: str, tag: str) -> None:
    r = fargo(root, aws, "deploy", "--stage", stage, "--yes", "--image-tag", tag)
    assert r.returncode == 0, r.stdout + r.stderr


def empty_plan(root: Path, aws: dict[str, str], stage: str, tag: str) -> None:
    r = fargo(root, aws, "plan", "--stage", stage, "--json", "--image-tag", tag)
    assert r.returncode == 0, r.stdout + r.stderr
    changes = json.loads(r.stdout)
    assert (changes["add"], changes["change"], changes["destroy"]) == (0, 0, 0), \
        changes["resources"]


def second_app(example: Path, tmp_path: Path) -> Path:
    """The same code as another app of the same account (its own names everywhere)."""
    other = tmp_path / "reports"
    shutil.copytree(example, other)
    app = (other / "app.py").read_text().replace('App("etl-platform")', 'App("etl-reports")')
    (other / "app.py").write_text(app)
    config_path = other / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["app_name"] = "etl-reports"
    config_path.write_text(json.dumps(config))
    return other


def test_two_stages_and_two_apps_side_by_side(example: Path, tmp_path: Path,
                                              aws: dict[str, str]) -> None:
    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["prod"]["region"] = "us-east-1"  # same account, same region as dev
    config_path.write_text(json.dumps(config))
    use_network(example, aws, "dev", "prod")
    other = second_app(example, tmp_path)
    publish_image(aws, "etl-platform", "v1")
    publish_image(aws, "etl-reports", "v1")
    for root, stage in ((example, "dev"), (example, "prod"), (other, "dev")):
        deployed(root, aws, stage, "v1")

    iam = boto(aws, "iam")
    for prefix in ("etl-platform/dev", "etl-platform/prod", "etl-reports/dev"):
        assert iam.list_roles(PathPrefix=f"/fargo/{prefix}/")["Roles"], prefix
    clusters = boto(aws, "ecs").list_clusters()["clusterArns"]
    assert {c.rsplit("/", 1)[-1] for c in clusters} == {
        "etl-platform-dev", "etl-platform-prod", "etl-reports-dev"}
    # the prod alert topic's e-mail subscription is the stage's, not a job's
    r = fargo(example, aws, "plan", "--stage", "prod", "--json", "--image-tag", "v2-unpushed")
    changes = json.loads(r.stdout)
    assert set(changes["jobs"]) <= {"(stage)", "daily_report", "fetch_events",
                                    "transform_events"}, changes["jobs"]
    assert "deploy would stop here" in r.stderr and "v2-unpushed is not in the registry" in r.stderr

    # --- destroying dev leaves prod and the other app whole ---------------------------------
    r = fargo(example, aws, "destroy", "--stage", "dev", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert iam.list_roles(PathPrefix="/fargo/etl-platform/dev/")["Roles"] == []
    empty_plan(example, aws, "prod", "v1")
    empty_plan(other, aws, "dev", "v1")
    repositories = {r["repositoryName"] for r in
                    boto(aws, "ecr").describe_repositories()["repositories"]}
    assert repositories == {"etl-platform", "etl-reports"}


def _layer(aws: dict[str, str]) -> str:
    """A published Lambda layer version (Chalice projects often ship pandas as one)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/shared_lib.py", "VALUE = 1\n")
    published = boto(aws, "lambda").publish_layer_version(
        LayerName="shared-lib", Content={"ZipFile": buffer.getvalue()},
        CompatibleRuntimes=["python3.11"])
    return str(published["LayerVersionArn"])


def test_existing_cluster_roles_and_lambda_network(example: Path, aws: dict[str, str]) -> None:
    ecs, iam = boto(aws, "ecs"), boto(aws, "iam")
    cluster = ecs.create_cluster(clusterName="shared-batch")["cluster"]["clusterArn"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    execution = iam.create_role(RoleName="platform-ecs-exec", Path="/platform/",
                                AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    task_role = iam.create_role(RoleName="fetch-events", AssumeRolePolicyDocument=trust)[
        "Role"]["Arn"]
    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    dev = config["stages"]["dev"]
    dev.update(cluster=cluster, execution_role_arn=execution)
    dev["tasks"]["fetch_events"] = {"task_role_arn": task_role}
    layer = _layer(aws)
    dev["tasks"]["maint_heartbeat"] = {"reserved_concurrency": 1, "layers": [layer]}
    dev["tasks"]["maint_compact_landing"] = {"subnets": [], "security_groups": []}
    config_path.write_text(json.dumps(config))
    (example / ".fargo" / "policy-fetch_events.json").unlink()
    use_network(example, aws, "dev")
    publish_image(aws, "etl-platform", "v1")
    deployed(example, aws, "dev", "v1")

    roles = {r["RoleName"] for r in iam.list_roles(PathPrefix="/fargo/")["Roles"]}
    assert "etl-platform-dev-exec" not in roles and "etl-platform-dev-fetch_events" not in roles
    assert "etl-platform-dev-daily_report" in roles  # the others are still fargo's
    assert ecs.describe_clusters(clusters=["etl-platform-dev"])["clusters"] == [] or all(
        c["status"] != "ACTIVE" for c in ecs.describe_clusters(
            clusters=["etl-platform-dev"])["clusters"])
    fetch = ecs.describe_task_definition(taskDefinition="etl-platform-dev-fetch_events")[
        "taskDefinition"]
    assert fetch["executionRoleArn"] == execution and fetch["taskRoleArn"] == task_role
    scheduler = boto(aws, "scheduler")
    target = scheduler.get_schedule(Name="etl-platform-dev-daily_report",
                                    GroupName="etl-platform-dev")["Target"]
    assert target["Arn"] == cluster
    # fetch_events (retries) starts through the runner, which runs it on the given cluster
    runner_target = scheduler.get_schedule(Name="etl-platform-dev-fetch_events",
                                           GroupName="etl-platform-dev")["Target"]
    assert json.loads(runner_target["Input"])["target"]["Cluster"] == cluster
    policy = iam.get_role_policy(RoleName="etl-platform-dev-scheduler",
                                 PolicyName="etl-platform-dev-scheduler")["PolicyDocument"]
    passing = next(s for s in policy["Statement"] if s["Sid"] == "PassJobRoles")
    own = "arn:aws:iam::123456789012:role/fargo/etl-platform/dev/etl-platform-dev-"
    assert set(passing["Resource"]) == {f"{own}daily_report", execution}
    runner_policy = iam.get_role_policy(RoleName="etl-platform-dev-runner",
                                        PolicyName="etl-platform-dev-runner")["PolicyDocument"]
    runner_passing = next(s for s in runner_policy["Statement"] if s["Sid"] == "PassJobRoles")
    assert set(runner_passing["Resource"]) == {f"{own}transform_events", execution, task_role}

    functions = boto(aws, "lambda")
    heartbeat = functions.get_function(FunctionName="etl-platform-dev-maint_heartbeat")
    subnets = config_path.read_text()
    assert heartbeat["Configuration"]["VpcConfig"]["SubnetIds"][0] in subnets
    assert heartbeat["Concurrency"]["ReservedConcurrentExecutions"] == 1
    assert [x["Arn"] for x in heartbeat["Configuration"]["Layers"]] == [layer]
    compact = functions.get_function(FunctionName="etl-platform-dev-maint_compact_landing")
    assert not compact["Configuration"].get("VpcConfig", {}).get("SubnetIds")
    function_policy = iam.get_role_policy(
        RoleName="etl-platform-dev-maint_heartbeat",
        PolicyName="etl-platform-dev-maint_heartbeat")["PolicyDocument"]
    assert any("ec2:CreateNetworkInterface" in s["Action"]
               for s in function_policy["Statement"])
    empty_plan(example, aws, "dev", "v1")


def test_subnets_that_do_not_exist_are_refused_at_deploy(example: Path,
                                                         aws: dict[str, str]) -> None:
    publish_image(aws, "etl-platform", "v1")
    r = fargo(example, aws, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "subnet subnet-0123456789abcdef0 does not exist in us-east-1" in r.stderr
    assert "security group sg-0123456789abcdef0 does not exist" in r.stderr
    assert "Traceback" not in r.stderr


HOSTILE_APP = '''
from fargo import App

app = App("strings")


@app.task("rate(1 day)", description="copies ${var.image} and %{ if true }x%{ endif } as text")
def export(event, context):
    return None


@app.schedule("rate(1 day)")
def ping(event):
    return None
'''


def test_user_strings_reach_aws_literally(tmp_path: Path, aws: dict[str, str]) -> None:
    """Terraform evaluates ${...} and %{...} in JSON strings: fargo's root must not let it."""
    from tests.conftest import write_project

    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOP-SECRET")
    hostile = {"READ_FILE": f'${{file("{secret_file}")}}', "TEMPLATE": "%{ if true }yes%{ endif }",
               "DOLLARS": "$${already} and $HOME"}
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::home-bucket/${aws:username}/*"}]}
    root = write_project(tmp_path / "strings", HOSTILE_APP, {
        "app_name": "strings", "environment_variables": hostile,
        "stages": {"dev": {"region": "us-east-1"}}},
        policies={"policy-export.json": policy, "policy-ping.json": policy})
    use_network(root, aws, "dev")
    publish_image(aws, "strings", "v1")
    deployed(root, aws, "dev", "v1")

    task = boto(aws, "ecs").describe_task_definition(taskDefinition="strings-dev-export")
    env = {e["name"]: e["value"] for e in task["taskDefinition"]["containerDefinitions"][0][
        "environment"]}
    assert {k: env[k] for k in hostile} == hostile
    assert "TOP-SECRET" not in json.dumps(task)
    function = boto(aws, "lambda").get_function(FunctionName="strings-dev-ping")
    assert {k: function["Configuration"]["Environment"]["Variables"][k] for k in hostile} == \
        hostile
    schedule = boto(aws, "scheduler").get_schedule(Name="strings-dev-export",
                                                   GroupName="strings-dev")
    assert schedule["Description"] == \
        "copies ${var.image} and %{ if true }x%{ endif } as text"
    iam = boto(aws, "iam")
    for role in ("strings-dev-export", "strings-dev-ping"):
        document = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
        resources = json.dumps(document)
        assert "arn:aws:s3:::home-bucket/${aws:username}/*" in resources, resources
    empty_plan(root, aws, "dev", "v1")
