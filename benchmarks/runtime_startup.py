"""Cost of starting a job: `python -m fargo.runtime noop` against a bare `python -c pass`.

Run: python benchmarks/runtime_startup.py [runs]
Prints median and p90 wall time of each, and the difference (fargo's overhead per job run).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(command: list[str], cwd: Path, env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return f"{label:34} median {statistics.median(times) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"


def main(runs: int = 30) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app.py").write_text(
            "from fargo import App\napp = App('bench')\n\n@app.task()\ndef noop(event):\n"
            "    pass\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")}
        bare = measure([sys.executable, "-c", "pass"], root, env, runs)
        fargo = measure([sys.executable, "-m", "fargo.runtime", "noop"], root, env, runs)
        print(f"{runs} runs each, {sys.version.split()[0]}")
        print(summary("python -c pass", bare))
        print(summary("python -m fargo.runtime noop", fargo))
        overhead = statistics.median(fargo) - statistics.median(bare)
        print(f"fargo runtime overhead (median): {overhead * 1000:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
