"""`fargo up` with real processes and a real SQLite store; simulated clocks, not real minutes."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fargo.local.clock import SimulatedClock
from tests.conftest import _run, assert_clean_error, write_project

APP = """
import os, sys, time
from pathlib import Path
from fargo import App

app = App("upt")
MARKS = Path(os.environ.get("MARKS", "marks"))

def mark(name, text):
    MARKS.mkdir(exist_ok=True)
    with open(MARKS / name, "a") as f:
        f.write(text + "\\n")

@app.task("rate(1 minute)")
def tick(event):
    mark("tick", event.time)

@app.task("rate(1 minute)")
def slow(event):
    start = time.time()
    time.sleep(float(os.environ.get("SLOW", "0.6")))
    mark("slow", f"{event.time} {start} {time.time()}")

@app.task("rate(1 minute)")
def flaky(event, context):
    mark("flaky", f"{event.time} {context.attempt}")
    raise RuntimeError("source unavailable")

@app.task("rate(1 minute)")
def hang(event):
    mark("hang", str(os.getpid()))
    time.sleep(120)

@app.task("rate(1 minute)")
def stubborn(event):
    import signal
    signal.signal(signal.SIGTERM, lambda s, f: None)
    mark("stubborn", str(os.getpid()))
    time.sleep(120)

@app.task("rate(1 minute)")
def hog(event):
    data = bytearray(int(os.environ.get("HOG_MB", "700")) * 1024 * 1024)
    mark("hog", str(len(data)))

@app.task("rate(1 minute)")
def finisher(event, context):
    import atexit, threading
    atexit.register(mark, "finisher", "atexit " + os.environ.get("FARGO_RUN_ID", "?"))
    threading.Thread(target=lambda: (time.sleep(0.3), mark("finisher", "thread"))).start()
    print("printed by " + context.run_id)

@app.task("cron(0 * * * ? *)")
def hourly(event):
    mark("hourly", event.time)

@app.task("cron(30 2 * * ? *)", timezone="America/New_York")
def nightly(event):
    mark("nightly", event.time)
