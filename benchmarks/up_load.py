"""fargo up under load, next to APScheduler 3 launching the same subprocesses.

Run: python benchmarks/up_load.py [--jobs 1000] [--idle-jobs 200] [--skip-apscheduler]
(APScheduler is not a dependency of fargo: `pip install 'apscheduler<4'` to include it.)

Measures, on this machine:
1. dispatch overhead: fire -> exit recorded for a no-op job, against a bare `python -c pass`;
2. a burst: N jobs due in the same minute, max_parallel = CPU count: lateness p50/p99 of each
   job's start after its slot, and the total time until the last one finished;
3. idle CPU: fargo up with 200 jobs scheduled (none due) for 20 s;
4. the same burst run by APScheduler 3 (BackgroundScheduler, thread pool of CPU count).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


def write_project(root: Path, jobs: int, schedule: str) -> None:
    root.mkdir(parents=True)
    (root / ".fargo").mkdir()
    (root / ".fargo" / "config.json").write_text(json.dumps({"app_name": "bench"}))
    lines = ["from fargo import App", "app = App('bench')"]
    for i in range(jobs):
        lines += [f"@app.task({schedule!r})", f"def job{i}(event):", "    pass"]
    (root / "app.py").write_text("\n".join(lines) + "\n")


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def fargo(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fargo", *args], cwd=root, text=True,
                          capture_output=True, check=False)


def history(root: Path) -> list[dict]:
    """The runs of the project's latest replay (fargo up --from keeps its own history)."""
    return json.loads(fargo(root, "history", "--replay", "--last", "100000", "--json").stdout)


def bare_python(runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def dispatch_overhead(base: Path) -> None:
    root = base / "overhead"
    write_project(root, 1, "rate(1 minute)")
    speed = 60.0  # a slot every real second: each run ends long before the next one
    fargo(root, "up", "--plain", "--no-memory-limit", "--from", "2024-01-01T00:00:00Z",
          "--speed", str(speed), "--for", "30m")
    runs = [r for r in history(root) if r["status"] == "succeeded"]
    real = [(parse(r["ended_at"]) - parse(r["scheduled_time"])).total_seconds() / speed
            for r in runs]
    bare = bare_python()
    print(f"1. dispatch, fire -> exit recorded ({len(real)} runs): median "
          f"{statistics.median(real) * 1000:.1f} ms; bare `python -c pass`: "
          f"{bare * 1000:.1f} ms ({statistics.median(real) / bare:.2f}x)")


def burst(base: Path, jobs: int) -> float:
    root = base / "burst"
    write_project(root, jobs, "cron(5 0 * * ? *)")
    started = time.perf_counter()
    # real-time clock from two seconds before the slot; stopped once every job has finished
    proc = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain", "--no-memory-limit",
                             "--from", "2024-01-01T00:04:58Z"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import sqlite3

    while True:
        time.sleep(1)
        replays = sorted((root / ".fargo" / "local").glob("replay-*.db"))
        if replays:
            try:
                with sqlite3.connect(replays[-1]) as conn:
                    done = conn.execute(
                        "SELECT COUNT(*) FROM runs WHERE status!='running'").fetchone()[0]
            except sqlite3.OperationalError:  # not created yet
                done = 0
            if done >= jobs:
                break
        if time.perf_counter() - started > 900:
            break
    proc.terminate()
    proc.wait()
    runs = history(root)
    slot = parse("2024-01-01T00:05:00Z")
    late = [(parse(r["started_at"]) - slot).total_seconds() for r in runs if r["started_at"]]
    last_end = max(parse(r["ended_at"]) for r in runs if r["ended_at"])
    statuses = {s: sum(r["status"] == s for r in runs) for s in {r["status"] for r in runs}}
    print(f"2. burst of {jobs} jobs due at the same minute, max_parallel {os.cpu_count()}: "
          f"lateness p50 {pct(late, 50):.2f} s, p99 {pct(late, 99):.2f} s; all done "
          f"{(last_end - slot).total_seconds():.1f} s after the slot; {statuses}")
    return pct(late, 99)


def idle_cpu(base: Path, jobs: int, seconds: float = 20.0) -> None:
    root = base / "idle"
    write_project(root, jobs, "cron(0 3 * * ? *)")
    proc = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain",
                             "--from", "2024-01-01T04:00:00Z"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(5)  # start-up
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    before = cpu()
    time.sleep(seconds)
    used = cpu() - before
    proc.terminate()
    proc.wait()
    print(f"3. idle with {jobs} jobs scheduled: {used:.2f} CPU-seconds in {seconds:.0f} s "
          f"({used / seconds * 100:.2f} % of one core)")


def apscheduler_burst(base: Path, jobs: int) -> float | None:
    try:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.date import DateTrigger
    except ImportError:
        print("4. APScheduler 3 not installed: pip install 'apscheduler<4'")
        return None
    root = base / "aps"
    write_project(root, jobs, "cron(5 0 * * ? *)")
    env = dict(os.environ, FARGO_PROJECT_DIR=str(root))
    starts: list[float] = []
    ends: list[float] = []

    def run(name: str) -> None:
        starts.append(time.time())
        subprocess.run([sys.executable, "-m", "fargo.runtime", name], cwd=root, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ends.append(time.time())

    workers = os.cpu_count() or 1
    scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(workers)},
                                    job_defaults={"misfire_grace_time": 3600,
                                                  "coalesce": False, "max_instances": 1})
    slot = datetime.now(timezone.utc) + timedelta(seconds=3)
    for i in range(jobs):
        scheduler.add_job(run, DateTrigger(run_date=slot), args=[f"job{i}"], id=f"job{i}")
    scheduler.start()
    while len(ends) < jobs:
        time.sleep(0.5)
    scheduler.shutdown()
    slot_ts = slot.timestamp()
    late = [s - slot_ts for s in starts]
    print(f"4. APScheduler 3, same burst ({workers} threads, subprocess per job): lateness p50 "
          f"{pct(late, 50):.2f} s, p99 {pct(late, 99):.2f} s; all done "
          f"{max(ends) - slot_ts:.1f} s after the slot (no run history, no crash safety)")
    return pct(late, 99)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--idle-jobs", type=int, default=200)
    parser.add_argument("--skip-apscheduler", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        dispatch_overhead(base)
        ours = burst(base, args.jobs)
        idle_cpu(base, args.idle_jobs)
        if not args.skip_apscheduler:
            theirs = apscheduler_burst(base, args.jobs)
            if theirs:
                print(f"burst p99 lateness, fargo up / APScheduler 3: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
