"""`fargo cost` at scale: 1,000 every-minute jobs, beside `fargo validate` of the same project
and a bare `python -c pass` (the floor), interleaved.

Run: python benchmarks/cost_scale.py [jobs] [runs]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from timing import interleaved, report


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
        times = interleaved(commands, root, runs)
    report(f"{jobs} every-minute jobs", times)


if __name__ == "__main__":
    main()
