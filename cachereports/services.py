"""Writes to the cache database: a job's result into its entry, deleting a dataset's entries, with their metric rows.

`cacheTotalMetric` counts entries by (kind, http_status, error_code); upstream decrements the
row of each entry it deletes (`simple_cache.delete_dataset_responses`). We do the same in three
commands whatever the number of entries or of metric rows: count the dataset's entries by row
(one aggregation), delete them all by dataset (one `delete_many`, index (dataset, kind,
http_status)), then decrement every row by its count (one unordered bulk of `$inc`, see
`foundation.database.metric_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from cachereports.documents import cache_entry_document
from foundation.database import metric_rows, mongo

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


def _entries_by_metric_row(*, dataset: str) -> dict[MetricRow, int]:
    """The dataset's entries counted by (kind, http_status, error_code): one aggregation on index (dataset, ...)."""
    groups = mongo.cache_database()[mongo.CACHED_RESPONSES].aggregate(
        [
            {"$match": {"dataset": dataset}},
            {
                "$group": {
                    "_id": {"kind": "$kind", "http_status": "$http_status", "error_code": "$error_code"},
                    "count": {"$sum": 1},
                }
            },
        ]
    )
    counts: dict[MetricRow, int] = {}
    for group in groups:
        key = group["_id"]
        row = (key.get("kind"), key.get("http_status"), key.get("error_code"))
        counts[row] = counts.get(row, 0) + int(group["count"])
    return counts


def delete_dataset_cache_entries(*, dataset: str) -> int:
    """Delete every cache entry of a dataset, decrementing `cacheTotalMetric`; return the count.

    Three commands (one when the dataset has no entry): the count by metric row, one delete by
    dataset, one bulk of decrements. The residual race, as upstream's: without transactions, a
    worker that writes an entry of the dataset between the count and the delete (a new entry,
    or an entry rewritten with another http_status or error_code) makes a row drift by that
    entry: the delete removes it, but the decrements follow what was counted. Upstream reads
    the entries, decrements their rows one by one, then deletes by dataset, with the same
    window. Deleting by `_id` group by group instead (the earlier code) closed it, at the price
    of one delete and one update per (kind, status, error) group: 72 commands and 10 s for a
    dataset of 95 entries in a cache of 100k (bench/scale_costs.py), for a window of a few
    milliseconds during which a recreated dataset is rarely written (its waiting jobs are
    deleted first). A crash between the delete and the decrements leaves the rows too high by
    what was deleted; they are the workers' counters and drift the same way when a worker dies.
    """
    counted = _entries_by_metric_row(dataset=dataset)
    if not counted:
        return 0
    deleted: int = mongo.cache_database()[mongo.CACHED_RESPONSES].delete_many({"dataset": dataset}).deleted_count
    rows = [
        ({"kind": kind, "http_status": http_status, "error_code": error_code}, -count)
        for (kind, http_status, error_code), count in sorted(counted.items(), key=str)
    ]
    metric_rows.increment_rows(
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC], rows=rows, field="total", now=mongo.utc_now()
    )
    return deleted


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


def _metric_row(entry: dict[str, Any]) -> tuple[Any, Any, Any]:
    return entry.get("kind"), entry.get("http_status"), entry.get("error_code")


def _move_cache_metric(*, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    """The old entry's row -1, the new one's +1, in one bulk write; nothing when they are the same row."""
    moves: dict[tuple[Any, Any, Any], int] = {_metric_row(new): 1}
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
