"""What a workflow step costs locally, next to a bare interpreter per step, in the same run.

Run: python benchmarks/workflow_overhead.py [--repeat 3]

Measures, on this machine, with no-op jobs (each step a real `python -m fargo.runtime` process,
as `fargo invoke WORKFLOW` runs it; the run recorded in a SQLite history as the CLI does):
1. a sequence of 20 steps: wall time per step, against 20 sequential `python -c pass`;
2. a map over 100 items, 4 at once: wall time per item, against 100 `python -c pass` run 4 at
   a time.
The difference is fargo's overhead per step: the runtime's start, the event and result files,
the history rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fargo.local.store import RunStore, store_path
from fargo.local.workflow import WorkflowRun, record_steps
from fargo.project.load import load_project

APP = """
from fargo import App, each

app = App("bench")


@app.task
def noop(event):
    return event


app.workflow("seq20", *([noop] * 20))
app.workflow("map100", each(noop, max_concurrency=4))
"""


def bare(count: int, parallel: int) -> float:
    def one(_: int) -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - start


def workflow(root: Path, name: str, event: object) -> float:
    project = load_project(root, "dev")
    spec = project.workflow(name)
    assert spec is not None
    store = RunStore(store_path(root), threads=True)
    run = WorkflowRun(project, spec)
    run.on_step = record_steps(store, project, run.execution)
    start = time.perf_counter()
    run.run(event)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        (root / ".fargo").mkdir(parents=True)
        (root / "app.py").write_text(APP)
        (root / ".fargo" / "config.json").write_text(json.dumps({"app_name": "bench"}))
        results: dict[str, list[float]] = {k: [] for k in ("seq", "seq_bare", "map",
                                                            "map_bare")}
        for _ in range(args.repeat):  # interleaved, so both see the same machine
            results["seq_bare"].append(bare(20, 1))
            results["seq"].append(workflow(root, "seq20", {"n": 1}))
            results["map_bare"].append(bare(100, 4))
            results["map"].append(workflow(root, "map100", list(range(100))))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"python {sys.version.split()[0]}, medians of {args.repeat} runs")
    for label, key, steps in (("20-step sequence", "seq", 20),
                              ("map of 100 items, 4 at once", "map", 100)):
        ours, base = med[key], med[f"{key}_bare"]
        print(f"{label}: {ours:.2f} s ({ours / steps * 1000:.1f} ms per step); bare python "
              f"-c pass {base:.2f} s ({base / steps * 1000:.1f} ms per step); overhead "
              f"{(ours - base) / steps * 1000:.1f} ms per step ({ours / base:.2f}x)")


if __name__ == "__main__":
    main()
