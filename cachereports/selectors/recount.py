"""Reads on the primary for writes that must move metric rows by what they really did, and for the recount."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from foundation.database import mongo


def existing_entry_ids(*, ids: list[str]) -> set[str]:
    """Which of these cache entries (their `_id` as text, as rows hold it) are still there.

    On the primary: a write depends on it. One find by `_id`.
    """
    if not ids:
        return set()
    keys = [ObjectId(entry_id) if ObjectId.is_valid(entry_id) else entry_id for entry_id in ids]
    found = mongo.cache_database()[mongo.CACHED_RESPONSES].find({"_id": {"$in": keys}}, {"_id": 1})
    return {str(entry["_id"]) for entry in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)}


def cache_entries_by_metric_row() -> dict[tuple[tuple[str, Any], ...], int]:
    """Every cache entry counted by its `cacheTotalMetric` row, as the other services' collector counts them.

    Their cache-metrics collector groups the whole cache by (kind, http_status, error_code), a
    missing error_code being its own group (None). One aggregation (index (kind, http_status,
    error_code)), on the primary: the recount is compared with rows just read there.
    """
    groups = mongo.cache_database()[mongo.CACHED_RESPONSES].aggregate(
        [
            {
                "$group": {
                    "_id": {"kind": "$kind", "http_status": "$http_status", "error_code": "$error_code"},
                    "total": {"$sum": 1},
                }
            }
        ]
    )
    counts: dict[tuple[tuple[str, Any], ...], int] = {}
    for group in groups:
        fields = group["_id"]
        key = tuple((name, fields.get(name)) for name in ("kind", "http_status", "error_code"))
        counts[key] = counts.get(key, 0) + int(group["total"])
    return counts
