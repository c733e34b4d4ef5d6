"""`$inc` of the metric rows (jobTotalMetric, workerTypeJobCounts, cacheTotalMetric), safe under concurrency.

A metric row is created by the first upsert that finds it absent. When two services (ours and
the workers, or two of our processes) do that first upsert at the same moment, both find no row
and both insert: the unique index of the row lets one win, and the loser's upsert fails with a
DuplicateKeyError (E11000) although nothing is wrong. The row now exists, so the same upsert
again simply increments it. These helpers retry exactly once; a second duplicate-key error would
mean another cause and is raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

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
