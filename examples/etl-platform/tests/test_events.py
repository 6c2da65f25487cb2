import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib import events  # noqa: E402


def test_batches_are_deterministic_per_minute():
    assert events.fetch_batch("2024-01-01T00:00:00Z", 10) == events.fetch_batch(
        "2024-01-01T00:00:00Z", 10)


def test_clean_drops_invalid_and_duplicates():
    rows = [{"id": "a", "amount": 1}, {"id": "a", "amount": 1}, {"id": "b"}, None]
    assert events.clean(rows) == ([{"id": "a", "amount": 1}], 2)
