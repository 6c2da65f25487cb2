"""fargo package without AWS: deterministic files, the root's content, the Lambda zip."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from fargo.project.load import load_project
from fargo.synth.root import build_root, job_input
from tests.conftest import _run, assert_clean_error


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_package_is_deterministic(example: Path, tmp_path: Path) -> None:
    first = _run(["package", "--stage", "prod", "--out", str(tmp_path / "a")], cwd=example)
    assert first.returncode == 0, first.stderr
    second = _run(["package", "--stage", "prod", "--out", str(tmp_path / "b")], cwd=example)
    assert second.returncode == 0
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert {"main.tf.json", "lambda.zip", "modules/fargo-jobs/main.tf",
            "modules/fargo-jobs/variables.tf"} <= set(digest(tmp_path / "a"))
    # re-packaging in place keeps files terraform owns
    (tmp_path / "a" / "terraform.tfstate").write_text("{}")
    _run(["package", "--stage", "prod", "--out", str(tmp_path / "a")], cwd=example)
    assert (tmp_path / "a" / "terraform.tfstate").read_text() == "{}"


def test_root_calls_the_module_with_the_model(example: Path) -> None:
    project = load_project(example, "prod")
    root = build_root(project)
    module = root["module"]["jobs"]
    assert module["source"] == "./modules/fargo-jobs"
    assert (module["app_name"], module["stage"]) == ("etl-platform", "prod")
    assert module["subnets"] == ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]
    report = module["jobs"]["daily_report"]
    assert report["cpu"] == 2048 and report["memory"] == 8192 and report["spot"] is True
    assert report["architecture"] == "arm64" and report["ephemeral_storage_gib"] == 50
    assert report["timezone"] == "America/New_York"
    assert report["secrets"] == {"SOURCE_API_TOKEN": "/etl-platform/prod/source-api-token"}
    assert json.loads(report["policy_json"])["Statement"][0]["Action"] == [
        "s3:GetObject", "s3:PutObject"]
    lam = module["jobs"]["maint_compact_landing"]
    assert lam["compute"] == "lambda" and "cpu" not in lam and "secrets" not in lam
    assert "schedule" not in module["jobs"]["maint_heartbeat"]
    assert module["image"].endswith("/etl-platform:${var.image_tag}")
    assert "create_ecr_repository" not in module  # the app's repository, owned by no stage
    assert module["create_cluster"] is True and "cluster_arn" not in module
    assert module["jobs"]["fetch_events"]["subnets"] == module["subnets"]
    assert root["provider"]["aws"]["allowed_account_ids"] == ["123456789012"]
    assert root["terraform"]["backend"] == {"local": {"path": "terraform.tfstate"}}


def test_stage_image_and_s3_backend(example: Path) -> None:
    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["prod"]["image"] = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/etl"
    config["stages"]["prod"]["terraform_state"] = {"bucket": "tf-state", "dynamodb_table": "locks"}
    config["stages"]["dev"]["image"] = "registry.example/etl:1.2.3"
    config_path.write_text(json.dumps(config))
    prod = build_root(load_project(example, "prod"))
    assert prod["module"]["jobs"]["image"] == (
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com/etl:${var.image_tag}")
    assert prod["terraform"]["backend"]["s3"] == {
        "bucket": "tf-state", "key": "fargo/etl-platform/prod.tfstate", "region": "eu-west-1",
        "encrypt": True, "dynamodb_table": "locks"}
    assert build_root(load_project(example, "dev"))["module"]["jobs"]["image"] == \
        "registry.example/etl:1.2.3"


def test_the_apps_registry_is_the_partitions(example: Path) -> None:
    """China's regions have their own ECR host (amazonaws.com.cn), and the module's scoping of
    pull permissions reads it back."""
    from fargo.project import names

    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["prod"]["region"] = "cn-north-1"
    config["stages"]["prod"].pop("account", None)
    config_path.write_text(json.dumps(config))
    image = build_root(load_project(example, "prod"))["module"]["jobs"]["image"]
    assert image == ("${data.aws_caller_identity.current.account_id}.dkr.ecr.cn-north-1."
                     "amazonaws.com.cn/etl-platform:${var.image_tag}")
    assert names.ecr_url("123456789012", "eu-west-1", "app") == \
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
    module = (Path(__file__).parent.parent / "src" / "fargo" / "synth" / "module" / "main.tf")
    assert "amazonaws\\\\.com(?:\\\\.cn)?/" in module.read_text()


def test_existing_cluster_roles_and_lambda_network(example: Path) -> None:
    config_path = example / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    prod = config["stages"]["prod"]
    prod["cluster"] = "arn:aws:ecs:eu-west-1:123456789012:cluster/shared-batch"
    prod["execution_role_arn"] = "arn:aws:iam::123456789012:role/platform/ecs-exec"
    prod["tasks"]["fetch_events"] = {"task_role_arn": "arn:aws:iam::123456789012:role/fetch"}
    prod["tasks"]["maint_heartbeat"] = {"reserved_concurrency": 1}
    config_path.write_text(json.dumps(config))
    (example / ".fargo" / "policy-fetch_events.json").unlink()
    module = build_root(load_project(example, "prod"))["module"]["jobs"]
    assert module["cluster_arn"] == "arn:aws:ecs:eu-west-1:123456789012:cluster/shared-batch"
    assert module["cluster_name"] == "shared-batch" and module["create_cluster"] is False
    assert module["execution_role_arn"] == "arn:aws:iam::123456789012:role/platform/ecs-exec"
    assert module["jobs"]["fetch_events"]["task_role_arn"] == \
        "arn:aws:iam::123456789012:role/fetch"
    heartbeat = module["jobs"]["maint_heartbeat"]
    assert heartbeat["reserved_concurrency"] == 1
    assert heartbeat["subnets"] == ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]
    assert heartbeat["security_groups"] == ["sg-0a1b2c3d4e5f60718"]


def test_job_input_leaves_out_what_does_not_apply(example: Path) -> None:
    project = load_project(example, "dev")
    fetch = job_input(project.task("fetch_events"))  # type: ignore[arg-type]
    assert "ephemeral_storage_gib" not in fetch and fetch["environment"]["BATCH_SIZE"] == "50"


def test_lambda_zip_runs_from_a_clean_directory(example: Path, tmp_path: Path) -> None:
    _run(["package", "--stage", "dev", "--out", str(tmp_path / "pkg")], cwd=example)
    unpacked = tmp_path / "unzipped"
    with zipfile.ZipFile(tmp_path / "pkg" / "lambda.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {"app.py", "chalicelib/maintenance.py", "fargo/runtime/run.py",
                "fargo/app.py"} <= set(names)
        tag = sys.implementation.cache_tag  # bytecode for the zip's Python, for every module
        assert {f"__pycache__/app.{tag}.pyc", f"fargo/runtime/__pycache__/run.{tag}.pyc",
                f"chalicelib/__pycache__/maintenance.{tag}.pyc"} <= set(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in archive.infolist())
        archive.extractall(unpacked)
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(unpacked)!r})\n"
        "from fargo.runtime import lambda_handler\n"
        "import fargo\n"
        f"assert fargo.__file__.startswith({str(unpacked)!r}), fargo.__file__\n"
        "class C:\n    aws_request_id = 'r'\n"
        "    def get_remaining_time_in_millis(self):\n        return 1000\n"
        "print(json.dumps(lambda_handler({'detail': {}, 'time': 't'}, C())))\n")
    env = {"PATH": "/usr/bin:/bin", "FARGO_TASK": "maint_heartbeat", "FARGO_STAGE": "dev",
           "LAMBDA_TASK_ROOT": str(unpacked)}
    # -I -S: no site-packages, no environment: only the standard library and the zip's content
    r = subprocess.run([sys.executable, "-I", "-S", "-B", "-v", "-c", script], cwd=unpacked,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1]) == {"ok": True, "stage": "dev"}
    # the interpreter ran the shipped bytecode instead of compiling the sources
    for module in ("fargo/runtime/__pycache__/run", "chalicelib/__pycache__/maintenance"):
        assert f"code object from '{unpacked}/{module}.{sys.implementation.cache_tag}.pyc'" in \
            r.stderr, module


def test_package_bad_input(example: Path) -> None:
    assert_clean_error(_run(["package"], cwd=example), "--stage")
    assert_clean_error(_run(["package", "--stage", "qa"], cwd=example),
                       "stage 'qa' is not defined")
    r = _run(["deploy", "--stage", "dev", "--yes"], cwd=example,
             env={"FARGO_TERRAFORM": "/nonexistent/terraform", "PATH": "/usr/bin:/bin"})
    assert_clean_error(r, "terraform is not installed")


def test_package_refuses_a_stage_without_subnets(tmp_path: Path) -> None:
    parent = tmp_path / "new"
    parent.mkdir()
    assert _run(["new", "demo"], cwd=parent).returncode == 0
    r = _run(["package", "--stage", "dev"], cwd=parent / "demo")
    assert_clean_error(r, "stages.dev.subnets", "need subnets")
    assert not (parent / "demo" / ".fargo" / "deploy").exists()
    config_path = parent / "demo" / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["prod"].update(subnets=["subnet-0abc1234"], security_groups=["sg-0abc1234"])
    config_path.write_text(json.dumps(config))
    assert _run(["package", "--stage", "prod"], cwd=parent / "demo").returncode == 0


def test_a_bad_split_line_is_one_clear_error(example: Path) -> None:
    r = _run(["package", "--stage", "dev"], cwd=example, env={"FARGO_SPLIT_ABOVE": "lots",
                                                               "AWS_DEFAULT_REGION": "us-east-1"})
    assert_clean_error(r, "FARGO_SPLIT_ABOVE is 'lots': set it to a whole number")
