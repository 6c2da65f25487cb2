"""Jobs started by events: patterns in @app.task and the config, Chalice's on_cw_event, checked
by fargo validate; fargo events sample / match; the sample runs the job with fargo invoke."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from fargo.project.load import load_project
from tests.conftest import _run, assert_clean_error

APP = '''
from fargo import App

app = App("lake")

LANDED = {"source": ["aws.s3"], "detail-type": ["Object Created"],
          "detail": {"bucket": {"name": ["raw-landing"]},
                     "object": {"key": [{"prefix": "incoming/"}]}}}


@app.task(events=LANDED, timeout="10m")
def load_file(event):
    return {"key": event.detail["object"]["key"], "source": event.source}


@app.task("rate(1 hour)")
def compact(event):
    return "compacted"
'''


def project(tmp_path: Path, config_tasks: dict | None = None, app: str = APP) -> Path:
    root = tmp_path / "lake"
    (root / ".fargo").mkdir(parents=True)
    (root / "app.py").write_text(textwrap.dedent(app))
    (root / ".fargo" / "config.json").write_text(json.dumps({
        "app_name": "lake", "tasks": config_tasks or {},
        "stages": {"dev": {"region": "us-east-1"}}}))
    return root


def test_a_job_started_by_events_runs_with_a_sample_event(tmp_path: Path) -> None:
    root = project(tmp_path, {"compact": {"events": [
        {"source": ["fargo.lake"], "detail-type": ["Compaction Requested"]}]}})
    v = _run(["validate"], cwd=root)
    assert v.returncode == 0, v.stderr
    assert "fargo deploy creates no EventBridge rule" in v.stderr  # said, not hidden
    spec = load_project(root, "dev").require("compact")
    assert spec.schedule == "rate(1 hour)" and spec.events[0]["source"] == ["fargo.lake"]
    listed = {j["name"]: j for j in json.loads(_run(["ls", "--json"], cwd=root).stdout)}
    assert listed["load_file"]["events"][0]["source"] == ["aws.s3"]
    table = _run(["ls"], cwd=root).stdout
    assert "rate(1 hour) + 1 event pattern" in table
    sample = _run(["events", "sample", "load_file"], cwd=root)
    assert sample.returncode == 0, sample.stderr
    event = json.loads(sample.stdout)
    assert event["detail"]["object"]["key"].startswith("incoming/")
    (root / "event.json").write_text(sample.stdout)
    assert _run(["events", "match", "load_file", "--event", "@event.json"], cwd=root
                ).returncode == 0
    miss = _run(["events", "match", "load_file", "--event",
                 '{"source": "aws.s3", "detail-type": "Object Deleted"}'], cwd=root)
    assert miss.returncode == 1 and "no pattern" in miss.stderr
    ran = _run(["invoke", "load_file", "--event", "@event.json"], cwd=root)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert '"source": "aws.s3"' in ran.stdout and "incoming/" in ran.stdout


def test_patterns_eventbridge_would_reject_are_errors(tmp_path: Path) -> None:
    root = project(tmp_path, {"compact": {"events": [{"source": "aws.s3"}]}},
                   app=APP.replace('[{"prefix": "incoming/"}]', '[{"prefix": 5}]'))
    r = _run(["validate"], cwd=root)
    assert_clean_error(r, "events[0]: detail.object.key[0].prefix: must be a string, found 5",
                       "tasks.compact.events[0]: source: must be a list of values")
    assert_clean_error(_run(["events", "sample", "compact"], cwd=project(
        tmp_path / "b")), "has no event pattern")


def test_chalice_on_cw_event_patterns_are_the_jobs(tmp_path: Path) -> None:
    app = '''
    from chalice import Chalice

    app = Chalice(app_name="lake")


    @app.on_cw_event({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]})
    def on_state(event):
        return event.detail_type
    '''
    root = project(tmp_path, app=app)
    spec = load_project(root, "dev").require("on_state")
    assert spec.events == ({"source": ["aws.ec2"],
                            "detail-type": ["EC2 Instance State-change Notification"]},)
    sample = json.loads(_run(["events", "sample", "on_state"], cwd=root).stdout)
    assert sample["detail-type"] == "EC2 Instance State-change Notification"
