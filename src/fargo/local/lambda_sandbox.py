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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargo.local.invoke import run_streaming
from fargo.local.runtime_api import Invocation, serve, timed_out
from fargo.project import names
from fargo.project.model import TaskSpec
from fargo.runtime import contract

HANDLER = "fargo.runtime.lambda_handler"  # what the module deploys (synth/module/lambda.tf)
USER = "993:990"  # Lambda's sandbox user is not root


ENTRY = "/var/runtime/fargo_invoke_once.py"  # runtime_api.py: one invocation, lambci-style


def runtime_dockerfile(base: str, python: str) -> str:
    """Lambda's runtime directory over the base: the runtime client, boto3 as Lambda has it,
    and the one-shot entry (`docker run IMAGE HANDLER EVENT`, as moto runs a function)."""
    return (f"FROM {base}\n"
            "RUN python -m pip install --no-cache-dir --target /var/runtime awslambdaric boto3"
            " && mkdir -p /var/task /opt\n"
            f"COPY runtime_api.py {ENTRY}\n"
            f"ENV LAMBDA_RUNTIME_DIR=/var/runtime LAMBDA_TASK_ROOT=/var/task "
            f"AWS_EXECUTION_ENV=AWS_Lambda_python{python} PYTHONPATH=/var/runtime\n"
            "WORKDIR /var/task\n"
            f"USER {USER}\n"
            f'ENTRYPOINT ["python", "{ENTRY}"]\n')


def ensure_runtime_image(base: str, python: str, env: Mapping[str, str],
                         network: str | None = None) -> str:
    """The Lambda-shaped image for `python`, built from `base` once per engine (its tag names
    what went into it, so a change of either builds it anew)."""
    import hashlib
    import shutil
    import tempfile

    from fargo.local import runtime_api

    script = Path(runtime_api.__file__)
    dockerfile = runtime_dockerfile(base, python)
    digest = hashlib.sha256(dockerfile.encode() + script.read_bytes()).hexdigest()[:10]
    name = f"fargo-lambda-python:{python}-{digest}"
    if subprocess.run(["docker", "image", "inspect", name], env=dict(env),
                      capture_output=True).returncode == 0:
        return name
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        shutil.copyfile(script, Path(context) / "runtime_api.py")
        done = subprocess.run(["docker", "build", *(["--network", network] if network else []),
                               "-t", name, context], env=dict(env), text=True,
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
    call = Invocation(json.dumps(event).encode(), int((time.time() + timeout) * 1000),
                      f"arn:{names.partition(region)}:lambda:{region}:000000000000:function:"
                      f"{function}")
    call.on_answer = lambda: threading.Thread(target=_remove, args=(name, client_env),
                                              daemon=True).start()
    server = serve(call)
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
        return Answer("timed_out", contract.EXIT_TIMEOUT, None, timed_out(timeout))
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
    argv += ["--entrypoint", "python", image, "-m", "awslambdaric",
             str(configuration["Handler"])]
    return argv, env


def _remove(name: str, env: Mapping[str, str]) -> None:
    subprocess.run(["docker", "rm", "--force", name], env=dict(env), capture_output=True,
                   timeout=60)
