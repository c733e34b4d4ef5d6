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
  (`settle_later`, in the background of `adminsite.database.deferred_writes`), provided the
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
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, ServerSelectionTimeoutError

from adminsite.database import deferred_writes
from adminsite.database.mongo import utc_now

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
