"""The entries a bulk filter matches, by `_id`."""

from __future__ import annotations

from bson import ObjectId

from cachereports.filters import CacheEntryFilter
from cachereports.rows import CacheEntry, cache_entry_row
from foundation.database import mongo


def count_matching_entries(*, entry_filter: CacheEntryFilter) -> int:
    """How many entries the filter matches (counted on the index its equality fields select)."""
    return mongo.cache_database()[mongo.CACHED_RESPONSES].count_documents(entry_filter.query())


def count_matching_datasets(*, entry_filter: CacheEntryFilter) -> int:
    """How many distinct datasets the filter's entries belong to: one aggregation."""
    counted = list(
        mongo.cache_database()[mongo.CACHED_RESPONSES].aggregate(
            [{"$match": entry_filter.query()}, {"$group": {"_id": "$dataset"}}, {"$count": "datasets"}]
        )
    )
    return int(counted[0]["datasets"]) if counted else 0


def matching_entries_after(*, entry_filter: CacheEntryFilter, after: ObjectId | None, limit: int) -> list[CacheEntry]:
    """Up to `limit` matching entries after `after`, by `_id`: only the artifact's fields and outcome, no `content`.

    Read from the primary: a batch that follows a write must see it.
    """
    query = entry_filter.query()
    if after is not None:
        query["_id"] = {"$gt": after}
    found = (
        mongo.cache_database()[mongo.CACHED_RESPONSES]
        .find(query, {"kind": 1, "dataset": 1, "config": 1, "split": 1, "error_code": 1, "http_status": 1})
        .sort("_id", 1)
        .limit(limit)
        .batch_size(limit)
    )
    return [cache_entry_row(entry) for entry in found]
