"""Jobs started by S3 objects: Chalice's on_s3_event and the `s3` setting. A Fargate job gets
them through EventBridge (the pattern S3's own events match), a Lambda job through the bucket's
notifications as Chalice deploys them; locally, fargo up --watch-dir turns dropped files into
the same events."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from fargo.patterns import check, matches
from fargo.patterns.s3 import object_created, s3_patterns
from fargo.project.load import load_project
from tests.conftest import _run, assert_clean_error

CHALICE_APP = '''
from chalice import Chalice

app = Chalice(app_name="lake")


@app.on_s3_event(bucket="raw-landing", prefix="incoming/", suffix=".csv")
def load_csv(event):
    print("BUCKET", event.bucket, "KEY", event.key)
    return {"bucket": event.bucket, "key": event.key}


@app.on_s3_event(bucket="raw-landing", events=["s3:ObjectRemoved:*"])
def forget(event):
    return event.key
'''


def project(tmp_path: Path, app: str = CHALICE_APP, tasks: dict | None = None) -> Path:
    root = tmp_path / "lake"
    (root / ".fargo").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(app))
    (root / ".fargo" / "config.json").write_text(json.dumps({
        "app_name": "lake", "tasks": tasks or {}, "stages": {"dev": {"region": "us-east-1"}}}))
    return root


def event(key: str, bucket: str = "raw-landing") -> dict:
    return object_created(bucket, key, 5, "abc", "123456789012", "us-east-1",
                          "11111111-2222-3333-4444-555555555555", "2026-01-01T00:00:00Z")


@pytest.mark.parametrize(("key", "hit"), [
    ("incoming/a.csv", True), ("incoming/deep/b.csv", True), ("incoming/a.json", False),
    ("other/a.csv", False), ("incoming/.csv", True)])
def test_prefix_and_suffix_become_one_key_filter(key: str, hit: bool) -> None:
    (pattern,) = s3_patterns("raw-landing", None, "incoming/", ".csv")
    assert not check(pattern)
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "incoming/*.csv"}]
    assert matches(pattern, event(key)) is hit
    assert not matches(pattern, event(key, bucket="other-bucket"))


def test_wildcard_characters_in_a_prefix_are_literal() -> None:
    (pattern,) = s3_patterns("b-1", ["s3:ObjectCreated:Put"], "a*b/", ".csv")
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "a\\*b/*.csv"}]
    assert pattern["detail"]["reason"] == ["PutObject"]
    assert matches(pattern, {**event("a*b/x.csv", "b-1"), "detail": {
        **event("a*b/x.csv", "b-1")["detail"], "reason": "PutObject"}})
    assert not matches(pattern, {**event("aXb/x.csv", "b-1"), "detail": {
        **event("aXb/x.csv", "b-1")["detail"], "reason": "PutObject"}})


def test_chalice_on_s3_event_handlers_are_jobs_that_get_chalices_s3_event(
        tmp_path: Path) -> None:
    root = project(tmp_path, tasks={"load_csv": {"compute": "fargate"}})
    spec = load_project(root, "dev").require("load_csv")
    assert spec.kind == "chalice_on_s3_event" and spec.compute == "fargate"
    assert spec.s3 == ({"bucket": "raw-landing", "events": ["s3:ObjectCreated:*"],
                        "prefix": "incoming/", "suffix": ".csv"},)
    assert spec.rule_patterns == spec.patterns  # on Fargate: through EventBridge
    lambda_spec = load_project(root, "dev").require("forget")
    assert lambda_spec.compute == "lambda" and lambda_spec.rule_patterns == ()
    v = _run(["validate"], cwd=root)
    assert v.returncode == 0, v.stderr
    assert "bucket 'raw-landing' must send its events to EventBridge" in v.stderr
    assert "sets the bucket's notification configuration" in v.stderr
    listed = _run(["ls"], cwd=root).stdout
    assert "s3://raw-landing/incoming/*.csv" in listed
    sample = _run(["events", "sample", "load_csv"], cwd=root)
    assert sample.returncode == 0, sample.stderr
    landed = json.loads(sample.stdout)
    assert landed["source"] == "aws.s3" and landed["detail-type"] == ["Object Created"][0]
    # a key with a space and a plus: S3 encodes it in notifications, Chalice decodes it
    landed["detail"]["object"]["key"] = "incoming/q1 2026+final.csv"
    (root / "event.json").write_text(json.dumps(landed))
    ran = _run(["invoke", "load_csv", "--event", "@event.json"], cwd=root)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "BUCKET raw-landing KEY incoming/q1 2026+final.csv" in ran.stdout
    # the notification's own shape (a Lambda job's event) passes through unchanged
    records = {"Records": [{"s3": {"bucket": {"name": "raw-landing"},
                                   "object": {"key": "gone+now.csv"}}}]}
    ran = _run(["invoke", "forget", "--event", json.dumps(records)], cwd=root)
    assert ran.returncode == 0 and '"result": "gone now.csv"' in ran.stdout, ran.stdout


def test_events_s3_does_not_send_to_eventbridge_cannot_start_a_fargate_job(
        tmp_path: Path) -> None:
    app = CHALICE_APP.replace('events=["s3:ObjectRemoved:*"]',
                              'events=["s3:Replication:OperationFailedReplication"]')
    root = project(tmp_path, app=app, tasks={"forget": {"compute": "fargate"}})
    assert_clean_error(_run(["validate"], cwd=root),
                       "S3 does not send s3:Replication:OperationFailedReplication to "
                       "EventBridge")
    bad = project(tmp_path / "b", app="from fargo import App\napp = App('lake')\n"
                  "@app.task(s3={'bucket': 'Bad_Bucket'})\ndef job(event):\n    pass\n")
    assert_clean_error(_run(["validate"], cwd=bad), "Bad_Bucket")


def test_fargo_up_watch_dir_turns_dropped_files_into_s3_events(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    root = project(tmp_path, tasks={"load_csv": {"compute": "fargate"}})
    data = root / "data"
    (data / "raw-landing" / "incoming").mkdir(parents=True)
    (data / "raw-landing" / "incoming" / "old.csv").write_text("there before\n")
    up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain", "--watch-dir",
                           str(data)], cwd=root, env={**os.environ, "NO_COLOR": "1"},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def runs() -> list[dict]:
        r = _run(["history", "--json"], cwd=root)
        return json.loads(r.stdout) if r.returncode == 0 else []

    try:
        from fargo.local import inbox

        deadline = time.monotonic() + 30
        while inbox.running_scheduler(root) is None:  # it has looked at DIR by then
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (data / "raw-landing" / "incoming" / "q1 2026.csv").write_text("a,b\n1,2\n")
        (data / "raw-landing" / "incoming" / "notes.txt").write_text("no match\n")
        (data / "raw-landing" / "incoming" / ".partial.csv").write_text("a temp file\n")
        while not runs() and time.monotonic() < deadline + 30:
            time.sleep(0.1)
        time.sleep(1.5)  # time enough for a wrong second run to show
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=30)
    (run,) = runs()
    assert run["task"] == "load_csv" and run["trigger"] == "event", output
    assert run["status"] == "succeeded", output
    log = (root / run["log_file"]).read_text()
    assert "BUCKET raw-landing KEY incoming/q1 2026.csv" in log
    assert "notes.txt" in output and "matches no job" in output


def test_s3_triggers_deployed_the_fargate_way_and_the_chalice_way(tmp_path: Path,
                                                                 aws: dict[str, str]) -> None:
    import time

    from fargo.project import names
    from tests.conftest import boto, publish_image, use_network

    s3 = boto(aws, "s3")
    for bucket in ("raw-landing", "archive-bucket"):
        s3.create_bucket(Bucket=bucket)
    root = project(tmp_path, tasks={"load_csv": {"compute": "fargate", "s3": [
        {"bucket": "raw-landing", "prefix": "incoming/", "suffix": ".csv"},
        {"bucket": "archive-bucket", "events": ["s3:ObjectCreated:Put"]}]}})
    use_network(root, aws, "dev")
    publish_image(aws, "lake", "v1")
    planned = _run(["plan", "--stage", "dev", "--image-tag", "v1"], cwd=root, env=aws,
                   timeout=600)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    said = " ".join(planned.stderr.split())
    assert "S3 bucket archive-bucket does not send its events to EventBridge: load_csv will " \
           "not start on its objects until it does" in said
    assert "S3 bucket raw-landing: deploy keeps its EventBridge events on" in said
    r = _run(["deploy", "--stage", "dev", "--yes", "--image-tag", "v1"], cwd=root, env=aws,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    # the Lambda job: the bucket's own notification, as Chalice deploys on_s3_event
    config = s3.get_bucket_notification_configuration(Bucket="raw-landing")
    (function,) = config["LambdaFunctionConfigurations"]
    assert function["LambdaFunctionArn"].endswith(":function:lake-dev-forget")
    assert function["Events"] == ["s3:ObjectRemoved:*"]
    assert "EventBridgeConfiguration" in config, "kept on for the Fargate job"
    policy = json.loads(boto(aws, "lambda").get_policy(FunctionName="lake-dev-forget")["Policy"])
    (grant,) = policy["Statement"]
    assert grant["Principal"] == {"Service": "s3.amazonaws.com"}
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == "arn:aws:s3:::raw-landing"
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(
        Bucket="archive-bucket"), "a bucket fargo does not own is left as it is"
    # the Fargate job: an EventBridge rule whose pattern S3's own events match. moto sends a
    # bucket's events to rules' SQS targets, so a queue added to the rule shows what matched.
    events = boto(aws, "events")
    rule = events.describe_rule(Name="lake-dev-load_csv-on")
    spec = load_project(root, "dev").require("load_csv")
    assert json.loads(rule["EventPattern"]) == names.event_pattern(
        [dict(p) for p in spec.rule_patterns])
    sqs = boto(aws, "sqs")
    queue = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events.put_targets(Rule="lake-dev-load_csv-on", Targets=[{"Id": "seen", "Arn": arn}])
    for key in ("incoming/2026/orders.csv", "incoming/orders.json", "elsewhere/a.csv"):
        s3.put_object(Bucket="raw-landing", Key=key, Body=b"a,b\n")
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not seen:
        seen = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["object"]["key"] for m in seen] == [
        "incoming/2026/orders.csv"]
    events.remove_targets(Rule="lake-dev-load_csv-on", Ids=["seen"])
    again = _run(["plan", "--stage", "dev", "--json", "--image-tag", "v1"], cwd=root, env=aws,
                 timeout=600)
    changes = json.loads(again.stdout)
    assert (changes["add"], changes["change"], changes["destroy"]) == (0, 0, 0), changes


def test_watch_dir_takes_only_regular_files_and_stops_on_sigterm(tmp_path: Path) -> None:
    """A FIFO, and a link to a file outside the folder, are not objects: fargo up goes on
    announcing the files after them, and a SIGTERM stops it within a second."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from fargo.local import inbox

    root = project(tmp_path, tasks={"load_csv": {"compute": "fargate"}})
    landing = root / "data" / "raw-landing" / "incoming"
    landing.mkdir(parents=True)
    outside = tmp_path / "secret.csv"
    outside.write_text("not in the watched folder\n")
    up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain", "--watch-dir",
                           str(root / "data")], cwd=root, env={**os.environ, "NO_COLOR": "1"},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while inbox.running_scheduler(root) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.mkfifo(landing / "pipe.csv")
        (landing / "link.csv").symlink_to(outside)
        time.sleep(1.2)
        (landing / "after.csv").write_text("a,b\n")
        while time.monotonic() < deadline + 30:
            runs = json.loads(_run(["history", "--json"], cwd=root).stdout)
            if runs and runs[0]["status"] != "running":
                break
            time.sleep(0.1)
    finally:
        began = time.monotonic()
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=30)
        stopped = time.monotonic() - began
    assert stopped < 5, stopped  # it does not hang (a FIFO used to block it for good)
    (run,) = json.loads(_run(["history", "--json"], cwd=root).stdout)
    assert "KEY incoming/after.csv" in (root / run["log_file"]).read_text(), output
    assert "pipe.csv" not in output and "link.csv" not in output


