"""A Lambda job from its zip, run as Lambda runs it: Lambda's own runtime interface client.

The container is Lambda-shaped: the zip unpacked read-only at /var/task, layers at /opt, only
/tmp writable, Lambda's user and environment, and the handler string that was deployed. The
runtime client (`awslambdaric`, the one in AWS's base images) asks the Runtime API served here
for the invocation, runs the handler and posts its response or error back; a run still going at
the function's timeout is stopped, and reported as Lambda reports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fargo.local.invoke import run_streaming
from fargo.project import names
from fargo.project.model import TaskSpec
from fargo.runtime import contract

HANDLER = "fargo.runtime.lambda_handler"  # what the module deploys (synth/module/lambda.tf)
USER = "993:990"  # Lambda's sandbox user is not root
API = "/2018-06-01/runtime"


def runtime_image_name(python: str) -> str:
    return f"fargo-lambda-python:{python}"


def runtime_dockerfile(base: str, python: str) -> str:
    """Lambda's runtime directory over the base: the runtime client, and boto3 as Lambda has it."""
    return (f"FROM {base}\n"
            "RUN python -m pip install --no-cache-dir --target /var/runtime awslambdaric boto3"
            " && mkdir -p /var/task /opt\n"
            f"ENV LAMBDA_RUNTIME_DIR=/var/runtime LAMBDA_TASK_ROOT=/var/task "
            f"AWS_EXECUTION_ENV=AWS_Lambda_python{python}\n"
            "WORKDIR /var/task\n")


def ensure_runtime_image(base: str, python: str, env: Mapping[str, str],
                         network: str | None = None) -> str:
    """The Lambda-shaped image for `python`, built from `base` once per engine."""
    name = runtime_image_name(python)
    if subprocess.run(["docker", "image", "inspect", name], env=dict(env),
                      capture_output=True).returncode == 0:
        return name
    done = subprocess.run(["docker", "build", *(["--network", network] if network else []),
                           "-t", name, "-"], env=dict(env),
                          input=runtime_dockerfile(base, python), text=True,
                          capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"building {name} from {base} failed: "
                           + (done.stderr.strip().splitlines() or ["no output"])[-1])
    return name


def function_configuration(spec: TaskSpec, python: str) -> dict[str, Any]:
    """The function's configuration as the module deploys it (GetFunctionConfiguration's shape)."""
    env = {**spec.environment_variables,
           **{k: v for k, v in spec.runtime_environment().items() if k in contract.JOB_VARIABLES}}
    return {"FunctionName": spec.full_name, "Handler": HANDLER, "Runtime": f"python{python}",
            "MemorySize": spec.memory, "Timeout": spec.timeout,
            "Environment": {"Variables": env}, "Layers": [{"Arn": a} for a in spec.layers]}


@dataclass
class Invocation:
    """What the runtime client answered (filled in by the Runtime API's thread)."""

    request_id: str
    event: bytes
    deadline_ms: int
    function_arn: str
    response: bytes | None = None
    error: dict[str, Any] | None = None
    init_error: dict[str, Any] | None = None
    answered: threading.Event = field(default_factory=threading.Event)
    on_answer: Callable[[], None] = lambda: None
    handed_out: bool = False


class _Api(BaseHTTPRequestHandler):
    invocation: Invocation

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        call = self.invocation
        if self.path != f"{API}/invocation/next":
            self.send_error(404)
            return
        if call.handed_out:  # one invocation per run: the next one never comes
            call.answered.wait()
            time.sleep(3600)
            return
        call.handed_out = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", call.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(call.deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", call.function_arn)
        self.send_header("Lambda-Runtime-Trace-Id",
                         f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0")
        self.send_header("Content-Length", str(len(call.event)))
        self.end_headers()
        self.wfile.write(call.event)

    def do_POST(self) -> None:
        call = self.invocation
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == f"{API}/invocation/{call.request_id}/response":
            call.response = body
        elif self.path == f"{API}/invocation/{call.request_id}/error":
            call.error = _json_object(body)
        elif self.path == f"{API}/init/error":
            call.init_error = _json_object(body)
        else:
            self.send_error(404)
            return
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        call.answered.set()
        call.on_answer()


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"errorMessage": body.decode("utf-8", "replace")}


