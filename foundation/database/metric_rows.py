"""`$inc` of the metric rows (jobTotalMetric, workerTypeJobCounts, cacheTotalMetric), safe under concurrency and faults.

Concurrency. A metric row is created by the first upsert that finds it absent. When two services (ours and
the workers, or two of our processes) do that first upsert at the same moment, both find no row
and both insert: the unique index of the row lets one win, and the loser's upsert fails with a
DuplicateKeyError (E11000) although nothing is wrong. The row now exists, so the same upsert
again simply increments it. These helpers retry exactly once; a second duplicate-key error would
mean another cause and is raised.

Faults. A write moves the rows by what it really did: its moves are collected in `RowMoves`
from the counts the server answered (a delete's `deleted_count`, the documents inserted), then
applied. When the database is lost in the middle:
- the moves of the writes that landed are known: they are applied once the database is back
  (`settle_later`, in the background of `foundation.database.deferred_writes`), provided the
  `$inc` that failed was never sent (ServerSelectionTimeoutError);
- the write in flight may or may not have landed: once the database is back, the documents it
  was about are read (`resolve`: a deleted one is gone, an inserted one is there) and its moves
  added. The caller still holds the locks of those documents then (their release is queued
  after), so nobody else changed them meanwhile;
- an `$inc` whose answer was lost may or may not have been applied: applying it again could
  count it twice, so it is given up and logged. That row, and the rows of a process that died,
  are repaired by the recount (`manage.py recount_metrics`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import DeleteOne, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, ServerSelectionTimeoutError

from foundation.database import deferred_writes
from foundation.database.mongo import WHOLE_RESULT_BATCH_SIZE, utc_now

logger = logging.getLogger(__name__)

DUPLICATE_KEY = 11000


def _increment(*, field: str, by: int, now: datetime) -> dict[str, Any]:
    return {"$inc": {field: by}, "$setOnInsert": {"created_at": now}}


def increment_row(collection: Collection[Any], *, row: Mapping[str, Any], field: str, by: int, now: datetime) -> None:
    """`$inc` `field` of the row matching `row` by `by`, creating the row (with `created_at`) when absent."""
    update = _increment(field=field, by=by, now=now)
    try:
        collection.update_one(dict(row), update, upsert=True)
    except DuplicateKeyError:
        # a concurrent first upsert created the row: it is there now, the same upsert increments it
        collection.update_one(dict(row), update, upsert=True)


def increment_rows(
    collection: Collection[Any], *, rows: Sequence[tuple[Mapping[str, Any], int]], field: str, now: datetime
) -> None:
    """`increment_row` for many rows in one bulk write; the rows lost to a concurrent first upsert are retried."""
    operations = [UpdateOne(dict(row), _increment(field=field, by=by, now=now), upsert=True) for row, by in rows]
    if not operations:
        return
    try:
        collection.bulk_write(operations, ordered=False)
    except BulkWriteError as error:
        failed = error.details.get("writeErrors", [])
        if not failed or any(write_error.get("code") != DUPLICATE_KEY for write_error in failed):
            raise
        collection.bulk_write([operations[write_error["index"]] for write_error in failed], ordered=False)


RowKey = tuple[tuple[str, Any], ...]
"""A metric row's identifying fields, in order: `(("worker_size", "light"),)`."""


