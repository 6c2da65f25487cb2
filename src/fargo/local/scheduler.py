"""`fargo up`: run every enabled job on its schedule on this machine.

One thread, one loop: it sleeps in select() until the next fire, a retry, a deadline, or a
signal (SIGCHLD when a job exits, SIGINT/SIGTERM to stop), so an idle scheduler uses no CPU.
Every decision is written to the run store before it is acted on, which is what makes a
SIGKILL at any moment recoverable.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import json
import os
import secrets
import select
import signal
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

from fargo.local.clock import Clock
from fargo.local.deadlines import DeadlineWatch
from fargo.local.executor import Job, kill_leftovers, reap, start_job
from fargo.local.inbox import WAKE_SIGNAL, post, waiting
from fargo.local.launcher import Launcher, LauncherGone, start_launcher
from fargo.local.outcome import ended_in_log, last_error
from fargo.local.plan import Due, due_slots, next_slot
from fargo.local.records import DELIVERY, delivered_to
from fargo.local.store import RunStore, StoreDamaged, logs_dir, store_path
from fargo.local.watch import POLL_SECONDS, DirectoryWatch
from fargo.local.workflow import StepFailed, WorkflowRun, record_steps
from fargo.patterns import matches
from fargo.problems import Problem, ProblemsError
from fargo.project.model import Project, TaskSpec
from fargo.project.paths import ProjectPaths
from fargo.project.runner import retry_delay
from fargo.project.workflows import WorkflowSpec
from fargo.runtime import contract
from fargo.schedule import Expression, load_zone, parse
from fargo.timeutil import format_utc, format_utc_ms

IDLE_WAKE_SECONDS = 60.0  # real seconds: re-read the clock at least this often (clock jumps)
DEFAULT_GRACE_SECONDS = 10.0


def iso(moment: datetime) -> str:
    """Slot keys: UTC, whole seconds."""
    return format_utc(moment)


def stamp_ms(moment: datetime) -> str:
    """Run timestamps (queued, started, ended): UTC with milliseconds, for lateness figures."""
    return format_utc_ms(moment)


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _describe(event: dict[str, Any]) -> str:
    """An event in a few words: its detail-type, and the object of an S3 event."""
    delivery = event.get(DELIVERY)
    if isinstance(delivery, dict):
        return f"{delivery.get('type')} record on {delivery.get('target')}"
    text = str(event.get("detail-type"))
    detail = event.get("detail")
    if event.get("source") == "aws.s3" and isinstance(detail, dict):
        bucket = (detail.get("bucket") or {}).get("name")
        key = (detail.get("object") or {}).get("key")
        text += f" s3://{bucket}/{key}"
    return text


class Reporter(Protocol):
    """What the scheduler tells the person watching it (live table or plain lines)."""

    def event(self, message: str) -> None: ...

    def refresh(self, scheduler: Scheduler) -> None: ...


@dataclass
class Request:
    """A run waiting to start (for a free slot under max_parallel, or behind its own job)."""

    run_id: str
    spec: TaskSpec
    slot: datetime | None
    attempt: int
    catchup: bool = False  # a missed slot run by catchup=all: queued, never skipped
    event: str | None = None  # JSON: the event that started it (fargo emit)
    event_id: str | None = None


@dataclass
class TaskTimer:
    spec: TaskSpec
    expr: Expression
    zone: tzinfo
    anchor: datetime
    last_slot: datetime
    next_fire: datetime | None = None


@dataclass
class FlowTimer:
    """A scheduled workflow: fired on its schedule, one execution at a time (a fire while
    one runs is recorded as skipped), missed fires not made up."""

    spec: WorkflowSpec
    expr: Expression
    zone: tzinfo
    anchor: datetime
    next_fire: datetime | None = None
    thread: threading.Thread | None = None
    run: WorkflowRun | None = None


@dataclass
class Outcome:
    status: str
    exit_code: int | None
    reason: str | None = None


@dataclass
class Scheduler:
    project: Project
    clock: Clock
    reporter: Reporter
    only: tuple[str, ...] = ()
    run_for: float | None = None  # clock seconds
    max_parallel: int | None = None
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    memory_limit: bool = True
    warm: bool = True  # start jobs by forking a warm runtime (fargo.runtime.launcher)
    store_file: Path | None = None  # default: the real history (.fargo/local/runs.db)
    launcher: Launcher | None = None
    watch_dir: Path | None = None  # files appearing there are S3 object events (--watch-dir)
    running: dict[str, Job] = field(default_factory=dict)
    pending: deque[Request] = field(default_factory=deque)
    waiting: dict[str, deque[Request]] = field(default_factory=dict)  # overlap=queue
    retries: list[tuple[datetime, int, Request]] = field(default_factory=list)
    timers: dict[str, TaskTimer] = field(default_factory=dict)
    flows: dict[str, FlowTimer] = field(default_factory=dict)
    flow_news: deque[str] = field(default_factory=deque)  # said by workflow threads
    heap: list[tuple[datetime, str]] = field(default_factory=list)
    last_results: dict[str, str] = field(default_factory=dict)
    resumed: list[Request] = field(default_factory=list)  # event runs recover() starts again
    stop_reason: str | None = None
    _kill_now: bool = False
    _seq: int = 0

    def __post_init__(self) -> None:
        self.root = self.project.root
        self.stage = self.project.stage.name
        self.limit = self.max_parallel or self.project.stage.max_parallel or os.cpu_count() or 1
        self.store = RunStore(self.store_file or store_path(self.root))
        self.logs = logs_dir(self.root)
        self.event_specs = [spec for spec in self.project.tasks
                            if spec.enabled and (spec.patterns or spec.event_sources)
                            and (not self.only or spec.name in self.only)]
        # Events are for the real scheduler: a replay (own store) never takes them.
        self.takes_events = self.store_file is None
        self.watch = DirectoryWatch(self.watch_dir, region=self.project.stage.region
                                    or "us-east-1") if self.watch_dir else None
        self.deadlines = DeadlineWatch(self.store, self.stage)

    # --- setup -------------------------------------------------------------------------------

    def _lock(self) -> None:
        path = ProjectPaths(self.root).up_lock
        if self.store_file is not None:  # a replay may run beside the real scheduler
            path = self.store_file.with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(path, "a+")  # noqa: SIM115 - held for the scheduler's lifetime
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            owner = self._lock_file.read().strip() or "?"
            raise ProblemsError([Problem(
                f"another fargo up (pid {owner}) is already running for this project; stop it "
                "first", str(path.relative_to(self.root)))]) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def recover(self) -> None:
        """Settle the runs a scheduler that died left 'running'.

        A run whose job wrote its last word is recorded as it ended. An event's run that never
        started starts now, once (its event was claimed: nothing else would start it). A run
        cut off is lost, its leftover processes killed, and an event's run then follows the
        job's retries, as a failed run does.
        """
        now = stamp_ms(self.clock.now())
        # A run whose owner still lives is not an orphan: a fargo invoke going on beside us.
        orphans = [run for run in self.store.running()
                   if not (run.owner_pid and run.owner_pid != os.getpid()
                           and os.path.exists(f"/proc/{run.owner_pid}")
                           and run.trigger == "manual")]
        # Found by the run id in their environment, not only by the stored pid: a job started
        # just before the scheduler died may have no pid in the store yet.
        killed = kill_leftovers({run.run_id for run in orphans})
        specs = {spec.name: spec for spec in self.event_specs}
        for run in orphans:
            spec = specs.get(run.task) if self.takes_events else None
            body = self.store.event_body(run.event_id) if run.event_id and spec else None
            log_path = self.logs / run.task / f"{run.run_id}.log"
            ended = ended_in_log(log_path) if log_path.exists() else None
            if ended is not None and not killed.get(run.run_id):
                self.store.update_run(run.run_id, status=ended, ended_at=now, reason=(
                    f"fargo up (pid {run.owner_pid}) stopped before it saw the run end; "
                    "recorded from the job's log"))
                self.reporter.event(f"{run.task}: run {run.run_id} {ended} (from its log)")
                continue
            if spec is not None and body is not None and run.started_at is None \
                    and not killed.get(run.run_id) and not log_path.exists():
                self.store.update_run(run.run_id, owner_pid=os.getpid())
                self.resumed.append(Request(run.run_id, spec, None, run.attempt, event=body,
                                            event_id=run.event_id))
                self.reporter.event(f"{run.task}: run {run.run_id} of event {run.event_id} "
                                    "never started; starting it now")
                continue
            reason = f"fargo up (pid {run.owner_pid}) stopped while this run was in progress"
            if killed.get(run.run_id):
                pids = ", ".join(map(str, killed[run.run_id]))
                reason += f"; its leftover process {pids} was killed"
            self.store.update_run(run.run_id, status="lost", ended_at=now, reason=reason)
            self.reporter.event(f"{run.task}: run {run.run_id} marked lost ({reason})")
            if spec is not None and body is not None and run.attempt <= spec.retries:
                request = self._request(spec, None, run.attempt + 1, event=body,
                                        event_id=run.event_id)
                self.resumed.append(request)
                self.reporter.event(f"{spec.name}: retry {run.attempt + 1} of "
                                    f"{spec.retries + 1} of event {run.event_id}")

    def setup_timers(self) -> None:
        now = self.clock.now()
        for spec in self.project.tasks:
            if self.only and spec.name not in self.only:
                continue
            if not spec.enabled or spec.schedule is None:
                continue
            expr = parse(spec.schedule)
            zone = load_zone(spec.timezone)
            key = f"{spec.schedule}|{spec.timezone}"
            state = self.store.task_state(spec.name, self.stage)
            if state is None or state[0] != key:
                # New job or changed schedule: start its grid now, nothing to catch up. The
                # anchor is whole seconds so the stored grid is exactly the one in use.
                anchor = last = now.replace(microsecond=0)
                self.store.set_task_state(spec.name, self.stage, key, iso(anchor), iso(last))
            else:
                anchor = parse_iso(state[1])
                last = parse_iso(state[2]) if state[2] else now
            self.timers[spec.name] = TaskTimer(spec, expr, zone, anchor, last)
            self.deadlines.add(spec.name, "job", spec.timezone, spec.deadline)
            # At start-up, anything more than a minute old was missed while we were down.
            self._check_due(spec.name, now, timedelta(seconds=60))
            last_run = self.store.last_run(spec.name)
            if last_run:
                self.last_results[spec.name] = last_run.status
        for workflow in self.project.workflows:
            if workflow.schedule is None or (self.only and workflow.name not in self.only):
                continue
            expr, zone = parse(workflow.schedule), load_zone(workflow.timezone)
            anchor = now.replace(microsecond=0)
            self.flows[workflow.name] = FlowTimer(workflow, expr, zone, anchor,
                                                  next_slot(expr, zone, anchor, now))
            self.deadlines.add(workflow.name, "workflow", workflow.timezone, workflow.deadline)
        self.deadlines.resume(now)

    # --- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        self._lock()
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        previous_wakeup = signal.set_wakeup_fd(write_fd)
        handlers = {
            signal.SIGCHLD: signal.signal(signal.SIGCHLD, lambda s, f: None),
            WAKE_SIGNAL: signal.signal(WAKE_SIGNAL, lambda s, f: None),  # fargo emit
            signal.SIGINT: signal.signal(signal.SIGINT, self._on_stop),
            signal.SIGTERM: signal.signal(signal.SIGTERM, self._on_stop),
        }
        started = self.clock.now()
        until = started + timedelta(seconds=self.run_for) if self.run_for else None
        self._wake_fd = write_fd
        try:
            self.recover()
            self.setup_timers()  # first: the grid of a new job starts at the clock's start
            self.launcher = start_launcher(self.root) if self.warm else None
            for request in self.resumed:
                self._dispatch(request)
            self.resumed.clear()
            self.reporter.event(
                f"fargo up: {len(self.timers)} scheduled "
                f"{'job' if len(self.timers) == 1 else 'jobs'}"
                + (f" and {len(self.flows)} "
                   f"{'workflow' if len(self.flows) == 1 else 'workflows'}" if self.flows else "")
                + f", stage {self.stage}, "
                f"max_parallel {self.limit}" + (f", until {iso(until)}" if until else "")
                + (f"; {len(self.event_specs)} started by events (fargo emit)"
                   if self.event_specs and self.takes_events else ""))
            if self.watch is not None:
                self.reporter.event(f"watching {self.watch.directory}: a file appearing at "
                                    "<bucket>/<key> there is an S3 Object Created event")
            while self.stop_reason is None:
                now = self.clock.now()
                if until is not None and now >= until:
                    self._tick(until)  # slots due exactly at the end still fire
                    self.stop_reason = "duration"
                    break
                self._tick(now)
                self.reporter.refresh(self)
                # from the clock as it is now: the tick took time, so `now` is already past
                self._wait(read_fd, self._sleep_seconds(self.clock.now(), until))
            self._shutdown(read_fd)
        except BaseException as exc:
            # Whatever went wrong, no job is left running unsupervised.
            self._abandon(f"fargo up stopped on an internal error ({type(exc).__name__})")
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreDamaged(self.store.path, str(exc)) from None
            raise
        finally:
            if self.launcher is not None:
                self.launcher.close()
            signal.set_wakeup_fd(previous_wakeup)
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            os.close(read_fd)
            os.close(write_fd)
            self.store.close()
        return 0

    def _abandon(self, reason: str) -> None:
        """Kill every running job's process group; record them lost when the store allows."""
        for job in list(self.running.values()):
            job.signal_group(signal.SIGKILL)
            with contextlib.suppress(Exception):
                job.process.wait(timeout=5)
            with contextlib.suppress(sqlite3.Error):
                self.store.update_run(job.run_id, status="lost", reason=reason,
                                      ended_at=stamp_ms(self.clock.now()))
        self.running.clear()

    def _on_stop(self, signum: int, frame: Any) -> None:
        if self.stop_reason is not None:
            self._kill_now = True  # a second Ctrl-C: stop waiting for jobs
        self.stop_reason = signal.Signals(signum).name

    def _tick(self, now: datetime) -> None:
        self._reap()
        self._enforce_deadlines()
        if self.watch is not None:
            for event in self.watch.events():  # through the inbox: recorded once, like emit
                post(self.root, event)
        if self.takes_events:
            self._take_events(now)
        self._fire_flows(now)
        while self.flow_news:
            self.reporter.event(self.flow_news.popleft())
        while self.heap and self.heap[0][0] <= now:
            _, name = heapq.heappop(self.heap)
            self._check_due(name, now)
        while self.retries and self.retries[0][0] <= now:
            _, _, request = heapq.heappop(self.retries)
            self._dispatch(request)
        self._start_pending()
        with self.store.transaction():
            said = self.deadlines.check(now)
        for message in said:
            self.reporter.event(message)

    def _sleep_seconds(self, now: datetime, until: datetime | None) -> float:
        candidates = [IDLE_WAKE_SECONDS, POLL_SECONDS if self.watch is not None else 60.0]
        clock_targets = [t for t in (self.heap[0][0] if self.heap else None,
                                     self.retries[0][0] if self.retries else None, until,
                                     self.deadlines.next_due,
                                     *(f.next_fire for f in self.flows.values())) if t]
        for target in clock_targets:
            candidates.append(self.clock.real_seconds((target - now).total_seconds()))
        monotonic = time.monotonic()
        for job in self.running.values():
            candidates.append((job.kill_at or job.deadline) - monotonic)
        if self.running:
            candidates.append(1.0)  # the live table shows elapsed time
        return max(0.0, min(candidates))

    def _wait(self, read_fd: int, seconds: float) -> None:
        """Sleep until a signal (SIGCHLD, SIGTERM, ...), news from the launcher, or `seconds`.

        A long wait ends 1% early (at most half a second), and the loop reads the wall clock
        again and sleeps the rest: Linux lets select() oversleep by a thousandth of its timeout
        (up to 100 ms; a minute's wait would end 60 ms late), and over a minute the monotonic
        clock drifts from the wall clock the slots are on by milliseconds. A short wait is
        kept to within about 50 microseconds.
        """
        watched = [read_fd] + ([self.launcher.fd] if self.launcher is not None else [])
        timeout = seconds - min(seconds / 100, 0.5) if seconds > 0.05 else seconds
        with contextlib.suppress(InterruptedError):
            ready, _, _ = select.select(watched, [], [], max(0.0, timeout))
            if read_fd in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(read_fd, 512):
                        pass

    # --- deciding what runs ------------------------------------------------------------------

    def _grace(self) -> timedelta:
        """How late a slot may be and still count as on time while running: a minute, or two
        real seconds of a faster simulated clock. Later than that, the clock jumped."""
        return timedelta(seconds=max(60.0, 2.0 * self.clock.speed))

    def _check_due(self, name: str, now: datetime, grace: timedelta | None = None) -> None:
        timer = self.timers[name]
        due = due_slots(timer.expr, timer.zone, timer.anchor, timer.last_slot, now,
                        grace or self._grace(), timer.spec.catchup)
        self._apply(timer, due, now)
        timer.next_fire = next_slot(timer.expr, timer.zone, timer.anchor,
                                    max(timer.last_slot, now))
        if timer.next_fire is not None:
            heapq.heappush(self.heap, (timer.next_fire, name))

    def _apply(self, timer: TaskTimer, due: Due, now: datetime) -> None:
        spec = timer.spec
        requests: list[Request] = []
        advanced = due.newest is not None and due.newest > timer.last_slot
        # One commit for what this tick claims and the timer's new state: each slot is claimed
        # before its job starts, as always, and a crash keeps all of it or none.
        reason = f"missed: fargo up was not running or the clock jumped (catchup={spec.catchup})"
        missed: list[datetime] = []
        with self.store.transaction():
            for slot in due.skipped:
                if self.store.claim_slot(spec.name, self.stage, iso(slot), iso(now)):
                    self._record_skip(spec, slot, reason, now, say=len(due.skipped) <= 3)
                    missed.append(slot)
                    self.deadlines.expect(spec.name, slot)
            for slot in due.run:
                if self.store.claim_slot(spec.name, self.stage, iso(slot), iso(now)):
                    requests.append(self._request(spec, slot, 1))
                    self.deadlines.expect(spec.name, slot)
            if advanced and due.newest is not None:
                self.store.set_task_state(spec.name, self.stage,
                                          f"{spec.schedule}|{spec.timezone}", iso(timer.anchor),
                                          iso(due.newest))
        if advanced and due.newest is not None:
            timer.last_slot = due.newest
        if len(due.skipped) > 3 and missed:  # one line, not one per slot after a day away
            self.reporter.event(f"{spec.name}: {len(missed)} slots from {iso(missed[0])} to "
                                f"{iso(missed[-1])} skipped: {reason} (each is in the history)")
        if due.skipped_uncounted:
            self.reporter.event(f"{spec.name}: {due.skipped_uncounted} older missed slots "
                                "skipped without a record")
        if due.older_skipped_before is not None:
            self.reporter.event(f"{spec.name}: every slot missed before "
                                f"{iso(due.older_skipped_before)} skipped without a record")
        for request in requests:
            request.catchup = spec.catchup == "all" and len(due.run) > 1
            self._dispatch(request)

    def _take_events(self, now: datetime) -> None:
        """Start the jobs each event in the inbox matches, once per event id."""
        for path in waiting(self.root):
            try:
                event = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(event, dict):
                    raise ValueError("not an object")
            except (OSError, ValueError) as exc:
                self.reporter.event(f"inbox: {path.name} is not an event ({exc}); dropped")
                path.unlink(missing_ok=True)
                continue
            event_id = str(event.get("id") or path.stem)
            delivery = event.get(DELIVERY)
            if isinstance(delivery, dict):  # a queue's, topic's or stream's records
                jobs = [spec for spec in self.event_specs
                        if delivered_to(spec.event_sources, delivery)]
                text = json.dumps(delivery.get("event"))  # what Lambda passes the function
            else:
                jobs = [spec for spec in self.event_specs
                        if any(matches(dict(pattern), event) for pattern in spec.patterns)]
                text = json.dumps(event)
            requests: list[Request] = []
            with self.store.transaction():
                if self.store.claim_event(event_id, stamp_ms(now), event.get("source"),
                                          event.get("detail-type"), [s.name for s in jobs],
                                          text):
                    requests = [self._request(spec, None, 1, event=text, event_id=event_id)
                                for spec in jobs]
            path.unlink(missing_ok=True)  # recorded: a crash before this only leaves a copy
            self.reporter.event(f"event {event_id} ({_describe(event)}): "
                                + (f"starts {', '.join(s.name for s in jobs)}" if requests
                                   else "matches no job" if not jobs else "already taken"))
            for request in requests:
                self._dispatch(request)

    def _request(self, spec: TaskSpec, slot: datetime | None, attempt: int,
                 event: str | None = None, event_id: str | None = None) -> Request:
        stamp = (slot or self.clock.now()).strftime("%Y%m%dT%H%M%S")
        run_id = f"{stamp}-{spec.name}-{attempt}-{secrets.token_hex(2)}"
        trigger = "retry" if attempt > 1 else "event" if event_id else "schedule"
        self.store.insert_run(run_id=run_id, task=spec.name, stage=self.stage,
                              scheduled_time=iso(slot) if slot else None, attempt=attempt,
                              status="running", queued_at=stamp_ms(self.clock.now()),
                              trigger=trigger, owner_pid=os.getpid(), event_id=event_id)
        return Request(run_id, spec, slot, attempt, event=event, event_id=event_id)

    def _record_skip(self, spec: TaskSpec, slot: datetime | None, reason: str,
                     now: datetime, run_id: str | None = None, say: bool = True) -> None:
        stamp = stamp_ms(now)
        if run_id is None:
            run_id = f"{(slot or now):%Y%m%dT%H%M%S}-{spec.name}-skip-{secrets.token_hex(2)}"
            self.store.insert_run(run_id=run_id, task=spec.name, stage=self.stage,
                                  scheduled_time=iso(slot) if slot else None, attempt=1,
                                  status="skipped", queued_at=stamp, ended_at=stamp,
                                  owner_pid=os.getpid(), reason=reason)
        else:
            self.store.update_run(run_id, status="skipped", ended_at=stamp, reason=reason)
        if say:
            what = f"slot {iso(slot)}" if slot else "run"
            self.reporter.event(f"{spec.name}: {what} skipped: {reason}")

    def _dispatch(self, request: Request) -> None:
        spec = request.spec
        busy = any(job.spec.name == spec.name for job in self.running.values()) or any(
            r.spec.name == spec.name for r in self.pending)
        if busy and request.attempt == 1:
            # An event is never dropped: under overlap=skip it waits its turn, as on AWS.
            if spec.overlap == "skip" and not request.catchup and request.event_id is None:
                self._record_skip(spec, request.slot, "the previous run was still going "
                                  "(overlap=skip)", self.clock.now(), request.run_id)
                return
            if spec.overlap in ("queue", "skip"):
                self.waiting.setdefault(spec.name, deque()).append(request)
                return
        self.pending.append(request)

    def _start_pending(self) -> None:
        while self.pending and len(self.running) < self.limit and self.stop_reason is None:
            request = self.pending.popleft()
            spec = request.spec
            log_path = self.logs / spec.name / f"{request.run_id}.log"
            slot = iso(request.slot) if request.slot else None
            job = self._start_job(spec, request, slot, log_path)
            self.running[request.run_id] = job
            self.store.update_run(request.run_id, started_at=stamp_ms(self.clock.now()),
                                  pid=job.pid,
                                  log_file=str(log_path.relative_to(self.root)),
                                  limits=json.dumps(job.limits))
            self.reporter.event(f"{spec.name}: started run {request.run_id}"
                                + (f" (attempt {request.attempt})" if request.attempt > 1 else ""))

    def _start_job(self, spec: TaskSpec, request: Request, slot: str | None,
                   log_path: Path) -> Job:
        """By the warm launcher; should it fail, as a subprocess from then on."""
        if self.launcher is not None:
            try:
                return start_job(spec, self.root, request.run_id, slot, request.attempt,
                                 log_path, self.memory_limit, self.launcher, request.event,
                                 request.event_id)
            except LauncherGone as exc:
                self.reporter.event(f"the warm launcher stopped ({exc}); starting jobs as "
                                    "processes from now on")
                self.launcher = None
        return start_job(spec, self.root, request.run_id, slot, request.attempt, log_path,
                         self.memory_limit, event=request.event, event_id=request.event_id)

    # --- workflows -------------------------------------------------------------------------

    def _fire_flows(self, now: datetime) -> None:
        for name, flow in self.flows.items():
            while flow.next_fire is not None and flow.next_fire <= now:
                slot = flow.next_fire
                flow.next_fire = next_slot(flow.expr, flow.zone, flow.anchor, slot)
                if now - slot > self._grace() or self.stop_reason is not None:
                    continue  # missed while fargo up was busy or the clock jumped: not made up
                with self.store.transaction():
                    if not self.store.claim_slot(name, self.stage, iso(slot), iso(now)):
                        continue
                    self.deadlines.expect(name, slot)
                    if flow.thread is not None and flow.thread.is_alive():
                        self._record_skip_flow(flow, slot, now)
                        continue
                    execution = f"{slot:%Y%m%dT%H%M%S}-{name}-{secrets.token_hex(2)}"
                    self.store.insert_run(run_id=execution, task=name, stage=self.stage,
                                          scheduled_time=iso(slot), attempt=1,
                                          status="running", trigger="schedule",
                                          queued_at=stamp_ms(now), started_at=stamp_ms(now),
                                          owner_pid=os.getpid(), step="workflow")
                self._start_flow(flow, execution)

    def _record_skip_flow(self, flow: FlowTimer, slot: datetime, now: datetime) -> None:
        stamp = stamp_ms(now)
        self.store.insert_run(run_id=f"{slot:%Y%m%dT%H%M%S}-{flow.spec.name}-skip-"
                              f"{secrets.token_hex(2)}", task=flow.spec.name, stage=self.stage,
                              scheduled_time=iso(slot), attempt=1, status="skipped",
                              queued_at=stamp, ended_at=stamp, owner_pid=os.getpid(),
                              step="workflow", reason="the previous execution was still going")
        self.reporter.event(f"{flow.spec.name}: slot {iso(slot)} skipped: the previous "
                            "execution was still going")

    def _start_flow(self, flow: FlowTimer, execution: str) -> None:
        run = WorkflowRun(self.project, flow.spec, execution=execution)
        store = RunStore(self.store.path, threads=True)
        run.on_step = record_steps(store, self.project, execution)
        flow.run = run
        self.reporter.event(f"{flow.spec.name}: started execution {execution}")

        def main() -> None:
            began = time.monotonic()
            try:
                run.run({})
                store.update_run(execution, status="succeeded", ended_at=stamp_ms(
                    self.clock.now()), duration_s=round(time.monotonic() - began, 3))
                said = f"{flow.spec.name}: execution {execution} succeeded"
            except StepFailed as exc:
                store.update_run(execution, status="failed", ended_at=stamp_ms(
                    self.clock.now()), reason=f"{exc.error}: {exc.cause}",
                    duration_s=round(time.monotonic() - began, 3))
                said = f"{flow.spec.name}: execution {execution} failed: {exc.error}: {exc.cause}"
            finally:
                store.close()
            self.flow_news.append(said)
            with contextlib.suppress(OSError):
                os.write(self._wake_fd, b"\0")  # the loop reports it now, not at its next wake

        flow.thread = threading.Thread(target=main, name=f"workflow-{flow.spec.name}",
                                       daemon=True)
        flow.thread.start()

    def _stop_flows(self) -> None:
        if self.stop_reason == "duration":  # as for jobs: running executions get the grace
            until = time.monotonic() + self.grace_seconds
            for flow in self.flows.values():
                if flow.thread is not None:
                    flow.thread.join(timeout=max(0.0, until - time.monotonic()))
        for flow in self.flows.values():
            if flow.run is not None and flow.thread is not None and flow.thread.is_alive():
                flow.run.stop()
        for flow in self.flows.values():
            if flow.thread is not None:
                flow.thread.join(timeout=self.grace_seconds + 5)
        while self.flow_news:
            self.reporter.event(self.flow_news.popleft())

    # --- finishing ---------------------------------------------------------------------------

    def _reap(self) -> None:
        for run_id, job in list(self.running.items()):
            code, usage = reap(job.process)
            if code is None:
                continue
            del self.running[run_id]
            outcome = self._outcome(job, code)
            reason = outcome.reason
            if outcome.status == "failed" and not job.stopping:
                reason = last_error(job.log_path) or reason  # the exception, as the job said
            elapsed = time.monotonic() - job.started
            self.store.update_run(run_id, status=outcome.status, exit_code=code,
                                  ended_at=stamp_ms(self.clock.now()), reason=reason,
                                  duration_s=round(elapsed, 3), **usage)
            self.last_results[job.spec.name] = outcome.status + (f": {reason}" if reason
                                                                 and outcome.status == "failed"
                                                                 else "")
            self.reporter.event(f"{job.spec.name}: run {run_id} {outcome.status} "
                                f"(exit {code}, {elapsed:.2f}s)"
                                + (f": {reason}" if reason else ""))
            self._maybe_retry(job, outcome)
            queue = self.waiting.get(job.spec.name)
            if queue and self.stop_reason is None:
                self.pending.append(queue.popleft())

    @staticmethod
    def _outcome(job: Job, code: int) -> Outcome:
        if job.stopping:
            return Outcome("failed", code, "stopped because fargo up was stopping")
        if job.timed_out or code == contract.EXIT_TIMEOUT:
            return Outcome("timed_out", code, f"ran longer than its timeout of "
                           f"{job.spec.timeout}s")
        if code == 0:
            return Outcome("succeeded", code)
        if code < 0:
            return Outcome("failed", code, f"killed by signal {signal.Signals(-code).name}")
        return Outcome("failed", code)

    def _maybe_retry(self, job: Job, outcome: Outcome) -> None:
        spec = job.spec
        if job.stopping and job.event_id is not None and self.takes_events \
                and job.attempt <= spec.retries:
            # an event's run cut off by the stop: its retry waits, queued, for the next fargo up
            request = self._request(spec, None, job.attempt + 1, event=job.event,
                                    event_id=job.event_id)
            self.store.update_run(request.run_id, reason="fargo up stopped before it "
                                  "started; the next fargo up starts it")
            self.reporter.event(f"{spec.name}: retry {job.attempt + 1} of event "
                                f"{job.event_id} waits for the next fargo up")
            return
        retryable = (outcome.status == "failed" and not job.stopping) or (
            outcome.status == "timed_out" and spec.retry_timeouts)
        if not retryable or job.attempt > spec.retries or self.stop_reason is not None:
            return
        delay = retry_delay(job.attempt)  # the runner on AWS waits the same
        due = self.clock.now() + timedelta(seconds=delay)
        request = self._request(spec, parse_iso(job.slot) if job.slot else None,
                                job.attempt + 1, event=job.event, event_id=job.event_id)
        self._seq += 1
        heapq.heappush(self.retries, (due, self._seq, request))
        self.reporter.event(f"{spec.name}: retry {job.attempt + 1} of {spec.retries + 1} "
                            f"at {iso(due)}")

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for job in self.running.values():
            if job.kill_at is None and now >= job.deadline:
                job.timed_out = True
                job.signal_group(signal.SIGKILL)
            elif job.kill_at is not None and now >= job.kill_at:
                job.signal_group(signal.SIGKILL)

    def _shutdown(self, read_fd: int) -> None:
        """Stop scheduling; let jobs finish (duration) or SIGTERM them (signal); then kill."""
        now = self.clock.now()
        for request in [*self.pending, *(r for q in self.waiting.values() for r in q),
                        *(r for _, _, r in self.retries)]:
            if request.event_id is not None and self.takes_events:
                # an event is never dropped: its run waits, queued, for the next fargo up
                self.store.update_run(request.run_id, reason="fargo up stopped before it "
                                      "started; the next fargo up starts it")
                self.reporter.event(f"{request.spec.name}: run {request.run_id} of event "
                                    f"{request.event_id} waits for the next fargo up")
                continue
            self._record_skip(request.spec, request.slot, "fargo up stopped before it started",
                              now, request.run_id)
        self.pending.clear()
        self.waiting.clear()
        self.retries.clear()
        if self.running and self.stop_reason == "duration":
            self.reporter.event(f"waiting up to {self.grace_seconds:g}s for "
                                f"{len(self.running)} running jobs")
            self._drain(read_fd, time.monotonic() + self.grace_seconds)
        if self.running:
            self.reporter.event(f"stopping {len(self.running)} running jobs (SIGTERM)")
            kill_at = time.monotonic() + self.grace_seconds
            for job in self.running.values():
                job.stopping = True
                job.kill_at = kill_at
                job.signal_group(signal.SIGTERM)
            self._drain(read_fd, kill_at + 5.0)
        self._stop_flows()
        self.reporter.event(f"fargo up stopped ({self.stop_reason})")

    def _drain(self, read_fd: int, until: float) -> None:
        while self.running and time.monotonic() < until:
            if self._kill_now:
                for job in self.running.values():
                    job.stopping = True
                    job.signal_group(signal.SIGKILL)
            self._reap()
            self._enforce_deadlines()
            self.reporter.refresh(self)
            self._wait(read_fd, min(0.5, max(0.0, until - time.monotonic())))
        self._reap()

