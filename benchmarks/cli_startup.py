"""How long the `fargo` command takes to answer, for commands people type many times a day.

Run: python benchmarks/cli_startup.py [runs] [--src DIR ...]

Each command runs in a project made by `fargo new`, the commands interleaved so that machine
noise hits all alike, with bytecode as a pip install has it (the first round writes it), and
`python -c pass` beside them as the floor. `--src DIR` times the fargo whose sources are in DIR
(a checkout's `src/`) instead of the installed one; given more than once, the versions are
interleaved too, so that two of them are compared in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [["--version"], ["schedule", "rate(5 minutes)"], ["ls"], ["validate"], ["history"],
            ["config", "ingest_events"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=20)
    parser.add_argument("--src", action="append", default=[],
                        help="time the fargo in this source directory (repeatable)")
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "FARGO_PROJECT_DIR", "PYTHONPATH")}
    versions = {src: {**base, "PYTHONPATH": str(Path(src).resolve())} for src in args.src}
    versions = versions or {"installed": base}
    fargo = [sys.executable, "-m", "fargo"]
    with tempfile.TemporaryDirectory() as tmp:
        first = next(iter(versions.values()))
        subprocess.run([*fargo, "new", "demo"], cwd=tmp, env=first, check=True,
                       stdout=subprocess.DEVNULL)
        project = Path(tmp) / "demo"
        subprocess.run([*fargo, "invoke", "ingest_events"], cwd=project, env=first, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # a run to list
        cases = {"python -c pass": ([sys.executable, "-c", "pass"], base)}
        for version, env in versions.items():
            tag = f"  [{version}]" if len(versions) > 1 else ""
            cases.update({"fargo " + " ".join(c) + tag: ([*fargo, *c], env) for c in COMMANDS})
        times: dict[str, list[float]] = {label: [] for label in cases}
        for round_ in range(args.runs + 1):
            for label, (command, env) in cases.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=project, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=True)
                if round_:  # the first round writes the bytecode
                    times[label].append(time.perf_counter() - start)
    print(f"{args.runs} runs each, interleaved, Python {sys.version.split()[0]}")
    for label, values in sorted(times.items(), key=lambda item: item[0].split("  [")[0]):
        print(f"{label:52} median {statistics.median(values) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
