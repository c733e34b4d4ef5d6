"""Cache entries as the JSON API pages them, and the entries of one dataset.

Each function costs a constant number of database commands: one query, whatever the number of
processing steps or cache entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from cachereports.rows import CacheEntry, cache_entry_row
from foundation.core.processing_graph import known_step, processing_graph
from foundation.database import mongo


@dataclass(frozen=True)
class CacheReportsPage:
    cache_entries: list[CacheEntry]
    next_cursor: str


def cache_reports_page(*, kind: str, after: ObjectId | None, limit: int, with_content: bool) -> CacheReportsPage:
    """One page of the entries of a kind after `after`, by `_id` ascending (index kind, _id).

    `next_cursor` is the `_id` of the last entry when the page is full, else "".
    """
    known_step(kind)
    query: dict[str, Any] = {"kind": kind}
    if after is not None:
        query["_id"] = {"$gt": after}
    projection = None if with_content else {"content": 0}
    cache_entries = list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find(query, projection)
        .sort("_id", 1)
        .limit(limit)
        .batch_size(limit)  # the whole page in the first batch (within the server's 16 MB)
    )
    next_cursor = str(cache_entries[-1]["_id"]) if len(cache_entries) == limit else ""
    return CacheReportsPage([cache_entry_row(entry) for entry in cache_entries], next_cursor)


def cache_entries_by_kind(*, dataset: str) -> dict[str, list[CacheEntry]]:
    """The cache entries (no content) of one dataset by kind, every step listed (index dataset, kind, http_status).

    Within a kind, in `_id` order (the order they were written), as the other services list them.
    """
    by_kind: dict[str, list[CacheEntry]] = {step.name: [] for step in processing_graph()}
    cache_entries = list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find({"dataset": dataset}, {"content": 0})
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
    cache_entries.sort(key=lambda entry: entry["_id"])  # in memory: the index gives (kind, http_status) order
    for entry in cache_entries:
        of_kind = by_kind.get(str(entry.get("kind")))
        if of_kind is not None:
            of_kind.append(cache_entry_row(entry))
    return by_kind


def count_cache_entries_of_dataset(*, dataset: str) -> int:
    """How many cache entries a dataset has (what a recreate would delete; index dataset, kind, http_status)."""
    return mongo.cache_database()[mongo.CACHED_RESPONSES].count_documents({"dataset": dataset})


_DATASET_PAGE_FIELDS = {
    field: 1
    for field in (
        "kind",
        "dataset",
        "config",
        "split",
        "http_status",
        "error_code",
        "details",
        "updated_at",
        "job_runner_version",
        "dataset_git_revision",
        "progress",
        "failed_runs",
        "content.config_names",
        "content.splits",
        "content.dataset_info.dataset_size",
    )
}
"""The report fields, plus only the parts of the content that list configs and splits (the two
name lists) and give the size of a config (`config-info`, for the backfill's bonus difficulty:
the plan never reads a split's size)."""


def cache_entries_of_dataset_page(*, dataset: str, primary: bool = False) -> list[dict[str, Any]]:
    """The entry documents of a dataset for its page and its backfill plan (index dataset, kind, http_status).

    Report fields, the name lists and the config sizes: one read whatever the number of
    configs and splits. A page may read a secondary; a write computed from them reads the primary.
    Documents, as stored: the plan reads them as the other services' planner does; the page
    makes its rows of them (`cachereports.rows.cache_entry_row`).
    """
    cache = mongo.cache_database() if primary else mongo.cache_database_for_reports()
    found = cache[mongo.CACHED_RESPONSES].find({"dataset": dataset}, _DATASET_PAGE_FIELDS)
    return list(found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE))