def test_s3_triggers_s3_would_refuse_are_errors(tmp_path: Path) -> None:
    """Bucket names S3 cannot have, event types it does not know, and Lambda notifications
    on one bucket that overlap: each one error at validate, not at terraform apply."""
    app = textwrap.dedent('''
        from fargo import App

        app = App("lake")

        def job(name, **s3):
            def handler(event):
                return None
            handler.__name__ = name
            app.task(s3=s3, compute="lambda")(handler)

        job("dots", bucket="raw..landing")
        job("address", bucket="192.168.5.4")
        job("punycode", bucket="xn--landing")
        job("alias", bucket="landing-s3alias")
        job("bogus", bucket="raw-landing", events=["s3:ObjectCreated:Bogus"])
        job("all_a", bucket="shared-bucket")
        job("all_b", bucket="shared-bucket")
        job("nested_a", bucket="nested-bucket", prefix="in/")
        job("nested_b", bucket="nested-bucket", prefix="in/x")
        job("family_a", bucket="family-bucket", events=["s3:ObjectCreated:*"], prefix="a/")
        job("family_b", bucket="family-bucket", events=["s3:ObjectCreated:Put"], prefix="a/")
        job("apart_a", bucket="apart-bucket", prefix="a/")
        job("apart_b", bucket="apart-bucket", prefix="b/")
        job("kinds_a", bucket="kinds-bucket", events=["s3:ObjectCreated:*"])
        job("kinds_b", bucket="kinds-bucket", events=["s3:ObjectRemoved:*"])
    ''')
    root = project(tmp_path, app=app)
    r = _run(["validate"], cwd=root)
    assert_clean_error(r, "S3 bucket names have no '..'", "not an IP address",
                       "do not start with 'xn--'", "do not end with '-s3alias'",
                       "s3:ObjectCreated:Bogus: not an S3 event type",
                       "all_a and all_b both take s3:ObjectCreated:*",
                       "nested_a and nested_b both take",
                       "family_a and family_b both take s3:ObjectCreated:* / "
                       "s3:ObjectCreated:Put")
    assert "apart_a and apart_b" not in r.stderr and "kinds_a and kinds_b" not in r.stderr
