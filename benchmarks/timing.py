"""Commands timed side by side: interleaved rounds, so machine noise hits all alike, and
medians printed against the first command (the floor, `python -c pass`)."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path


def interleaved(commands: dict[str, list[str]], cwd: Path, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            began = time.perf_counter()
            subprocess.run(command, cwd=cwd, capture_output=True, check=True)
            times[name].append(time.perf_counter() - began)
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    floor_name = next(iter(times))
    floor = statistics.median(times[floor_name])
    print(f"{title}, medians of {len(times[floor_name])}:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:28} {median * 1000:8.0f} ms  {median / floor:7.1f}x {floor_name}")