class RowMoves:
    """The moves that the writes of one operation owe to metric rows, applied one collection at a time.

    `add` collects them from what the server answered; `apply` writes each collection's moves in
    one bulk and forgets them once written, so a retry after a fault applies only what is left.
    """

    def __init__(self) -> None:
        self._moves: dict[str, tuple[Collection[Any], str, Counter[RowKey]]] = {}

    def add(self, collection: Collection[Any], *, row: Mapping[str, Any], field: str, by: int) -> None:
        if by:
            _, _, counter = self._moves.setdefault(collection.full_name, (collection, field, Counter()))
            counter[tuple(row.items())] += by

    def extend(self, other: RowMoves) -> None:
        """Owe the moves of `other` too."""
        for collection, field, counter in other._moves.values():
            for key, by in counter.items():
                self.add(collection, row=dict(key), field=field, by=by)

    def __bool__(self) -> bool:
        return any(any(counter.values()) for _, _, counter in self._moves.values())

    def describe(self) -> str:
        """`jobTotalMetric -3, workerTypeJobCounts -3`: for the log."""
        return ", ".join(
            f"{collection.name} {sum(counter.values()):+d}" for collection, _, counter in self._moves.values()
        )

    def apply(self) -> None:
        for name in list(self._moves):
            collection, field, counter = self._moves[name]
            rows = [(dict(key), by) for key, by in sorted(counter.items(), key=str) if by]
            if len(rows) == 1:
                [(row, by)] = rows
                increment_row(collection, row=row, field=field, by=by, now=utc_now())
            else:
                increment_rows(collection, rows=rows, field=field, now=utc_now())
            del self._moves[name]


def settle_later(*, moves: RowMoves, what: str, resolve: Callable[[RowMoves], None] | None = None) -> None:
    """Once the database is back: `resolve` the write in flight (it adds the moves of what landed), then apply.

    `resolve` only reads, so it is tried again until the database answers; an `$inc` that was
    sent but not answered is given up (logged), never applied twice.
    """
    unresolved = [resolve] if resolve is not None else []

    def settle() -> None:
        if unresolved:
            unresolved[0](moves)
            unresolved.clear()
        try:
            moves.apply()
        except ServerSelectionTimeoutError:
            raise  # never sent: tried again
        except ConnectionFailure:
            _log_rows_may_be_off(what, moves)

    deferred_writes.retry_later(what=f"move the metric rows of {what}", write=settle)


def apply_or_settle_later(moves: RowMoves, *, what: str) -> None:
    """Apply the moves now; when the database is away, once it is back (if they were never sent). Raises the error."""
    try:
        moves.apply()
    except ServerSelectionTimeoutError:
        settle_later(moves=moves, what=what)
        raise
    except ConnectionFailure:
        _log_rows_may_be_off(what, moves)
        raise


def _log_rows_may_be_off(what: str, moves: RowMoves) -> None:
    """An `$inc` sent but not answered: applied or not, nobody knows; the recount will tell."""
    logger.critical("%s: the metric rows may be off (%s): run `manage.py recount_metrics`", what, moves.describe())


def delete_each(
    collection: Collection[Any], documents: Sequence[Mapping[str, Any]], *, pin: Callable[[Mapping[str, Any]], Any]
) -> list[Mapping[str, Any]]:
    """Delete each document only while it is as read, in one bulk write; return those deleted.

    `pin(document)` is its filter: its `_id` and the fields of the metric rows it counts in, so
    that a document rewritten in between (another status, another difficulty) is not deleted
    and the rows of those deleted are exactly the rows read. The server answers how many were
    deleted, not which: when fewer than all, the documents still there are read and the others
    were deleted. (Each delete is by `_id`: an index on every engine, the embedded one included.)
    Should someone else have deleted some of them at the same moment, more are gone than this
    bulk deleted and which were ours cannot be told: logged (the rows may be off: a recount).
    """
    if not documents:
        return []
    deleted: int = collection.bulk_write(
        [DeleteOne(pin(document)) for document in documents], ordered=False
    ).deleted_count
    if deleted == len(documents):
        return list(documents)
    ids = [document["_id"] for document in documents]
    found = collection.find({"_id": {"$in": ids}}, {"_id": 1}).batch_size(WHOLE_RESULT_BATCH_SIZE)
    there = {document["_id"] for document in found}
    gone = [document for document in documents if document["_id"] not in there]
    if len(gone) != deleted:
        logger.critical(
            "%s: %d documents gone, %d deleted by us: someone else deleted the others at the same moment; the"
            " metric rows may be off: run `manage.py recount_metrics`",
            collection.name,
            len(gone),
            deleted,
        )
    return gone[:deleted]


# ---------------------------------------------------------------------------------------------
# The recount: rows recomputed from the documents, as the other services' collectors do


