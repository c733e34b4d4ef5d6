"""Writes to the cache database: deleting a dataset's cache entries with their metric rows.

`cacheTotalMetric` counts entries by (kind, http_status, error_code); upstream decrements the
row of each entry it deletes (`simple_cache.delete_dataset_responses`). We do the same in three
commands whatever the number of entries or of metric rows: count the dataset's entries by row
(one aggregation), delete them all by dataset (one `delete_many`, index (dataset, kind,
http_status)), then decrement every row by its count (one unordered bulk of `$inc`, see
`foundation.database.metric_rows`).
"""

from __future__ import annotations

from typing import Any

from foundation.database import metric_rows, mongo

MetricRow = tuple[str | None, Any, str | None]


def decrement_cache_metric(*, kind: str | None, http_status: Any, error_code: str | None, by: int) -> None:
    """`$inc` the row of (kind, http_status, error_code) by -by, upserting it as upstream does."""
    metric_rows.increment_row(
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC],
        row={"kind": kind, "http_status": http_status, "error_code": error_code},
        field="total",
        by=-by,
        now=mongo.utc_now(),
    )


def _entries_by_metric_row(*, dataset: str) -> dict[MetricRow, int]:
    """The dataset's entries counted by (kind, http_status, error_code): one aggregation on index (dataset, ...)."""
    groups = mongo.cache_database()[mongo.CACHED_RESPONSES].aggregate(
        [
            {"$match": {"dataset": dataset}},
            {
                "$group": {
                    "_id": {"kind": "$kind", "http_status": "$http_status", "error_code": "$error_code"},
                    "count": {"$sum": 1},
                }
            },
        ]
    )
    counts: dict[MetricRow, int] = {}
    for group in groups:
        key = group["_id"]
        row = (key.get("kind"), key.get("http_status"), key.get("error_code"))
        counts[row] = counts.get(row, 0) + int(group["count"])
    return counts


def delete_dataset_cache_entries(*, dataset: str) -> int:
    """Delete every cache entry of a dataset, decrementing `cacheTotalMetric`; return the count.

    Three commands (one when the dataset has no entry): the count by metric row, one delete by
    dataset, one bulk of decrements. The residual race, as upstream's: without transactions, a
    worker that writes an entry of the dataset between the count and the delete (a new entry,
    or an entry rewritten with another http_status or error_code) makes a row drift by that
    entry: the delete removes it, but the decrements follow what was counted. Upstream reads
    the entries, decrements their rows one by one, then deletes by dataset, with the same
    window. Deleting by `_id` group by group instead (the earlier code) closed it, at the price
    of one delete and one update per (kind, status, error) group: 72 commands and 10 s for a
    dataset of 95 entries in a cache of 100k (bench/scale_costs.py), for a window of a few
    milliseconds during which a recreated dataset is rarely written (its waiting jobs are
    deleted first). A crash between the delete and the decrements leaves the rows too high by
    what was deleted; they are the workers' counters and drift the same way when a worker dies.
    """
    counted = _entries_by_metric_row(dataset=dataset)
    if not counted:
        return 0
    deleted: int = mongo.cache_database()[mongo.CACHED_RESPONSES].delete_many({"dataset": dataset}).deleted_count
    rows = [
        ({"kind": kind, "http_status": http_status, "error_code": error_code}, -count)
        for (kind, http_status, error_code), count in sorted(counted.items(), key=str)
    ]
    metric_rows.increment_rows(
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC], rows=rows, field="total", now=mongo.utc_now()
    )
    return deleted
