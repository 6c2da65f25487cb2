"""Chalice's SNS, SQS, DynamoDB and Kinesis handlers carried over as Lambda jobs, their event
sources deployed as Chalice deploys them (terraform with the real provider, moto over HTTP)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from fargo.project.load import load_project
from tests.conftest import _run, assert_clean_error, boto

FANOUT_APP = '''
from chalice import Chalice

app = Chalice(app_name="fanout")


@app.schedule("rate(1 hour)")
def enqueue(event):
    return "queued"


@app.on_sqs_message(queue="work-items", batch_size=25, maximum_batching_window_in_seconds=5)
def work(event):
    return [record.body for record in event]


@app.on_sns_message(topic="landing-updates")
def notify(event):
    return {"subject": event.subject, "message": event.message}


@app.on_dynamodb_record(stream_arn=STREAM_ARN, batch_size=50, starting_position="TRIM_HORIZON")
def changes(event):
    return [record.event_name for record in event]


@app.on_kinesis_record(stream="clicks")
def clicks(event):
    return [record.data.decode() for record in event]
'''


def _project(tmp_path: Path, stream_arn: str, app: str = FANOUT_APP) -> Path:
    root = tmp_path / "fanout"
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(app).replace("STREAM_ARN", repr(stream_arn)))
    (root / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "fanout", "stages": {"dev": {"region": "us-east-1"}}}))
    r = _run(["import-chalice", str(root)])
    assert r.returncode == 0, r.stdout + r.stderr
    return root


STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-12-07T00:00:00.000"


def test_each_handler_is_a_lambda_job_with_its_source(tmp_path: Path) -> None:
    root = _project(tmp_path, STREAM)
    project = load_project(root, "dev")
    assert sorted(project.task_names) == ["changes", "clicks", "enqueue", "notify", "work"]
    sources = {name: [dict(s) for s in project.task(name).event_sources]
               for name in ("work", "notify", "changes", "clicks")}
    assert sources == {
        "work": [{"type": "sqs", "queue": "work-items", "batch_size": 25, "batch_window": 5}],
        "notify": [{"type": "sns", "topic": "landing-updates"}],
        "changes": [{"type": "dynamodb", "stream": STREAM, "batch_size": 50, "batch_window": 0,
                     "starting_position": "TRIM_HORIZON"}],
        "clicks": [{"type": "kinesis", "stream": "clicks", "batch_size": 100,
                    "batch_window": 0, "starting_position": "LATEST"}]}
    assert all(project.task(n).compute == "lambda" for n in sources)
    # it runs here with Lambda's event shapes, through Chalice's own event classes
    sqs_event = {"Records": [{"messageId": "m1", "receiptHandle": "h", "body": "row 1",
                              "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
                              "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:work-items"}]}
    r = _run(["invoke", "work", "--json", "--event", json.dumps(sqs_event)], cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["result"] == ["row 1"]


def test_a_source_aws_would_refuse_is_refused(tmp_path: Path) -> None:
    bad = (FANOUT_APP.replace('queue="work-items", batch_size=25, '
                              'maximum_batching_window_in_seconds=5', 'queue="work.fifo", '
                              'batch_size=20, maximum_batching_window_in_seconds=5')
           .replace('topic="landing-updates"', 'topic="updates.fifo"')
           .replace('stream="clicks"', 'stream="no such stream!"'))
    root = tmp_path / "fanout"
    (root / ".chalice").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(bad).replace("STREAM_ARN", '"not-an-arn"'))
    (root / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "fanout", "stages": {"dev": {}}}))
    assert _run(["import-chalice", str(root)]).returncode == 0
    r = _run(["validate"], cwd=root)
    assert_clean_error(r, "at most 10 messages a batch from a FIFO queue",
                       "'updates.fifo' is a FIFO topic",
                       "'not-an-arn' is not a DynamoDB stream ARN",
                       "'no such stream!' is neither a Kinesis stream name")
    assert r.stderr.count("error:") == 4
    # over 10 messages a batch from a standard queue needs a batching window
    config = json.loads((root / ".fargo" / "config.json").read_text())
    config["tasks"] = {"work": {"event_sources": [{"type": "sqs", "queue": "big", "batch_size": 500}]},
                       "enqueue": {"compute": "fargate", "event_sources": [
                           {"type": "sqs", "queue": "big"}]}}
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    r = _run(["validate"], cwd=root)
    assert_clean_error(r, "batch_size 500 needs batch_window of at least 1 second",
                       "event_sources applies to Lambda jobs only")
    # and an import that would move one to Fargate stops
    assert_clean_error(_run(["import-chalice", str(root), "--fargate", "work"]),
                       "work is invoked by its event source (@app.on_sqs_message)")


def test_sources_deploy_as_chalice_deploys_them(tmp_path: Path, aws: dict[str, str]) -> None:
    sqs, sns = boto(aws, "sqs"), boto(aws, "sns")
    queue = sqs.create_queue(QueueName="work-items")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    topic_arn = sns.create_topic(Name="landing-updates")["TopicArn"]
    table = boto(aws, "dynamodb").create_table(
        TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream_arn = table["TableDescription"]["LatestStreamArn"]
    kinesis = boto(aws, "kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    clicks_arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    root = _project(tmp_path, stream_arn)

    r = _run(["deploy", "--stage", "dev", "--yes"], cwd=root, env=aws, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert subscription["Protocol"] == "lambda"
    assert subscription["Endpoint"].endswith(":function:fanout-dev-notify")
    lam = boto(aws, "lambda")
    (grant,) = json.loads(lam.get_policy(FunctionName="fanout-dev-notify")["Policy"])["Statement"]
    assert grant["Principal"] == {"Service": "sns.amazonaws.com"}
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == topic_arn

    every = lam.list_event_source_mappings()["EventSourceMappings"]
    assert len(every) == 3, every

    def mapping(function: str) -> dict:
        (found,) = [m for m in every if m["FunctionArn"].endswith(f":function:{function}")]
        return found

    work = mapping("fanout-dev-work")
    assert (work["EventSourceArn"], work["BatchSize"]) == (queue_arn, 25)
    assert work["MaximumBatchingWindowInSeconds"] == 5
    changes = mapping("fanout-dev-changes")
    assert (changes["EventSourceArn"], changes["BatchSize"]) == (stream_arn, 50)
    assert changes["StartingPosition"] == "TRIM_HORIZON"
    assert mapping("fanout-dev-clicks")["EventSourceArn"] == clicks_arn

    # each function's role reads exactly its own source, and nothing else gets the actions
    iam = boto(aws, "iam")

    def statements(job: str) -> dict[str, dict]:
        document = iam.get_role_policy(RoleName=f"fanout-dev-{job}",
                                       PolicyName=f"fanout-dev-{job}")["PolicyDocument"]
        return {s.get("Sid"): s for s in document["Statement"]}

    read = statements("work")["FargoReadSqs"]
    assert read["Resource"] in (queue_arn, [queue_arn])
    assert "sqs:DeleteMessage" in read["Action"]
    assert statements("changes")["FargoReadDynamodb"]["Resource"] in (stream_arn, [stream_arn])
    assert statements("clicks")["FargoReadKinesis"]["Resource"] in (clicks_arn, [clicks_arn])
    assert not any(sid.startswith("FargoRead") for sid in statements("notify"))
    assert not any(sid.startswith("FargoRead") for sid in statements("enqueue"))

    again = _run(["plan", "--stage", "dev", "--json", "--refresh"], cwd=root, env=aws,
                 timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    changed = json.loads(again.stdout)
    assert (changed["add"], changed["change"], changed["destroy"]) == (0, 0, 0), changed


def test_fargo_up_delivers_each_record_once_in_lambdas_shape(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from fargo.local import inbox

    root = _project(tmp_path, STREAM)
    up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain"], cwd=root,
                          env={**os.environ, "NO_COLOR": "1"}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)

    def runs() -> list[dict]:
        r = _run(["history", "--json"], cwd=root)
        return [x for x in json.loads(r.stdout) if x["trigger"] == "event"] \
            if r.returncode == 0 else []

    sent: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 30
        while inbox.running_scheduler(root) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for args, job in (
                (["--sqs", "work-items", "row 1"], "work"),
                (["--sns", "arn:aws:sns:us-east-1:000000000000:landing-updates", "landed"],
                 "notify"),
                (["--kinesis", "clicks", "click 7"], "clicks"),
                (["--dynamodb", STREAM, json.dumps({"Keys": {"id": {"S": "o-1"}},
                                                    "NewImage": {"id": {"S": "o-1"}}})],
                 "changes")):
            r = _run(["emit", *args[:-1], args[-1]], cwd=root)
            assert r.returncode == 0, r.stdout + r.stderr
            assert f"invokes: {job}" in r.stdout, r.stdout
            sent[job] = r.stdout.split()[2]
        nobody = _run(["emit", "--sqs", "other-queue", "x"], cwd=root)
        assert nobody.returncode == 0 and "no job's event_sources name sqs 'other-queue'" in \
            nobody.stderr
        assert_clean_error(_run(["emit", "--dynamodb", STREAM, "not json"], cwd=root),
                           "BODY: a DynamoDB record is the stream record's `dynamodb` object")
        assert_clean_error(_run(["emit", "--sqs", "q", "--sns", "t", "x"], cwd=root),
                           "give one of --sqs, --sns, --kinesis, --dynamodb")
        while len(runs()) < 4 or any(r["status"] == "running" for r in runs()):
            assert time.monotonic() < deadline + 60, runs()
            time.sleep(0.2)
        time.sleep(1)  # time enough for a wrong second run to show
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=30)
    done = {r["task"]: r for r in runs()}
    assert len(runs()) == 4 and set(done) == set(sent), output
    assert all(done[job]["event_id"] == sent[job] for job in sent)
    assert all(r["status"] == "succeeded" for r in done.values()), output

    def result(job: str) -> object:
        log = (root / done[job]["log_file"]).read_text().splitlines()
        return json.loads(next(x for x in reversed(log) if '"succeeded"' in x))["result"]

    assert result("work") == ["row 1"]
    assert result("notify") == {"subject": None, "message": "landed"}
    assert result("clicks") == ["click 7"]
    assert result("changes") == ["INSERT"]
