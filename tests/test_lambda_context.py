"""A handler's context has Lambda's whole interface, with values true where the run is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import write_project

# Middleware of the shape datadog's Lambda wrapper has: it splits the function ARN into its
# seven parts for tags, and reads the memory and the log stream.
APP = """
import functools
from fargo import App

app = App("shop")


def lambda_tags(handler):
    @functools.wraps(handler)
    def wrapped(event, context):
        _, partition, service, region, account, kind, name = context.invoked_function_arn.split(
            ":")[:7]
        tags = {"region": region, "account": account, "name": name,
                "memory": context.memory_limit_in_mb, "version": context.function_version,
                "group": context.log_group_name, "stream": context.log_stream_name,
                "request": context.aws_request_id, "function": context.function_name,
                "identity": context.identity, "client": context.client_context,
                "left": context.get_remaining_time_in_millis() > 0}
        return {"tags": tags, "result": handler(event, context)}
    return wrapped


@app.task("rate(1 hour)", cpu=512, memory=4096, timeout=600)
@lambda_tags
def nightly(event, context):
    return "done"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "shop", APP,
                         {"app_name": "shop", "stages": {"dev": {"region": "eu-west-1"}}})


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FARGO_", "AWS_", "ECS_"))}
    env.update(extra)
    return env


def test_middleware_written_for_lambda_runs_locally(project: Path, fargo) -> None:
    r = fargo(["invoke", "nightly", "--json"], cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
    done = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")][-1]
    tags = done["result"]["tags"]
    assert done["result"]["result"] == "done"
    assert tags["memory"] == 4096 and tags["function"] == "shop-dev-nightly"
    assert tags["name"] == "shop-dev-nightly" and tags["account"] == "000000000000"
    assert tags["request"] == done["run_id"] and tags["left"]
    assert tags["identity"] is None and tags["client"] is None
    # the log group and stream name the run's own log file
    log = Path(tags["group"]) / tags["stream"]
    assert log.is_file() and done["run_id"] in log.read_text()


class _Metadata(BaseHTTPRequestHandler):
    """ECS's task metadata endpoint v4: the container's own document at the URI itself."""

    document: ClassVar[dict[str, Any]] = {
        "DockerName": "ecs-shop-dev-nightly-3-job",
        "Labels": {"com.amazonaws.ecs.task-arn":
                   "arn:aws:ecs:eu-west-1:210987654321:task/shop-dev/0f1e2d3c4b5a",
                   "com.amazonaws.ecs.task-definition-family": "shop-dev-nightly",
                   "com.amazonaws.ecs.task-definition-version": "3"},
        "Limits": {"CPU": 512, "Memory": 4096},
        "LogDriver": "awslogs",
        "LogOptions": {"awslogs-group": "/fargo/shop/dev/nightly", "awslogs-region": "eu-west-1",
                       "awslogs-stream": "fargo/job/0f1e2d3c4b5a"},
    }
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = json.dumps(self.document).encode()
        self.send_response(200 if self.path == "/v4/abc" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_on_fargate_the_values_are_the_tasks(project: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Metadata)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = _clean_env(FARGO_APP="shop", FARGO_STAGE="dev", FARGO_TASK="nightly",
                         FARGO_TIMEOUT="600", FARGO_MEMORY="4096", FARGO_RUN_ID="r-1",
                         AWS_REGION="eu-west-1",
                         ECS_CONTAINER_METADATA_URI_V4=f"http://127.0.0.1:{server.server_port}/v4/abc")
        r = subprocess.run([sys.executable, "-m", "fargo.runtime", "nightly"], cwd=project,
                           env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.shutdown()
    assert r.returncode == 0, r.stdout + r.stderr
    tags = json.loads(r.stdout.splitlines()[-1])["result"]["tags"]
    assert tags["region"] == "eu-west-1" and tags["account"] == "210987654321"
    assert tags["group"] == "/fargo/shop/dev/nightly" and tags["stream"] == "fargo/job/0f1e2d3c4b5a"
    assert tags["version"] == "3" and tags["memory"] == 4096 and tags["name"] == "shop-dev-nightly"
    assert tags["function"] == "shop-dev-nightly" and tags["request"] == "r-1"
    assert _Metadata.asked == ["/v4/abc"]  # read once, however many values were asked


def test_on_lambda_the_values_are_lambdas(project: Path) -> None:
    script = """
import json
from fargo.runtime import lambda_handler

class Context:  # what Lambda's runtime passes
    aws_request_id = "req-9"
    function_name = "shop-dev-nightly"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:210987654321:function:shop-dev-nightly"
    memory_limit_in_mb = "2048"
    log_group_name = "/aws/lambda/shop-dev-nightly"
    log_stream_name = "2026/12/07/[$LATEST]abc"
    def get_remaining_time_in_millis(self):
        return 5000

print(json.dumps(lambda_handler({"detail": {}}, Context())))
"""
    r = subprocess.run([sys.executable, "-c", script], cwd="/", capture_output=True, text=True,
                       env=_clean_env(FARGO_TASK="nightly", FARGO_PROJECT_DIR=str(project),
                                      FARGO_STAGE="dev", FARGO_MEMORY="4096"), timeout=60)
    assert r.returncode == 0, r.stderr
    tags = json.loads(r.stdout.splitlines()[-1])["tags"]
    assert tags["account"] == "210987654321" and tags["memory"] == 2048
    assert tags["group"] == "/aws/lambda/shop-dev-nightly"
    assert tags["stream"] == "2026/12/07/[$LATEST]abc" and tags["request"] == "req-9"
