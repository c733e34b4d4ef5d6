"""Writes to the cache database: deleting a dataset's cache entries with their metric rows.

`cacheTotalMetric` counts entries by (kind, http_status, error_code); upstream decrements the
row of each entry it deletes (`simple_cache.delete_dataset_responses`). Without transactions,
the count must follow what was really deleted: entries are read in batches, grouped by their
metric row, and each group is deleted by `_id` *and* by the fields of its row, then the row is
decremented by the `deleted_count` the server reported. An entry a worker rewrote in between
(another http_status) is not deleted by that filter; the next batch reads it again. A crash
between a delete and its decrement leaves the row too high by that group only, and a retry
deletes what is left.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bson import ObjectId

from adminsite.core.errors import UnexpectedApiError
from adminsite.database import metric_rows, mongo

_MAX_PASSES_WITHOUT_PROGRESS = 3

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


def _group_by_metric_row(entries: list[dict[str, Any]]) -> dict[MetricRow, list[ObjectId]]:
    groups: dict[MetricRow, list[ObjectId]] = defaultdict(list)
    for entry in entries:
        groups[(entry.get("kind"), entry.get("http_status"), entry.get("error_code"))].append(entry["_id"])
    return groups


def delete_dataset_cache_entries(*, dataset: str) -> int:
    """Delete every cache entry of a dataset, decrementing `cacheTotalMetric`; return the count."""
    responses = mongo.cache_database()[mongo.CACHED_RESPONSES]
    deleted = 0
    passes_without_progress = 0
    while True:
        entries = list(
            responses.find({"dataset": dataset}, {"kind": 1, "http_status": 1, "error_code": 1}).limit(
                mongo.DELETE_BATCH_SIZE
            )
        )
        if not entries:
            return deleted
        deleted_in_pass = 0
        for (kind, http_status, error_code), ids in _group_by_metric_row(entries).items():
            result = responses.delete_many(
                {"_id": {"$in": ids}, "kind": kind, "http_status": http_status, "error_code": error_code}
            )
            if result.deleted_count:
                decrement_cache_metric(
                    kind=kind, http_status=http_status, error_code=error_code, by=result.deleted_count
                )
                deleted_in_pass += result.deleted_count
        deleted += deleted_in_pass
        passes_without_progress = 0 if deleted_in_pass else passes_without_progress + 1
        if passes_without_progress >= _MAX_PASSES_WITHOUT_PROGRESS:
            raise UnexpectedApiError(f"Cache entries of dataset {dataset} keep changing; {deleted} deleted so far.")
