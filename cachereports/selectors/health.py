"""Cache health: entries by kind and outcome, from the `cacheTotalMetric` rows."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.database import Database

from foundation.core.processing_graph import processing_graph
from foundation.database import mongo


@dataclass(frozen=True)
class KindHealth:
    kind: str
    total: int
    by_status: dict[int, int]


@dataclass(frozen=True)
class CacheHealth:
    """Cache entries by kind and HTTP status (from the metric rows).

    What errors dominate is `cache_errors`: the metric rows cannot tell a root error from a copy.
    """

    by_kind: list[KindHealth]
    statuses: list[int]
    total: int


def cache_metric_rows(database: Database[mongo.MongoDocument] | None = None) -> list[mongo.MongoDocument]:
    """The rows of `cacheTotalMetric` (kind, http_status, error_code?, total), sorted on their index.

    `database` lets the metrics scrape read through its short-timeout client; by default the
    reports' connection.
    """
    cache = database if database is not None else mongo.cache_database_for_reports()
    return list(
        cache[mongo.CACHE_TOTAL_METRIC]
        .find({}, {"_id": 0, "kind": 1, "http_status": 1, "error_code": 1, "total": 1})
        .sort([("kind", 1), ("http_status", 1), ("error_code", 1)])
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )


def cache_health() -> CacheHealth:
    """Entries by (kind, http_status, error_code), as the metric rows of `cacheTotalMetric` count them.

    The other services `$inc` a row for each entry they write or delete, and so do our deletes
    (services.delete_dataset_cache_entries): a few hundred rows that say what counting the entries
    would, without reading them. Counting the entries themselves, even from index (kind,
    http_status, error_code), walks millions of index keys on each page load. So: one small
    find, sorted on the unique index (kind, http_status, error_code) that backs it. The numbers
    are those of the Prometheus gauge `responses_in_cache_total`; they drift from the entries
    only if a writer crashed between its write and its `$inc`.

    Rows with total <= 0 (emptied groups, or a
    row decremented below zero) are left out; kinds not in the processing graph are kept.
    """
    rows = cache_metric_rows()
    by_kind: dict[str, dict[int, int]] = {step.name: {} for step in processing_graph()}
    for row in rows:
        total = row.get("total")
        if not isinstance(total, int | float) or total <= 0:
            continue
        count = int(total)
        kind, http_status = str(row.get("kind")), int(row.get("http_status") or 0)
        statuses = by_kind.setdefault(kind, {})
        statuses[http_status] = statuses.get(http_status, 0) + count
    return CacheHealth(
        by_kind=[
            KindHealth(kind, sum(statuses.values()), dict(sorted(statuses.items())))
            for kind, statuses in sorted(by_kind.items())
        ],
        statuses=sorted({status for statuses in by_kind.values() for status in statuses}),
        total=sum(error_count for statuses in by_kind.values() for error_count in statuses.values()),
    )
