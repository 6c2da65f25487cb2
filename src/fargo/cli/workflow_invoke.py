"""`fargo invoke WORKFLOW`: the whole workflow on this machine, each step a real job process;
the execution and each step's attempts are recorded in the local history."""

from __future__ import annotations

import json
import os
import sys
import time

from fargo.cli.output import err, out, print_json, styled
from fargo.local.store import RunStore, store_path
from fargo.local.workflow import StepFailed, StepRun, WorkflowRun, record_steps
from fargo.project.model import Project
from fargo.project.workflows import WorkflowSpec
from fargo.timeutil import format_utc_ms


def invoke_workflow(project: Project, workflow: WorkflowSpec, event: str | None) -> None:
    store = RunStore(store_path(project.root), threads=True)
    run = WorkflowRun(project, workflow)
    execution = f"{run.execution}-{workflow.name}"
    run.execution = execution
    record = record_steps(store, project, execution)

    def on_step(step: StepRun) -> None:
        record(step)
        if step.status == "running":
            err.print(styled((f"{step.path}: started {step.job}"
                              + (f" (attempt {step.attempt})" if step.attempt > 1 else ""),
                              "dim")))
        else:
            took = (step.ended or time.time()) - step.started
            err.print(f"{step.path}: {step.job} {step.status} in {took:.2f}s"
                      + (f": {step.error}: {step.cause}" if step.error else ""))

    run.on_step = on_step
    began = time.time()
    store.insert_run(run_id=execution, task=workflow.name, stage=project.stage.name, attempt=1,
                     status="running", trigger="manual", queued_at=format_utc_ms(began),
                     started_at=format_utc_ms(began), owner_pid=os.getpid(), step="workflow")
    given = json.loads(event) if event is not None else {}
    try:
        output = run.run(given)
    except StepFailed as exc:
        store.update_run(execution, status="failed", ended_at=format_utc_ms(),
                         reason=f"{exc.error}: {exc.cause}",
                         duration_s=round(time.time() - began, 3))
        store.close()
        err.print(styled((f"workflow {workflow.name} failed", "red"),
                         f": {exc.error}: {exc.cause}"))
        sys.exit(1)
    except KeyboardInterrupt:
        run.stop()
        store.update_run(execution, status="failed", ended_at=format_utc_ms(), reason="interrupted")
        store.close()
        sys.exit(130)
    except BaseException as exc:  # fargo's own failure: the history must not say "running"
        run.stop()
        store.update_run(execution, status="failed", ended_at=format_utc_ms(),
                         reason=f"fargo failed: {type(exc).__name__}: {exc}")
        store.close()
        raise
    store.update_run(execution, status="succeeded", ended_at=format_utc_ms(),
                     duration_s=round(time.time() - began, 3))
    store.close()
    out.print(styled((f"workflow {workflow.name} succeeded", "green"),
                     f" ({len(run.steps)} step runs, {time.time() - began:.2f}s); output:"))
    print_json(output)
