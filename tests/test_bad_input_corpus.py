"""A corpus of bad input, as careless users and attackers type it: every case ends in clear
messages and exit code 2 — never a traceback, never exit 0.

The cases run through the real `fargo` command group in-process (click's runner), each on a
project written to disk, so they exercise exactly what a user's command line does.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fargo.cli.main import cli
from tests.conftest import POLICY

APP = """
from fargo import App
app = App("shop")

@app.task("rate(5 minutes)")
def job(event):
    return None

@app.schedule("rate(1 hour)")
def small(event):
    return None
"""
BASE: dict[str, Any] = {"app_name": "shop", "stages": {"dev": {"region": "us-east-1"}}}
HUGE_INT = "9" * 4400
DEEP = "[" * 100_000 + "]" * 100_000


def _case(kind: str, payload: Any, needle: str = "") -> tuple[str, Any, str]:
    return (kind, payload, needle)


# --- schedules: `fargo schedule EXPR` ---------------------------------------------------------

def _schedules() -> list[tuple[str, Any, str]]:
    cases = []
    good = ["0", "9", "*", "*", "?", "*"]
    bad_fields = {
        0: ["60", "-1", "a", "1-60", "*/0", "5/", "1,,2", "٣", "²", "1.5", "L", "W", "#"],
        1: ["24", "-3", "x", "0-24", "L", "1W", "12#2"],
        2: ["0", "32", "L-3", "32W", "W", "1#2", "?/2", "1-32"],
        3: ["0", "13", "FOO", "JAN-FOO", "L", "1W"],
        4: ["8", "0", "MON#6", "MON#0", "1#2,3#1", "8L", "SUN-FOO", "*/2"],
        5: ["1969", "2200", "abcd", "*/0", "2020-1969"],
    }
    for index, values in bad_fields.items():
        for value in values:
            fields = list(good)
            fields[index] = value
            if index == 4:
                fields[2] = "?"
            cases.append(_case("schedule", f"cron({' '.join(fields)})"))
    cases += [_case("schedule", e) for e in [
        "cron(0 9 * * * *)", "cron(0 9 ? * ? *)", "cron(0 9 * *)", "cron(0 9 * * ? * *)",
        "cron()", "cron(", "cron(0 9 * * ? *", "0 9 * * ²", "0 9 * * ٣", "61 * * * *",
        "* * * * * * *", "@weekly2", "@every", "@every 0m", "@every 30s", "@every 1x",
        "@every 99999999999999999999999999d", "rate(0 minutes)", "rate(1 minutes)",
        "rate(5 minute)", "rate(1 second)", "rate(2 weeks)", "rate(-1 days)",
        "rate(1.5 hours)", "rate(minutes)", "rate(5)", "rate()", "rate(5 days", "rate(٣ days)",
        f"rate({HUGE_INT} minutes)", "at(2024-13-01T00:00:00)", "at(2024-02-30T00:00:00)",
        "at(2024-01-01)", "at(2024-01-01T25:00:00)", "at(2024-01-01T00:00:00Z)",
        "at(2024-01-01T00:00:00.5)", "at()", "every day", "", " ", "\x00", "cron(\x00)",
        "cron(0 9 ? * MON-FRI *)" + "x" * 300, "cron(0 9 ? * MON *) extra", "☃",
        "cron(0 9 * JAN-DEC ? *)x", "rate(5 minutes) x", "cron(0 9 * * ? *)\ncron(1 9 * * ? *)",
    ]]
    return cases


# --- configs: `fargo validate` on .fargo/config.json ------------------------------------------

def _with(extra: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(json.dumps(BASE))
    for key, value in extra.items():
        if key == "stages":
            for stage, settings in value.items():
                config["stages"].setdefault(stage, {}).update(settings)
        else:
            config[key] = value
    return config


def _configs() -> list[tuple[str, Any, str]]:
    cases: list[tuple[str, Any, str]] = []
    wrong_values: dict[str, list[Any]] = {
        "compute": ["ec2", 1, None, ["fargate"], "FARGATE"],
        "schedule": [5, ["rate(1 day)"], {"rate": 1}, "rate(0 days)", "cron(0 9 * * * *)"],
        "timezone": ["Mars/Olympus", 3, "UTC+1", "../etc/passwd", ""],
        "enabled": ["yes", 1, None],
        "cpu": [300, "3 vCPU", -256, True, "1 vcpus", 256.5],
        "memory": [0, -512, "lots", "1.5 MB", True, 10**6],
        "ephemeral_storage_gib": [20, 201, "50", -1],
        "architecture": ["arm", "x86", 64],
        "spot": ["true", 1],
        "subnets": ["subnet-0abc1234", ["subnet-xyz"], [1], ["subnet-0abc1234"] * 17],
        "security_groups": ["sg-0abc1234", ["default"], ["sg-0abc1234"] * 6],
        "timeout": [0, -1, "forever", "1.5s", "200000d", "nan", "inf", 1e400, True],
        "reserved_concurrency": [-1, "one", 10**9],
        "layers": ["arn:aws:lambda:us-east-1:123456789012:layer:x:1", ["not-an-arn"],
                   ["arn:aws:lambda:us-east-1:123456789012:layer:x"],
                   [f"arn:aws:lambda:us-east-1:123456789012:layer:x:{n}" for n in range(6)]],
        "retries": [-1, 11, "two", 1.5],
        "retry_timeouts": ["no", 0],
        "overlap": ["wait", 0, "SKIP"],
        "catchup": ["some", None, 1],
        "environment_variables": ["A=1", {"1A": "x"}, {"A": 1}, {"A-B": "x"},
                                  {"FARGO_TASK": "x"}, {"A": None}],
        "secrets": [{"A": "not a reference!"}, {"A": "arn:aws:s3:::bucket"}, {"FARGO_X": "/p"},
                    {"A": 5}],
        "iam_policy_file": ["missing.json", 5, "../../etc/passwd"],
        "task_role_arn": ["role", "arn:aws:iam::1:role/x", "arn:aws:iam::123456789012:user/x"],
        "tags": [{"aws:team": "x"}, {"team": "a$b"}, {"k" * 129: "v"}, {"team": "v" * 257},
                 {f"t{i}": "v" for i in range(47)}, {"": "v"}, {"team": 5}],
        "log_retention_days": [2, 0, "30", 10**5],
        "description": [5, "d" * 513],
        "flexible_window_minutes": [0, 1441, "5"],
        "start_date": ["yesterday", "2024-13-01T00:00:00Z", 5],
        "end_date": ["tomorrow", "2024-02-30T00:00:00Z"],
    }
    for setting, values in wrong_values.items():
        for index, value in enumerate(values):
            cases.append(_case("config", _with({"tasks": {"job": {setting: value}}})))
            # the same value for every job: at the top level, or stage-wide (odd/even)
            if setting != "schedule":  # the jobs' decorators set theirs, which wins
                level = {setting: value} if index % 2 else {"stages": {"dev": {setting: value}}}
                cases.append(_case("config", _with(level)))
    stage_values: dict[str, list[Any]] = {
        "region": ["Frankfurt", "us-east", 5, "US-EAST-1"],
        "account": ["1234", 123456789012, "12345678901a"],
        "cluster": ["bad name", "arn:aws:ecs:us-east-1:12:cluster/x",
                    "arn:aws:ecs:eu-west-1:123456789012:cluster/x", "x" * 256],
        "execution_role_arn": ["exec", "arn:aws:iam::123456789012:role/"],
        "assign_public_ip": ["yes"],
        "image": [5, "x" * 300],
        "schedule_backend": ["cron", None],
        "max_parallel": [0, -1, "4"],
        "terraform_state": [{"key": "k"}, {"bucket": "B"}, {"bucket": "ok-bucket", "key": "${x}"},
                            {"bucket": "ok-bucket", "key": "a%{x}"}, {"bucket": "b", "x": 1},
                            "s3://bucket"],
        "create_dead_letter_queue": ["yes"],
        "alerts": [{"emails": "a@b"}, {"emails": ["not an address"]}, {"topic_arn": "x"},
                   {"email": ["a@b.c"]}, []],
    }
    for setting, values in stage_values.items():
        for value in values:
            cases.append(_case("config", _with({"stages": {"dev": {setting: value}}})))
    cases += [_case("config", c) for c in [
        _with({"unknown": 1}), _with({"task": {}}), _with({"stages": {"dev.1": {}}}),
        _with({"stages": {"Dev": {}}}), _with({"app_name": "other"}),
        _with({"app_name": "Shop"}), _with({"app_name": "shop.app"}),
        _with({"app_name": "s" * 41}), _with({"tasks": {"nope": {}}}),
        _with({"stages": {"dev": {"tasks": {"nope": {}}}}}),
        _with({"stages": {"dev": {"tasks": {"job": {"cluster": "c"}}}}}),
        _with({"tasks": {"job": {"compute": "lambda", "timeout": 901}}}),
        _with({"tasks": {"job": {"compute": "lambda", "memory": 10241}}}),
        _with({"tasks": {"job": {"compute": "lambda", "cpu": 1024}}}),
        _with({"tasks": {"small": {"environment_variables": {"AWS_REGION": "x"}}}}),
        _with({"tasks": {"small": {"environment_variables": {"_HANDLER": "x"}}}}),
        _with({"tasks": {"small": {"environment_variables": {"BIG": "é" * 2100}}}}),
        _with({"tasks": {"small": {"description": "d" * 257}}}),
        _with({"tasks": {"job": {"environment_variables": {"BIG": "x" * 70_000}}}}),
        _with({"tasks": {"small": {"subnets": ["subnet-0abc1234"]}}}),
        _with({"tasks": {"small": {"security_groups": ["sg-0abc1234"]}}}),
        _with({"tasks": {"small": {"reserved_concurrency": -5}}}),
        _with({"tasks": {"job": {"layers": [
            "arn:aws:lambda:us-east-1:123456789012:layer:pandas:3"]}}}),  # a Fargate job
        _with({"tasks": {"job": {"cpu": 256, "memory": 4096}}}),
        _with({"tasks": {"job": {"cpu": 16384, "memory": 1024}}}),
        _with({"stages": {"dev": {"schedule_backend": "rules"}},
               "tasks": {"job": {"timezone": "Europe/Berlin"}}}),
        _with({"stages": {"dev": {"schedule_backend": "rules"}},
               "tasks": {"job": {"schedule": "at(2030-01-01T00:00:00)"}}}),
        _with({"stages": {"a" * 21: {}}}), _with({"stages": {"prod": {}, "prod-eu": {}}}),
        _with({"stages": {"dev": {"region": "us-east-1"}, "DEV": {}}}),
        _with({"stages": {"x" * 21: {}}}),
        _with({"tasks": {"job": {"start_date": "2030-01-01T00:00:00Z",
                                 "end_date": "2029-01-01T00:00:00Z"}}}),
        _with({"tasks": {"job": {"environment_variables": {"A": "1"},
                                 "secrets": {"A": "/param"}}}}),
    ]]
    # not even JSON, or JSON Python cannot hold
    cases += [_case("config-text", t) for t in [
        "", "{", "[]", "null", "5", '"text"', "{'a': 1}", '{"app_name": }', DEEP,
        '{"app_name": "shop", "tasks": {"job": {"retries": ' + HUGE_INT + "}}}",
        '{"app_name": "shop", "x": ' + "[" * 5000 + "]" * 5000 + "}", "\ufeff{}",
        '{"app_name": "shop"} trailing', '{"app_name": "shop", "app_name": 5}',
        '{"app_name": "shop", "tasks": {"job": {"timeout": NaN}}}',
        '{"app_name": "shop", "tasks": {"job": {"timeout": Infinity}}}',
    ]]
    cases.append(_case("config-dir", None))  # unreadable: a directory where the file should be
    cases.append(_case("config-bytes", b"\xff\xfe{\x00}"))
    cases.append(_case("config-bytes", b'{"app_name": "sh\xe9p"}'))
    return cases


# --- IAM policy files ---------------------------------------------------------------------------

def _policies() -> list[tuple[str, Any, str]]:
    statement = POLICY["Statement"][0]

    def doc(**changes: Any) -> dict[str, Any]:
        s = {**statement, **changes}
        return {"Version": "2012-10-17", "Statement": [{k: v for k, v in s.items()
                                                       if v is not None}]}

    documents: list[Any] = [
        {}, [], "x", {"Statement": []}, {"Version": "2012-10-18", "Statement": [statement]},
        {"Version": "2012-10-17"}, {"Version": "2012-10-17", "Statement": []},
        {"Version": "2012-10-17", "Statement": "x"}, {"Version": "2012-10-17", "Statement": [5]},
        {"Version": "2012-10-17", "Statement": [statement], "Extra": 1},
        doc(Effect="Maybe"), doc(Effect=None), doc(Action=None), doc(Resource=None),
        doc(Action="s3"), doc(Action=["s3:GetObject", 5]), doc(Action=[]),
        doc(Resource="arn:"), doc(Resource="arn:aws"), doc(Resource="bucket/*"),
        doc(Resource=["*", 1]), doc(Resource=[]), doc(Sid="has space"), doc(Sid=5),
        doc(Principal={"AWS": "*"}), doc(NotPrincipal={"AWS": "*"}),
        doc(NotAction="s3:*"), doc(NotResource="*"), doc(Condition="x"),
        doc(Condition={"NumericLessThan": 5}), doc(Condition={"NumericEquals": {"k": float("nan")}}),
        doc(Condition={"NumericEquals": {"k": float("inf")}}), doc(Unknown=1),
        {"Version": "2012-10-17", "Statement": [statement] * 200},
        {"Version": "2012-10-17", "Statement": [doc(Resource="arn:aws:s3:::" + "b" * 10300)[
            "Statement"][0]]},
    ]
    cases = [_case("policy", d) for d in documents]
    cases += [_case("policy-text", t) for t in [
        "", "{", "not json", DEEP, '{"Version": "2012-10-17", "Statement": [{"Effect": '
        '"Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"NumericEquals": '
        '{"k": ' + HUGE_INT + "}}}]}", "[" * 3000 + "]" * 3000]]
    return cases


# --- app.py as it really gets written -----------------------------------------------------------

def _apps() -> list[tuple[str, Any, str]]:
    head = "from fargo import App\napp = App('shop')\n"
    bodies = [
        "this is not python", "def job(:\n    pass", "import does_not_exist_anywhere",
        "raise RuntimeError('boom at import')", "import sys\nsys.exit(0)",
        "import sys\nsys.exit(3)", "raise SystemExit('bye')", "1 / 0",
        "import os\nos.environ['MUST_BE_SET']",
        "@app.task(name=123)\ndef job(event):\n    pass",
        "@app.task(name=['a'])\ndef job(event):\n    pass",
        "@app.task('rate(0 minutes)')\ndef job(event):\n    pass",
        "@app.task('cron(0 9 * * * *)')\ndef job(event):\n    pass",
        "@app.task(cpu='lots')\ndef job(event):\n    pass",
        "@app.task(timeout=float('inf'))\ndef job(event):\n    pass",
        "@app.task(timeout=float('nan'))\ndef job(event):\n    pass",
        "@app.task(memory=-1)\ndef job(event):\n    pass",
        "@app.task(compute='ec2')\ndef job(event):\n    pass",
        "@app.task(retries=99)\ndef job(event):\n    pass",
        "@app.task(timezone='Nowhere/City')\ndef job(event):\n    pass",
        "@app.task(name='has space')\ndef job(event):\n    pass",
        "@app.task(name='exec')\ndef job(event):\n    pass",
        "@app.task(name='scheduler')\ndef job(event):\n    pass",
        "@app.task(name='x' * 80)\ndef job(event):\n    pass",
        "@app.task()\ndef job(event):\n    pass\n@app.task()\ndef Job(event):\n    pass",
        "@app.task()\ndef job(event):\n    pass\n@app.task(name='job')\ndef other(event):\n"
        "    pass",
        "@app.task(description='d' * 600)\ndef job(event):\n    pass",
        "@app.schedule('rate(1 hour)', description='d' * 300)\ndef job(event):\n    pass",
    ]
    cases = [_case("app", head + body) for body in bodies]
    cases += [_case("app", src) for src in [
        "x = 1\n", "from fargo import App\na = App('shop')\nb = App('shop')\n",
        "from fargo import App\n", "", "\x00", "from fargo import App\napp = App('shop'\n",
    ]]
    return cases


# --- command-line arguments and events ------------------------------------------------------

def _arguments() -> list[tuple[str, Any, str]]:
    args: list[list[str]] = [
        ["up", "--for", "99999999999999999999d"], ["up", "--for", "0"], ["up", "--for", "-1"],
        ["up", "--for", "soon"], ["up", "--for", "nan"], ["up", "--speed", "nan"],
        ["up", "--speed", "inf"], ["up", "--speed", "0"], ["up", "--speed", "x"],
        ["up", "--from", "yesterday"], ["up", "--from", "2024-13-01"], ["up", "--grace", "x"],
        ["up", "--grace", "99999999999d"], ["up", "--only", "nope"],
        ["up", "--max-parallel", "0"], ["up", "--max-parallel", "x"], ["up", "--stage", "qa"],
        ["invoke", "nope"], ["invoke", "job", "--stage", "qa"],
        ["invoke", "job", "--event", "{"], ["invoke", "job", "--event", "[]"],
        ["invoke", "job", "--event", "5"], ["invoke", "job", "--event", DEEP[:20000]],
        ["invoke", "job", "--event", '{"n": ' + HUGE_INT + "}"],
        ["invoke", "job", "--event", "@/nonexistent/event.json"],
        ["invoke", "job", "--event", "@EVENT_BAD_UTF8"], ["invoke", "job", "--event", "@EVENT_DIR"],
        ["invoke", "job", "--event", "@EVENT_DEEP"], ["invoke", "job", "--event", "@/dev/zero"],
        ["config", "nope"], ["config", "job", "--stage", "qa"], ["ls", "--stage", "qa"],
        ["validate", "--stage", "qa"], ["package", "--stage", "qa"],
        ["package", "--stage", "dev", "--out", "FILE/under"],
        ["schedule", "cron(0 9 * * MON *)"], ["schedule", "rate(1 day)", "--tz", "Mars/Base"],
        ["schedule", "rate(1 day)", "--count", "0"], ["schedule", "rate(1 day)", "--count", "x"],
        ["schedule", "rate(1 day)", "--after", "never"],
        ["schedule", "rate(1 day)", "--after", "2024-02-30T00:00:00Z"],
        ["history", "nope"], ["history", "--last", "0"], ["history", "--last", "x"],
        ["logs", "nope"], ["new", "Bad_Name"], ["new", "x" * 41], ["new", "-dash"],
        ["new", "1abc"], ["new", ""], ["build", "--stage", "dev", "--tag", "bad tag"],
        ["build", "--stage", "dev", "--tag", "-x"], ["build", "--stage", "qa"],
        ["deploy", "--stage", "qa", "--yes"], ["deploy", "--stage", "dev", "--image-tag", ".x",
                                               "--yes"],
        ["plan", "--stage", "qa"], ["destroy", "--stage", "qa", "--yes"],
        ["run", "nope", "--stage", "dev"], ["run", "job", "--stage", "qa"],
        ["run", "job", "--stage", "dev", "--event", "{"], ["run", "job", "--stage", "dev",
                                                          "--env", "NOEQUALS"],
        ["pause", "nope", "--stage", "dev"], ["resume", "nope", "--stage", "dev"],
        ["status", "--stage", "qa"], ["import-chalice", "/nonexistent/project"],
    ]
    return [_case("args", a) for a in args]


CASES = [*_schedules(), *_configs(), *_policies(), *_apps(), *_arguments()]


def test_the_corpus_is_large_and_covers_every_category() -> None:
    kinds = {kind.split("-")[0] for kind, _, _ in CASES}
    assert len(CASES) >= 500, len(CASES)
    assert kinds == {"schedule", "config", "policy", "app", "args"}


def _project(tmp_path: Path, kind: str, payload: Any) -> Path:
    root = tmp_path / "p"
    (root / ".fargo").mkdir(parents=True)
    (root / "app.py").write_text(payload if kind == "app" else textwrap.dedent(APP))
    config_file = root / ".fargo" / "config.json"
    if kind == "config":
        config_file.write_text(json.dumps(payload))
    elif kind == "config-text":
        config_file.write_text(payload)
    elif kind == "config-bytes":
        config_file.write_bytes(payload)
    elif kind == "config-dir":
        config_file.mkdir()
    else:
        config_file.write_text(json.dumps(BASE))
    if kind == "policy":
        (root / ".fargo" / "policy-job.json").write_text(json.dumps(payload))
    elif kind == "policy-text":
        (root / ".fargo" / "policy-job.json").write_text(payload)
    return root


def _arguments_for(kind: str, payload: Any, root: Path, tmp_path: Path) -> list[str]:
    if kind == "schedule":
        return ["schedule", payload]
    if kind != "args":
        return ["-C", str(root), "validate"]
    special = {
        "@EVENT_BAD_UTF8": tmp_path / "bad.json", "@EVENT_DIR": tmp_path,
        "@EVENT_DEEP": tmp_path / "deep.json", "FILE/under": tmp_path / "file" / "under"}
    (tmp_path / "bad.json").write_bytes(b'{"a": "\xff"}')
    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "file").write_text("a regular file")
    resolved = []
    for arg in payload:
        target = special.get(arg)
        resolved.append(("@" if arg.startswith("@") else "") + str(target) if target else arg)
    return ["-C", str(root), *resolved]


@pytest.mark.parametrize(("kind", "payload", "needle"), CASES,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(CASES)])
def test_bad_input_is_one_clear_error(kind: str, payload: Any, needle: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, kind, payload)
    monkeypatch.chdir(root)
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    args = _arguments_for(kind, payload, root, tmp_path)
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    shown = (result.output or "") + (result.stderr if result.stderr_bytes else "")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args[:4], shown, repr(result.exception))
    assert result.exit_code == 2, (args[:4], result.exit_code, shown[-2000:])
    assert "Traceback" not in shown
    assert shown.strip(), "an error says what is wrong"
    if needle:
        assert needle in shown
