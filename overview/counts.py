"""The dashboard's costly counts, as `collect_counts` last wrote them (collection `adminCounts`, ours).

Counting datasets by builder name reads every successful `dataset-info` entry, and grouping the
root errors reads every error entry: seconds on a big cache, too much for a page load. The
collector (`overview.collector`, run on a schedule) counts them and writes one document per
count here; the pages read them back in one find and say how old they are. The JSON routes of
the other services (/admin/num-dataset-infos-by-builder-name, /admin/cache-errors) still count
on each request: their answers are the contract.

Two documents, in the queue database beside our other collections (`adminActions`,
`adminSessions`), each replaced whole by the collector's next count:
- `{_id: "builder-names", counted_at, duration_seconds, counts: {<builder name>: n, ..., "other": n}}`;
- `{_id: "root-errors", counted_at, duration_seconds, copied: n, groups: [{kind, error_code,
  cause_exception, count, latest_updated_at, sample_datasets}]}` (every group, the largest first).
`counted_at` is when the count began (the numbers are at least that fresh); `duration_seconds`
is how long it took, so an operator can tell whether the schedule leaves it time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from cachereports.rows import CacheErrors, ErrorGroup
from foundation.database import mongo

BUILDER_NAMES_ID = "builder-names"
METRIC_DRIFT_ID = "metric-row-drift"
ROOT_ERRORS_ID = "root-errors"


@dataclass(frozen=True)
class BuilderNameCounts:
    """Successful `dataset-info` entries by builder name, as counted at `counted_at`."""

    counts: dict[str, int]
    counted_at: datetime
    duration_seconds: float


@dataclass(frozen=True)
class RootErrorCounts:
    """The root-error groups (largest first) and the copies, as counted at `counted_at`."""

    errors: list[ErrorGroup]
    copied: int
    counted_at: datetime
    duration_seconds: float


@dataclass(frozen=True)
class DashboardCounts:
    """The latest counts of each kind; None for a count the collector has not written yet."""

    builder_names: BuilderNameCounts | None
    root_errors: RootErrorCounts | None


# --- writes (the collector) ------------------------------------------------------------------


def _replace(document: mongo.MongoDocument) -> None:
    """Write a count document whole, in place of the last one.

    Two collectors that write the first document of a count at once both try to insert it: the
    loser's duplicate-key error means the document exists now, and the same replace overwrites it.
    """
    counts = mongo.queue_database()[mongo.ADMIN_COUNTS]
    try:
        counts.replace_one({"_id": document["_id"]}, document, upsert=True)
    except DuplicateKeyError:
        counts.replace_one({"_id": document["_id"]}, document, upsert=True)


def store_builder_name_counts(*, counts: dict[str, int], counted_at: datetime, duration_seconds: float) -> None:
    _replace(
        {
            "_id": BUILDER_NAMES_ID,
            "counted_at": counted_at,
            "duration_seconds": duration_seconds,
            "counts": counts,
        }
    )


def _group_document(group: ErrorGroup) -> mongo.MongoDocument:
    return {
        "kind": group.kind,
        "error_code": group.error_code,
        "cause_exception": group.cause_exception,
        "count": group.count,
        "latest_updated_at": group.latest_updated_at,
        "sample_datasets": group.sample_datasets,
    }


def store_root_errors(*, errors: CacheErrors, counted_at: datetime, duration_seconds: float) -> None:
    _replace(
        {
            "_id": ROOT_ERRORS_ID,
            "counted_at": counted_at,
            "duration_seconds": duration_seconds,
            "copied": errors.copied,
            "groups": [_group_document(group) for group in errors.errors],
        }
    )


# --- reads (the pages) -----------------------------------------------------------------------


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _error_group(document: mongo.MongoDocument) -> ErrorGroup:
    latest = document.get("latest_updated_at")
    return ErrorGroup(
        kind=str(document.get("kind")),
        error_code=_optional_text(document.get("error_code")),
        cause_exception=_optional_text(document.get("cause_exception")),
        count=int(document.get("count") or 0),
        latest_updated_at=latest if isinstance(latest, datetime) else None,
        sample_datasets=[str(dataset) for dataset in document.get("sample_datasets") or []],
    )


def _builder_name_counts(document: mongo.MongoDocument) -> BuilderNameCounts:
    return BuilderNameCounts(
        counts={str(name): int(count) for name, count in (document.get("counts") or {}).items()},
        counted_at=document["counted_at"],
        duration_seconds=float(document.get("duration_seconds") or 0),
    )


def _root_error_counts(document: mongo.MongoDocument) -> RootErrorCounts:
    return RootErrorCounts(
        errors=[_error_group(group) for group in document.get("groups") or []],
        copied=int(document.get("copied") or 0),
        counted_at=document["counted_at"],
        duration_seconds=float(document.get("duration_seconds") or 0),
    )


def latest_counts() -> DashboardCounts:
    """The counts the collector wrote last: one find by `_id` (two documents at most)."""
    found = mongo.queue_database_for_reports()[mongo.ADMIN_COUNTS].find(
        {"_id": {"$in": [BUILDER_NAMES_ID, ROOT_ERRORS_ID]}}
    )
    documents = {document["_id"]: document for document in found}
    builder_names, root_errors = documents.get(BUILDER_NAMES_ID), documents.get(ROOT_ERRORS_ID)
    return DashboardCounts(
        builder_names=None if builder_names is None else _builder_name_counts(builder_names),
        root_errors=None if root_errors is None else _root_error_counts(root_errors),
    )


# --- The drift of the metric rows (issue 23: the collector reports it, /admin/metrics exposes it)


@dataclass(frozen=True)
class MetricDrift:
    """By metric collection: how many rows are off the recount, and by how much in all (either way)."""

    rows_off: dict[str, int]
    total_drift: dict[str, int]
    counted_at: datetime


def store_metric_drift(*, drift: MetricDrift, duration_seconds: float) -> None:
    _replace(
        {
            "_id": METRIC_DRIFT_ID,
            "counted_at": drift.counted_at,
            "duration_seconds": duration_seconds,
            "rows_off": drift.rows_off,
            "total_drift": drift.total_drift,
        }
    )


def latest_metric_drift(database: Any = None) -> MetricDrift | None:
    """The drift the collector found last (one find by `_id`); None before its first recount.

    `database` lets the metrics scrape read through its short-timeout client.
    """
    queue = database if database is not None else mongo.queue_database_for_reports()
    document = queue[mongo.ADMIN_COUNTS].find_one({"_id": METRIC_DRIFT_ID})
    if document is None:
        return None
    return MetricDrift(
        rows_off={str(name): int(value) for name, value in (document.get("rows_off") or {}).items()},
        total_drift={str(name): int(value) for name, value in (document.get("total_drift") or {}).items()},
        counted_at=document["counted_at"],
    )
