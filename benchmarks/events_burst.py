"""Events delivered to fargo up in a burst: how fast patterns match, how soon jobs start.

Run: python benchmarks/events_burst.py [--events 1000] [--patterns 10] [--max-parallel 2]

Measures, on this machine:
1. match throughput: events x patterns matched in-process by fargo.patterns (what fargo up
   does for each event), in pattern evaluations per second;
2. a burst: N events handed to a running `fargo up` the way `fargo emit` hands them (inbox
   file + wake-up signal; the CLI's own start-up is measured apart), each matching one of
   P no-op jobs. Reported: emit -> recorded (the event claimed and its run queued) and
   emit -> started, p50/p99, and the time until the last run ended;
3. the `fargo emit` command itself, end to end (median of 10), for the CLI's share.
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
from datetime import datetime
from pathlib import Path

from fargo.local import inbox
from fargo.patterns import matches


def pattern(i: int) -> dict[str, object]:
    """Ten different shapes of pattern, as real rules have them."""
    shapes: list[dict[str, object]] = [
        {"source": ["bench.app"], "detail-type": [f"Type {i}"]},
        {"source": ["bench.app"], "detail": {"kind": [{"prefix": f"k{i}-"}]}},
        {"source": ["bench.app"],
         "detail": {"n": [{"numeric": [">=", i * 100, "<", i * 100 + 100]}]}},
        {"source": ["bench.app"], "detail": {"key": [{"suffix": f".{i}.csv"}]}},
        {"source": ["bench.app"], "detail": {"tag": [{"equals-ignore-case": f"TAG{i}"}]}},
        {"source": ["bench.app"], "detail": {"path": [{"wildcard": f"raw/*/{i}/*"}]}},
        {"source": ["bench.app"], "detail": {"ip": [{"cidr": f"10.{i}.0.0/16"}]}},
        {"source": ["bench.app"],
         "detail": {"state": [{"anything-but": ["off"]}], "zone": [f"z{i}"]}},
        {"source": ["bench.app"], "$or": [{"detail-type": [f"Or {i}"]}, {"detail": {"or": [i]}}]},
        {"source": ["bench.app"], "detail": {"flag": [{"exists": True}], "slot": [i]}},
    ]
    return shapes[i % len(shapes)]


def event_for(i: int, n: int) -> dict[str, object]:
    """An event the pattern of job i % n matches, and (by construction) no other."""
    j = i % n
    detail: dict[str, object] = [
        {}, {"kind": f"k{j}-x"}, {"n": j * 100 + 5}, {"key": f"a.{j}.csv"}, {"tag": f"tag{j}"},
        {"path": f"raw/2024/{j}/f"}, {"ip": f"10.{j}.3.4"}, {"state": "on", "zone": f"z{j}"},
        {"or": j}, {"flag": 1, "slot": j}][j % 10]
    return {"source": "bench.app", "detail-type": f"Type {j}" if j % 10 == 0 else "Bench",
            "detail": detail}


def write_project(root: Path, patterns: int) -> None:
    root.mkdir(parents=True)
    (root / ".fargo").mkdir()
    (root / ".fargo" / "config.json").write_text(json.dumps({"app_name": "bench"}))
    lines = ["from fargo import App", "app = App('bench')"]
    for i in range(patterns):
        lines += [f"@app.task(events={pattern(i)!r})", f"def job{i}(event):", "    pass"]
    (root / "app.py").write_text("\n".join(lines) + "\n")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def match_throughput(events: int, patterns: int) -> float:
    pats = [pattern(i) for i in range(patterns)]
    full = [inbox.envelope(event_for(i, patterns), None, None, "0", "us-east-1")
            for i in range(events)]
    start = time.perf_counter()
    hits = sum(matches(p, e) for e in full for p in pats)
    elapsed = time.perf_counter() - start
    assert hits == events, f"each event matches exactly one pattern (got {hits} for {events})"
    return events * patterns / elapsed


def burst(root: Path, events: int, patterns: int, max_parallel: int) -> dict[str, float]:
    env = dict(os.environ, NO_COLOR="1")
    up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain", "--max-parallel",
                           str(max_parallel)], cwd=root, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while (pid := inbox.running_scheduler(root)) is None:
            assert time.monotonic() < deadline, "fargo up did not start"
            time.sleep(0.05)
        time.sleep(1.0)  # its start-up done: the burst meets a waiting scheduler
        sent: dict[str, float] = {}
        for i in range(events):
            full = inbox.envelope(event_for(i, patterns), None, None, "0", "us-east-1")
            sent[full["id"]] = time.time()
            inbox.post(root, full)
            inbox.wake(pid)
        done = None
        while done is None:
            out = subprocess.run([sys.executable, "-m", "fargo", "history", "--last", "100000",
                                  "--json"], cwd=root, capture_output=True, text=True, env=env)
            runs = json.loads(out.stdout) if out.returncode == 0 else []
            if len(runs) >= events and all(r["status"] != "running" for r in runs):
                done = runs
            else:
                time.sleep(0.5)
    finally:
        up.terminate()
        up.wait(timeout=60)
    recorded = [stamp(r["queued_at"]) - sent[r["event_id"]] for r in done]
    started = [stamp(r["started_at"]) - sent[r["event_id"]] for r in done]
    last_end = max(stamp(r["ended_at"]) for r in done) - min(sent.values())
    assert len({r["event_id"] for r in done}) == events and len(done) == events
    return {"recorded_p50": pct(recorded, 50), "recorded_p99": pct(recorded, 99),
            "started_p50": pct(started, 50), "started_p99": pct(started, 99),
            "all_ended": last_end}


def emit_cli(root: Path, runs: int = 10) -> float:
    """`fargo emit` end to end, with a fargo up taking the events."""
    up = subprocess.Popen([sys.executable, "-m", "fargo", "up", "--plain"], cwd=root,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while inbox.running_scheduler(root) is None:
            time.sleep(0.05)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "fargo", "emit", '{"slot": 1, "flag": 1}',
                            "--source", "bench.app", "--detail-type", "Bench"], cwd=root,
                           check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        up.terminate()
        up.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--patterns", type=int, default=10)
    parser.add_argument("--max-parallel", type=int, default=2)
    args = parser.parse_args()
    rate = match_throughput(args.events, args.patterns)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        write_project(root, args.patterns)
        figures = burst(root, args.events, args.patterns, args.max_parallel)
        cli = emit_cli(root)
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    print(f"1. matching: {args.events} events x {args.patterns} patterns: "
          f"{rate:,.0f} pattern evaluations/s ({rate / args.patterns:,.0f} events/s)")
    print(f"2. burst of {args.events} events, {args.patterns} no-op jobs, "
          f"max_parallel {args.max_parallel}:")
    print(f"   emit -> recorded  p50 {figures['recorded_p50'] * 1000:.0f} ms, "
          f"p99 {figures['recorded_p99'] * 1000:.0f} ms")
    print(f"   emit -> started   p50 {figures['started_p50']:.2f} s, "
          f"p99 {figures['started_p99']:.2f} s")
    print(f"   last run ended {figures['all_ended']:.2f} s after the first emit "
          f"({args.events / figures['all_ended']:.0f} runs/s)")
    print(f"3. fargo emit (CLI, end to end): median {cli * 1000:.0f} ms")


if __name__ == "__main__":
    main()
