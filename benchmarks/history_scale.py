"""`fargo history`, `size` and `cost` over a run store of 100,000 runs, beside `python -c pass`.

Run: python benchmarks/history_scale.py [runs in the store] [rounds]
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import interleaved, report


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    fargo = [sys.executable, "-m", "fargo"]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*fargo, "new", "demo"], cwd=tmp, check=True, capture_output=True)
        root = Path(tmp) / "demo"
        subprocess.run([*fargo, "invoke", "ingest_events"], cwd=root, check=True,
                       capture_output=True)
        db = sqlite3.connect(root / ".fargo" / "local" / "runs.db")
        cursor = db.execute("SELECT * FROM runs LIMIT 1")
        columns = [d[0] for d in cursor.description]
        row = list(cursor.fetchone())
        rows = []
        for i in range(count):
            copy = list(row)
            copy[columns.index("run_id")] = f"run-{i:07d}"
            copy[columns.index("started_at")] = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T" \
                                                f"{i % 24:02d}:{i % 60:02d}:00.000Z"
            rows.append(copy)
        db.executemany(f"INSERT INTO runs VALUES ({','.join('?' * len(columns))})", rows)
        db.commit()
        db.close()
        commands = {"python -c pass": [sys.executable, "-c", "pass"],
                    "fargo history": [*fargo, "history"],
                    "fargo size": [*fargo, "size"],
                    "fargo cost": [*fargo, "cost", "--stage", "prod"],
                    "fargo history --json (all)": [*fargo, "history", "--json", "--last",
                                                   str(count)]}
        times = interleaved(commands, root, rounds)
    report(f"{count} runs in the store", times)


if __name__ == "__main__":
    main()
