"""Config precedence and provenance, and the resolved model, loaded in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fargo.problems import ProblemsError
from fargo.project.load import check, load_project
from tests.conftest import POLICY, write_project

APP = """
from fargo import App, Blueprint, Cron, Rate

app = App("shop")

@app.task("rate(5 minutes)", memory=2048, cpu=512, timezone="Europe/Berlin")
def big(event, context):
    return "big"

@app.task(schedule=Cron(0, 9, "?", "*", "MON-FRI", "*"))
def plain(event):
    return "plain"

@app.schedule(Rate(1, unit=Rate.HOURS))
def chalice_style(event):
    return "cs"

@app.lambda_function(name="raw")
def raw_fn(event, context):
    return event

bp = Blueprint(__name__)

@bp.schedule("rate(2 hours)", name="tidy")
def tidy(event):
    return "tidy"

app.register_blueprint(bp, name_prefix="bp_")
"""

CONFIG = {
    "app_name": "shop",
    "memory": 1024,
    "timezone": "UTC",
    "environment_variables": {"A": "top", "B": "top"},
    "tasks": {"big": {"timeout": "15m"}, "plain": {"memory": 4096, "cpu": "1 vCPU"}},
    "stages": {
        "dev": {"memory": 3072, "environment_variables": {"B": "dev"}},
        "prod": {
            "region": "eu-west-1",
            "tasks": {"big": {"memory": "8 GB", "cpu": 1024}},
            "environment_variables": {"C": "prod"},
        },
    },
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_project(tmp_path / "shop", APP, CONFIG, {"policy-big.json": POLICY})


def test_decorators_blueprints_and_chalice_objects(shop: Path) -> None:
    project = load_project(shop, "dev")
    assert project.task_names == ("big", "bp_tidy", "chalice_style", "plain", "raw")
    plain = project.task("plain")
    assert plain and plain.schedule == "cron(0 9 ? * MON-FRI *)"
    chalice_style = project.task("chalice_style")
    assert chalice_style and chalice_style.schedule == "rate(1 hour)"
    assert chalice_style.compute == "lambda" and chalice_style.memory == 3072
    tidy = project.task("bp_tidy")
    assert tidy and tidy.schedule == "rate(2 hours)" and tidy.kind == "schedule"
    raw = project.task("raw")
    assert raw and raw.schedule is None and raw.kind == "lambda_function"


def test_precedence_most_specific_wins(shop: Path) -> None:
    dev = load_project(shop, "dev")
    big = dev.task("big")
    assert big is not None
    # decorator (2048) beats top level (1024) and stage-wide (3072)
    assert big.memory == 2048
    assert big.provenance["memory"] == "app.py: @app.task(memory=...) on big"
    # tasks.<name> beats the decorator's default timeout
    assert big.timeout == 900
    assert big.provenance["timeout"] == ".fargo/config.json: tasks.big.timeout"
    # decorator timezone beats top level
    assert big.timezone == "Europe/Berlin"
    plain = dev.task("plain")
    assert plain and (plain.memory, plain.cpu) == (4096, 1024)
    assert plain.provenance["memory"] == ".fargo/config.json: tasks.plain.memory"
    prod = load_project(shop, "prod")
    big_prod = prod.task("big")
    assert big_prod and (big_prod.memory, big_prod.cpu) == (8192, 1024)
    assert big_prod.provenance["memory"] == ".fargo/config.json: stages.prod.tasks.big.memory"
    # stage-wide beats top level for jobs that don't say
    chalice = prod.task("chalice_style")
    assert chalice and chalice.memory == 1024
    assert chalice.provenance["memory"] == ".fargo/config.json: memory"


def test_dict_settings_merge_key_by_key(shop: Path) -> None:
    assert dict(load_project(shop, "dev").tasks[0].environment_variables) == {
        "A": "top", "B": "dev"}
    assert dict(load_project(shop, "prod").tasks[0].environment_variables) == {
        "A": "top", "B": "top", "C": "prod"}


def test_defaults_depend_on_compute(shop: Path) -> None:
    project = load_project(shop, "prod")
    raw = project.task("raw")
    assert raw and raw.timeout == 60 and raw.cpu is None
    assert raw.log_group == "/aws/lambda/shop-prod-raw"
    big = project.task("big")
    assert big and big.ephemeral_storage_gib is None and big.overlap == "skip"
    assert big.catchup == "latest" and big.log_retention_days == 30


def test_names_policy_and_stage(shop: Path) -> None:
    project = load_project(shop, "prod")
    big = project.task("big")
    assert big and big.full_name == "shop-prod-big"
    assert big.log_group == "/fargo/shop/prod/big"
    assert big.iam_policy_file == ".fargo/policy-big.json"
    assert big.iam_policy == POLICY
    assert project.stage.region == "eu-west-1" and project.stage.cluster == "shop-prod"
    plain = project.task("plain")
    assert plain and plain.iam_policy is None


def test_model_is_immutable(shop: Path) -> None:
    spec = load_project(shop, "dev").tasks[0]
    with pytest.raises(AttributeError):
        spec.memory = 1  # type: ignore[misc]


def test_default_stage_and_unknown_stage(shop: Path) -> None:
    assert load_project(shop).stage.name == "dev"
    with pytest.raises(ProblemsError) as info:
        load_project(shop, "prdo")
    assert "did you mean 'prod'" in str(info.value)


def test_every_stage_checked_in_one_run(shop: Path) -> None:
    result = check(shop)
    assert result.ok
    assert [p.stage.name for p in result.projects] == ["dev", "prod"]


STAGE_ENV_APP = """
import os
from fargo import App, Rate

app = App("shop")
REGION_BUCKET = os.environ["BUCKET"]  # read at import time: a KeyError without the stage's


@app.schedule(Rate(int(os.environ["SCHEDULE_RATE"]), unit=Rate.MINUTES))
def sync(event):
    return REGION_BUCKET
"""


def test_each_stage_imports_app_py_with_its_environment(tmp_path: Path) -> None:
    """As Chalice does: the stage's environment variables are set before app.py is imported."""
    from fargo.project.load import check, load_project

    config = {"app_name": "shop", "environment_variables": {"SCHEDULE_RATE": "1"},
              "stages": {"dev": {"environment_variables": {"BUCKET": "dev-bucket"}},
                         "prod": {"environment_variables": {"BUCKET": "prod-bucket",
                                                            "SCHEDULE_RATE": "30"}}}}
    root = write_project(tmp_path / "p", STAGE_ENV_APP, config)
    assert load_project(root, "dev").require("sync").schedule == "rate(1 minute)"
    assert load_project(root, "prod").require("sync").schedule == "rate(30 minutes)"
    assert "BUCKET" not in os.environ  # the process environment is restored
    del config["stages"]["dev"]["environment_variables"]
    root = write_project(tmp_path / "q", STAGE_ENV_APP, config)
    problems = check(root).problems
    (problem,) = [p for p in problems if "KeyError" in p.message]
    assert (problem.file, problem.key) == ("app.py", "line 6")  # the user's line, not <frozen os>
