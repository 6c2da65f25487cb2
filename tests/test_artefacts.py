"""What fargo ships, run as AWS runs it: the image in a real container from the task definition
terraform applied, the Lambda zip under Lambda's own runtime interface client (awslambdaric).

These need a Docker engine with a Python base image (scripts/docker-engine start); they skip
without one, and fail without one under FARGO_REQUIRE_DOCKER=1 (CI).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from fargo.local import container, lambda_sandbox
from tests.conftest import (
    _run,
    boto,
    publish_image,
    use_base_image,
    use_network,
    write_project,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docker")]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
SCHEDULED = {"version": "0", "id": "5f2c1a6e-0000-4000-8000-000000000001",
             "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": "2026-12-07T06:30:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}


def json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def ended(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The runtime's last line: status, result, error."""
    return next(line for line in reversed(lines) if "status" in line)


@pytest.fixture(scope="session")
def lambda_image(docker_env: dict[str, str]) -> str:
    return lambda_sandbox.ensure_runtime_image(docker_env["FARGO_TEST_BASE_IMAGE"], PYTHON,
                                               {**os.environ, **docker_env}, network="host")


def scaffold(tmp_path: Path, docker_env: dict[str, str]) -> Path:
    r = _run(["new", "demo"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    root = tmp_path / "demo"
    use_base_image(root, docker_env["FARGO_TEST_BASE_IMAGE"])
    return root


@pytest.fixture
def moto_runs_lambdas(docker_env: dict[str, str], lambda_image: str,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's Lambda backend (in this process) runs functions in the Lambda-shaped image, on
    the host's network; its helper image `busybox` is the base (no registry to pull from)."""
    import subprocess

    env = {**os.environ, **docker_env}
    if subprocess.run(["docker", "image", "inspect", "busybox"], env=env,
                      capture_output=True).returncode != 0:
        subprocess.run(["docker", "tag", docker_env["FARGO_TEST_BASE_IMAGE"], "busybox"],
                       env=env, check=True)
    monkeypatch.setenv("DOCKER_HOST", docker_env["DOCKER_HOST"])
    monkeypatch.setenv("MOTO_DOCKER_LAMBDA_IMAGE", lambda_image)
    monkeypatch.setenv("MOTO_DOCKER_NETWORK_MODE", "host")


def test_scaffold_runs_in_its_image_and_zip_as_deployed(tmp_path: Path, aws: dict[str, str],
                                                       docker_env: dict[str, str],
                                                       lambda_image: str,
                                                       moto_runs_lambdas: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """fargo new, build, deploy on moto with terraform; then every job runs from what was
    deployed (task definition, function configuration, zip) against the stage's bucket, and
    ends as `fargo invoke` of the same job on the same data does."""
    root = scaffold(tmp_path, docker_env)
    env = {**aws, **docker_env}
    use_network(root, aws, "dev")
    secret_arn = boto(aws, "secretsmanager").create_secret(
        Name="demo-db", SecretString=json.dumps({"password": "s3cr3t"}))["ARN"]
    boto(aws, "ssm").put_parameter(Name="/demo/dev/api-token", Value="t0ken",
                                   Type="SecureString")
    path = root / ".fargo" / "config.json"
    config = json.loads(path.read_text())
    config["stages"]["dev"]["secrets"] = {"API_TOKEN": "/demo/dev/api-token",
                                          "DB_PASSWORD": f"{secret_arn}:password::"}
    path.write_text(json.dumps(config))
    r = _run(["build", "--stage", "dev", "--network", "host"], cwd=root, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    built = json.loads((root / ".fargo/build/dev/image.json").read_text())
    publish_image(aws, "demo", built["tag"])
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", built["tag"]], cwd=root,
             env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    # the stage's bucket holds what the local folder holds
    s3 = boto(aws, "s3")
    s3.create_bucket(Bucket="demo-dev-data")
    s3.put_object(Bucket="demo-dev-data", Key="raw/events.jsonl",
                  Body=(root / "data" / "events.jsonl").read_bytes())
    local = {}
    for job in ("ingest_events", "daily_rollup", "purge_old_outputs"):
        r = _run(["invoke", job, "--json"], cwd=root, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        local[job] = ended(json_lines(r.stdout))

    ecs = boto(aws, "ecs")
    client_env = {**os.environ, **docker_env}
    credentials = {k: aws[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                       "AWS_ENDPOINT_URL")}
    for job in ("ingest_events", "daily_rollup"):
        definition = ecs.describe_task_definition(taskDefinition=f"demo-dev-{job}")[
            "taskDefinition"]
        from fargo.project.load import load_project

        spec = load_project(root, "dev").require(job)
        image = definition["containerDefinitions"][0]["image"]
        assert image == f"{built['repository']}:{built['tag']}"
        model = container.task_definition(spec, image)
        applied = definition["containerDefinitions"][0]
        for key in ("entryPoint", "command", "environment", "mountPoints"):
            assert applied[key] == model["containerDefinitions"][0][key], key
        assert applied.get("secrets", []) == model["containerDefinitions"][0]["secrets"]
        assert (definition["cpu"], definition["memory"]) == (model["cpu"], model["memory"])
        from fargo.aws.secrets import resolve

        with_aws = {**client_env, **aws}
        for key, value in credentials.items():  # resolve() reads moto as ECS's agent would
            monkeypatch.setenv(key, value)
        resolved = resolve({s["name"]: s["valueFrom"] for s in applied["secrets"]}, "us-east-1")
        assert resolved == {"API_TOKEN": "t0ken", "DB_PASSWORD": "s3cr3t"}
        probe = json.loads(json.dumps(definition))
        probe["containerDefinitions"][0].update(command=[], entryPoint=[
            "python", "-c", "import os; print(os.environ['API_TOKEN'], "
                            "os.environ['DB_PASSWORD'], os.environ['AWS_EXECUTION_ENV'])"])
        seen: list[str] = []
        container.run(container.docker_run(probe, f"p-{job}-{os.getpid()}", region="us-east-1",
                                           overrides={}, secrets=resolved,
                                           client_env=with_aws), root, 60, on_line=seen.append)
        assert seen == ["t0ken s3cr3t AWS_ECS_FARGATE"], seen
        assert "s3cr3t" not in " ".join(container.docker_run(
            definition, "x", region="us-east-1", overrides={}, secrets=resolved,
            client_env=with_aws).argv), "a secret's value never reaches docker's argv"
        run = container.docker_run(definition, f"t-{job}-{os.getpid()}", region="us-east-1",
                                   overrides={"FARGO_RUN_ID": f"ecs-{job}", **credentials},
                                   secrets=resolved, client_env=client_env)
        output: list[str] = []
        stopped = container.run(run, root, 120, on_line=output.append)
        assert stopped.code == 0, "\n".join(output)
        last = ended(json_lines("\n".join(output)))
        assert last["status"] == "succeeded"
        assert last["result"] == local[job]["result"], (last, local[job])
    days = json.loads(s3.get_object(Bucket="demo-dev-data",
                                    Key="curated/daily_totals.json")["Body"].read())
    assert days == json.loads((root / "output" / "daily_totals.json").read_text())

    # the Lambda job, from the zip the function was created with, under awslambdaric
    function = boto(aws, "lambda").get_function_configuration(
        FunctionName="demo-dev-purge_old_outputs")
    zip_path = root / ".fargo/build/dev/lambda.zip"
    assert function["CodeSha256"] == base64.b64encode(
        hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    function["Environment"]["Variables"].update(credentials)
    output = []
    answer = lambda_sandbox.invoke(zip_path, function, SCHEDULED, image=lambda_image,
                                   region="us-east-1", client_env=client_env,
                                   on_line=output.append)
    assert answer.status == "succeeded", (answer, output)
    assert "removed 0 old partitions from s3://demo-dev-data/curated/clean" in output

    # and as the deployed function, invoked on moto: moto runs it in the same image
    r = _run(["run", "purge_old_outputs", "--stage", "dev", "--wait"], cwd=root, env=env,
             timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    logs = boto(aws, "logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/demo-dev-purge_old_outputs")
    said = "\n".join(e["message"] for e in events["events"])
    assert "removed 0 old partitions from s3://demo-dev-data/curated/clean" in said, said


def test_invoke_container_runs_the_example_in_its_artefacts(example: Path,
                                                            aws: dict[str, str],
                                                            docker_env: dict[str, str],
                                                            lambda_image: str) -> None:
    """`fargo invoke JOB --container` for every job of the example: each reads and writes the
    stage's bucket (on moto) where `fargo invoke` uses the local folder, ends as `fargo invoke`
    does with the same result, and is recorded in the local history."""
    use_base_image(example, docker_env["FARGO_TEST_BASE_IMAGE"])
    env = {**aws, **docker_env}
    s3 = boto(aws, "s3")
    s3.create_bucket(Bucket="etl-platform-data")
    r = _run(["build", "--stage", "dev", "--network", "host"], cwd=example, env=env,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    event = json.dumps({"time": "2026-12-07T06:30:00Z"})
    for job in ("fetch_events", "transform_events", "daily_report", "maint_compact_landing",
                "maint_heartbeat"):
        here = _run(["invoke", job, "--json", "--event", event], cwd=example, env=env)
        shipped = _run(["invoke", job, "--json", "--event", event, "--container"],
                       cwd=example, env=env, timeout=300)
        assert (shipped.returncode, here.returncode) == (0, 0), shipped.stdout + shipped.stderr
        a, b = ended(json_lines(here.stdout)), ended(json_lines(shipped.stdout))
        assert a["status"] == b["status"] == "succeeded", (a, b)
        if job.startswith("maint_"):
            continue  # the Lambda jobs' results go to Lambda, not to the log line
        assert a["result"] == b["result"], (job, a, b)
    landed = s3.list_objects_v2(Bucket="etl-platform-data")["Contents"]
    assert {item["Key"].split("/")[0] for item in landed} == {"landing", "clean", "reports"}
    history = _run(["history", "--json"], cwd=example, env=env)
    runs = json.loads(history.stdout)
    rows = runs if isinstance(runs, list) else runs.get("runs", [])
    assert len(rows) == 10 and all(row["status"] == "succeeded" for row in rows), rows


TRAPS = '''\
import os
import time
from fargo import App

app = App("traps")


@app.task(timeout="3s")
def sleepy(event, context):
    time.sleep(30)


@app.task(memory=512)
def hog(event, context):
    blocks = [bytearray(64 * 2**20) for _ in range(40)]
    return len(blocks)


@app.task()
def explode(event, context):
    raise ValueError("bad input")


@app.task()
def reads_unshipped(event, context):
    with open("notes/reference.txt", encoding="utf-8") as handle:
        return {"chars": len(handle.read())}


@app.task()
def needs_undeclared(event, context):
    import jsonschema  # installed where fargo runs, not in requirements.txt
    return {"module": jsonschema.__name__}


@app.task(events={"source": ["fargo.lake"], "detail-type": ["Landed"]})
def on_landed(event, context):
    return {"key": event.detail["key"], "source": event.source, "id": event.id}


@app.lambda_function()
def lambda_explode(event, context):
    raise KeyError("missing")


@app.lambda_function()
def lambda_writes_task_root(event, context):
    with open("written-here.txt", "w", encoding="utf-8") as handle:
        handle.write("only /tmp is writable on Lambda")
    return {"ok": True}


@app.lambda_function()
def lambda_tmp(event, context):
    with open("/tmp/scratch.txt", "w", encoding="utf-8") as handle:
        handle.write("x")
    return {"user": os.getuid() != 0, "root": os.environ.get("LAMBDA_TASK_ROOT")}
'''


def test_what_only_works_in_a_subprocess_fails_in_the_artefact(tmp_path: Path,
                                                               docker_env: dict[str, str],
                                                               lambda_image: str) -> None:
    config = {"app_name": "traps", "base_image": docker_env["FARGO_TEST_BASE_IMAGE"],
              "stages": {"dev": {"region": "us-east-1"}},
              "tasks": {"lambda_sleepy": {}}}
    config["tasks"] = {}
    root = write_project(tmp_path / "traps", TRAPS, config,
                         files={"notes/reference.txt": "not shipped: not code\n"})
    (root / "app.py").write_text((root / "app.py").read_text() + (
        "\n\n@app.lambda_function()\ndef lambda_sleepy(event, context):\n"
        "    time.sleep(30)\n"))
    config["tasks"] = {"lambda_sleepy": {"timeout": 2}}
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    env = {**docker_env, "AWS_DEFAULT_REGION": "us-east-1"}
    r = _run(["build", "--stage", "dev", "--network", "host"], cwd=root, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    def both(job: str) -> tuple[Any, Any]:
        here = _run(["invoke", job, "--json"], cwd=root, env=env, timeout=120)
        shipped = _run(["invoke", job, "--json", "--container"], cwd=root, env=env,
                       timeout=300)
        assert "Traceback (most recent call last)" not in shipped.stderr.split("warning")[0] \
            or job.endswith("explode"), shipped.stderr
        return here, shipped

    here, shipped = both("reads_unshipped")
    assert here.returncode == 0 and shipped.returncode == 1, shipped.stdout
    assert "FileNotFoundError" in ended(json_lines(shipped.stdout))["error"]
    here, shipped = both("needs_undeclared")
    assert here.returncode == 0 and shipped.returncode == 1, shipped.stdout
    assert "ModuleNotFoundError" in ended(json_lines(shipped.stdout))["error"]
    here, shipped = both("lambda_writes_task_root")
    assert here.returncode == 0 and shipped.returncode == 1, shipped.stdout + shipped.stderr
    assert "Read-only file system" in shipped.stdout + shipped.stderr
    here, shipped = both("lambda_tmp")
    assert (here.returncode, shipped.returncode) == (0, 0), shipped.stdout + shipped.stderr

    # an event-triggered job gets its event as the rule's target hands it over
    landed = json.dumps({"version": "0", "id": "e-1", "source": "fargo.lake",
                         "detail-type": "Landed", "account": "123456789012",
                         "time": "2026-12-07T06:30:00Z", "region": "us-east-1",
                         "resources": [], "detail": {"key": "in/a.csv"}})
    here = _run(["invoke", "on_landed", "--json", "--event", landed], cwd=root, env=env)
    shipped = _run(["invoke", "on_landed", "--json", "--event", landed, "--container"],
                   cwd=root, env=env, timeout=300)
    assert ended(json_lines(shipped.stdout))["result"] == ended(json_lines(here.stdout))[
        "result"] == {"key": "in/a.csv", "source": "fargo.lake", "id": "e-1"}, shipped.stdout
    # the same endings in both: a timeout is 124, a raise is 1
    for job, code in (("sleepy", 124), ("explode", 1), ("lambda_explode", 1),
                      ("lambda_sleepy", 124)):
        here, shipped = both(job)
        assert (here.returncode, shipped.returncode) == (code, code), (
            job, here.stdout[-500:], shipped.stdout[-500:] + shipped.stderr[-500:])
    assert "Task timed out after 2.00 seconds" in shipped.stderr
    # a memory limit: ECS kills the container and says why; fargo shows and records that
    shipped = _run(["invoke", "hog", "--container"], cwd=root, env=env, timeout=300)
    assert shipped.returncode == 137, shipped.stdout + shipped.stderr
    assert container.OOM_REASON in shipped.stderr
    history = json.loads(_run(["history", "--json", "hog"], cwd=root, env=env).stdout)
    rows = history if isinstance(history, list) else history.get("runs", [])
    assert rows[0]["reason"] == container.OOM_REASON, rows


def test_container_needs_a_built_image(tmp_path: Path, docker_env: dict[str, str]) -> None:
    root = scaffold(tmp_path, docker_env)
    r = _run(["invoke", "ingest_events", "--container"], cwd=root, env=docker_env)
    assert r.returncode == 2 and "no image was built for stage dev" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    shutil.rmtree(root / ".fargo" / "local", ignore_errors=True)
    assert not (root / ".fargo" / "local" / "runs.sqlite").exists()


def test_the_scaffold_config_keeps_local_folders_out_of_aws(tmp_path: Path) -> None:
    """Locally the jobs use folders; deployed, the stage's bucket (never a folder)."""
    r = _run(["new", "demo"], cwd=tmp_path)
    assert r.returncode == 0
    r = _run(["config", "ingest_events", "--stage", "prod", "--json"], cwd=tmp_path / "demo")
    values = json.loads(r.stdout)
    assert values["environment_variables"]["value"]["DATA_URL"] == "s3://demo-prod-data/raw"
    assert values["local_environment_variables"]["value"]["DATA_URL"] == "data"
    path = tmp_path / "demo" / ".fargo" / "config.json"
    config = json.loads(path.read_text())
    config["stages"]["prod"].update(subnets=["subnet-0a1b2c3d"], security_groups=["sg-0a1b2c3d"])
    path.write_text(json.dumps(config))
    r = _run(["package", "--stage", "prod"], cwd=tmp_path / "demo")
    assert r.returncode == 0, r.stderr
    packaged = "\n".join(p.read_text() for p in (tmp_path / "demo" / ".fargo" / "deploy"
                                                  / "prod").glob("*.tf.json"))
    assert '"DATA_URL": "s3://demo-prod-data/raw"' in packaged
    assert '"DATA_URL": "data"' not in packaged


FLOW = '''\
from fargo import App

app = App("flow")


@app.task
def extract(event):
    return {"files": [f"part-{i}.csv" for i in range(3)], "day": event.get("day")}


@app.task
def report(event):
    return {"files": len(event["files"]), "day": event["day"]}


app.workflow("nightly", extract, report)
'''


def test_workflow_steps_answer_step_functions_from_their_container(
        tmp_path: Path, aws: dict[str, str], docker_env: dict[str, str]) -> None:
    """A deployed workflow on moto: each ECS task its state machine starts runs in the image,
    from its task definition with RunTask's overrides (the task token among them), and the
    runtime in the container answers Step Functions itself."""
    import time
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(
        f"{aws['AWS_ENDPOINT_URL']}/moto-api/config", method="POST",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())).read()
    config = {"app_name": "flow", "base_image": docker_env["FARGO_TEST_BASE_IMAGE"],
              "stages": {"dev": {"region": "us-east-1"}}}
    root = write_project(tmp_path / "flow", FLOW, config)
    env = {**aws, **docker_env}
    local = _run(["invoke", "nightly", "--event", '{"day": "2026-02-02"}'], cwd=root, env=env)
    assert local.returncode == 0, local.stderr
    use_network(root, aws, "dev")
    r = _run(["build", "--stage", "dev", "--network", "host", "--tag", "v1"], cwd=root, env=env,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "boto3" in (root / ".fargo/build/dev/image/requirements.txt").read_text()
    publish_image(aws, "flow", "v1")
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=env,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    sfn, ecs = boto(aws, "stepfunctions"), boto(aws, "ecs")
    (machine,) = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                  if m["name"] == "flow-dev-nightly"]
    execution = sfn.start_execution(stateMachineArn=machine,
                                    input=json.dumps({"day": "2026-02-02"}))["executionArn"]
    client_env = {**os.environ, **docker_env}
    credentials = {k: aws[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                       "AWS_ENDPOINT_URL")}
    seen: set[str] = set()
    codes = []
    deadline = time.monotonic() + 240
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        for task_arn in set(ecs.list_tasks(cluster="flow-dev")["taskArns"]) - seen:
            seen.add(task_arn)
            (task,) = ecs.describe_tasks(cluster="flow-dev", tasks=[task_arn])["tasks"]
            definition = ecs.describe_task_definition(
                taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
            overrides = {e["name"]: e["value"] for e in
                         task["overrides"]["containerOverrides"][0]["environment"]}
            assert "FARGO_TASK_TOKEN" in overrides
            run = container.docker_run(definition, f"step-{len(seen)}-{os.getpid()}",
                                       region="us-east-1",
                                       overrides={**overrides, **credentials}, secrets={},
                                       client_env=client_env)
            output: list[str] = []
            codes.append(container.run(run, root, 120, on_line=output.append).code)
            assert codes[-1] == 0, "\n".join(output)
        time.sleep(0.2)
    done = sfn.describe_execution(executionArn=execution)
    assert done["status"] == "SUCCEEDED", done
    assert codes == [0, 0]
    assert json.loads(done["output"]) == json.loads(local.stdout[local.stdout.index("{"):])


CHALICE = '''\
from chalice import Chalice

app = Chalice(app_name="lake")


@app.schedule("rate(1 hour)")
def hourly(event):
    return {"time": event.time, "source": event.source}


@app.on_cw_event({"source": ["fargo.lake"]})
def landed(event):
    return {"detail": event.detail, "type": event.detail_type}


@app.on_s3_event(bucket="raw-landing", events=["s3:ObjectCreated:*"])
def object_in(event):
    return {"bucket": event.bucket, "key": event.key}
'''


def test_chalice_handlers_run_from_the_zip_under_lambdas_runtime_client(
        tmp_path: Path, docker_env: dict[str, str], lambda_image: str) -> None:
    """A Chalice app (chalice's own runtime shipped in the zip): a schedule, a CloudWatch event
    and an S3 notification, each in the event shape Lambda hands it, answer what
    `fargo invoke` of the same event answers."""
    config = {"app_name": "lake", "base_image": docker_env["FARGO_TEST_BASE_IMAGE"],
              "stages": {"dev": {"region": "us-east-1"}}}
    root = write_project(tmp_path / "lake", CHALICE, config)
    env = {**docker_env, "AWS_DEFAULT_REGION": "us-east-1"}
    r = _run(["build", "--stage", "dev"], cwd=root, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    from fargo.project.load import load_project

    project = load_project(root, "dev")
    s3_event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                             "s3": {"bucket": {"name": "raw-landing"},
                                    "object": {"key": "in/q1+2026.csv", "size": 5}}}]}
    cw_event = {**SCHEDULED, "source": "fargo.lake", "detail-type": "Landed",
                "detail": {"key": "in/a.csv"}}
    for job, event, expected in (
            ("hourly", SCHEDULED, {"time": SCHEDULED["time"], "source": "aws.events"}),
            ("landed", cw_event, {"detail": {"key": "in/a.csv"}, "type": "Landed"}),
            ("object_in", s3_event, {"bucket": "raw-landing", "key": "in/q1 2026.csv"})):
        here = _run(["invoke", job, "--json", "--event", json.dumps(event)], cwd=root, env=env)
        assert here.returncode == 0, here.stdout + here.stderr
        assert ended(json_lines(here.stdout))["result"] == expected
        configuration = lambda_sandbox.function_configuration(project.require(job), PYTHON)
        output: list[str] = []
        answer = lambda_sandbox.invoke(root / ".fargo/build/dev/lambda.zip", configuration,
                                       event, image=lambda_image, region="us-east-1",
                                       client_env={**os.environ, **docker_env},
                                       on_line=output.append)
        assert answer.status == "succeeded", (answer, output)
        assert answer.payload == expected, (job, answer.payload)


def test_build_push_to_a_real_registry_then_deploy_what_it_has(
        tmp_path: Path, aws: dict[str, str], docker_env: dict[str, str], registry: str) -> None:
    """fargo build --push to a registry on loopback; fargo deploy checks that registry for the
    tag, deploys it, and refuses a tag the registry does not have."""
    import urllib.request

    root = scaffold(tmp_path, docker_env)
    env = {**aws, **docker_env}
    use_network(root, aws, "dev")
    config = json.loads((root / ".fargo" / "config.json").read_text())
    config["stages"]["dev"]["image"] = f"{registry}/demo"
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    r = _run(["build", "--stage", "dev", "--network", "host", "--push"], cwd=root, env=env,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    tag = json.loads((root / ".fargo/build/dev/image.json").read_text())["tag"]
    assert f"Image: {registry}/demo:{tag} (pushed)" in r.stdout
    tags = json.loads(urllib.request.urlopen(f"http://{registry}/v2/demo/tags/list").read())
    assert tags["tags"] == [tag]
    assert_refused = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "never-pushed"],
                          cwd=root, env=env, timeout=600)
    assert assert_refused.returncode == 2, assert_refused.stdout + assert_refused.stderr
    assert f"{registry}/demo:never-pushed is not in the registry" in assert_refused.stderr
    r = _run(["deploy", "--stage", "dev", "--yes"], cwd=root, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    definition = boto(aws, "ecs").describe_task_definition(
        taskDefinition="demo-dev-ingest_events")["taskDefinition"]
    assert definition["containerDefinitions"][0]["image"] == f"{registry}/demo:{tag}"