@dataclass(frozen=True)
class RowDrift:
    """One metric row that is not what the recount says: the row's fields, its value, the recount's.

    `stored` None: there is no such row; `recounted` None: the row counts nothing the recount
    found (an obsolete row, which the collectors delete). `moved`: the row changed while the
    documents were counted (a live writer): its drift is unknown, it is left as it is.
    """

    collection: str
    row: dict[str, Any]
    stored: int | None
    recounted: int | None
    moved: bool = False

    @property
    def drift(self) -> int:
        """How far the row is off: +40 = 40 too high, -1 = 1 too low (an absent row counts 0)."""
        return (self.stored or 0) - (self.recounted or 0)


def stored_rows(collection: Collection[Any], *, key_fields: Sequence[str], field: str) -> dict[RowKey, int]:
    """The rows as they are (the primary), by their fields; two rows with the same fields are summed."""
    rows: dict[RowKey, int] = {}
    projection = {"_id": 0, field: 1, **dict.fromkeys(key_fields, 1)}
    for document in collection.find({}, projection).batch_size(WHOLE_RESULT_BATCH_SIZE):
        key = tuple((name, document.get(name)) for name in key_fields)
        value = document.get(field)
        rows[key] = rows.get(key, 0) + (int(value) if isinstance(value, int | float) else 0)
    return rows


def row_drifts(
    collection: Collection[Any], *, key_fields: Sequence[str], field: str, recount: Callable[[], dict[RowKey, int]]
) -> list[RowDrift]:
    """The rows that differ from the recount, in the order of their fields.

    The rows are read before and after counting: a row that moved in between (a writer's
    `$inc` landed during the count) is marked `moved`, as its drift cannot be told apart from
    that write. A row of the recount that is absent, or a row absent from it, is listed even at
    0 (the collectors create the one and delete the other).
    """
    before = stored_rows(collection, key_fields=key_fields, field=field)
    counted = recount()
    after = stored_rows(collection, key_fields=key_fields, field=field)
    drifts = []
    for key in sorted(set(counted) | set(after) | set(before), key=repr):
        stored, recounted = after.get(key), counted.get(key)
        if stored != recounted:
            drifts.append(
                RowDrift(
                    collection=collection.name,
                    row=dict(key),
                    stored=stored,
                    recounted=recounted,
                    moved=before.get(key) != stored,
                )
            )
    return drifts


def repair_rows(collection: Collection[Any], *, drifts: Sequence[RowDrift], field: str) -> list[RowDrift]:
    """Set each row (not moved) to its recount; return the drifts left (moved, or moved by a writer meanwhile).

    A row of the recount moves by its drift (`$inc`, which adds up with any concurrent move
    instead of overwriting it); an obsolete row is deleted only if it still holds the value
    read, as the collectors delete obsolete rows.
    """
    left = []
    for drift in drifts:
        if drift.moved:
            left.append(drift)
        elif drift.recounted is None:
            if not collection.delete_one({**drift.row, field: drift.stored}).deleted_count:
                left.append(RowDrift(drift.collection, drift.row, drift.stored, drift.recounted, moved=True))
        else:
            increment_row(collection, row=drift.row, field=field, by=-drift.drift, now=utc_now())
    return left


@dataclass(frozen=True)
class Recount:
    """The rows found off a recount, and those of them left as they are (a dry run leaves them all)."""

    found: list[RowDrift]
    left: list[RowDrift]

    def __add__(self, other: Recount) -> Recount:
        return Recount(found=self.found + other.found, left=self.left + other.left)


def recount_rows(
    collection: Collection[Any],
    *,
    key_fields: Sequence[str],
    field: str,
    recount: Callable[[], dict[RowKey, int]],
    dry_run: bool,
) -> Recount:
    """The drifts of a metric collection against `recount`; unless `dry_run`, the rows set to it."""
    found = row_drifts(collection, key_fields=key_fields, field=field, recount=recount)
    left = found if dry_run else repair_rows(collection, drifts=found, field=field)
    return Recount(found=found, left=left)
