"""Every validation rule, with a case that fails and one that passes; the Fargate size table."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from fargo import limits
from fargo.problems import Problem
from fargo.project.load import check
from fargo.project.resolve import is_secret_reference, parse_cpu, parse_memory
from tests.conftest import POLICY, write_project

APP = """
from fargo import App
app = App("shop")

@app.task("rate(5 minutes)")
def job(event):
    pass

@app.schedule("rate(1 hour)")
def small(event):
    pass
"""


def problems_for(tmp_path: Path, config_extra: dict[str, Any], app: str = APP,
                 policies: dict[str, Any] | None = None) -> list[Problem]:
    config = {"app_name": "shop", **config_extra}
    root = write_project(tmp_path / "p", app, config, policies)
    return check(root).problems


def messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def assert_one(problems: list[Problem], key: str, *needles: str) -> None:
    matching = [p for p in problems if p.key == key]
    assert matching, messages(problems)
    for needle in needles:
        assert any(needle in p.message for p in matching), messages(problems)


# --- each rule: failing case -> precise problem; passing case -> none ---------------------

CASES = [
    # (config, key, needles, passing config)
    ({"tasks": {"job": {"schedule": "cron(0 9 ? * 8 *)"}}}, "tasks.job.schedule",
     ["day-of-week: '8' is out of range"], {"tasks": {"job": {"schedule": "cron(0 9 ? * 7 *)"}}}),
    ({"tasks": {"job": {"timezone": "Mars/Olympus"}}}, "tasks.job.timezone",
     ["not an IANA time zone"], {"tasks": {"job": {"timezone": "Asia/Tokyo"}}}),
    ({"tasks": {"job": {"cpu": 300}}}, "tasks.job.cpu", ["not a Fargate cpu size"],
     {"tasks": {"job": {"cpu": "0.5 vCPU", "memory": 1024}}}),
    ({"tasks": {"job": {"cpu": 256, "memory": 4096}}}, "tasks.job.memory",
     ["does not fit cpu 256", "512, 1024, 2048", "cpu 512 with memory 4096"],
     {"tasks": {"job": {"cpu": 512, "memory": "4 GB"}}}),
    ({"tasks": {"job": {"memory": "lots"}}}, "tasks.job.memory", ["not a memory size"],
     {"tasks": {"job": {"memory": "1 GB"}}}),
    ({"tasks": {"job": {"ephemeral_storage_gib": 300}}}, "tasks.job.ephemeral_storage_gib",
     ["outside Fargate's 21-200 GiB"], {"tasks": {"job": {"ephemeral_storage_gib": 200}}}),
    ({"tasks": {"small": {"timeout": 901}}}, "tasks.small.timeout",
     ["more than Lambda's 900 s", "compute: fargate"], {"tasks": {"small": {"timeout": "15m"}}}),
    ({"tasks": {"small": {"memory": 10241}}}, "tasks.small.memory",
     ["outside Lambda's 128-10240 MB", "move this job to Fargate"],
     {"tasks": {"small": {"memory": 10240}}}),
    ({"tasks": {"small": {"memory": 64}}}, "tasks.small.memory", ["outside Lambda's"],
     {"tasks": {"small": {"memory": 128}}}),
    ({"tasks": {"small": {"cpu": 1024}}}, "tasks.small.cpu", ["Fargate jobs only"],
     {"cpu": 1024, "memory": 2048}),
    ({"tasks": {"small": {"spot": True}}}, "tasks.small.spot", ["Fargate jobs only"],
     {"tasks": {"small": {"compute": "fargate", "spot": True}}}),
    ({"tasks": {"job": {"timeout": "soon"}}}, "tasks.job.timeout", ["not a duration"],
     {"tasks": {"job": {"timeout": "1h30m"}}}),
    ({"tasks": {"job": {"timeout": 0}}}, "tasks.job.timeout", ["whole number of seconds"],
     {"tasks": {"job": {"timeout": 1}}}),
    ({"tasks": {"job": {"secrets": {"TOKEN": "s3cr3t value!"}}}}, "tasks.job.secrets",
     ["not an SSM parameter name or ARN"],
     {"tasks": {"job": {"secrets": {"TOKEN": "/shop/prod/token"}}}}),
    ({"tasks": {"job": {"environment_variables": {"FARGO_X": "1"}}}},
     "tasks.job.environment_variables", ["reserved"],
     {"tasks": {"job": {"environment_variables": {"X": "1"}}}}),
    ({"tasks": {"job": {"environment_variables": {"T": "1"}, "secrets": {"T": "/p"}}}},
     "tasks.job.secrets", ["both an environment variable and a secret"],
     {"tasks": {"job": {"environment_variables": {"U": "1"}, "secrets": {"T": "/p"}}}}),
    ({"tasks": {"small": {"environment_variables": {"BIG": "x" * 5000}}}},
     "tasks.small.environment_variables", ["4 KB"],
     {"tasks": {"small": {"environment_variables": {"BIG": "x" * 3000}}}}),
    ({"tasks": {"job": {"tags": {"aws:owner": "x"}}}}, "tasks.job.tags", ["reserved"],
     {"tasks": {"job": {"tags": {"owner": "x"}}}}),
    ({"tasks": {"job": {"iam_policy_file": "missing.json"}}}, "tasks.job.iam_policy_file",
     ["policy file .fargo/missing.json not found"], {}),
    ({"tasks": {"jbo": {}}}, "tasks.jbo", ["no job named 'jbo'", "did you mean 'job'"],
     {"tasks": {"job": {}}}),
    ({"tasks": {"job": {"memroy": 1}}}, "tasks.job.memroy", ["did you mean 'memory'"],
     {"tasks": {"job": {"memory": 1024}}}),
    ({"tasks": {"job": {"cluster": "c"}}}, "tasks.job.cluster", ["stage setting"], {}),
    ({"stages": {"dev": {"region": "us-east-1",
                         "cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/c"}}},
     "stages.dev.cluster", ["in region eu-west-1", "only in the cluster's own region"],
     {"stages": {"dev": {"region": "us-east-1",
                         "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c"}}}),
    ({"stages": {"dev": {"account": "111111111111",
                         "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c"}}},
     "stages.dev.cluster", ["belongs to account 123456789012"],
     {"stages": {"dev": {"account": "123456789012",
                         "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c"}}}),
    ({"stages": {"dev": {"subnets": ["subnet-0123abcd"]}}}, "stages.dev.subnets",
     ["Lambda job in a VPC needs security_groups"],
     {"stages": {"dev": {"subnets": ["subnet-0123abcd"]}}, "tasks": {"small": {"subnets": []}}}),

    ({"stages": {"dev": {"cluster": "arn:aws:ecs:us-east-1:12345:cluster/c"}}},
     "stages.dev.cluster", ["cluster ARN"], {"stages": {"dev": {"cluster": "existing-1"}}}),
    ({"stages": {"dev": {"execution_role_arn": "exec-role"}}}, "stages.dev.execution_role_arn",
     ["IAM role ARN"],
     {"stages": {"dev": {"execution_role_arn": "arn:aws:iam::123456789012:role/ops/exec"}}}),
    ({"tasks": {"job": {"reserved_concurrency": 2}}}, "tasks.job.reserved_concurrency",
     ["Lambda jobs only"], {}),
    ({"tasks": {"job": {"overlap": "never"}}}, "tasks.job.overlap", ['"skip", "queue", "allow"'],
     {"tasks": {"job": {"overlap": "queue"}}}),
    ({"tasks": {"job": {"log_retention_days": 13}}}, "tasks.job.log_retention_days",
     ["13 is not allowed"], {"tasks": {"job": {"log_retention_days": 14}}}),
    ({"tasks": {"job": {"retries": 11}}}, "tasks.job.retries", ["more than the maximum 10"],
     {"tasks": {"job": {"retries": 10}}}),
    ({"tasks": {"job": {"flexible_window_minutes": 0}}}, "tasks.job.flexible_window_minutes",
     ["less than the minimum 1"], {"tasks": {"job": {"flexible_window_minutes": 15}}}),
    ({"tasks": {"job": {"start_date": "soon"}}}, "tasks.job.start_date", ["ISO 8601"],
     {"tasks": {"job": {"start_date": "2030-01-01T00:00:00Z"}}}),
    ({"tasks": {"job": {"start_date": "2030-01-02", "end_date": "2030-01-01"}}},
     "tasks.job.end_date", ["after start_date"],
     {"tasks": {"job": {"start_date": "2030-01-01", "end_date": "2030-01-02"}}}),
    ({"stages": {"dev": {"region": "Frankfurt"}}}, "stages.dev.region", ["AWS region"],
     {"stages": {"dev": {"region": "eu-central-1"}}}),
    ({"stages": {"dev": {"account": "1234"}}}, "stages.dev.account", ["12-digit"],
     {"stages": {"dev": {"account": "123456789012"}}}),
    ({"stages": {"dev": {"subnets": ["subnet-xyz"], "security_groups": ["sg-0123abcd"]}}},
     "stages.dev.subnets.0", ["subnet id"],
     {"stages": {"dev": {"subnets": ["subnet-0123abcd"], "security_groups": ["sg-0123abcd"]}}}),
    ({"stages": {"dev": {"security_groups": ["default"]}}}, "stages.dev.security_groups.0",
     ["security group id"], {"stages": {"dev": {"security_groups": ["sg-0123abcd"],
                                                 "subnets": ["subnet-0123abcd"]}}}),
    ({"stages": {"dev.1": {}}}, "stages", ['name "dev.1"'], {"stages": {"dev-1": {}}}),
    ({"app_name": "shop.app"}, "app_name", ["letters, digits, '-' and '_'"], {}),
    ({"app_name": "other"}, "app_name", ["App('shop')"], {"app_name": "shop"}),
    ({"environment_variables": "A=1"}, "environment_variables", ["expected object"],
     {"environment_variables": {"A": "1"}}),
]


@pytest.mark.parametrize(("bad", "key", "needles", "good"), CASES,
                         ids=[c[1] + ":" + c[2][0][:20] for c in CASES])
def test_rule(tmp_path: Path, bad: dict[str, Any], key: str, needles: list[str],
              good: dict[str, Any]) -> None:
    assert_one(problems_for(tmp_path / "bad", bad), key, *needles)
    assert messages(problems_for(tmp_path / "good", good)) == []


def test_policy_documents(tmp_path: Path) -> None:
    bad_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Permit", "Action": "s3GetObject", "Resource": "bucket",
         "Principal": "*"}]}
    problems = problems_for(tmp_path / "a", {}, policies={"policy-job.json": bad_policy})
    text = "\n".join(messages(problems))
    assert "Effect must be" in text and "not an action like" in text
    assert "not an ARN" in text and "cannot name a Principal" in text
    assert all(p.file == ".fargo/policy-job.json" for p in problems)
    broken = problems_for(tmp_path / "b", {}, policies={"policy-job.json": "{not json"})
    assert broken[0].key == "line 1, column 2" and "not valid JSON" in broken[0].message
    no_version = problems_for(tmp_path / "c", {}, policies={"policy-job.json": {"Statement": []}})
    assert {p.key for p in no_version} == {"Version", "Statement"}
    assert problems_for(tmp_path / "d", {}, policies={"policy-job.json": POLICY}) == []


def test_handlers_and_names(tmp_path: Path) -> None:
    dup = APP + "\n@app.task(name='job')\ndef other(event):\n    pass\n"
    assert "two jobs are named 'job'" in messages(problems_for(tmp_path / "a", {}, dup))[0]
    bad_name = APP + "\n@app.task(name='has space')\ndef other(event):\n    pass\n"
    assert "may contain only letters" in messages(problems_for(tmp_path / "b", {}, bad_name))[0]
    long_name = APP + f"\n@app.task(name='{'x' * 60}')\ndef other(event):\n    pass\n"
    assert "is 69 characters" in messages(problems_for(tmp_path / "c", {}, long_name))[0]
    syntax = problems_for(tmp_path / "d", {}, "def broken(:\n")
    assert syntax[0].file == "app.py" and syntax[0].key == "line 1"
    raising = problems_for(tmp_path / "e", {}, "import no_such_module_here\n")
    assert "ModuleNotFoundError" in raising[0].message and raising[0].key == "line 1"
    no_app = problems_for(tmp_path / "f", {}, "x = 1\n")
    assert "defines no fargo App" in no_app[0].message


def test_decorator_arguments_are_checked_like_config(tmp_path: Path) -> None:
    app = APP + "\n@app.task(compute='ec2', memory=True)\ndef other(event):\n    pass\n"
    problems = problems_for(tmp_path, {}, app)
    keys = {p.key for p in problems}
    assert "@app.task(compute=...) on other" in keys
    assert all(p.file == "app.py" for p in problems)


def test_all_problems_in_one_run(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, {
        "tasks": {"job": {"schedule": "rate(1 hours)", "cpu": 3, "memroy": 1},
                  "small": {"timeout": 5000}, "ghost": {}},
        "stages": {"dev": {"region": "nowhere"}},
    })
    keys = {p.key for p in problems}
    assert {"tasks.job.schedule", "tasks.job.cpu", "tasks.job.memroy", "tasks.small.timeout",
            "tasks.ghost", "stages.dev.region"} <= keys


def test_schedule_conversion_is_noticed(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", APP, {"app_name": "shop",
                                                "tasks": {"job": {"schedule": "@daily"}}})
    result = check(root)
    assert result.ok
    assert result.projects[0].task("job").schedule == "cron(0 0 * * ? *)"  # type: ignore[union-attr]
    assert any("@daily" in n.message for n in result.notices)


# --- the whole Fargate size table ---------------------------------------------------------

ALL_CPUS = [256, 512, 1024, 2048, 4096, 8192, 16384]
VALID_SIZES = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}


def test_fargate_table_matches_aws() -> None:
    for cpu in ALL_CPUS:
        assert limits.fargate_memory_choices(cpu) == VALID_SIZES[cpu]
    for cpu, memory in itertools.product(ALL_CPUS, range(512, 122881, 512)):
        assert limits.fargate_size_ok(cpu, memory) == (memory in VALID_SIZES[cpu]), (cpu, memory)


@pytest.mark.parametrize("cpu", ALL_CPUS)
def test_every_size_through_validation(tmp_path: Path, cpu: int) -> None:
    good = [{"cpu": cpu, "memory": m} for m in (VALID_SIZES[cpu][0], VALID_SIZES[cpu][-1])]
    bad = [{"cpu": cpu, "memory": VALID_SIZES[cpu][-1] + 1024},
           {"cpu": cpu, "memory": VALID_SIZES[cpu][0] - 256}]
    for i, size in enumerate(good):
        assert problems_for(tmp_path / f"g{i}", {"tasks": {"job": size}}) == []
    for i, size in enumerate(bad):
        assert_one(problems_for(tmp_path / f"b{i}", {"tasks": {"job": size}}),
                   "tasks.job.memory", f"does not fit cpu {cpu}")


@pytest.mark.parametrize(("text", "units"), [
    ("0.25 vCPU", 256), (".25 vcpu", 256), ("0.5 vCPU", 512), ("1 vCPU", 1024), ("1vcpu", 1024),
    ("2 vCPU", 2048), ("4 vCPU", 4096), ("8 vCPU", 8192), ("16 vCPU", 16384), ("1024", 1024),
    (1024, 1024), ("3 vCPU", None), (300, None), (True, None), ("fast", None),
])
def test_cpu_strings(text: Any, units: int | None) -> None:
    assert parse_cpu(text) == units


@pytest.mark.parametrize(("text", "mib"), [
    (512, 512), ("2 GB", 2048), ("2GB", 2048), ("0.5 GB", 512), ("2 GiB", 2048),
    ("512 MB", 512), ("512", 512), ("lots", None), (0, None), (True, None),
])
def test_memory_strings(text: Any, mib: int | None) -> None:
    assert parse_memory(text) == mib


@pytest.mark.parametrize(("ref", "ok"), [
    ("/shop/prod/db-password", True), ("db_password", True),
    ("arn:aws:ssm:eu-west-1:123456789012:parameter/shop/token", True),
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf", True),
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf:username::", True),
    ("arn:aws:s3:::bucket", False), ("hunter 2", False), ("p@ss!", False),
    ("arn:aws:ssm:eu-west-1:1234:parameter/x", False),
])
def test_secret_references(ref: str, ok: bool) -> None:
    assert is_secret_reference(ref) is ok


def test_names_aws_would_refuse(tmp_path: Path) -> None:
    long_app = APP.replace('App("shop")', 'App("' + "s" * 38 + '")')
    problems = problems_for(tmp_path / "a", {"app_name": "s" * 38,
                                             "stages": {"stage-name-16chr": {}}}, app=long_app)
    # the runner's failure rule is the stage's longest name (the scheduler role was checked alone)
    assert_one(problems, "stages.stage-name-16chr", "runner-failures' would be 71 characters",
               "allow 64")
    upper = APP.replace('App("shop")', 'App("Shop")')
    problems = problems_for(tmp_path / "b", {"app_name": "Shop"}, app=upper)
    assert_one(problems, "app_name", "cannot name the app's ECR repository")
    image = {"app_name": "Shop", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop"}
    assert problems_for(tmp_path / "c", image, app=upper) == []  # its own repository: fine
    cased = APP + '\n@app.task()\ndef Job(event):\n    pass\n'
    assert any("differ only in case" in p.message for p in problems_for(tmp_path / "d", {},
                                                                         app=cased))


def test_bare_task_decorator_declares_an_on_demand_job(tmp_path: Path) -> None:
    bare = APP + '\n@app.task\ndef adhoc(event):\n    pass\n'
    root = write_project(tmp_path / "p", bare, {"app_name": "shop"})
    result = check(root)
    assert result.problems == []
    (project,) = result.projects
    adhoc = project.task("adhoc")
    assert adhoc is not None and adhoc.schedule is None and adhoc.compute == "fargate"


def test_an_existing_role_takes_no_policy_file(tmp_path: Path) -> None:
    role = {"tasks": {"job": {"task_role_arn": "arn:aws:iam::123456789012:role/etl"}}}
    both = problems_for(tmp_path / "a", role, policies={"policy-job.json": POLICY})
    assert_one(both, "tasks.job.task_role_arn", "also has the policy", "drop task_role_arn")
    assert problems_for(tmp_path / "b", role) == []


def test_rules_backend_needs_utc_and_no_at(tmp_path: Path) -> None:
    app = APP + "\n@app.task('cron(0 9 * * ? *)', timezone='Europe/Berlin')\ndef berlin(event):\n" \
        "    pass\n"
    problems = problems_for(tmp_path / "a", {"schedule_backend": "rules"}, app)
    assert any("EventBridge rules run in UTC" in p.message and "berlin" in p.message
               for p in problems)
    assert problems_for(tmp_path / "b", {"schedule_backend": "rules"}) == []


def test_stage_names_that_could_collide(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, {"stages": {"dev": {}, "dev-eu": {}}})
    assert any(p.key == "stages.dev-eu" and "could collide" in p.message for p in problems)


def test_terraform_references_in_values_are_literal_and_said_so(tmp_path: Path) -> None:
    config = {"app_name": "shop",
              "environment_variables": {"BUCKET": "${aws_s3_bucket.raw.id}"}}
    root = write_project(tmp_path / "p", APP, config)
    result = check(root)
    assert result.problems == []  # it deploys: the value is text, never Terraform code
    warned = [n for n in result.notices if "BUCKET" in n.message]
    assert warned and "reaches the job literally" in warned[0].message


def test_a_bad_name_in_an_object_leaves_its_other_entries_checked(tmp_path: Path) -> None:
    """One bad variable or tag name drops that entry only: the others are still checked."""
    problems = problems_for(tmp_path, {
        "environment_variables": {"BAD KEY": "v", "FARGO_X": "v"},
        "tags": {"k" * 200: "x", "aws:owner": "y"},
    })
    text = messages(problems)
    assert_one(problems, "environment_variables", 'name "BAD KEY" is not a variable name')
    assert_one(problems, "environment_variables", "FARGO_X: names starting with FARGO_")
    assert_one(problems, "tags", 'name "kkkk', "longer than 128 characters")
    assert_one(problems, "tags", "tag 'aws:owner': the aws: prefix is reserved")
    assert len(problems) == 4, text


def test_a_merged_setting_names_the_level_that_set_the_key(tmp_path: Path) -> None:
    """A reserved name set at the top level is blamed there, not on a stage that only adds
    variables of its own (and once, not per stage)."""
    problems = problems_for(tmp_path, {
        "environment_variables": {"FARGO_X": "v"},
        "stages": {"dev": {"environment_variables": {"LOG_LEVEL": "debug"}},
                   "prod": {"tags": {"team": "data", "aws:x": "y"}}},
    })
    reserved = [p for p in problems if "FARGO_X" in p.message]
    assert [p.key for p in reserved] == ["environment_variables"], messages(problems)
    assert_one(problems, "stages.prod.tags", "aws: prefix is reserved")


@pytest.mark.parametrize(("setting", "value", "needle"), [
    ({"alerts": {"emails": ["oncall"]}}, "alerts.emails.0", "an email address"),
    ({"alerts": {"topic_arn": "arn:aws:sqs:eu-west-1:123456789012:q"}}, "alerts.topic_arn",
     "an SNS topic ARN"),
    ({"tasks": {"job": {"layers": ["x"]}}}, "tasks.job.layers.0", "a Lambda layer version ARN"),
    ({"tasks": {"job": {"step_of": ["x"]}}}, "tasks.job.step_of.0", "state machine ARN"),
    ({"tasks": {"job": {"event_fields": {"9": "$.a"}}}}, "tasks.job.event_fields",
     'name "9" is not a field name'),
    ({"tasks": {"job": {"event_fields": {"k": "nope"}}}}, "tasks.job.event_fields.k",
     "a JSONPath into the event"),
    ({"tasks": {"job": {"s3": [{"bucket": "okbucket", "events": ["s3:No Such"]}]}}},
     "tasks.job.s3.0.events.0", "an S3 event type"),
])
def test_a_pattern_is_explained_by_its_own_setting_at_every_level(
        tmp_path: Path, setting: dict[str, Any], value: str, needle: str) -> None:
    """Under stages.<stage> a value's message named the stage name's pattern ('is not a stage
    name') for any setting without its own text; every pattern now has one."""
    for where, config in (("", setting), ("stages.dev.", {"stages": {"dev": setting}})):
        problems = [p for p in problems_for(tmp_path / (where or "top"), config)
                    if p.key == where + value]
        assert problems, (where, messages(problems_for(tmp_path / "again", config)))
        assert all(needle in p.message and "stage name" not in p.message
                   and "text matching" not in p.message for p in problems), messages(problems)


def test_every_pattern_in_the_schema_has_words_for_it() -> None:
    from fargo.project.config import _FRIENDLY_PATTERNS, schema

    def fields(node: Any, name: str) -> list[str]:
        found = []
        if isinstance(node, dict):
            if "pattern" in node:
                found.append(name)
            for key, child in node.items():
                if key in ("properties", "$defs"):
                    found += [f for k, v in child.items() for f in fields(v, k)]
                elif key in ("items", "propertyNames"):
                    found += fields(child, name)
                elif key == "additionalProperties":
                    found += fields(child, f"{name}[]")
        return found

    missing = sorted(set(fields(schema(), "")) - set(_FRIENDLY_PATTERNS))
    assert not missing, missing


def test_every_stage_resource_name_fits_and_no_job_takes_one(tmp_path: Path) -> None:
    """The longest name a stage creates (<app>-<stage>-workflow-failures) is checked, not the
    scheduler role alone; a job or workflow named like a stage resource is refused."""
    from fargo.project import names
    from tests.conftest import _run, assert_clean_error

    app_name = "a" * 40
    root = write_project(tmp_path / "long", f"""
        from fargo import App
        app = App("{app_name}")

        @app.task("rate(1 hour)")
        def nightly(event):
            return None

        app.workflow("flow", nightly)
        """, {"app_name": app_name, "stages": {"s" * 13: {"region": "us-east-1"}}})
    longest = max(names.stage_names(app_name, "s" * 13, runner=False), key=len)
    assert longest.endswith("-workflow-failures")
    assert_clean_error(_run(["validate"], cwd=root), f"{longest!r} would be {len(longest)} "
                       "characters")
    root = write_project(tmp_path / "clash", """
        from fargo import App
        app = App("lake")

        @app.task("rate(1 hour)")
        def workflows(event):
            return None

        @app.task("rate(1 hour)")
        def extract(event):
            return None

        app.workflow("runner", extract)
        """, {"app_name": "lake", "stages": {"dev": {"region": "us-east-1"}}})
    assert_clean_error(_run(["validate"], cwd=root),
                       "job 'workflows' would be named lake-dev-workflows",
                       "workflow 'runner' would be named lake-dev-runner")


def test_workflow_names_and_descriptions_as_aws_takes_them(tmp_path: Path) -> None:
    from tests.conftest import _run, assert_clean_error

    long_name = "w" * 55  # lake-dev- + 55 = 64: fits a schedule; 56 does not
    source = f"""
        from fargo import App
        app = App("lake")

        @app.task("rate(1 hour)")
        def extract(event):
            return None

        app.workflow("{long_name}", extract, schedule="rate(1 hour)")
        app.workflow("{long_name}xx", extract)
        """
    config = {"app_name": "lake", "stages": {"dev": {"region": "us-east-1"}}}
    root = write_project(tmp_path / "ok", source, config)
    r = _run(["validate"], cwd=root)
    assert r.returncode == 0, r.stderr  # unscheduled, a 57-character name needs no schedule
    root = write_project(tmp_path / "bad", source.replace(
        'extract)\n', 'extract, schedule="rate(2 hours)")\n').replace(
        'schedule="rate(1 hour)")', 'schedule="rate(1 hour)", description="d" * 600)'), config)
    assert_clean_error(_run(["validate"], cwd=root),
                       "would be 66 characters; EventBridge Scheduler allows 64",
                       "600 characters; a schedule's description allows 512")
    root = write_project(tmp_path / "nul", """
        from fargo import App
        app = App("lake")

        @app.task("rate(1 hour)", description="nightly\\x00load")
        def extract(event):
            return None
        """, config)
    assert_clean_error(_run(["validate"], cwd=root), "holds a NUL or a lone surrogate")


def test_what_is_no_json_or_too_big_for_aws_is_one_clear_error(tmp_path: Path) -> None:
    """Patterns from app.py that are no JSON (a set, bytes, a date, 2,000 levels deep), a
    workflow definition over Step Functions' 1 MB, an image reference with a space, a role ARN
    with non-ASCII letters, a state name over 80: each one message, exit 2, no traceback."""
    import json

    from tests.conftest import _run, assert_clean_error

    root = write_project(tmp_path / "p", """
        import datetime
        from fargo import App, parallel

        app = App("lake")
        deep = node = {"source": ["x"]}
        for _ in range(2000):
            node["detail"] = node = {}
        node["k"] = ["v"]

        @app.task(events={"source": {"a", "b"}})
        def a_set(event):
            return None

        @app.task(events={"source": [b"x"]})
        def a_bytes(event):
            return None

        @app.task(events={"source": [datetime.date(2020, 1, 1)]})
        def a_date(event):
            return None

        @app.task(events=deep)
        def a_deep(event):
            return None

        @app.task()
        def s1(event):
            return "x"

        app.workflow("huge", parallel(*([s1] * 3000)))
        """, {"app_name": "lake", "image": "repo with space:1",
              "task_role_arn": "arn:aws:iam::123456789012:role/\u00fcn\u00ef",
              "stages": {"dev": {"region": "us-east-1"}}})
    assert_clean_error(_run(["validate"], cwd=root), "source: a set is not JSON",
                       "source[0]: a bytes is not JSON", "source[0]: a date is not JSON",
                       "nested deeper than 50 levels", "\"repo with space:1\" is not an image",
                       "is not an IAM role ARN")
    config = json.loads((root / ".fargo" / "config.json").read_text())
    del config["image"], config["task_role_arn"]
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text("\n".join(
        line for line in (root / "app.py").read_text().splitlines()
        if not line.startswith("@app.task(events")).replace("def a_", "def _a_"))
    assert_clean_error(_run(["validate"], cwd=root), "workflow 'huge': its state machine "
                       "definition is 2.0 MB; Step Functions allows 1 MB")
    assert_clean_error(_run(["asl", "s1", "--stage", "dev", "--name", "N" * 81], cwd=root),
                       "--name: a state name is 1-80 characters")
