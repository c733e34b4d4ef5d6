"""The cache browser of the console: a filtered page of entries, and one entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from cachereports.rows import CacheEntry, cache_entry_row
from cachereports.selectors.copied_errors import CopiedFrom, copied_errors_origins
from foundation.core.errors import NotFoundError
from foundation.core.processing_graph import ProcessingStep, known_step, processing_graph
from foundation.database import mongo


@dataclass(frozen=True)
class CacheEntriesPage:
    """Entries by `_id` ascending; each cursor is "" when there is no page that way.

    `total` is how many entries the filter matches in all; `copied` holds the `CopiedFrom` of
    each copied error among the entries, by entry id.
    """

    cache_entries: list[CacheEntry]
    next_cursor: str
    previous_cursor: str
    total: int
    copied: dict[str, CopiedFrom]


def cache_entries_page(
    *,
    kind: str,
    http_status: int | None,
    error_code: str | None,
    after: ObjectId | None,
    before: ObjectId | None,
    limit: int,
    cause_exception: str | None = None,
    root_errors_only: bool = False,
    without_cause_exception: bool = False,
) -> CacheEntriesPage:
    """One page of the entries of a kind, filtered, forward (`after`) or backward (`before`).

    One query of limit + 1 entries (the extra one tells whether a page lies beyond), backed
    by (kind, _id) or (kind, http_status, _id), and with an error code by (kind, http_status,
    error_code): equality on kind and error_code (and http_status when given; every status
    otherwise, a few index seeks) reads only the entries of that error, then keeps the
    limit + 1 first by _id (a top-k sort, small in memory). Its cost follows the number of
    entries with that error. Walking (kind, _id) instead would read entries of every code
    and drop the others: for a rare code, the whole kind (millions of entries) for one page.
    For a very common code the planner may still prefer walking (kind, http_status, _id),
    which then stops after one page: both are indexes of REFERENCE.md, so no hint is forced.
    `cause_exception` and `root_errors_only` (the links of the error triage page) add equality on
    details.cause_exception and details.copied_from_artifact: index (details.cause_exception,
    error_code, details.copied_from_artifact), or (error_code, kind, details.copied_from_artifact).
    """
    known_step(kind)
    query: dict[str, Any] = {"kind": kind}
    if http_status is not None:
        query["http_status"] = http_status
    if error_code is not None:
        query["error_code"] = error_code
    if cause_exception is not None:
        query["details.cause_exception"] = cause_exception
    elif without_cause_exception:
        query["details.cause_exception"] = None
    if root_errors_only:
        query["details.copied_from_artifact"] = None
        query.setdefault("http_status", {"$gte": 400})
    count_query = dict(query)
    backward = before is not None
    if backward:
        query["_id"] = {"$lt": before}
    elif after is not None:
        query["_id"] = {"$gt": after}
    responses = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
    found = list(responses.find(query, {"content": 0}).sort("_id", -1 if backward else 1).limit(limit + 1))
    total = responses.count_documents(count_query)
    more = len(found) > limit
    origins = copied_errors_origins(found[:limit])
    cache_entries = [cache_entry_row(entry) for entry in found[:limit]]
    if backward:
        cache_entries.reverse()
        next_cursor = cache_entries[-1].id if cache_entries else ""
        previous_cursor = cache_entries[0].id if more else ""
    else:
        next_cursor = cache_entries[-1].id if more else ""
        previous_cursor = cache_entries[0].id if after is not None and cache_entries else ""
    return CacheEntriesPage(cache_entries, next_cursor, previous_cursor, total, origins)


@dataclass(frozen=True)
class CacheEntryDetail:
    """One entry with its content, and how it compares to the current version of its step."""

    cache_entry: CacheEntry
    step: ProcessingStep | None
    copied: CopiedFrom | None = None
    """Its parent and root error, when it is a copied error."""

    @property
    def is_outdated(self) -> bool:
        """Computed by a job runner older than the step's current one (or of unknown version)."""
        version = self.cache_entry.job_runner_version
        return self.step is not None and (not isinstance(version, int) or version < self.step.job_runner_version)


def cache_entry_detail(*, entry_id: ObjectId) -> CacheEntryDetail:
    """One cache entry by `_id`, content included; 404 when there is none."""
    cache_entry = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].find_one({"_id": entry_id})
    if cache_entry is None:
        raise NotFoundError(f"No cache entry with id {entry_id}.")
    step = processing_graph().get(str(cache_entry.get("kind")))
    return CacheEntryDetail(cache_entry_row(cache_entry), step, copied_errors_origins([cache_entry]).get(str(entry_id)))
