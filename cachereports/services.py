"""Writes to the cache database: deleting a dataset's cache entries with their metric rows, their recount.

`cacheTotalMetric` counts entries by (kind, http_status, error_code); upstream decrements the
row of each entry it deletes (`simple_cache.delete_dataset_responses`). We move the rows by what
was really deleted, never by what was counted before (two recreates of one dataset at once both
counted 40 entries; one deleted them, the other none, and each subtracted 40):
1. read the dataset's entries (`_id` and the three fields of their row; index (dataset, kind,
   http_status)), a batch at a time;
2. delete each where it still counts in the row read: its `_id` AND its kind, http_status and
   error_code, all in one bulk write (`foundation.database.metric_rows.delete_each`). An entry a
   worker rewrote in between with another status or error does not match and stays for the
   next round; an entry someone else deleted is not counted;
3. decrement the rows of the entries deleted, in one bulk of `$inc` for the batch, and go on
   until a read finds nothing.
Commands: per batch, one find, one bulk delete, one bulk of `$inc`; then the empty find.
When the database is lost half-way, the moves of what was deleted, and of the group in flight
once read back, are applied when it is back (`RowMoves`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from pymongo.errors import ConnectionFailure

from cachereports.selectors import recount
from foundation.database import metric_rows, mongo
from foundation.database.metric_rows import Recount, RowMoves, apply_or_settle_later, settle_later

logger = logging.getLogger(__name__)

MetricRow = tuple[str | None, Any, str | None]

CACHE_DELETE_BATCH_SIZE = 5_000
"""Entries read per round of a dataset's deletion (a find of small projected documents)."""

MAX_ROUNDS_WITHOUT_PROGRESS = 3
"""Rounds in a row that delete nothing (every entry read was rewritten in between) before the deletion stops."""


def decrement_cache_metric(*, kind: str | None, http_status: Any, error_code: str | None, by: int) -> None:
    """`$inc` the row of (kind, http_status, error_code) by -by, upserting it as upstream does."""
    metric_rows.increment_row(
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC],
        row={"kind": kind, "http_status": http_status, "error_code": error_code},
        field="total",
        by=-by,
        now=mongo.utc_now(),
    )


def _metric_row(entry: Mapping[str, Any]) -> MetricRow:
    return entry.get("kind"), entry.get("http_status"), entry.get("error_code")


def _move_row(moves: RowMoves, row: MetricRow, *, by: int) -> None:
    kind, http_status, error_code = row
    moves.add(
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC],
        row={"kind": kind, "http_status": http_status, "error_code": error_code},
        field="total",
        by=by,
    )


def _as_read(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry, if it still counts in the row read (`error_code: None` matches a missing one)."""
    kind, http_status, error_code = _metric_row(entry)
    return {"_id": entry["_id"], "kind": kind, "http_status": http_status, "error_code": error_code}


def _resolve_deletes(moves: RowMoves, *, entries: Sequence[Mapping[str, Any]]) -> None:
    """After a lost answer: the entries that are gone were deleted."""
    ids = [entry["_id"] for entry in entries]
    found = mongo.cache_database()[mongo.CACHED_RESPONSES].find({"_id": {"$in": ids}}, {"_id": 1})
    there = {entry["_id"] for entry in found}
    for entry in entries:
        if entry["_id"] not in there:
            _move_row(moves, _metric_row(entry), by=-1)


def _delete_batch(entries: Sequence[Mapping[str, Any]], *, dataset: str, on_deleted: Callable[[int], None]) -> int:
    """Delete the entries of one batch where still as read (one bulk write); the rows follow those deleted."""
    what = f"deleting the cache entries of {dataset}"
    moves = RowMoves()
    responses = mongo.cache_database()[mongo.CACHED_RESPONSES]
    try:
        deleted = metric_rows.delete_each(responses, entries, pin=_as_read)
    except ConnectionFailure:
        settle_later(moves=moves, what=what, resolve=partial(_resolve_deletes, entries=entries))
        raise
    on_deleted(len(deleted))
    for entry in deleted:
        _move_row(moves, _metric_row(entry), by=-1)
    apply_or_settle_later(moves, what=what)
    return len(deleted)


def delete_dataset_cache_entries(*, dataset: str, on_deleted: Callable[[int], None] = lambda count: None) -> int:
    """Delete every cache entry of a dataset, decrementing `cacheTotalMetric` by what was deleted; return the count.

    Each delete's count goes to `on_deleted` as soon as it is answered: an error later still
    leaves the truth of what was deleted.
    """
    responses = mongo.cache_database()[mongo.CACHED_RESPONSES]
    deleted = 0
    rounds_without_progress = 0
    while rounds_without_progress < MAX_ROUNDS_WITHOUT_PROGRESS:
        entries = list(
            responses.find({"dataset": dataset}, {"kind": 1, "http_status": 1, "error_code": 1})
            .limit(CACHE_DELETE_BATCH_SIZE)
            .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
        )
        if not entries:
            return deleted
        count = _delete_batch(entries, dataset=dataset, on_deleted=on_deleted)
        rounds_without_progress = 0 if count else rounds_without_progress + 1
        deleted += count
    logger.warning("cache entries of %s kept changing while they were deleted: some are left", dataset)
    return deleted


CACHE_METRIC_ROW_FIELDS = ("kind", "http_status", "error_code")


def recount_cache_metric(*, dry_run: bool) -> Recount:
    """`cacheTotalMetric` against the cache recounted as the other services' collector counts it.

    The rows off the recount, set to it unless `dry_run` (those left: rows that moved while the
    cache was counted).
    """
    return metric_rows.recount_rows(
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC],
        key_fields=CACHE_METRIC_ROW_FIELDS,
        field="total",
        recount=recount.cache_entries_by_metric_row,
        dry_run=dry_run,
    )
