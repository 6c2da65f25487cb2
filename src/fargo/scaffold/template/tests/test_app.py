"""Unit tests of the shared ETL code and a job handler: run with `python -m pytest`."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib import etl  # noqa: E402


def test_split_and_deduplicate():
    rows = [{"id": "a", "ts": "2024-01-01T00:00:00Z", "type": "sale", "amount": 3},
            {"id": "a", "ts": "2024-01-01T00:00:00Z", "type": "sale", "amount": 3},
            {"id": "b", "ts": "2024-01-01"}, None]
    valid, rejected = etl.split_valid(rows)
    assert len(rejected) == 2
    assert [r["id"] for r in etl.deduplicate(valid)] == ["a"]


def test_totals_per_day():
    rows = [{"id": "a", "ts": "2024-01-01T10:00:00Z", "type": "sale", "amount": 2.5},
            {"id": "b", "ts": "2024-01-01T11:00:00Z", "type": "sale", "amount": 1},
            {"id": "c", "ts": "2024-01-02T09:00:00Z", "type": "refund", "amount": -1}]
    assert etl.totals_per_day(rows) == {"2024-01-01": {"sale": 3.5},
                                        "2024-01-02": {"refund": -1.0}}


def test_ingest_handler_writes_partitions(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "events.jsonl").write_text(
        json.dumps({"id": "x", "ts": "2024-05-01T00:00:00Z", "type": "sale", "amount": 1}) + "\n"
        + "not json\n")
    monkeypatch.setenv("DATA_URL", str(data))
    monkeypatch.setenv("OUTPUT_URL", str(tmp_path / "out"))
    import app as app_module

    class Context:
        import logging
        logger = logging.getLogger("test")

    result = app_module.ingest_events(None, Context())
    assert result == {"rows": 2, "rejected": 1, "written": 1}
    assert (tmp_path / "out" / "clean" / "events-2024-05-01.jsonl").exists()


def test_ingest_handler_with_nothing_landed(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_URL", str(tmp_path / "empty"))
    monkeypatch.setenv("OUTPUT_URL", str(tmp_path / "out"))
    import app as app_module

    class Context:
        import logging
        logger = logging.getLogger("test")

    assert app_module.ingest_events(None, Context()) == {"rows": 0, "rejected": 0, "written": 0}


def test_older_than():
    listing = [("clean/a.jsonl", 0.0), ("clean/b.jsonl", 100 * 86400.0)]
    assert etl.older_than(listing, days=30, now=100 * 86400.0) == ["clean/a.jsonl"]
