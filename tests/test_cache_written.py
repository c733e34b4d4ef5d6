"""Cache entries written per interval (`cachereports.selectors.cache_entries_written`): one indexed aggregation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cachereports.selectors.written import WrittenEntries, cache_entries_written, written_pipeline
from tests.support.page_data import insert_cache_entry
from tests.support.query_audit import audit, declared_indexes, shapes_of_command

SINCE = datetime(2024, 6, 1, 11, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=1)


def at(minutes: float) -> datetime:
    return SINCE + timedelta(minutes=minutes)


def test_entries_are_counted_by_interval_kind_status_and_error_code(cache_db: Any, db_commands: Any) -> None:
    insert_cache_entry(cache_db, kind="config-info", dataset="a", config="c", updated_at=at(0))
    insert_cache_entry(cache_db, kind="config-info", dataset="b", config="c", updated_at=at(14.9))
    insert_cache_entry(cache_db, kind="config-info", dataset="c", config="c", updated_at=at(15))
    insert_cache_entry(
        cache_db, kind="config-info", dataset="d", config="c", http_status=500, error_code="E", updated_at=at(16)
    )
    insert_cache_entry(
        cache_db, kind="dataset-info", dataset="e", http_status=500, error_code="E", updated_at=at(59.99)
    )
    # an error without a code, as absent and as null: one "no code" group
    insert_cache_entry(cache_db, kind="dataset-info", dataset="f", http_status=404, updated_at=at(20))
    cache_db["cachedResponsesBlue"].insert_one(
        {"kind": "dataset-info", "dataset": "g", "http_status": 404, "error_code": None, "updated_at": at(21)}
    )
    # outside the window, or not a step of the graph: not counted
    insert_cache_entry(cache_db, kind="config-info", dataset="h", config="c", updated_at=at(-0.01))
    insert_cache_entry(cache_db, kind="config-info", dataset="i", config="c", updated_at=UNTIL)
    cache_db["cachedResponsesBlue"].insert_one(
        {"kind": "old-kind", "dataset": "j", "http_status": 200, "updated_at": at(30)}
    )
    db_commands.commands.clear()

    written = cache_entries_written(since=SINCE, until=UNTIL, interval_seconds=900)

    assert [name for name, _ in db_commands.commands] == ["aggregate"]
    assert written == [
        WrittenEntries(at(0), "config-info", 200, None, 2),
        WrittenEntries(at(15), "config-info", 200, None, 1),
        WrittenEntries(at(15), "config-info", 500, "E", 1),
        WrittenEntries(at(15), "dataset-info", 404, None, 2),
        WrittenEntries(at(45), "dataset-info", 500, "E", 1),
    ]


def test_an_answer_of_thousands_of_groups_is_one_round_trip(cache_db: Any, db_commands: Any) -> None:
    """More groups than a first batch holds by default (101): still one command, no getMore."""
    cache_db["cachedResponsesBlue"].insert_many(
        [
            {
                "kind": "config-info",
                "dataset": f"d{n}",
                "http_status": 500,
                "error_code": f"E{n}",
                "updated_at": at(n % 60),
            }
            for n in range(300)
        ]
    )
    db_commands.commands.clear()
    written = cache_entries_written(since=SINCE, until=UNTIL, interval_seconds=60)
    assert len(written) == 300
    assert [name for name, _ in db_commands.commands] == ["aggregate"]


def test_the_aggregation_is_served_by_index_kind_updated() -> None:
    """`$in` on every step, then the `updated_at` range: index (kind, updated_at, dataset), branch by branch."""
    pipeline = written_pipeline(since=SINCE, until=UNTIL, interval_seconds=60)
    shapes = shapes_of_command("aggregate", {"aggregate": "cachedResponsesBlue", "pipeline": pipeline})
    assert len(shapes) == 1
    assert audit(shapes) == []
    # the audit bites: without the index, the same shape is a finding
    indexes = declared_indexes()
    indexes["cachedResponsesBlue"] = [
        keys for keys in indexes["cachedResponsesBlue"] if keys[:2] != [("kind", 1), ("updated_at", 1)]
    ]
    assert len(audit(shapes, indexes)) == 1
