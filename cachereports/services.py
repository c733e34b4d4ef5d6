"""Writes to the cache database: a job's result into its entry, deleting a dataset's entries, their recount.

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
from dataclasses import dataclass
from functools import partial
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import ConnectionFailure, DuplicateKeyError

from cachereports.documents import cache_entry_document
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


# ---------------------------------------------------------------------------------------------
# A job's result into its cache entry (the workers' finish, REFERENCE.md step 4)


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """What a job computed for its artifact: the fields of the cache entry that come from the job's output."""

    http_status: int
    error_code: str | None
    content: dict[str, Any]
    details: dict[str, Any] | None
    progress: float | None


@dataclass(frozen=True)
class WrittenEntry:
    """The entry as written, and whether it was new (no entry of that artifact before)."""

    entry: dict[str, Any]
    created: bool


WRITE_ATTEMPTS = 3
"""A write that lost to a concurrent writer of the same entry is read and tried again, this many times in all."""


def write_job_result(
    *,
    kind: str,
    dataset: str,
    config: str | None,
    split: str | None,
    revision: str,
    job_runner_version: int,
    result: JobResult,
    duration: float | None,
) -> WrittenEntry:
    """Upsert a job's result into the entry of (kind, dataset, config, split), as the workers write it.

    `failed_runs` is the previous entry's when it has the same `dataset_git_revision` (else 0),
    plus one on an error; `updated_at` is now; None fields are left out of the document (the
    whole document is replaced, `_id` kept). The `cacheTotalMetric` rows move by what was really
    written: the replace hands back the entry as it was just before (one atomic command), whose
    row gets -1, and the new one +1 (nothing when both are the same row); a new entry is
    inserted, the unique index refusing a second. A write that lost to another writer of the
    same entry (it was deleted, or created first) reads it again and is tried again.
    """
    entries = mongo.cache_database()[mongo.CACHED_RESPONSES]
    artifact = {"kind": kind, "dataset": dataset, "config": config, "split": split}
    for _ in range(WRITE_ATTEMPTS):
        previous = entries.find_one(artifact, {"content": 0})
        document = cache_entry_document(
            kind=kind,
            dataset=dataset,
            config=config,
            split=split,
            http_status=result.http_status,
            error_code=result.error_code,
            content=result.content,
            dataset_git_revision=revision,
            progress=result.progress,
            job_runner_version=job_runner_version,
            failed_runs=_failed_runs(previous=previous, revision=revision, failed=result.http_status >= 400),
            details=result.details,
            duration=duration,
        )
        if previous is None:
            try:
                entries.insert_one(document)
            except DuplicateKeyError:
                continue  # another writer created it first: read it, then replace it
            _move_cache_metric(old=None, new=document)
            return WrittenEntry(entry=document, created=True)
        replaced = entries.find_one_and_replace(
            {"_id": previous["_id"]}, document, projection=_METRIC_FIELDS, return_document=ReturnDocument.BEFORE
        )
        if replaced is not None:  # else deleted meanwhile: read again, then insert
            _move_cache_metric(old=replaced, new=document)
            return WrittenEntry(entry={"_id": previous["_id"], **document}, created=False)
    raise RuntimeError(f"could not write the {kind} entry of {dataset}: rewritten by others {WRITE_ATTEMPTS} times")


def _failed_runs(*, previous: dict[str, Any] | None, revision: str, failed: bool) -> int:
    """The previous entry's `failed_runs` at the same revision (else 0), plus one on an error."""
    runs = 0
    if previous is not None and previous.get("dataset_git_revision") == revision:
        runs = int(previous.get("failed_runs") or 0)
    return runs + 1 if failed else runs


_METRIC_FIELDS = {"kind": 1, "http_status": 1, "error_code": 1}


def _move_cache_metric(*, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    """The old entry's row -1, the new one's +1, in one bulk write; nothing when they are the same row."""
    moves: dict[MetricRow, int] = {_metric_row(new): 1}
    if old is not None:
        moves[_metric_row(old)] = moves.get(_metric_row(old), 0) - 1
    rows = [
        ({"kind": kind, "http_status": http_status, "error_code": error_code}, by)
        for (kind, http_status, error_code), by in moves.items()
        if by
    ]
    metric_rows.increment_rows(
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC], rows=rows, field="total", now=mongo.utc_now()
    )
