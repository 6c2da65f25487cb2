"""`fargo invoke WORKFLOW`: the whole workflow on this machine, each step a real job process;
the execution and each step's attempts are recorded in the local history."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

from fargo.cli.output import err, out, print_json
from fargo.local.store import RunStore, store_path
from fargo.local.workflow import StepFailed, StepRun, WorkflowRun
from fargo.project.model import Project
from fargo.project.workflows import WorkflowSpec


def _stamp(moment: float | None = None) -> str:
    now = datetime.fromtimestamp(time.time() if moment is None else moment, timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def record_steps(store: RunStore, project: Project, execution: str) -> Any:
    """A callback that keeps each step's attempt in the store as it starts and ends."""
    known: set[str] = set()

    def on_step(step: StepRun) -> None:
        fields: dict[str, Any] = {"status": step.status}
        if step.ended is not None:
            fields.update(ended_at=_stamp(step.ended), reason=step.cause,
                          duration_s=round(step.ended - step.started, 3))
        if step.run_id not in known:
            known.add(step.run_id)
            store.insert_run(run_id=step.run_id, task=step.job, stage=project.stage.name,
                             attempt=step.attempt, status="running", trigger="workflow",
                             queued_at=_stamp(step.started), started_at=_stamp(step.started),
                             owner_pid=os.getpid(), log_file=step.log_file,
                             workflow_run=execution, step=step.path)
        if fields["status"] != "running":
            store.update_run(step.run_id, **fields)

    return on_step


def invoke_workflow(project: Project, workflow: WorkflowSpec, event: str | None) -> None:
    store = RunStore(store_path(project.root), threads=True)
    run = WorkflowRun(project, workflow)
    execution = f"{run.execution}-{workflow.name}"
    run.execution = execution
    record = record_steps(store, project, execution)

    def on_step(step: StepRun) -> None:
        record(step)
        if step.status == "running":
            err.print(f"[dim]{step.path}: started {step.job}"
                      + (f" (attempt {step.attempt})" if step.attempt > 1 else "") + "[/dim]")
        else:
            took = (step.ended or time.time()) - step.started
            err.print(f"{step.path}: {step.job} {step.status} in {took:.2f}s"
                      + (f": {step.error}: {step.cause}" if step.error else ""))

    run.on_step = on_step
    began = time.time()
    store.insert_run(run_id=execution, task=workflow.name, stage=project.stage.name, attempt=1,
                     status="running", trigger="manual", queued_at=_stamp(began),
                     started_at=_stamp(began), owner_pid=os.getpid(), step="workflow")
    given = json.loads(event) if event is not None else {}
    try:
        output = run.run(given)
    except StepFailed as exc:
        store.update_run(execution, status="failed", ended_at=_stamp(),
                         reason=f"{exc.error}: {exc.cause}",
                         duration_s=round(time.time() - began, 3))
        store.close()
        err.print(f"[red]workflow {workflow.name} failed[/red]: {exc.error}: {exc.cause}")
        sys.exit(1)
    except KeyboardInterrupt:
        run.stop()
        store.update_run(execution, status="failed", ended_at=_stamp(), reason="interrupted")
        store.close()
        sys.exit(130)
    store.update_run(execution, status="succeeded", ended_at=_stamp(),
                     duration_s=round(time.time() - began, 3))
    store.close()
    out.print(f"[green]workflow {workflow.name} succeeded[/green] "
              f"({len(run.steps)} step runs, {time.time() - began:.2f}s); output:", style=None)
    print_json(output)
