"""How long `fargo ls` and `fargo validate` take at the scale of thousands of jobs.

Run: python benchmarks/cli_scale.py [--jobs 2000] [--runs 5]

A project of N Fargate jobs (each with its own policy file, as deploy_bench.py makes them), the
commands interleaved with `python -c pass` as the floor; medians of `--runs`, bytecode written
by a first round that is not counted. Output goes to a pipe, as in a script or CI log.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from deploy_bench import fargo_project  # noqa: E402

COMMANDS = [["ls"], ["ls", "--stage", "dev"], ["validate"], ["validate", "--stage", "dev"],
            ["ls", "--json"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        fargo_project(root, args.jobs)
        cases = {"python -c pass": [sys.executable, "-c", "pass"]}
        cases.update({"fargo " + " ".join(c): [sys.executable, "-m", "fargo", *c]
                      for c in COMMANDS})
        times: dict[str, list[float]] = {label: [] for label in cases}
        for round_ in range(args.runs + 1):
            for label, command in cases.items():
                start = time.perf_counter()
                done = subprocess.run(command, cwd=root, capture_output=True,
                                      text=True)
                if done.returncode not in (0,):
                    raise SystemExit(f"{label} failed: {done.stderr[-2000:]}")
                if round_:
                    times[label].append(time.perf_counter() - start)
    floor = statistics.median(times["python -c pass"])
    print(f"{args.jobs} jobs, {args.runs} runs each, interleaved, Python "
          f"{sys.version.split()[0]}")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:32} median {median * 1000:8.1f} ms  ({median / floor:5.1f}x python -c pass)")


if __name__ == "__main__":
    main()