"""

T0 = "2024-01-01T00:00:00Z"


def project(tmp_path: Path, tasks: dict | None = None) -> Path:
    return write_project(tmp_path / "upt", APP, {"app_name": "upt", "tasks": tasks or {}})


REPLAY = ("--replay-name", "t")  # the tests' replays share one replay history, "t"


def replayed(args: tuple[str, ...]) -> tuple[str, ...]:
    return (*args, *REPLAY) if "--from" in args or "--speed" in args else args


def up(root: Path, *args: str, timeout: float = 120, env: dict | None = None):
    return _run(["up", "--plain", *replayed(args)], cwd=root, timeout=timeout,
                env={"MARKS": str(root / "marks"), **(env or {})})


def runs(root: Path, task: str | None = None, replay: bool = True) -> list[dict]:
    r = _run(["history", *([task] if task else []), "--last", "100000", "--json",
              *(["--replay", "t"] if replay else [])], cwd=root)
    assert r.returncode == 0, r.stderr
    return list(reversed(json.loads(r.stdout)))


def marks(root: Path, name: str) -> list[str]:
    path = root / "marks" / name
    return path.read_text().splitlines() if path.exists() else []


def test_simulated_hour_runs_every_slot_once(tmp_path: Path) -> None:
    # overlap=queue: on a loaded machine a run may outlast a simulated minute; no slot is lost
    root = project(tmp_path, {"tick": {"overlap": "queue"}})
    r = up(root, "--only", "tick", "--only", "hourly", "--from", T0, "--speed", "600",
           "--for", "1h", "--grace", "30s")
    assert r.returncode == 0, r.stdout + r.stderr
    ticks = runs(root, "tick")
    assert [t["status"] for t in ticks] == ["succeeded"] * 60
    expected = [(datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=m))
                .strftime("%Y-%m-%dT%H:%M:%SZ") for m in range(1, 61)]
    assert [t["scheduled_time"] for t in ticks] == expected
    assert marks(root, "tick") == expected  # the event time is the slot
    assert [h["scheduled_time"] for h in runs(root, "hourly")] == ["2024-01-01T01:00:00Z"]
    first = ticks[0]
    assert first["log_file"].startswith(".fargo/local/logs/tick/")
    assert (root / first["log_file"]).read_text().count('"status": "succeeded"') == 1
    assert "RLIMIT_DATA" in first["limits"]["memory"]
    db = sqlite3.connect(root / ".fargo/local/replay-t.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_dst_spring_forward_in_a_simulated_night(tmp_path: Path) -> None:
    root = project(tmp_path)
    r = up(root, "--only", "nightly", "--from", "2024-03-09T00:00:00Z", "--speed", "36000",
           "--for", "3d")
    assert r.returncode == 0, r.stdout + r.stderr
    # 02:30 does not exist in New York on 2024-03-10: skipped, as EventBridge Scheduler does
    assert [x["scheduled_time"] for x in runs(root, "nightly")] == [
        "2024-03-09T07:30:00Z", "2024-03-11T06:30:00Z"]


def test_overlap_skip_queue_allow(tmp_path: Path) -> None:
    results = {}
    for policy in ("skip", "queue", "allow"):
        root = project(tmp_path / policy, {"slow": {"overlap": policy}})
        r = up(root, "--only", "slow", "--from", T0, "--speed", "300", "--for", "3m",
               "--max-parallel", "4", env={"SLOW": "0.5"})
        assert r.returncode == 0, r.stdout + r.stderr
        results[policy] = runs(root, "slow")
        intervals = sorted((float(a), float(b)) for _, a, b in
                           (line.split() for line in marks(root, "slow")))
        overlapping = any(later[0] < earlier[1] for earlier, later in
                          itertools.pairwise(intervals))
        results[policy + "_overlap"] = overlapping
    skip = Counter(r["status"] for r in results["skip"])
    assert skip["skipped"] >= 1 and skip["succeeded"] >= 1
    assert any("overlap=skip" in (r["reason"] or "") for r in results["skip"])
    assert not any("overlap" in (r["reason"] or "") for r in results["queue"])
    assert not results["skip_overlap"] and not results["queue_overlap"]
    assert results["allow_overlap"]


def test_retries_with_backoff_and_no_retry_for_timeouts(tmp_path: Path) -> None:
    root = project(tmp_path, {"flaky": {"retries": 2}, "hang": {"retries": 2, "timeout": 1}})
    r = up(root, "--only", "flaky", "--only", "hang", "--from", T0, "--speed", "120",
           "--for", "4m")
    assert r.returncode == 0, r.stdout + r.stderr
    first_slot = [x for x in runs(root, "flaky") if x["scheduled_time"] == "2024-01-01T00:01:00Z"]
    assert [(x["attempt"], x["status"], x["exit_code"]) for x in first_slot] == [
        (1, "failed", 1), (2, "failed", 1), (3, "failed", 1)]
    starts = [datetime.fromisoformat(x["started_at"].replace("Z", "+00:00")) for x in first_slot]
    assert (starts[1] - starts[0]).total_seconds() >= 30  # exponential: 30 s, then 60 s
    assert (starts[2] - starts[1]).total_seconds() >= 60
    hang = runs(root, "hang")
    assert hang[0]["status"] == "timed_out" and hang[0]["exit_code"] == 124
    assert all(x["attempt"] == 1 for x in hang), "timeouts are not retried unless asked"


def test_timeout_retried_when_asked(tmp_path: Path) -> None:
    root = project(tmp_path, {"hang": {"retries": 1, "timeout": 1, "retry_timeouts": True}})
    up(root, "--only", "hang", "--from", T0, "--speed", "60", "--for", "5m")
    first = [x for x in runs(root, "hang") if x["scheduled_time"] == "2024-01-01T00:01:00Z"]
    assert [(x["attempt"], x["status"]) for x in first] == [(1, "timed_out"), (2, "timed_out")]


def test_memory_limit(tmp_path: Path) -> None:
    root = project(tmp_path, {"hog": {"memory": 512, "cpu": 256}})
    up(root, "--only", "hog", "--from", T0, "--speed", "60", "--for", "70s",
       env={"HOG_MB": "700"})
    (run,) = runs(root, "hog")
    assert run["status"] == "failed" and run["limits"]["memory"] == "RLIMIT_DATA 512 MiB"
    assert "MemoryError" in (root / run["log_file"]).read_text()
    roomy = project(tmp_path / "roomy", {"hog": {"memory": 2048, "cpu": 512}})
    up(roomy, "--only", "hog", "--from", T0, "--speed", "60", "--for", "70s",
       env={"HOG_MB": "700"})
    assert runs(roomy, "hog")[0]["status"] == "succeeded"


def test_max_parallel_queues_a_burst(tmp_path: Path) -> None:
    app = APP + "".join(
        f"\n@app.task('cron(5 0 * * ? *)')\ndef burst{i}(event):\n"
        f"    start = time.time()\n    time.sleep(1.0)\n"
        f"    mark('burst', f'{{start}} {{time.time()}}')\n" for i in range(6))
    root = write_project(tmp_path / "burst", app, {"app_name": "upt"})
    only = [arg for i in range(6) for arg in ("--only", f"burst{i}")]
    r = up(root, *only, "--from", T0, "--speed", "60", "--for", "10m", "--max-parallel", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    intervals = [tuple(map(float, line.split())) for line in marks(root, "burst")]
    assert len(intervals) == 6
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    assert peak == 2


def _catchup(tmp_path: Path, policy: str) -> list[dict]:
    root = project(tmp_path / policy, {"tick": {"catchup": policy}})
    up(root, "--only", "tick", "--from", T0, "--speed", "600", "--for", "5m")
    # down for 55 minutes, then start again
    again = up(root, "--only", "tick", "--from", "2024-01-01T01:00:30Z", "--speed", "300",
               "--for", "30m")
    said = [line for line in again.stdout.splitlines() if "skipped" in line]
    if policy != "all":  # one line for the 54 missed slots, not 54 lines
        assert len(said) == 1, again.stdout
        assert ("tick: 54 slots from 2024-01-01T00:06:00Z to 2024-01-01T00:59:00Z skipped: "
                f"missed: fargo up was not running or the clock jumped (catchup={policy}) "
                "(each is in the history)") in said[0], said
    return runs(root, "tick")


def test_catchup_policies(tmp_path: Path) -> None:
    latest = _catchup(tmp_path, "latest")
    missed = [r for r in latest if "2024-01-01T00:05:00Z" < r["scheduled_time"] <= "2024-01-01T01:00:00Z"]
    ran = [r["scheduled_time"] for r in missed if r["status"] == "succeeded"]
    assert ran == ["2024-01-01T01:00:00Z"]
    assert sum(r["status"] == "skipped" for r in missed) == 54
    none = _catchup(tmp_path, "none")
    # 01:00:00 was due 30 s before the restart: on time, not missed, so it runs under any policy
    missed = [r for r in none if "2024-01-01T00:05:00Z" < r["scheduled_time"] < "2024-01-01T01:00:00Z"]
    assert {r["status"] for r in missed} == {"skipped"} and len(missed) == 54
    every = _catchup(tmp_path, "all")
    missed = [r for r in every if "2024-01-01T00:05:00Z" < r["scheduled_time"] <= "2024-01-01T01:00:00Z"]
    assert {r["status"] for r in missed} == {"succeeded"} and len(missed) == 55
    for policy_runs in (latest, none, every):
        slots = Counter(r["scheduled_time"] for r in policy_runs if r["attempt"] == 1)
        assert max(slots.values()) == 1, "no slot fired twice"


def _wait_for(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _start_up(root: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, MARKS=str(root / "marks"), NO_COLOR="1")
    env.pop("FARGO_PROJECT_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain", *replayed(args)],
                            cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_sigkill_recovery_loses_nothing_and_fires_nothing_twice(tmp_path: Path) -> None:
    root = project(tmp_path, {"hang": {"timeout": 600}})
    proc = _start_up(root, "--only", "hang", "--only", "tick", "--from", T0, "--speed", "30")
    _wait_for(lambda: len(marks(root, "hang")) == 1 and len(marks(root, "tick")) >= 2)
    job_pid = int(marks(root, "hang")[0])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    os.kill(job_pid, 0)  # the orphaned job is still running
    r = up(root, "--only", "hang", "--only", "tick", "--from", T0, "--speed", "30",
           "--for", "4m", "--grace", "1")
    assert r.returncode == 0, r.stdout
    lost = [x for x in runs(root, "hang") if x["status"] == "lost"]
    assert len(lost) == 1 and f"leftover process {job_pid} was killed" in lost[0]["reason"]
    _wait_for(lambda: not Path(f"/proc/{job_pid}").exists(), 10)
    for task in ("hang", "tick"):
        slots = Counter(x["scheduled_time"] for x in runs(root, task))
        assert max(slots.values()) == 1, (task, slots)
    assert len(runs(root, "tick")) == 4


def test_graceful_stop_terms_then_kills(tmp_path: Path) -> None:
    root = project(tmp_path, {"hang": {"timeout": 600}, "stubborn": {"timeout": 600}})
    proc = _start_up(root, "--only", "hang", "--only", "stubborn", "--from", T0, "--speed", "60",
                     "--grace", "1")
    _wait_for(lambda: marks(root, "hang") and marks(root, "stubborn"))
    pids = [int(marks(root, "hang")[0]), int(marks(root, "stubborn")[0])]
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    hang, stubborn = runs(root, "hang")[0], runs(root, "stubborn")[0]
    assert hang["status"] == "failed" and hang["exit_code"] == 143
    assert stubborn["status"] == "failed" and stubborn["exit_code"] == -9
    assert "stopping" in hang["reason"]
    for pid in pids:
        _wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 10)
    assert "fargo up stopped (SIGTERM)" in output


def test_second_instance_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path)
    proc = _start_up(root, "--only", "tick", "--from", T0, "--speed", "10")
    lock = root / ".fargo/local/replay-t.lock"
    _wait_for(lambda: lock.exists() and lock.read_text().strip() != "")
    try:
        assert_clean_error(up(root, "--only", "tick", "--from", T0, "--speed", "10", "--for",
                              "1s"), "already running")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_real_time_at_schedule(tmp_path: Path) -> None:
    fire = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    app = APP + (f"\n@app.task('at({fire:%Y-%m-%dT%H:%M:%S})')\ndef once(event):\n"
                 "    mark('once', event.time)\n")
    root = write_project(tmp_path / "rt", app, {"app_name": "upt"})
    r = up(root, "--only", "once", "--for", "8s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert marks(root, "once") == [fire.strftime("%Y-%m-%dT%H:%M:%SZ")]


def test_bad_input(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert_clean_error(up(root, "--only", "tikc"), "no job named 'tikc'", "did you mean 'tick'")
    assert_clean_error(up(root, "--for", "forever"), "--for", "not a duration")
    assert_clean_error(up(root, "--from", "yesterday"), "--from", "not an ISO 8601")
    assert_clean_error(_run(["history"], cwd=root), "no local runs yet")
    up(root, "--only", "tick", "--from", T0, "--speed", "600", "--for", "2m")
    assert_clean_error(_run(["history", "tikc", "--replay", "t"], cwd=root),
                       "did you mean 'tick'")
    assert_clean_error(_run(["logs", "tick", "--run", "nope", "--replay"], cwd=root),
                       "no run 'nope'")
    assert_clean_error(_run(["history", "--replay", "tt"], cwd=root),
                       "no replay named 'tt'", "did you mean 't'")
    assert_clean_error(up(root, "--replay-name", "x"), "a replay needs --from or --speed")


def test_history_and_logs_commands(tmp_path: Path) -> None:
    # overlap=queue: on a loaded machine a run may outlast a simulated minute (0.1 s)
    root = project(tmp_path, {"flaky": {"retries": 0, "overlap": "queue"}})
    up(root, "--only", "tick", "--only", "flaky", "--from", T0, "--speed", "600", "--for", "3m")
    r = _run(["history", "--last", "2", "--replay"], cwd=root)
    assert r.returncode == 0 and "last 2 runs" in r.stdout
    r = _run(["history", "--last", "1", "--replay"], cwd=root)
    assert "last 1 run\n" in r.stdout
    r = _run(["history", "flaky", "--json", "--replay", "t"], cwd=root)
    flaky = json.loads(r.stdout)
    assert {x["status"] for x in flaky} == {"failed"}
    assert {x["reason"] for x in flaky} == {"RuntimeError: source unavailable"}
    assert all(0 < x["duration_s"] < 5 for x in flaky)  # real seconds, not simulated ones
    r = _run(["logs", "flaky", "--replay"], cwd=root)
    assert r.returncode == 0 and "RuntimeError: source unavailable" in r.stdout
    run_id = runs(root, "tick")[0]["run_id"]
    r = _run(["logs", "tick", "--run", run_id, "--replay", "t"], cwd=root)
    assert run_id in r.stdout
    assert_clean_error(_run(["history"], cwd=root), "no local runs yet")  # the real one


class JumpingClock(SimulatedClock):
    """A simulated clock whose wall time jumps by `delta` once `after` real seconds passed."""

    def __init__(self, start: datetime, speed: float, jumps: list[tuple[float, timedelta]]):
        super().__init__(start, speed)
        self.jumps = jumps

    def now(self) -> datetime:
        moment = super().now()
        elapsed = time.monotonic() - (self._origin or time.monotonic())
        return moment + sum((delta for after, delta in self.jumps if elapsed >= after),
                            timedelta())


def test_wall_clock_jumps_neither_refire_nor_stall(tmp_path: Path) -> None:
    import io

    from fargo.local.display import PlainReporter
    from fargo.local.scheduler import Scheduler
    from fargo.project.load import load_project

    root = project(tmp_path)
    os.environ["MARKS"] = str(root / "marks")
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    # 0.6 s real = 6 min: jump back 4 minutes; 1.2 s real: jump forward 2 hours
    clock = JumpingClock(start, 600, [(0.6, timedelta(minutes=-4)), (1.2, timedelta(hours=2))])
    log = io.StringIO()
    scheduler = Scheduler(load_project(root), clock, PlainReporter(log), only=("tick",),
                          run_for=2 * 3600 + 10 * 60)
    try:
        scheduler.run()
    finally:
        os.environ.pop("MARKS", None)
    ticks = runs(root, "tick", replay=False)
    slots = Counter(r["scheduled_time"] for r in ticks)
    assert max(slots.values()) == 1, "a backward jump must not fire a slot twice"
    ran = [r["scheduled_time"] for r in ticks if r["status"] == "succeeded"]
    assert ran == sorted(ran)
    skipped = [r for r in ticks if r["status"] == "skipped"]
    jumped = [r for r in skipped if "clock jumped" in r["reason"]]
    assert len(jumped) >= 100, "the forward jump's missed slots follow catchup=latest"
    assert ran[-1] >= "2024-01-01T02:05:00Z", "the scheduler kept going after the jump"


def test_orphan_without_a_stored_pid_is_found_by_its_run_id(tmp_path: Path) -> None:
    """The scheduler may die between starting a job and storing its pid."""
    root = project(tmp_path, {"hang": {"timeout": 600}})
    proc = _start_up(root, "--only", "hang", "--from", T0, "--speed", "30")
    _wait_for(lambda: len(marks(root, "hang")) == 1)
    job_pid = int(marks(root, "hang")[0])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(root / ".fargo" / "local" / "replay-t.db") as db:
        db.execute("UPDATE runs SET pid = NULL WHERE status = 'running'")
    r = up(root, "--only", "hang", "--from", T0, "--speed", "30", "--for", "10s")
    assert r.returncode == 0, r.stdout
    lost = [x for x in runs(root, "hang") if x["status"] == "lost"]
    assert len(lost) == 1 and f"leftover process {job_pid} was killed" in lost[0]["reason"]
    _wait_for(lambda: not Path(f"/proc/{job_pid}").exists(), 10)


def test_a_damaged_store_is_one_message_and_left_as_it_was(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert up(root, "--only", "tick", "--for", "1s").returncode == 0  # the real store
    store = root / ".fargo" / "local" / "runs.db"
    for wal in store.parent.glob("runs.db-*"):
        wal.unlink()
    good = store.read_bytes()
    damages = {"empty": b"", "truncated": good[: len(good) // 3],
               "garbage": b"this is not a database" * 100,
               "scribbled": good[:100] + b"\xff" * 4096 + good[4196:]}
    for name, data in damages.items():
        store.write_bytes(data)
        for args in (["up", "--plain", "--only", "tick", "--for", "1s"], ["history"]):
            r = _run(args, cwd=root, timeout=60)
            assert_clean_error(r, "cannot be used", "fargo leaves it as it is", "mv ")
            assert store.read_bytes() == data, (name, args)  # never reset, never repaired


def test_an_internal_error_stops_the_running_jobs_first(tmp_path: Path) -> None:
    """Whatever breaks inside fargo up, no job is left running unsupervised."""
    root = project(tmp_path, {"hang": {"timeout": 600}})
    logs = root / ".fargo" / "local" / "logs"
    logs.mkdir(parents=True)
    (logs / "hourly").write_text("a file where fargo up needs a directory")
    r = up(root, "--only", "hang", "--only", "hourly", "--from", T0, "--speed", "600",
           "--for", "2h", timeout=60)
    assert r.returncode != 0
    (job_pid,) = [int(p) for p in marks(root, "hang")]
    _wait_for(lambda: not Path(f"/proc/{job_pid}").exists(), 10)
    (hang,) = [x for x in runs(root, "hang") if x["status"] not in ("skipped",)]
    assert hang["status"] == "lost" and "internal error" in hang["reason"]
    assert "Traceback" in r.stderr  # an internal error is a bug: its trace is worth having


def test_a_forked_job_ends_like_an_interpreter(tmp_path: Path) -> None:
    """Warm or cold, a job's atexit handlers run, its threads are waited for, its output kept."""
    for how in ("warm", "cold"):
        root = project(tmp_path / how)
        r = up(root, "--only", "finisher", "--from", T0, "--speed", "600", "--for", "1m",
               *(["--cold"] if how == "cold" else []))
        assert r.returncode == 0, r.stdout
        (run,) = runs(root, "finisher")
        assert run["status"] == "succeeded", (how, run)
        assert marks(root, "finisher") == ["thread", f"atexit {run['run_id']}"], how
        log = (root / run["log_file"]).read_text()
        assert f"printed by {run['run_id']}" in log and '"status": "succeeded"' in log, how



