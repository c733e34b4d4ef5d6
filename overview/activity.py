"""Activity over time: one sample of the queue and the cache per interval (collection `adminActivitySamples`, ours).

The collector (`overview.collector`) takes a sample at each interval of
ADMIN_ACTIVITY_SAMPLE_SECONDS; the activity page reads the last sample of each of its intervals
(`last_samples_by_interval`; `activity_samples` reads every sample of a window). A sample reads
only the metric rows the workers keep and counts that an index answers, never the jobs or
entries one by one:
- queue depth by status: `jobTotalMetric` (summed over job types and dataset statuses);
- waiting jobs by worker size: `workerTypeJobCounts` (the workers count only the waiting jobs
  of datasets that are not blocked: the rows have no started count);
- cache entries by HTTP status: `cacheTotalMetric`;
- the oldest waiting job: one seek per priority on index (priority, status, created_at, ...);
- stale jobs (REFERENCE.md, `terminated_at` included): one count on index (status, type),
  which reads the started jobs only;
- blocked datasets: the distinct datasets of `datasetBlockages` (index dataset).
Metric rows whose total is 0 or less are left out, as the dashboard's cache health does.

Jobs finished per interval are not sampled: the started count's fall is not it (jobs start and
finish within one interval, and a fall nets starts against ends), and `pastJobs` keeps only the
jobs that ran 30 s or more, for an hour. Every finished job writes its cache entry with
`updated_at` = now, so the cache entries written per interval, which the activity page counts
through index `kind_updated`, are the honest figure (an entry written twice in one interval
counts once).

Exactly one sample per interval, however many collectors run: its `_id` is the start of the
interval (a BSON date), inserted as a new document; the duplicate-key error of the second
insert means another collector took it, and is no failure. A document:
`{_id: interval start, interval_seconds, taken_at, jobs: {waiting, started},
waiting_jobs_by_worker_size: {light, medium, heavy}, cache_entries_by_http_status: {"200": n, ...},
oldest_waiting_job_created_at (null when none waits), stale_jobs, blocked_datasets}`.
Samples are dropped ADMIN_ACTIVITY_RETENTION_DAYS after `taken_at` by the TTL index that
`ensure_indexes` creates, and by the collector itself at each round (an engine that applies no
TTL, like the embedded one of `make run`, keeps the same window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from cachereports.selectors import health
from foundation.database import mongo
from jobs import selectors as job_selectors
from jobs.constants import PENDING_STATUSES
from jobs.selectors import WORKER_SIZES

# --- the row ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivitySample:
    """The queue and the cache as one sample saw them, at `taken_at`, for the interval starting `interval_start`."""

    interval_start: datetime
    interval_seconds: int
    taken_at: datetime
    jobs_by_status: dict[str, int]
    """Pending jobs by status (waiting, started), from `jobTotalMetric`."""
    waiting_jobs_by_worker_size: dict[str, int]
    """Waiting jobs of datasets not blocked, by worker size (light, medium, heavy), from `workerTypeJobCounts`."""
    cache_entries_by_http_status: dict[int, int] = field(default_factory=dict)
    """Cache entries by HTTP status, from `cacheTotalMetric`."""
    oldest_waiting_job_created_at: datetime | None = None
    stale_jobs: int = 0
    blocked_datasets: int = 0

    @property
    def oldest_waiting_seconds(self) -> float | None:
        """How long the oldest waiting job had waited when the sample was taken; None when none waited."""
        created_at = self.oldest_waiting_job_created_at
        return None if created_at is None else max(0.0, (self.taken_at - created_at).total_seconds())

    @property
    def cache_entries(self) -> int:
        return sum(self.cache_entries_by_http_status.values())

    @property
    def cache_error_entries(self) -> int:
        """Entries with an HTTP status of 400 or more."""
        return sum(count for status, count in self.cache_entries_by_http_status.items() if status >= 400)


def interval_start(moment: datetime, interval_seconds: int) -> datetime:
    """The start of the interval that holds `moment`: a multiple of `interval_seconds` since the epoch, in UTC."""
    seconds = int(moment.timestamp()) // interval_seconds * interval_seconds
    return datetime.fromtimestamp(seconds, tz=UTC)


# --- reads: the samples of a window (the activity page) --------------------------------------


def _sample(document: mongo.MongoDocument) -> ActivitySample:
    jobs = document.get("jobs") or {}
    by_size = document.get("waiting_jobs_by_worker_size") or {}
    by_status = document.get("cache_entries_by_http_status") or {}
    oldest = document.get("oldest_waiting_job_created_at")
    return ActivitySample(
        interval_start=document["_id"],
        interval_seconds=int(document.get("interval_seconds") or 0),
        taken_at=document["taken_at"],
        jobs_by_status={status: int(jobs.get(status) or 0) for status in PENDING_STATUSES},
        waiting_jobs_by_worker_size={size: int(by_size.get(size) or 0) for size in WORKER_SIZES},
        cache_entries_by_http_status={int(status): int(count) for status, count in by_status.items()},
        oldest_waiting_job_created_at=oldest if isinstance(oldest, datetime) else None,
        stale_jobs=int(document.get("stale_jobs") or 0),
        blocked_datasets=int(document.get("blocked_datasets") or 0),
    )


def activity_samples(*, since: datetime, until: datetime | None = None) -> list[ActivitySample]:
    """The samples of the intervals that start in [since, until), oldest first: one find on `_id`."""
    window: dict[str, datetime] = {"$gte": since}
    if until is not None:
        window["$lt"] = until
    found = mongo.queue_database_for_reports()[mongo.ADMIN_ACTIVITY_SAMPLES].find({"_id": window}).sort("_id", 1)
    return [_sample(document) for document in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)]


@dataclass(frozen=True)
class IntervalSamples:
    """The last sample taken in one interval of a window, and how many were taken in it."""

    interval_start: datetime
    last: ActivitySample
    count: int


def last_samples_by_interval(*, since: datetime, until: datetime, interval_seconds: int) -> list[IntervalSamples]:
    """The last sample of each interval (of `interval_seconds` from `since`) in [since, until), oldest first.

    One aggregation: the window's samples by `_id` (in order), grouped by interval on the server
    with `$last`; a week of samples taken every minute (10,080) comes back as its 168 hours, not
    as 10,080 documents to decode.
    """
    found = mongo.queue_database_for_reports()[mongo.ADMIN_ACTIVITY_SAMPLES].aggregate(
        [
            {"$match": {"_id": {"$gte": since, "$lt": until}}},
            {"$sort": {"_id": 1}},
            {
                "$group": {
                    "_id": {"$floor": {"$divide": [{"$subtract": ["$_id", since]}, interval_seconds * 1000]}},
                    "last": {"$last": "$$ROOT"},
                    "count": {"$sum": 1},
                }
            },
            {"$sort": {"_id": 1}},
        ],
        batchSize=mongo.WHOLE_RESULT_BATCH_SIZE,
    )
    return [
        IntervalSamples(
            interval_start=since + timedelta(seconds=int(group["_id"]) * interval_seconds),
            last=_sample(group["last"]),
            count=int(group["count"]),
        )
        for group in found
    ]


def activity_samples_of_the_last(seconds: float, *, now: datetime | None = None) -> list[ActivitySample]:
    """The samples of the last `seconds` (an hour, a day, a week), oldest first."""
    moment = now if now is not None else mongo.utc_now()
    return activity_samples(since=moment - timedelta(seconds=seconds))


# --- writes: taking a sample, dropping the old ones (the collector) --------------------------


def _positive_total(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and value > 0 else 0


def measure_activity(*, taken_at: datetime, start: datetime, interval_seconds: int) -> ActivitySample:
    """Read what a sample holds: the metric rows and a few indexed counts (the module's docstring)."""
    jobs_by_status = dict.fromkeys(PENDING_STATUSES, 0)
    for row in job_selectors.job_metric_rows():
        status = row.get("status")
        if status in jobs_by_status:
            jobs_by_status[status] += _positive_total(row.get("total"))
    by_size = dict.fromkeys(WORKER_SIZES, 0)
    for row in job_selectors.worker_size_rows():
        size = row.get("worker_size")
        if size in by_size:
            by_size[size] += _positive_total(row.get("jobs_count"))
    by_http_status: dict[int, int] = {}
    for row in health.cache_metric_rows():
        total, http_status = _positive_total(row.get("total")), row.get("http_status")
        if total and isinstance(http_status, int | float):
            by_http_status[int(http_status)] = by_http_status.get(int(http_status), 0) + total
    return ActivitySample(
        interval_start=start,
        interval_seconds=interval_seconds,
        taken_at=taken_at,
        jobs_by_status=jobs_by_status,
        waiting_jobs_by_worker_size=by_size,
        cache_entries_by_http_status=dict(sorted(by_http_status.items())),
        oldest_waiting_job_created_at=job_selectors.oldest_waiting_job_created_at(),
        stale_jobs=job_selectors.count_stale_jobs(),
        blocked_datasets=len(job_selectors.blocked_datasets()),
    )


def _document(sample: ActivitySample) -> mongo.MongoDocument:
    return {
        "_id": sample.interval_start,
        "interval_seconds": sample.interval_seconds,
        "taken_at": sample.taken_at,
        "jobs": sample.jobs_by_status,
        "waiting_jobs_by_worker_size": sample.waiting_jobs_by_worker_size,
        "cache_entries_by_http_status": {
            str(status): count for status, count in sample.cache_entries_by_http_status.items()
        },
        "oldest_waiting_job_created_at": sample.oldest_waiting_job_created_at,
        "stale_jobs": sample.stale_jobs,
        "blocked_datasets": sample.blocked_datasets,
    }


@dataclass(frozen=True)
class SampleOutcome:
    interval_start: datetime
    sample: ActivitySample | None
    """The sample this collector took; None when another collector had taken this interval's."""

    def __str__(self) -> str:
        interval = self.interval_start.strftime("%Y-%m-%d %H:%M:%SZ")
        return f"the interval of {interval}: {'taken' if self.sample else 'already taken by another collector'}"


def take_activity_sample(*, now: datetime, interval_seconds: int) -> SampleOutcome:
    """The sample of the interval that holds `now`, unless one was taken: at most one per interval.

    A find by `_id` first spares the reads when the interval has its sample; two collectors that
    both find none both read, and the second insert's duplicate key says the first took it.
    """
    start = interval_start(now, interval_seconds)
    samples = mongo.queue_database()[mongo.ADMIN_ACTIVITY_SAMPLES]
    if samples.find_one({"_id": start}, {"_id": 1}) is not None:
        return SampleOutcome(start, None)
    sample = measure_activity(taken_at=now, start=start, interval_seconds=interval_seconds)
    try:
        samples.insert_one(_document(sample))
    except DuplicateKeyError:
        return SampleOutcome(start, None)
    return SampleOutcome(start, sample)


def delete_expired_samples(*, now: datetime, retention_days: int) -> int:
    """Drop the samples taken more than `retention_days` ago (what the TTL index does on MongoDB): one delete."""
    expired_before = now - timedelta(days=retention_days)
    deleted = mongo.queue_database()[mongo.ADMIN_ACTIVITY_SAMPLES].delete_many({"taken_at": {"$lt": expired_before}})
    return int(deleted.deleted_count)
