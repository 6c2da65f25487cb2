"""`fargo cost` at scale: 1,000 every-minute jobs, beside `fargo validate` of the same project
and a bare `python -c pass` (the floor), interleaved.

Run: python benchmarks/cost_scale.py [jobs] [runs]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".fargo").mkdir()
        (root / "app.py").write_text("from fargo import App\napp = App('big')\n" + "".join(
            f"\n@app.task('rate(1 minute)', timeout='5m')\ndef job_{i}(event):\n    return None\n"
            for i in range(jobs)))
        (root / ".fargo" / "config.json").write_text(json.dumps({
            "app_name": "big", "stages": {"prod": {"region": "us-east-1",
                                                   "subnets": ["subnet-0a1b2c3d"],
                                                   "security_groups": ["sg-0a1b2c3d"]}}}))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "fargo validate": [sys.executable, "-m", "fargo", "validate", "--stage", "prod"],
            "fargo cost": [sys.executable, "-m", "fargo", "cost", "--stage", "prod"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                began = time.perf_counter()
                subprocess.run(command, cwd=root, capture_output=True, check=True)
                times[name].append(time.perf_counter() - began)
    floor = statistics.median(times["python -c pass"])
    print(f"{jobs} every-minute jobs, medians of {runs}:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:16} {median * 1000:8.0f} ms  {median / floor:6.1f}x python -c pass")


if __name__ == "__main__":
    main()
