"""`fargo invoke TASK`: run one job now, exactly as its container will; recorded as manual."""

from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import datetime, timezone

import click

from fargo.cli.context import project_of
from fargo.cli.output import out, warn
from fargo.cli.params import parse_env, read_event, stage_option
from fargo.cli.render import render
from fargo.local.invoke import run_foreground
from fargo.local.outcome import classify, last_error
from fargo.local.process import job_environment
from fargo.local.store import RunStore, logs_dir, store_path
from fargo.problems import Problem, ProblemsError
from fargo.streams import silence
from fargo.timeutil import format_utc_ms


@click.command()
@click.argument("task")
@stage_option()
@click.option("--event", help="Event JSON, or @file.json (default: a scheduled event for now).")
@click.option("--json", "as_json", is_flag=True, help="Print the job's JSON log lines as they are.")
@click.option("--verbose", "-v", is_flag=True, help="Keep fargo's frames in tracebacks.")
@click.option("--container", is_flag=True,
              help="Run it in what fargo ships: the stage's built image as ECS runs it, or the "
                   "Lambda zip under Lambda's runtime client (needs a Docker engine).")
@click.option("--network", default="host", show_default=True, metavar="NAME",
              help="With --container: the container's Docker network.")
@click.option("--env", "env_pairs", multiple=True, metavar="NAME=VALUE",
              help="With --container: an extra variable, as RunTask's overrides (repeatable).")
@click.pass_context
def invoke(ctx: click.Context, task: str, stage: str | None, event: str | None, as_json: bool,
           verbose: bool, container: bool, network: str, env_pairs: tuple[str, ...]) -> None:
    """Run TASK now through `python -m fargo.runtime`, with its stage environment and timeout.

    The run is recorded in the local history (fargo history) as a manual run, with its log.
    TASK may be a workflow: it runs whole, each step a job process, and prints its output.
    """
    project = project_of(ctx, stage)
    workflow = project.workflow(task)
    extra = parse_env(env_pairs)
    if extra and not container:
        raise ProblemsError([Problem("--env is for --container runs (a local run takes the "
                                     "variables of your shell)", key="--env")])
    if workflow is not None and container:
        raise ProblemsError([Problem(f"{task} is a workflow: --container runs one job",
                                     key="--container")])
    if workflow is not None:
        from fargo.cli.workflow_invoke import invoke_workflow

        invoke_workflow(project, workflow, read_event(event, any_json=True))
        return
    event_json = read_event(event)
    spec = project.require(task)
    if not container:
        _env, missing = job_environment(spec, project.root, event=event_json)
        for name in missing:
            warn(f"secret {name} ({spec.secrets[name]}) is not resolved locally; set {name} in "
                 "your environment to provide it")
    run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{spec.name}-manual-" \
             f"{secrets.token_hex(2)}"
    start = None
    if container:
        from fargo.local.artefacts import prepare

        start = prepare(project, spec, event_json, run_id, network, extra, say=warn)
    log_path = logs_dir(project.root) / spec.name / f"{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    store = RunStore(store_path(project.root))
    store.insert_run(run_id=run_id, task=spec.name, stage=project.stage.name, attempt=1,
                     status="running", trigger="manual", queued_at=format_utc_ms(),
                     started_at=format_utc_ms(), owner_pid=os.getpid(),
                     log_file=str(log_path.relative_to(project.root)))
    rendered = sys.stdout.isatty() and not as_json
    reader_gone = False

    def show(line: str) -> None:
        nonlocal reader_gone
        if reader_gone:
            return
        try:
            if rendered:
                out.print(render(line, verbose), highlight=False)
            else:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
        except BrokenPipeError:  # `fargo invoke JOB | head`: the job still runs to its end,
            reader_gone = True  # its whole log in the log file and its run in the history
            silence(sys.stdout)

    began = time.monotonic()
    usage: dict[str, float] = {}
    stopped: str | None = None
    if start is not None:
        ended = start(log_path, show)
        code, stopped = ended.code, ended.reason
    else:
        finished = run_foreground(spec, project.root, event_json, run_id, log_path, show)
        code, usage = finished.code, finished.usage
    status, reason = classify(code, spec.timeout)
    if status == "failed":
        reason = stopped or last_error(log_path) or reason
    store.update_run(run_id, status=status, exit_code=code, ended_at=format_utc_ms(),
                     reason=reason, duration_s=round(time.monotonic() - began, 3), **usage)
    store.close()
    if stopped:
        warn(stopped)
    finished_code = code
    # a job killed by a signal exits as a shell reports it: 128 + the signal (137 for SIGKILL)
    sys.exit(finished_code if finished_code >= 0 else 128 - finished_code)
