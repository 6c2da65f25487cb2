"""Run a workflow on this machine with Step Functions' semantics, every step a real job process.

Steps run in order, one step's result the next one's event; parallel branches run at once and
give the list of their results; a map runs its body per item, at most max_concurrency at once,
and gives the results in item order; a step is retried `retries` times, `interval` seconds
first and doubling, then its catch job gets {"Error": ..., "Cause": ...} and the workflow goes
on with what that returns. A result over 256 KB fails the step, as it would in AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargo.local.process import job_command, job_environment
from fargo.local.store import RunStore
from fargo.project.model import Project
from fargo.project.workflows import EachSpec, Node, ParallelSpec, StepSpec, WorkflowSpec
from fargo.runtime import contract
from fargo.timeutil import format_utc_ms

BACKOFF_RATE = 2.0
GRACE_SECONDS = 5.0
MAP_DEFAULT_CONCURRENCY = 40  # max_concurrency 0: as many as Step Functions runs at once


class StepFailed(Exception):
    """A step (or the whole workflow) failed: Step Functions' error name and cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass
class StepRun:
    """One attempt of one job in the workflow, for the history and the live output."""

    path: str  # where in the workflow: "2.each[3].load"
    job: str
    attempt: int
    run_id: str
    status: str = "running"
    started: float = field(default_factory=time.time)
    ended: float | None = None
    error: str | None = None
    cause: str | None = None
    log_file: str | None = None


