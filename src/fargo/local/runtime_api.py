"""Lambda's Runtime API for one invocation: what Lambda's runtime client asks for the event and
answers to (next invocation, response, error, init error).

Standard library only, and importable on its own: `fargo invoke --container` serves it on
loopback beside the container, and the Lambda-shaped image carries this file as its one-shot
entry (`python fargo_invoke_once.py HANDLER EVENT_JSON`: the way moto and lambci-style images
run a function), which serves it inside the container, runs awslambdaric against it and prints
the response as its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API = "/2018-06-01/runtime"


@dataclass
class Invocation:
    """What the runtime client answered (filled in by the Runtime API's thread)."""

    event: bytes
    deadline_ms: int
    function_arn: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
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
            call.error = json_object(body)
        elif self.path == f"{API}/init/error":
            call.init_error = json_object(body)
        else:
            self.send_error(404)
            return
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        call.answered.set()
        call.on_answer()


def json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"errorMessage": body.decode("utf-8", "replace")}


def serve(call: Invocation) -> ThreadingHTTPServer:
    """The Runtime API for `call` on a free loopback port, served by a daemon thread."""
    handler = type("Api", (_Api,), {"invocation": call})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def timed_out(seconds: float) -> str:
    return f"Task timed out after {seconds:.2f} seconds"


def invoke_once(handler: str, event: str) -> int:
    """Inside the Lambda-shaped image: one invocation of `handler`, its response (or error) as
    the last line of output; exit 0 when it succeeded."""
    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    region = os.environ.get("AWS_REGION", "us-east-1")
    call = Invocation(event.encode(), int((time.time() + timeout) * 1000),
                      f"arn:aws:lambda:{region}:000000000000:function:{function}")
    server = serve(call)
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
           "_HANDLER": handler}
    client = subprocess.Popen([sys.executable, "-m", "awslambdaric", handler], env=env,
                              cwd=os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
    deadline = time.monotonic() + timeout
    while not call.answered.wait(0.05) and client.poll() is None \
            and time.monotonic() < deadline:
        pass
    ended = client.poll()
    client.kill()
    client.wait()
    sys.stderr.flush()
    if call.response is not None:
        print(call.response.decode("utf-8", "replace"), flush=True)
        return 0
    error = call.error or call.init_error or {
        "errorMessage": timed_out(timeout) if ended is None
        else f"Runtime exited with error: exit status {ended}"}
    print(json.dumps(error), flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(invoke_once(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"))
