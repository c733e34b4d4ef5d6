"""Cache entries written per interval of a time window: one aggregation, whatever the number of steps or intervals.

The workers write a cache entry (with `updated_at` = now) each time a job finishes, so the
entries whose `updated_at` falls in an interval are the work done in it. One aggregation reads
them: `$match` on `kind: {$in: every step}` and the `updated_at` range, which index
`kind_updated` (kind, updated_at, dataset) of REFERENCE.md serves branch by branch (`$in` is
equality: one seek per kind, then the range), then `$group` by interval, kind, HTTP status and
error code. The interval of an entry is computed by the server, `floor((updated_at - since) /
interval)`: date arithmetic that MongoDB and the embedded engine both answer. One aggregation
per kind would cost a round trip per step; this one costs one, and its answer holds at most
intervals x kinds x (status, code) groups (a few thousand for a week), in one batch.

What it cannot see: an entry written again later is counted at its last write only (its
`updated_at` moved), and a deleted entry not at all. The recent intervals are exact; the older
ones count the entries that have not been written since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from foundation.core.processing_graph import processing_graph
from foundation.database import mongo


@dataclass(frozen=True)
class WrittenEntries:
    """How many entries of one kind, status and error code have their `updated_at` in one interval."""

    interval_start: datetime
    kind: str
    http_status: int
    error_code: str | None
    count: int


def written_pipeline(*, since: datetime, until: datetime, interval_seconds: int) -> list[mongo.MongoDocument]:
    """The aggregation of `cache_entries_written` (its `$match` is what index `kind_updated` serves).

    The range comes first in the `$match`: MongoDB's planner does not mind the order, and an
    engine that reads every document (the embedded one ignores non-unique indexes) rejects most
    of them on one date comparison before the `$in` of every step (4x faster at 100k entries).
    """
    return [
        {"$match": {"updated_at": {"$gte": since, "$lt": until}, "kind": {"$in": processing_graph().names}}},
        {
            "$group": {
                "_id": {
                    "interval": {
                        "$floor": {"$divide": [{"$subtract": ["$updated_at", since]}, interval_seconds * 1000]}
                    },
                    "kind": "$kind",
                    "http_status": "$http_status",
                    "error_code": "$error_code",
                },
                "count": {"$sum": 1},
            }
        },
    ]


def cache_entries_written(*, since: datetime, until: datetime, interval_seconds: int) -> list[WrittenEntries]:
    """The entries whose `updated_at` is in [since, until), counted by interval (of `interval_seconds`
    from `since`), kind, HTTP status and error code; sorted by interval, kind, status, code."""
    groups = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].aggregate(
        written_pipeline(since=since, until=until, interval_seconds=interval_seconds),
        batchSize=mongo.WHOLE_RESULT_BATCH_SIZE,
    )
    counts: dict[tuple[int, str, int, str | None], int] = {}
    for group in groups:
        key = group["_id"]
        http_status = key.get("http_status")
        if not isinstance(http_status, int | float):
            continue  # not an entry the workers write: no status to count it under
        error_code = key.get("error_code")  # absent and null are one "no error code"
        group_key = (int(key["interval"]), str(key["kind"]), int(http_status), error_code and str(error_code))
        counts[group_key] = counts.get(group_key, 0) + int(group["count"])
    return [
        WrittenEntries(
            interval_start=since + timedelta(seconds=interval * interval_seconds),
            kind=kind,
            http_status=http_status,
            error_code=error_code,
            count=count,
        )
        for (interval, kind, http_status, error_code), count in sorted(
            counts.items(), key=lambda item: (item[0][0], item[0][1], item[0][2], item[0][3] or "")
        )
    ]