@dataclass
class WorkflowRun:
    project: Project
    workflow: WorkflowSpec
    on_step: Callable[[StepRun], None] = lambda _run: None
    sleep: Callable[[float], None] = time.sleep  # retries wait; tests may pass a faster one
    execution: str = field(default_factory=lambda: f"{time.strftime('%Y%m%dT%H%M%S')}-"
                           f"{secrets.token_hex(3)}")
    steps: list[StepRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._running: set[subprocess.Popen[bytes]] = set()

    def run(self, event: Any) -> Any:
        """The workflow's output; StepFailed when it fails."""
        deadline = None if self.workflow.timeout is None else \
            time.monotonic() + self.workflow.timeout
        self._deadline = deadline
        return self._sequence(self.workflow.steps, event, "")

    def stop(self) -> None:
        """No step starts any more, and the steps running are killed."""
        self._stopping.set()
        with self._lock:
            running = list(self._running)
        for process in running:
            _kill(process)

    # --- the shapes -------------------------------------------------------------------------

    def _sequence(self, nodes: tuple[Node, ...], value: Any, path: str) -> Any:
        for index, node in enumerate(nodes):
            value = self._node(node, value, f"{path}{index + 1}")
        return value

    def _node(self, node: Node, value: Any, path: str) -> Any:
        if isinstance(node, StepSpec):
            return self._step(node, value, path)
        if isinstance(node, ParallelSpec):
            return self._parallel(node, value, path)
        return self._each(node, value, path)

    def _parallel(self, node: ParallelSpec, value: Any, path: str) -> list[Any]:
        with ThreadPoolExecutor(max_workers=len(node.branches)) as pool:
            futures = [pool.submit(self._sequence, branch, value, f"{path}.branch{i + 1}.")
                       for i, branch in enumerate(node.branches)]
            return self._gather(futures)

    def _each(self, node: EachSpec, value: Any, path: str) -> list[Any]:
        items = value
        if node.over is not None:
            for part in node.over.split("."):
                items = items.get(part) if isinstance(items, dict) else None
        if not isinstance(items, list):
            raise StepFailed("States.Runtime", f"step {path}: each(over={node.over!r}) needs a "
                             f"list, found {type(items).__name__} in the event")
        workers = node.max_concurrency or MAP_DEFAULT_CONCURRENCY
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items) or 1))) as pool:
            futures = [pool.submit(self._sequence, node.body, item, f"{path}.each[{i}].")
                       for i, item in enumerate(items)]
            return self._gather(futures)

    def _gather(self, futures: list[Any]) -> list[Any]:
        """All results in order. The first branch to fail fails the whole state at once: the
        branches still running are stopped, as Step Functions stops them, and its error (not
        theirs) is the state's."""
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failure = next((f.exception() for f in futures if f in done and f.exception()), None)
        if failure is not None:
            self.stop()
            wait(futures)
            raise failure
        return [future.result() for future in futures]

    # --- one step -------------------------------------------------------------------------

    def _step(self, step: StepSpec, value: Any, path: str) -> Any:
        wait = float(step.interval)
        attempt = 1
        while True:
            try:
                return self._job(step.job, value, f"{path}.{step.job}", attempt)
            except StepFailed as exc:
                if self._stopping.is_set() or exc.error == "States.Timeout":
                    raise
                if attempt <= step.retries:
                    self.sleep(wait)
                    wait *= BACKOFF_RATE
                    attempt += 1
                    continue
                if step.catch is None:
                    raise
                caught = {"Error": exc.error, "Cause": exc.cause}
                return self._job(step.catch, caught, f"{path}.catch.{step.catch}", 1)

    def _job(self, name: str, value: Any, path: str, attempt: int) -> Any:
        if self._stopping.is_set():
            raise StepFailed("States.Cancelled", f"{path}: the workflow stopped before it ran")
        spec = self.project.require(name)
        text = json.dumps(value)
        run_id = f"{self.execution}-{name}-{attempt}-{secrets.token_hex(2)}"
        record = StepRun(path.lstrip("."), name, attempt, run_id)
        logs = self.project.root / ".fargo" / "local" / "logs" / name
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{run_id}.log"
        record.log_file = str(log_path.relative_to(self.project.root))
        with self._lock:
            self.steps.append(record)
        self._tell(record)
        with tempfile.TemporaryDirectory(prefix="fargo-step-") as scratch:
            output = Path(scratch) / "output.json"
            env, _missing = job_environment(spec, self.project.root, event=text,
                                            attempt=attempt, run_id=run_id)
            env["FARGO_OUTPUT_FILE"] = str(output)
            code = self._process(spec.timeout, job_command(spec, self.project.root), env, log_path)
            outcome = _read(output)
        record.ended = time.time()
        if code == 0 and "output" in outcome:
            record.status = "succeeded"
            self._tell(record)
            return outcome["output"]
        error = outcome.get("error") or ("fargo.JobTimedOut" if code == contract.EXIT_TIMEOUT
                                         else "fargo.JobFailed")
        cause = outcome.get("cause") or f"{name} exited with {code}"
        if code == -signal.SIGKILL and self._timed_out:
            error, cause = "States.Timeout", "the workflow ran past its timeout"
        record.status = "timed_out" if error in ("fargo.JobTimedOut", "States.Timeout") \
            else "failed"
        record.error, record.cause = error, cause
        self._tell(record)
        raise StepFailed(error, cause)

    def _tell(self, record: StepRun) -> None:
        with self._lock:  # steps run in threads; whoever listens hears one at a time
            self.on_step(record)

    _timed_out = False

    def _process(self, timeout: int, command: list[str], env: dict[str, str],
                 log_path: Path) -> int:
        """Run one step's process to its end: its exit code, negative when killed (past its
        timeout and grace, past the workflow's timeout, or stopped)."""
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, cwd=self.project.root, env=env,
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        with self._lock:
            self._running.add(process)
        if self._stopping.is_set():  # stop() came between the check in _job and now
            _kill(process)
        limit = time.monotonic() + timeout + GRACE_SECONDS
        late = self._deadline is not None and self._deadline <= limit
        end = self._deadline if late and self._deadline is not None else limit
        timer = threading.Timer(max(0.0, end - time.monotonic()), self._expire, (process, late))
        timer.daemon = True
        timer.start()
        try:
            return process.wait()  # blocks until the exit, which is seen at once
        finally:
            timer.cancel()
            with self._lock:
                self._running.discard(process)

    def _expire(self, process: subprocess.Popen[bytes], late: bool) -> None:
        """The step ran past its timeout and grace, or (`late`) the workflow past its own."""
        if late:
            self._timed_out = True
        _kill(process)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the step's process group (the job and whatever it started), unless it ended."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_steps(store: RunStore, project: Project, execution: str
                 ) -> Callable[[StepRun], None]:
    """A callback that keeps each step's attempt in the store as it starts and ends."""
    known: set[str] = set()

    def on_step(step: StepRun) -> None:
        fields: dict[str, Any] = {"status": step.status}
        if step.ended is not None:
            fields.update(ended_at=format_utc_ms(step.ended), reason=step.cause,
                          duration_s=round(step.ended - step.started, 3))
        if step.run_id not in known:
            known.add(step.run_id)
            began = format_utc_ms(step.started)
            store.insert_run(run_id=step.run_id, task=step.job, stage=project.stage.name,
                             attempt=step.attempt, status="running", trigger="workflow",
                             queued_at=began, started_at=began,
                             owner_pid=os.getpid(), log_file=step.log_file,
                             workflow_run=execution, step=step.path)
        if fields["status"] != "running":
            store.update_run(step.run_id, **fields)

    return on_step
