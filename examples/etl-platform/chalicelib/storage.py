"""Local-disk storage (an S3 prefix in production), written atomically."""

import json
import os
from pathlib import Path


def _atomic_write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def append_landing(directory, event_time, batch):
    name = event_time.replace(":", "").replace("-", "") + ".jsonl"
    path = Path(directory) / name
    _atomic_write(path, "".join(json.dumps(r) + "\n" for r in batch))
    return path


def read_landing(directory):
    rows = []
    for path in sorted(Path(directory).glob("*.jsonl")) if Path(directory).exists() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                rows.append(None)
    return rows


def write_partitions(directory, rows):
    by_day = {}
    for row in rows:
        by_day.setdefault(row["ts"][:10], []).append(row)
    for day, day_rows in by_day.items():
        _atomic_write(Path(directory) / f"day={day}.jsonl",
                      "".join(json.dumps(r, sort_keys=True) + "\n" for r in day_rows))
    return len(by_day)


def read_partitions(directory):
    rows = []
    for path in sorted(Path(directory).glob("day=*.jsonl")) if Path(directory).exists() else []:
        rows.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return rows


def write_json(path, data):
    _atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def remove_old(directory, keep):
    files = sorted(Path(directory).glob("*.jsonl")) if Path(directory).exists() else []
    for path in files[:-keep] if keep else files:
        path.unlink()
    return max(0, len(files) - keep)
