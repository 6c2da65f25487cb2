"""The data lake: a folder when the jobs run here, an S3 bucket when they run on AWS.

DATA_DIR is a folder (`data`, set by local_environment_variables in .fargo/config.json) or an
S3 URL (`s3://etl-platform-data`, the deployed environment); every job reads and writes through
these functions, so the code that runs on a laptop is the code that runs in the container and on
Lambda. Writes are whole: a folder gets a temporary file renamed, S3 a single PutObject.
"""

import json
import os
from pathlib import Path


def root():
    return os.environ.get("DATA_DIR", "data")


def _s3(location):
    """(client, bucket, key prefix) of an s3:// location, else None."""
    if not location.startswith("s3://"):
        return None
    import boto3  # Lambda has it; fargo build adds it to the image

    bucket, _, prefix = location[len("s3://"):].partition("/")
    return boto3.client("s3"), bucket, prefix.strip("/")


def _join(location, name):
    return f"{location.rstrip('/')}/{name}"


def _put(location, name, text):
    s3 = _s3(location)
    if s3:
        client, bucket, prefix = s3
        client.put_object(Bucket=bucket, Key=_join(prefix, name).lstrip("/"),
                          Body=text.encode("utf-8"))
        return
    path = Path(location) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _names(location, pattern_prefix="", suffix=".jsonl"):
    """Sorted names (relative to location) of the objects there."""
    s3 = _s3(location)
    if s3:
        client, bucket, prefix = s3
        start = _join(prefix, pattern_prefix).lstrip("/")
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=start):
            found += [item["Key"][len(prefix) + 1 if prefix else 0:]
                      for item in page.get("Contents", []) if item["Key"].endswith(suffix)]
        return sorted(found)
    folder = Path(location)
    return sorted(p.name for p in folder.glob(f"{pattern_prefix}*{suffix}")) \
        if folder.is_dir() else []


def _get(location, name):
    s3 = _s3(location)
    if s3:
        client, bucket, prefix = s3
        key = _join(prefix, name).lstrip("/")
        return client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    return (Path(location) / name).read_text(encoding="utf-8")


def _delete(location, name):
    s3 = _s3(location)
    if s3:
        client, bucket, prefix = s3
        client.delete_object(Bucket=bucket, Key=_join(prefix, name).lstrip("/"))
    else:
        (Path(location) / name).unlink(missing_ok=True)


def append_landing(location, event_time, batch):
    name = event_time.replace(":", "").replace("-", "") + ".jsonl"
    _put(location, name, "".join(json.dumps(r) + "\n" for r in batch))
    return name


def read_landing(location):
    rows = []
    for name in _names(location):
        for line in _get(location, name).splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                rows.append(None)
    return rows


def write_partitions(location, rows):
    by_day = {}
    for row in rows:
        by_day.setdefault(row["ts"][:10], []).append(row)
    for day, day_rows in by_day.items():
        _put(location, f"day={day}.jsonl",
             "".join(json.dumps(r, sort_keys=True) + "\n" for r in day_rows))
    return len(by_day)


def read_partitions(location):
    rows = []
    for name in _names(location, "day="):
        rows.extend(json.loads(line) for line in _get(location, name).splitlines())
    return rows


def write_json(location, name, data):
    _put(location, name, json.dumps(data, indent=2, sort_keys=True) + "\n")


def remove_old(location, keep):
    names = _names(location)
    for name in names[:-keep] if keep else names:
        _delete(location, name)
    return max(0, len(names) - keep)
