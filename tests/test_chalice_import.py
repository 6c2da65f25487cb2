"""Bringing Chalice projects over: settings resolved as Chalice resolves them, no code changed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fargo.project.load import load_project
from tests.conftest import _run, assert_clean_error

APP = '''
import os
from chalice import Chalice, Cron, Rate
from chalicelib.reports import bp as reports

app = Chalice(app_name='billing')
app.register_blueprint(reports, name_prefix='rep_')


@app.route('/')
def index():
    return {'hello': 'world'}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sync_invoices(event):
    return {"env": {k: v for k, v in os.environ.items() if k.isupper() and "_" in k
                    and not k.startswith(("FARGO_", "PYTHON", "AWS_", "LC_"))},
            "source": event.source, "class": type(event).__module__ + "." + type(event).__name__}


@app.schedule(Cron(0, 2, '*', '*', '?', '*'), name='nightly_rollup')
def rollup(event):
    return {"db": os.environ.get("DB_HOST"), "batch": os.environ.get("BATCH"),
            "class": type(event).__module__ + "." + type(event).__name__}


@app.schedule('rate(1 hour)', description='hourly cleanup')
def cleanup(event):
    return "cleaned"


@app.lambda_function(name='reindex')
def reindex(event, context):
    return {"event": event}
'''

BLUEPRINT = '''
from chalice import Blueprint

bp = Blueprint(__name__)


@bp.schedule('cron(0 6 ? * MON *)')
def weekly(event):
    return "weekly report"
'''

CONFIG = {
    "version": "2.0",
    "app_name": "billing",
    "autogen_policy": False,
    "lambda_memory_size": 256,
    "environment_variables": {"LOG_LEVEL": "info"},
    "tags": {"team": "billing"},
    "lambda_functions": {
        "nightly_rollup": {"lambda_timeout": 900, "lambda_memory_size": 3008,
                           "environment_variables": {"IGNORED": "yes"}},
        "sync_invoices": {"reserved_concurrency": 1, "lambda_memory_size": 1024},
        "cleanup": {"iam_policy_file": "policy-cleanup.json"},
    },
    "stages": {
        "dev": {
            "api_gateway_stage": "api",
            "environment_variables": {"STAGE_NAME": "dev", "DB_HOST": "dev-db"},
            "lambda_functions": {"rep_weekly": {"lambda_timeout": 120}},
        },
        "staging": {
            "api_gateway_stage": "api",
            "lambda_timeout": 300,
            "environment_variables": {"STAGE_NAME": "staging", "DB_HOST": "staging-db"},
            "tags": {"env": "staging"},
            # one function of the stage in a VPC of its own, the others in none
            "lambda_functions": {"reindex": {"subnet_ids": ["subnet-0aaaaaaaaaaaaaaa1"],
                                             "security_group_ids": ["sg-0aaaaaaaaaaaaaaa1"]}},
        },
        "prod": {
            "api_gateway_stage": "api",
            "lambda_memory_size": 512,
            "log_retention_in_days": 90,
            "reserved_concurrency": 0,
            "subnet_ids": ["subnet-0123456789abcdef0"],
            "security_group_ids": ["sg-0123456789abcdef0"],
            "layers": ["arn:aws:lambda:eu-west-1:123456789012:layer:pandas:3"],
            "environment_variables": {"STAGE_NAME": "prod", "DB_HOST": "prod-db"},
            "lambda_functions": {
                "nightly_rollup": {"lambda_memory_size": 10240,
                                   "environment_variables": {"BATCH": "big"},
                                   "reserved_concurrency": 1},
                "sync_invoices": {"reserved_concurrency": 1},
                "rep_weekly": {"reserved_concurrency": 1},
                "cleanup": {"reserved_concurrency": 2},
                "reindex": {"reserved_concurrency": 1},
            },
        },
    },
}


def policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


@pytest.fixture
def billing(tmp_path: Path) -> Path:
    root = tmp_path / "billing"
    (root / ".chalice").mkdir(parents=True)
    (root / "chalicelib").mkdir()
    (root / "app.py").write_text(textwrap.dedent(APP))
    (root / "chalicelib" / "__init__.py").write_text("")
    (root / "chalicelib" / "reports.py").write_text(textwrap.dedent(BLUEPRINT))
    (root / ".chalice" / "config.json").write_text(json.dumps(CONFIG, indent=2))
    for stage in ("dev", "staging", "prod"):
        (root / ".chalice" / f"policy-{stage}.json").write_text(policy(f"{stage}-bucket"))
    (root / ".chalice" / "policy-cleanup.json").write_text(policy("cleanup-bucket"))
    (root / "requirements.txt").write_text("")
    return root


def code_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted([root / "app.py", *(root / "chalicelib").glob("*.py")])}


def chalice_config(root: Path, stage: str, function: str):
    from chalice.config import Config

    return Config(chalice_stage=stage, function_name=function,
                  config_from_disk=json.loads((root / ".chalice" / "config.json").read_text()),
                  default_params={"lambda_memory_size": 128, "lambda_timeout": 60,
                                  "autogen_policy": True, "project_dir": str(root)})


FUNCTIONS = ["cleanup", "nightly_rollup", "reindex", "rep_weekly", "sync_invoices"]


def test_import_keeps_chalice_semantics(billing: Path) -> None:
    before = code_digest(billing)
    r = _run(["import-chalice", str(billing), "--fargate", "nightly_rollup"])
    assert r.returncode == 0, r.stderr
    assert code_digest(billing) == before, "no line of the handlers changed"
    assert "Chalice ignores a top-level per-function environment" in r.stderr
    assert "HTTP routes stay with Chalice" in r.stderr
    assert "layers" in r.stdout and "requirements.txt" in r.stdout  # reported, not mapped
    assert "Fargate cpu 2048, memory 10240" in r.stdout
    rows = json.loads(_run(["import-chalice", str(billing), "--fargate", "nightly_rollup",
                            "--json", "--dry-run"]).stdout)["rows"]
    memory = {(x["stage"], x["function"]): x["fargo"] for x in rows
              if x["setting"] == "lambda_memory_size"}
    assert memory[("dev", "nightly_rollup")] == ("Fargate cpu 512, memory 3072 (smallest Fargate "
                                                 "size with at least 3008 MB: 0.5 vCPU / 3072 MiB)")
    v = _run(["validate"], cwd=billing)
    assert v.returncode == 0, v.stderr
    # shared values are written once, where Chalice's config has them, not once per job
    written = json.loads((billing / ".fargo" / "config.json").read_text())
    assert written["tags"] == {"team": "billing"}
    assert written["stages"]["staging"]["tags"] == {"env": "staging"}
    assert written["stages"]["prod"]["log_retention_days"] == 90
    per_job = [job for stage in written["stages"].values()
               for job in (stage.get("tasks") or {}).values()] + list(written["tasks"].values())
    assert not any("tags" in job or "log_retention_days" in job for job in per_job), written
    for stage in ("dev", "staging", "prod"):
        project = load_project(billing, stage)
        assert sorted(project.task_names) == FUNCTIONS
        for name in FUNCTIONS:
            spec = project.task(name)
            expected = chalice_config(billing, stage, name)
            assert dict(spec.environment_variables) == expected.environment_variables, (stage, name)
            tags = {k: v for k, v in expected.tags.items() if k != "aws-chalice"}
            assert dict(spec.tags) == tags, (stage, name)
            assert spec.timeout == expected.lambda_timeout, (stage, name)
            if name == "nightly_rollup":
                assert spec.compute == "fargate" and spec.memory >= expected.lambda_memory_size
            else:
                assert spec.compute == "lambda" and spec.memory == expected.lambda_memory_size
            if spec.compute == "lambda":  # the function's own layers and network
                assert list(spec.layers) == list(expected.layers or []), (stage, name)
                assert list(spec.subnets) == list(expected.subnet_ids or []), (stage, name)
                assert list(spec.security_groups) == list(expected.security_group_ids or []), (
                    stage, name)
            concurrency = expected.reserved_concurrency
            if spec.compute == "lambda":  # Chalice's own setting, on the function
                assert spec.reserved_concurrency == concurrency, (stage, name)
            else:
                assert spec.enabled is (concurrency != 0), (stage, name)
                if concurrency == 1:
                    assert spec.overlap == "skip"
    prod = load_project(billing, "prod")
    rollup = prod.task("nightly_rollup")
    assert (rollup.cpu, rollup.memory) == (2048, 10240)
    assert prod.stage.subnets == ("subnet-0123456789abcdef0",)
    cleanup = prod.task("cleanup")
    assert cleanup.iam_policy["Statement"][0]["Resource"] == "arn:aws:s3:::cleanup-bucket/*"
    weekly = load_project(billing, "staging").task("rep_weekly")
    assert weekly.iam_policy["Statement"][0]["Resource"] == "arn:aws:s3:::staging-bucket/*"
    assert weekly.schedule == "cron(0 6 ? * MON *)"
    assert load_project(billing, "dev").task("sync_invoices").schedule == "rate(5 minutes)"


AUTOGEN_APP = '''
import boto3
from chalice import Chalice

app = Chalice(app_name='autogen')
s3 = boto3.client('s3')


@app.schedule('rate(1 day)')
def copy_reports(event):
    body = s3.get_object(Bucket='raw', Key='report.csv')['Body'].read()
    s3.put_object(Bucket='curated', Key='report.csv', Body=body)


@app.schedule('rate(1 hour)')
def tick(event):
    return "tick"
'''


def test_an_autogenerated_policy_is_the_one_chalice_generates(tmp_path: Path) -> None:
    from chalice.policy import AppPolicyGenerator
    from chalice.utils import OSUtils

    root = tmp_path / "autogen"
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(AUTOGEN_APP))
    (root / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "autogen", "stages": {"dev": {}}}))
    r = _run(["import-chalice", str(root), "--fargate", "copy_reports"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the policy Chalice generates from app.py" in r.stdout
    written = json.loads((root / ".fargo" / "chalice-autogen-policy.json").read_text())
    chalice = AppPolicyGenerator(OSUtils()).generate_policy(chalice_config(root, "dev", "tick"))
    # Chalice's own statements, less its CloudWatch Logs one (fargo grants a job's logs itself)
    def unnamed(statements: list[dict]) -> list[dict]:
        return [{k: v for k, v in s.items() if k != "Sid"} for s in statements]

    assert unnamed(written["Statement"]) == unnamed(
        [s for s in chalice["Statement"] if "logs:PutLogEvents" not in s["Action"]])
    assert sorted(written["Statement"][0]["Action"]) == ["s3:GetObject", "s3:PutObject"]
    project = load_project(root, "dev")
    for name in ("copy_reports", "tick"):  # Chalice gives every function the app's policy
        assert project.task(name).iam_policy == written
    assert _run(["validate"], cwd=root).returncode == 0
    again = _run(["import-chalice", str(root), "--fargate", "copy_reports", "--dry-run"])
    assert again.returncode == 0 and "nothing would change" in again.stdout + again.stderr, (
        again.stdout + again.stderr)


QUIRKS_APP = '''
import os

from chalice import Chalice

app = Chalice(app_name="helloworld")  # .chalice/config.json says otherwise

with open(os.path.join(os.path.dirname(__file__), "settings.env")) as handle:  # a .env file
    SETTINGS = dict(line.strip().split("=", 1) for line in handle if "=" in line)


@app.schedule(SETTINGS["SYNC_RATE"])
def sync(event):
    return "synced"


@app.schedule("rate(1 day)")
def report():  # Chalice calls it with the event
    return "report"
'''


def test_what_public_projects_do(tmp_path: Path) -> None:
    """Patterns met in public Chalice projects (docs/chalice.md lists them)."""
    root = tmp_path / "quirks"
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(QUIRKS_APP))
    (root / "settings.env").write_text("SYNC_RATE=rate(6 hours)\n")
    (root / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "test", "autogen_policy": False,
        # a setting put under "stages" by mistake: Chalice reads no stage from it
        "stages": {"automatic_layer": True, "dev": {"lambda_memory_size": 256}}}))
    (root / ".chalice" / "policy-dev.json").write_text(policy("landing"))
    r = _run(["import-chalice", str(root)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stages.automatic_layer is not a stage" in r.stderr
    assert "Chalice deploys under 'test'" in r.stderr
    config = json.loads((root / ".fargo" / "config.json").read_text())
    assert config["app_name"] == "test" and list(config["stages"]) == ["dev"]
    v = _run(["validate"], cwd=root)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "takes no event argument" in v.stderr  # a warning: it fails at every run
    assert "deployed as test-<stage>-<job>" in v.stderr
    project = load_project(root, "dev")
    assert project.task("sync").schedule == "rate(6 hours)"  # read from the file at import
    assert project.task("sync").full_name == "test-dev-sync"  # Chalice's name for it
    assert project.task("sync").memory == 256
    # a Unix cron pasted as it is: Chalice packages it, AWS refuses it, fargo says why
    (root / "app.py").write_text(textwrap.dedent(QUIRKS_APP).replace(
        '"rate(1 day)"', '"cron(0 8 * * *)"'))
    assert_clean_error(_run(["validate"], cwd=root), "cron needs 6 fields", "found 5")


def test_invoke_runs_the_unchanged_handlers_with_chalice_objects(billing: Path) -> None:
    _run(["import-chalice", str(billing), "--fargate", "nightly_rollup"])
    r = _run(["invoke", "nightly_rollup", "--stage", "prod"], cwd=billing)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])["result"]
    assert result == {"db": "prod-db", "batch": "big", "class": "chalice.app.CloudWatchEvent"}
    r = _run(["invoke", "sync_invoices", "--stage", "staging"], cwd=billing)
    result = json.loads(r.stdout.strip().splitlines()[-1])["result"]
    expected = chalice_config(billing, "staging", "sync_invoices").environment_variables
    assert {k: v for k, v in result["env"].items() if k in expected} == expected
    r = _run(["invoke", "reindex", "--event", '{"k": 1}'], cwd=billing)
    assert json.loads(r.stdout.strip().splitlines()[-1])["result"]["event"]["k"] == 1


def test_package_has_one_job_per_function(billing: Path, tmp_path: Path) -> None:
    _run(["import-chalice", str(billing), "--fargate-all-scheduled"])
    no_region = {"AWS_REGION": "", "AWS_DEFAULT_REGION": "",
                 "AWS_CONFIG_FILE": str(tmp_path / "none")}
    r = _run(["package", "--stage", "prod", "--out", str(tmp_path / "pkg")], cwd=billing,
             env=no_region)
    assert_clean_error(r, "stages.prod.region", "no AWS region for stage prod")
    (tmp_path / "aws-config").write_text("[profile etl]\nregion = eu-north-1\n")
    profile = {**no_region, "AWS_CONFIG_FILE": str(tmp_path / "aws-config"), "AWS_PROFILE": "etl"}
    r = _run(["package", "--stage", "prod", "--out", str(tmp_path / "pkg")], cwd=billing,
             env=profile)
    assert r.returncode == 0, r.stderr
    root = json.loads((tmp_path / "pkg" / "main.tf.json").read_text())
    assert root["provider"]["aws"]["region"] == "eu-north-1"
    r = _run(["config", "cleanup", "--stage", "prod", "--json"], cwd=billing,
             env={**profile, "AWS_REGION": "ap-south-1"})
    assert json.loads(r.stdout)["region"] == {"value": "ap-south-1",
                                              "source": "environment AWS_REGION"}
    jobs = json.loads((tmp_path / "pkg" / "main.tf.json").read_text())["module"]["jobs"]["jobs"]
    assert sorted(jobs) == FUNCTIONS
    assert {k: v["compute"] for k, v in jobs.items()} == {
        "cleanup": "fargate", "nightly_rollup": "fargate", "reindex": "lambda",
        "rep_weekly": "fargate", "sync_invoices": "fargate"}


def test_import_is_idempotent_and_dry_run_writes_nothing(billing: Path) -> None:
    first = _run(["import-chalice", str(billing), "--fargate", "nightly_rollup"])
    assert "Wrote" in first.stdout
    snapshot = {p: p.read_bytes() for p in (billing / ".fargo").iterdir()}
    again = _run(["import-chalice", str(billing), "--fargate", "nightly_rollup"])
    assert "Nothing to change" in again.stdout
    assert {p: p.read_bytes() for p in (billing / ".fargo").iterdir()} == snapshot
    dry = _run(["import-chalice", str(billing), "--dry-run"])
    assert dry.returncode == 0 and '-      "compute": "fargate"' in dry.stdout
    assert "1 files would change" in dry.stdout
    assert {p: p.read_bytes() for p in (billing / ".fargo").iterdir()} == snapshot


def test_import_to_another_directory(billing: Path, tmp_path: Path) -> None:
    out = tmp_path / "moved"
    r = _run(["import-chalice", str(billing), "--out", str(out)])
    assert r.returncode == 0, r.stderr
    assert (out / "app.py").read_bytes() == (billing / "app.py").read_bytes()
    assert not (billing / ".fargo").exists()
    assert _run(["validate"], cwd=out).returncode == 0


def test_chalice_new_project_template(tmp_path: Path) -> None:
    chalice = Path(sys.executable).parent / "chalice"
    done = subprocess.run([str(chalice), "new-project", "hello"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "hello"
    r = _run(["import-chalice", str(root)])
    assert r.returncode == 0, r.stderr
    assert "HTTP routes stay with Chalice" in r.stderr
    assert _run(["validate"], cwd=root).returncode == 0
    # add a scheduled function the way a Chalice user would, and import again
    app = (root / "app.py").read_text() + (
        "\n\n@app.schedule('rate(1 day)')\ndef nightly(event):\n    return {'ok': True}\n")
    (root / "app.py").write_text(app)
    assert _run(["import-chalice", str(root)]).returncode == 0
    r = _run(["invoke", "nightly"], cwd=root)
    assert r.returncode == 0 and '"ok": true' in r.stdout


def test_bad_input(billing: Path, tmp_path: Path) -> None:
    assert_clean_error(_run(["import-chalice", str(billing), "--fargate", "nope"]),
                       "no Chalice function named 'nope'")
    assert_clean_error(_run(["import-chalice", str(tmp_path / "missing")]), "not a directory")
    (tmp_path / "empty").mkdir()
    assert_clean_error(_run(["import-chalice", str(tmp_path / "empty")]),
                       "not a Chalice project")
    (billing / ".chalice" / "config.json").write_text("{broken")
    assert_clean_error(_run(["import-chalice", str(billing)]), ".chalice/config.json",
                       "not valid JSON")


def test_jobs_that_import_chalice_run_from_the_zip_and_the_image(billing: Path,
                                                                 tmp_path: Path) -> None:
    """requirements.txt lacks chalice, as in many Chalice projects: fargo ships its runtime
    module the way Chalice does, and the jobs run with nothing else installed."""
    import subprocess
    import sys
    import zipfile

    _run(["import-chalice", str(billing), "--fargate", "nightly_rollup"])
    r = _run(["build", "--stage", "dev", "--tag", "t"], cwd=billing,
             env={"AWS_DEFAULT_REGION": "us-east-1"})
    assert r.returncode == 0, r.stderr
    build = billing / ".fargo" / "build" / "dev"
    unpacked = tmp_path / "unzipped"
    with zipfile.ZipFile(build / "lambda.zip") as archive:
        assert {"chalice/app.py", "chalice/__init__.py"} <= set(archive.namelist())
        archive.extractall(unpacked)
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(unpacked)!r})\n"
        "from fargo.runtime import lambda_handler\n"
        "import chalice\n"
        f"assert chalice.__file__.startswith({str(unpacked)!r}), chalice.__file__\n"
        "class C:\n    aws_request_id = 'r'\n"
        "    def get_remaining_time_in_millis(self):\n        return 1000\n"
        "print(json.dumps(lambda_handler({'detail': {}, 'time': 't', 'source': 'aws.events',"
        " 'detail-type': 'Scheduled Event', 'id': 'x', 'region': 'us-east-1',"
        " 'account': '1', 'resources': [], 'version': '0'}, C())))\n")
    env = {"PATH": "/usr/bin:/bin", "FARGO_TASK": "cleanup", "FARGO_STAGE": "dev",
           "LAMBDA_TASK_ROOT": str(unpacked)}
    r = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=unpacked, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1]) == "cleaned"
    context = build / "image"
    assert (context / "chalice" / "app.py").is_file()
    assert "COPY chalice/ ./chalice/" in (context / "Dockerfile").read_text()
    r = subprocess.run([sys.executable, "-S", "-m", "fargo.runtime", "nightly_rollup"],
                       cwd=context, env={"PATH": "/usr/bin:/bin", "FARGO_STAGE": "dev",
                                         "DB_HOST": "db"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"status": "succeeded"' in r.stdout and "chalice.app.CloudWatchEvent" in r.stdout


def test_reimport_is_a_merge_that_keeps_fargo_settings_and_hand_edits(billing: Path) -> None:
    assert _run(["import-chalice", str(billing)]).returncode == 0
    config_path = billing / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    # dev has no network in .chalice/config.json: these are fargo-only settings
    config["stages"]["dev"].update(subnets=["subnet-0abc1234"], security_groups=["sg-0abc1234"],
                                   alerts={"emails": ["oncall@example.com"]})
    config_path.write_text(json.dumps(config, indent=2))
    policy = next((billing / ".fargo").glob("chalice-policy-*.json"))
    policy.write_text(policy.read_text().replace("bucket", "fixed-bucket"))
    edited = policy.read_bytes()
    r = _run(["import-chalice", str(billing), "--fargate", "nightly_rollup"])
    assert r.returncode == 0, r.stderr
    assert "is kept as it is" in r.stderr and policy.name in r.stderr
    after = json.loads(config_path.read_text())
    assert after["stages"]["dev"]["subnets"] == ["subnet-0abc1234"]
    assert after["stages"]["dev"]["alerts"] == {"emails": ["oncall@example.com"]}
    assert after["tasks"]["nightly_rollup"]["compute"] == "fargate"  # the import's own value
    assert policy.read_bytes() == edited
    dry = _run(["import-chalice", str(billing), "--dry-run"])
    assert '"$schema"' not in dry.stdout and '"$defs"' not in dry.stdout


def test_out_copies_the_whole_project(billing: Path, tmp_path: Path) -> None:
    (billing / "helpers.py").write_text("VALUE = 1\n")
    out = tmp_path / "moved"
    assert _run(["import-chalice", str(billing), "--out", str(out)]).returncode == 0
    assert (out / "helpers.py").read_text() == "VALUE = 1\n"
    assert (out / "chalicelib" / "reports.py").is_file()
    assert (out / "requirements.txt").is_file()


def test_an_app_name_held_in_a_variable(billing: Path) -> None:
    app = (billing / "app.py").read_text().replace(
        "app = Chalice(app_name='billing')", "APP_NAME = 'billing'\napp = Chalice(app_name=APP_NAME)")
    (billing / "app.py").write_text(app)
    r = _run(["import-chalice", str(billing)])
    assert r.returncode == 0, r.stderr
    assert json.loads((billing / ".fargo" / "config.json").read_text())["app_name"] == "billing"
    config = json.loads((billing / ".chalice" / "config.json").read_text())
    del config["app_name"]
    (billing / ".chalice" / "config.json").write_text(json.dumps(config))
    r = _run(["import-chalice", str(billing)])  # the imported app says its name itself
    assert r.returncode == 0, r.stderr
    assert json.loads((billing / ".fargo" / "config.json").read_text())["app_name"] == "billing"
    # an app.py that cannot be imported here is parsed: then the name must be a literal
    (billing / "app.py").write_text("import os\nos.environ['NOT_SET_ANYWHERE']\n" + app)
    assert_clean_error(_run(["import-chalice", str(billing)]), "not a literal", "app_name")


COMPUTED_APP = '''
from chalice import Chalice

from chalicelib.factory import make_app, nightly  # the app is built in another module

app = make_app()

for region in ("eu", "us"):  # one function per region, named at import time
    app.schedule("cron(0 3 * * ? *)", name=f"export_{region}")(nightly)
'''

FACTORY = '''
from chalice import Chalice


def make_app():
    return Chalice(app_name="exports")


def nightly(event):
    return "exported"
'''


def test_computed_names_and_an_app_from_another_module(tmp_path: Path) -> None:
    """Found by importing app.py as Chalice does; a parser sees neither."""
    root = tmp_path / "exports"
    (root / ".chalice").mkdir(parents=True)
    (root / "chalicelib").mkdir()
    (root / "chalicelib" / "__init__.py").write_text("")
    (root / "chalicelib" / "factory.py").write_text(textwrap.dedent(FACTORY))
    (root / "app.py").write_text(textwrap.dedent(COMPUTED_APP))
    (root / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "exports", "autogen_policy": False,
         "stages": {"dev": {}}}))
    (root / ".chalice" / "policy-dev.json").write_text(policy("landing"))
    r = _run(["import-chalice", str(root), "--fargate", "export_us"])
    assert r.returncode == 0, r.stdout + r.stderr
    project = load_project(root, "dev")
    assert sorted(project.task_names) == ["export_eu", "export_us"]
    assert project.task("export_us").compute == "fargate"
    assert project.task("export_eu").schedule == "cron(0 3 * * ? *)"


ENV_RATE_APP = '''
import os
from chalice import Chalice, Rate

app = Chalice(app_name="ratecheck")
TABLE = os.environ["TABLE_NAME"]  # read at import time, as many Chalice apps do


@app.schedule(Rate(int(os.environ["SCHEDULE_RATE"]), unit=Rate.MINUTES))
def sync(event):
    return TABLE


@app.schedule("rate(1 day)")
def daily(event):
    return TABLE
'''


def test_a_schedule_read_from_the_stage_environment(tmp_path: Path) -> None:
    """Chalice sets a stage's environment before it imports app.py: prod gets rate(30 minutes)
    where dev gets rate(1 minute), and fargo gives each stage the same."""
    root = tmp_path / "ratecheck"
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text(ENV_RATE_APP)
    (root / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "ratecheck",
        "environment_variables": {"TABLE_NAME": "events"},
        "stages": {"dev": {"environment_variables": {"SCHEDULE_RATE": "1"}},
                   "prod": {"environment_variables": {"SCHEDULE_RATE": "30"}}}}))
    r = _run(["import-chalice", str(root)])
    assert r.returncode == 0, r.stderr
    config = json.loads((root / ".fargo" / "config.json").read_text())
    assert config["environment_variables"] == {"TABLE_NAME": "events"}  # least specific level
    assert config["stages"]["prod"]["environment_variables"] == {"SCHEDULE_RATE": "30"}
    for stage, expected in (("dev", "rate(1 minute)"), ("prod", "rate(30 minutes)")):
        r = _run(["ls", "--stage", stage, "--json"], cwd=root)
        assert r.returncode == 0, r.stderr
        rows = {row["name"]: row for row in json.loads(r.stdout)}
        assert rows["sync"]["schedule"] == expected, (stage, rows["sync"])
    r = _run(["package", "--stage", "prod", "--out", str(tmp_path / "pkg")], cwd=root,
             env={"AWS_DEFAULT_REGION": "us-east-1"})
    assert r.returncode == 0, r.stderr
    jobs = json.loads((tmp_path / "pkg" / "main.tf.json").read_text())["module"]["jobs"]["jobs"]
    assert jobs["sync"]["schedule"] == "rate(30 minutes)"  # what chalice package gives prod
    assert jobs["sync"]["environment"] == {"SCHEDULE_RATE": "30", "TABLE_NAME": "events"}
    r = _run(["invoke", "sync", "--stage", "prod"], cwd=root)
    assert r.returncode == 0 and '"result": "events"' in r.stdout


FANOUT_APP = '''
from chalice import Chalice

app = Chalice(app_name="fanout")
app.experimental_feature_flags.update(["WEBSOCKETS"])


@app.schedule("rate(1 hour)")
def enqueue(event):
    return "queued"


@app.on_sqs_message(queue="work-items", batch_size=10)
def work(event):
    return [record.body for record in event]


@app.on_sns_message(topic="landing-updates")
def notify(event):
    return event.message


@app.on_ws_message()
def chat(event):
    return None
'''


def _fanout(tmp_path: Path, config: dict) -> Path:
    root = tmp_path / "fanout"
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(FANOUT_APP))
    (root / ".chalice" / "config.json").write_text(json.dumps(config))
    return root


def test_a_stage_chalice_refuses_is_refused(tmp_path: Path) -> None:
    root = _fanout(tmp_path, {"version": "2.0", "app_name": "fanout", "autogen_policy": False,
                              "stages": {"dev": {}, "prod": {}}})
    (root / "app.py").write_text(textwrap.dedent(FANOUT_APP).split("@app.on_sqs")[0])
    (root / ".chalice" / "policy-dev.json").write_text(policy("landing"))
    r = _run(["import-chalice", str(root)])
    assert_clean_error(r, ".chalice/config.json: stages.prod: autogen_policy is false and "
                       ".chalice/policy-prod.json does not exist",
                       "Unable to load IAM policy file .chalice/policy-prod.json")
    assert "policy-dev.json does not exist" not in r.stderr
    assert r.stderr.count("error:") == 1 and not (root / ".fargo").exists()  # nothing written
    # a stage with a role of its own needs no policy file, in Chalice and in fargo
    config = json.loads((root / ".chalice" / "config.json").read_text())
    config["stages"]["prod"] = {"manage_iam_role": False,
                                "iam_role_arn": "arn:aws:iam::123456789012:role/etl-prod"}
    (root / ".chalice" / "config.json").write_text(json.dumps(config))
    r = _run(["import-chalice", str(root)])
    assert r.returncode == 0, r.stdout + r.stderr
    project = load_project(root, "prod")
    assert project.task("enqueue").task_role_arn == "arn:aws:iam::123456789012:role/etl-prod"


def test_handlers_fargo_does_not_carry_are_errors_unless_left_behind(tmp_path: Path) -> None:
    root = _fanout(tmp_path, {"version": "2.0", "app_name": "fanout", "stages": {"dev": {}}})
    r = _run(["import-chalice", str(root)])
    assert_clean_error(r, "app.py: chat: websocket handler of $default: fargo carries",
                       "--leave-behind chat")
    assert r.stderr.count("error:") == 1 and not (root / ".fargo").exists()
    assert_clean_error(_run(["import-chalice", str(root), "--leave-behind", "chat,enqueue"]),
                       "'enqueue' is no handler the import would leave behind")
    r = _run(["import-chalice", str(root), "--leave-behind", " chat"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "left behind, as --leave-behind says" in r.stderr
    # the SNS and SQS handlers are carried (tests/test_event_sources.py)
    assert sorted(load_project(root, "dev").task_names) == ["enqueue", "notify", "work"]
    # the decision is kept: validate leaves the handler out, and without it says what is lost
    config_path = root / ".fargo" / "config.json"
    config = json.loads(config_path.read_text())
    assert config["leave_behind"] == ["chat"]
    v = _run(["validate"], cwd=root)
    assert v.returncode == 0 and "left out, as leave_behind says" in v.stderr, v.stderr
    del config["leave_behind"]
    config_path.write_text(json.dumps(config))
    assert_clean_error(_run(["validate"], cwd=root), "app.py: chat: websocket handler of "
                       "$default: fargo does not carry this handler", "add 'chat' to leave_behind")


REGISTRY_LIB = '''
"""Stands for a library with an import-time registry (pydantic 1's validators)."""
_SEEN = set()


def validator(name):
    if name in _SEEN:
        raise ValueError(f"duplicate validator function {name!r}")
    _SEEN.add(name)
    return lambda function: function
'''

MODELS = '''
import registry_lib


@registry_lib.validator("chalicelib.models.Order.amount")
def amount(value):
    return value
'''

REGISTRY_APP = '''
import os
from chalice import Chalice
from chalicelib import models

app = Chalice(app_name="orders")


@app.schedule(os.environ["RATE"])
def load(event):
    return models.amount(1)
'''


def test_each_stage_is_imported_in_a_fresh_interpreter(tmp_path: Path) -> None:
    root = tmp_path / "orders"
    (root / ".chalice").mkdir(parents=True)
    (root / "chalicelib").mkdir()
    (root / "chalicelib" / "__init__.py").write_text("")
    (root / "chalicelib" / "models.py").write_text(textwrap.dedent(MODELS))
    (root / "registry_lib.py").write_text(textwrap.dedent(REGISTRY_LIB))
    (root / "app.py").write_text(textwrap.dedent(REGISTRY_APP))
    (root / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "orders", "stages": {
            "dev": {"environment_variables": {"RATE": "rate(1 hour)"}},
            "prod": {"environment_variables": {"RATE": "rate(5 minutes)"}}}}))
    r = _run(["import-chalice", str(root)])
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(["validate", "--json"], cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "duplicate validator" not in r.stdout + r.stderr
    r = _run(["ls", "--json"], cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    for stage, rate in (("dev", "rate(1 hour)"), ("prod", "rate(5 minutes)")):
        assert load_project(root, stage).task("load").schedule == rate


def test_a_missing_module_names_the_interpreter_and_the_fix(tmp_path: Path) -> None:
    root = tmp_path / "pinned"
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text("import chalice_only_in_the_projects_venv\n"
                                 "from chalice import Chalice\napp = Chalice(app_name='p')\n")
    (root / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "p", "stages": {"dev": {}}}))
    (root / ".fargo").mkdir()
    (root / ".fargo" / "config.json").write_text(json.dumps({"app_name": "p"}))
    r = _run(["validate"], cwd=root)
    assert_clean_error(r, "No module named 'chalice_only_in_the_projects_venv'",
                       f"imported by fargo's own interpreter {sys.executable}", "FARGO_PYTHON=")
    # the project's own interpreter, named: the message says it is that one
    r = _run(["validate"], cwd=root, env={"FARGO_PYTHON": sys.executable})
    assert_clean_error(r, f"imported by {sys.executable} (FARGO_PYTHON)",
                       "-m pip install -r requirements.txt")