def test_a_replay_runs_its_slots_and_leaves_the_real_history_alone(tmp_path: Path) -> None:
    root = project(tmp_path)
    for _ in range(2):
        assert _run(["invoke", "tick"], cwd=root, env={"MARKS": str(root / "marks")}
                    ).returncode == 0
    real = runs(root, replay=False)
    assert [r["trigger"] for r in real] == ["manual", "manual"]
    expected = ["2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z", "2024-01-01T00:03:00Z"]
    for _ in range(2):  # each replay (a new history by default) runs what it was asked for
        r = _run(["up", "--plain", "--only", "tick", "--from", T0, "--speed", "600", "--for",
                  "3m"], cwd=root, env={"MARKS": str(root / "marks")}, timeout=120)
        assert r.returncode == 0, r.stdout
        latest = json.loads(_run(["history", "--replay", "--json"], cwd=root).stdout)
        assert sorted(x["scheduled_time"] for x in latest) == expected
        assert all(x["duration_s"] < 5 for x in latest)  # real seconds
    assert runs(root, replay=False) == real  # untouched


def test_fargo_up_goes_on_when_its_reader_stops(tmp_path: Path) -> None:
    """`fargo up | head -1`: the scheduler keeps running the jobs and recording them (a broken
    pipe ended it at its next line, its runs left behind)."""
    root = project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
    env["MARKS"] = str(root / "marks")
    process = subprocess.Popen(
        [sys.executable, "-m", "fargo", "up", "--plain", "--only", "tick",
         *replayed(("--from", T0, "--speed", "60", "--for", "5m"))],
        cwd=root, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    ticks = [r for r in runs(root, "tick") if r["status"] == "succeeded"]
    assert len(ticks) >= 4, ticks


def test_a_warm_job_sees_the_project_as_it_is_now(tmp_path: Path) -> None:
    """The launcher compiles the project once (no bytecode may be written here); a file changed
    between two runs is the new one in the second run."""
    root = write_project(tmp_path / "warm", """
        import os
        from pathlib import Path

        from chalicelib import util
        from fargo import App

        app = App("warm")

        @app.task("rate(1 minute)")
        def grow(event):
            with open(os.path.join(os.environ["MARKS"], "grow"), "a") as f:
                f.write(f"{util.VALUE}\\n")
            Path(util.__file__).write_text(f"VALUE = {util.VALUE * 10}\\n")
        """, {"app_name": "warm"},
        files={"chalicelib/__init__.py": "", "chalicelib/util.py": "VALUE = 1\n"})
    (root / "marks").mkdir()
    r = up(root, "--from", T0, "--speed", "600", "--for", "3m",
           env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert marks(root, "grow") == ["1", "10", "100"]
    assert not list(root.rglob("__pycache__"))


def test_a_slot_that_misses_its_deadline_alerts_once(tmp_path: Path) -> None:
    # hourly succeeds within its deadline; flaky fails every slot: one alert per slot, and a
    # second run over the same replay history raises none again
    root = project(tmp_path, {"hourly": {"deadline": "20m"},
                              "flaky": {"schedule": "cron(0 * * * ? *)", "deadline": "10m"}})
    r = up(root, "--only", "hourly", "--only", "flaky", "--from", T0, "--speed", "1200",
           "--for", "2h30m", "--grace", "30s")
    assert r.returncode == 0, r.stdout + r.stderr
    missed = [line for line in r.stdout.splitlines() if "DEADLINE MISSED" in line]
    assert len(missed) == 2, r.stdout
    assert "flaky: DEADLINE MISSED: the slot of 2024-01-01T01:00:00Z had not succeeded by " \
           "2024-01-01T01:10:00Z (deadline 10m after its slot)" in missed[0]
    assert not any("hourly" in line for line in missed)
    db = sqlite3.connect(root / ".fargo/local/replay-t.db")
    rows = db.execute("SELECT task, scheduled_time, due FROM alerts ORDER BY scheduled_time"
                      ).fetchall()
    assert rows == [("flaky", "2024-01-01T01:00:00Z", "2024-01-01T01:10:00Z"),
                    ("flaky", "2024-01-01T02:00:00Z", "2024-01-01T02:10:00Z")]
