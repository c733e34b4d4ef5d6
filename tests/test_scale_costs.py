"""Cost at scale (issue 12, item 8): what a recreate sends to the cache database.

A recreate deletes a dataset's cache entries in one delete by dataset, after counting them by
metric row in one aggregation, and keeps `cacheTotalMetric` exact. (The dashboard never reads
the cache entries: its costly counts are the collector's, tests/test_collected_counts.py.)
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.support.write_helpers import A_DATE, serve_dataset, upstream_cache_entry

DATASET = "org/ds"


def cache_commands(db_commands: Any) -> list[tuple[str, str]]:
    return [target for target in db_commands.collections if target[1] in ("cachedResponsesBlue", "cacheTotalMetric")]


def post_recreate(client: Client) -> Any:
    return client.post(f"/admin/recreate-dataset?dataset={DATASET}", data="", content_type="application/json")


def test_recreate_deletes_the_cache_entries_in_one_bulk_delete_with_exact_metric_rows(
    fake_hub: Any, client: Client, cache_db: Any, db_commands: Any
) -> None:
    entries = [
        upstream_cache_entry(
            kind=kind,
            dataset=DATASET,
            config=f"c{number}",
            http_status=200 if number % 3 else 500,
            error_code=None if number % 3 else f"E{number % 2}",
        )
        for kind in ("config-info", "config-parquet", "config-size")
        for number in range(40)
    ]
    entries.append(upstream_cache_entry(kind="dataset-info", dataset="org/other"))
    cache_db["cachedResponsesBlue"].insert_many(entries)
    rows = []
    for kind in ("config-info", "config-parquet", "config-size"):
        rows += [
            {"kind": kind, "http_status": 200, "total": 26 + 5, "created_at": A_DATE},
            {"kind": kind, "http_status": 500, "error_code": "E0", "total": 7, "created_at": A_DATE},
            {"kind": kind, "http_status": 500, "error_code": "E1", "total": 7 + 1, "created_at": A_DATE},
        ]
    rows.append({"kind": "dataset-info", "http_status": 200, "total": 1, "created_at": A_DATE})
    cache_db["cacheTotalMetric"].insert_many(rows)
    serve_dataset(fake_hub, DATASET)
    db_commands.collections.clear()

    response = post_recreate(client)

    assert response.json()["deleted_cached_responses"] == 120
    # 120 entries in 9 metric rows, whatever their number: one read, one bulk delete (each entry only
    # as read, so the rows move by what was deleted), one write of the rows, the read that finds none
    assert cache_commands(db_commands) == [
        ("find", "cachedResponsesBlue"),
        ("delete", "cachedResponsesBlue"),
        ("update", "cacheTotalMetric"),
        ("find", "cachedResponsesBlue"),
    ]
    assert [entry["dataset"] for entry in cache_db["cachedResponsesBlue"].find()] == ["org/other"]
    totals = {
        (row["kind"], row["http_status"], row.get("error_code")): row["total"]
        for row in cache_db["cacheTotalMetric"].find()
    }
    expected: dict[tuple[str, int, str | None], int] = {("dataset-info", 200, None): 1}
    for kind in ("config-info", "config-parquet", "config-size"):
        expected |= {(kind, 200, None): 5, (kind, 500, "E0"): 0, (kind, 500, "E1"): 1}
    assert totals == expected


def test_recreate_of_a_dataset_without_cache_entry_writes_no_metric_row(
    fake_hub: Any, client: Client, cache_db: Any, db_commands: Any
) -> None:
    serve_dataset(fake_hub, DATASET)
    db_commands.collections.clear()
    assert post_recreate(client).json()["deleted_cached_responses"] == 0
    assert cache_commands(db_commands) == [("find", "cachedResponsesBlue")]
    assert list(cache_db["cacheTotalMetric"].find()) == []