@dataclass(frozen=True)
class Answer:
    """The invocation's end, as Lambda reports it."""

    status: str  # succeeded | failed | timed_out
    code: int  # fargo's exit code for it (0, 1, 124)
    payload: Any  # the response, or the error object
    reason: str | None


def invoke(zip_path: Path, configuration: Mapping[str, Any], event: Any, *, image: str,
           region: str, client_env: Mapping[str, str], layers: Mapping[str, Path] | None = None,
           log_path: Path | None = None,
           on_line: Callable[[str], None] | None = None) -> Answer:
    """Invoke the function once in a fresh Lambda-shaped container."""
    name = f"fargo-lambda-{uuid.uuid4().hex[:12]}"
    timeout = int(configuration.get("Timeout") or 3)
    function = str(configuration["FunctionName"])
    call = Invocation(str(uuid.uuid4()), json.dumps(event).encode(),
                      int((time.time() + timeout) * 1000),
                      f"arn:{names.partition(region)}:lambda:{region}:000000000000:function:"
                      f"{function}")
    call.on_answer = lambda: threading.Thread(target=_remove, args=(name, client_env),
                                              daemon=True).start()
    handler = type("Api", (_Api,), {"invocation": call})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="fargo-task-") as task:
        os.chmod(task, 0o755)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(task)
        argv, env = _docker_run(name, configuration, call, image, region, client_env,
                                Path(task), layers or {}, server.server_address[1])
        try:
            finished = run_streaming(argv, Path(task), env, timeout, log_path, on_line)
        finally:
            _remove(name, client_env)
            server.shutdown()
            server.server_close()
    if call.response is not None:
        return Answer("succeeded", contract.EXIT_OK, _payload(call.response), None)
    if call.error is not None or call.init_error is not None:
        error = call.error or call.init_error or {}
        return Answer("failed", contract.EXIT_FAILED, error,
                      f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}")
    if finished.code == contract.EXIT_TIMEOUT:
        return Answer("timed_out", contract.EXIT_TIMEOUT, None,
                      f"Task timed out after {timeout:.2f} seconds")
    return Answer("failed", contract.EXIT_FAILED, None,
                  f"Runtime exited with error: exit status {finished.code}")


def _payload(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _docker_run(name: str, configuration: Mapping[str, Any], call: Invocation, image: str,
                region: str, client_env: Mapping[str, str], task: Path,
                layers: Mapping[str, Path], port: int) -> tuple[list[str], dict[str, str]]:
    memory = int(configuration.get("MemorySize") or 128)
    runtime = str(configuration.get("Runtime") or "python3")
    python = runtime.removeprefix("python")
    function = str(configuration["FunctionName"])
    values = {
        **((configuration.get("Environment") or {}).get("Variables") or {}),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "_HANDLER": str(configuration["Handler"]),
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{call.request_id}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "PYTHONPATH": f"/var/task:/opt/python/lib/python{python}/site-packages:/opt/python:"
                      "/var/runtime",
        "TZ": ":UTC", "LANG": "en_US.UTF-8",
    }
    argv = ["docker", "run", "--name", name, "--network", "host", "--read-only",
            "--tmpfs", "/tmp:rw,exec,mode=1777,size=512m", "--user", USER,
            "--memory", f"{memory}m", "--memory-swap", f"{memory}m",
            "--volume", f"{task}:/var/task:ro", "--workdir", "/var/task"]
    for target, source in sorted(layers.items()):
        argv += ["--volume", f"{source}:/opt/{target}:ro"]
    env = dict(client_env)
    for key, value in values.items():
        argv += ["--env", key]
        env[key] = str(value)
    argv += [image, "python", "-m", "awslambdaric", str(configuration["Handler"])]
    return argv, env


def _remove(name: str, env: Mapping[str, str]) -> None:
    subprocess.run(["docker", "rm", "--force", name], env=dict(env), capture_output=True,
                   timeout=60)
