"""Reads of the queue database. Every query of the jobs app is built here.

Each function costs one database command (plus cursor batches), whatever the number of
processing steps: jobs are fetched in one query and grouped in Python.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bson import ObjectId
from django.conf import settings
from pymongo.database import Database

from foundation.core.processing_graph import processing_graph
from foundation.database import mongo
from jobs.constants import (
    DATASET_BLOCKAGE_SECONDS,
    DATASET_BLOCKAGE_THRESHOLD_SECONDS,
    LIGHT_MAX_DIFFICULTY,
    MEDIUM_MAX_DIFFICULTY,
    PAST_JOBS_WINDOW_SECONDS,
    PENDING_STATUSES,
    Priority,
    Status,
    worker_size,
)
from jobs.rows import Job, job_row

PendingJobs = dict[str, dict[str, list[Job]]]
"""Job rows by job type (every step listed) then status (waiting, started)."""

_JOB_FIELDS = {
    field: 1
    for field in (
        "type",
        "dataset",
        "revision",
        "config",
        "split",
        "unicity_id",
        "namespace",
        "priority",
        "status",
        "difficulty",
        "created_at",
        "started_at",
        "last_heartbeat",
        "terminated_at",
    )
}


Item = TypeVar("Item")


def _by_type_and_status(
    jobs: Iterable[mongo.MongoDocument], item: Callable[[mongo.MongoDocument], Item]
) -> dict[str, dict[str, list[Item]]]:
    """`item(job)` of each job document, by job type (every step listed) then status; others left out."""
    grouped: dict[str, dict[str, list[Item]]] = {
        step.name: {Status.WAITING.value: [], Status.STARTED.value: []} for step in processing_graph()
    }
    for job in jobs:
        by_status = grouped.get(job.get("type"))  # type: ignore[arg-type]
        if by_status is not None:
            same_status = by_status.get(job.get("status"))  # type: ignore[arg-type]
            if same_status is not None:
                same_status.append(item(job))
    return grouped


def _group_by_type_and_status(jobs: Iterable[mongo.MongoDocument]) -> PendingJobs:
    return _by_type_and_status(jobs, job_row)


PendingJobDocuments = dict[str, dict[str, list[mongo.MongoDocument]]]
"""Job documents as stored (dates naive UTC), by job type (every step listed) then status."""


def pending_job_documents_by_type() -> PendingJobDocuments:
    """Every waiting and started job of the queue, by job type (every step listed) then status.

    One query on (status) for the whole queue; the natural order of the collection is kept,
    as the other services' dump does. The documents go to the JSON answer as they are
    (`jobs.serializers.pending_jobs_dict`), with no row in between: the queue may hold 100k
    jobs, and a row per job cost as much as decoding them.
    """
    jobs = (
        mongo.queue_database_for_reports()[mongo.JOBS]
        .with_options(codec_options=mongo.NAIVE_UTC_DATES)
        .find({"status": {"$in": list(PENDING_STATUSES)}}, _JOB_FIELDS)
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
    return _by_type_and_status(jobs, _as_stored)


def _as_stored(job: mongo.MongoDocument) -> mongo.MongoDocument:
    return job


def pending_job_documents_of_dataset(*, dataset: str, primary: bool = False) -> list[mongo.MongoDocument]:
    """The waiting and started jobs of one dataset as stored, `_id` included (index dataset, status).

    A page may read a secondary; a write computed from them (the backfill) reads the primary.
    """
    queue = mongo.queue_database() if primary else mongo.queue_database_for_reports()
    return list(
        queue[mongo.JOBS]
        .find({"dataset": dataset, "status": {"$in": list(PENDING_STATUSES)}}, _JOB_FIELDS)
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )


def group_pending_jobs(jobs: Any) -> PendingJobs:
    """Job documents as job rows, by job type (every step listed) then status."""
    return _group_by_type_and_status(jobs)


def pending_jobs_of_dataset(*, dataset: str) -> PendingJobs:
    """The waiting and started jobs of one dataset, by job type then status (index dataset, status)."""
    return _group_by_type_and_status(pending_job_documents_of_dataset(dataset=dataset))


def blocked_datasets() -> list[str]:
    """The distinct datasets of `datasetBlockages`, alphabetically."""
    datasets = mongo.queue_database_for_reports()[mongo.DATASET_BLOCKAGES].distinct("dataset")
    return sorted(dataset for dataset in datasets if isinstance(dataset, str))


@dataclass(frozen=True)
class BlockedDataset:
    """One blocked dataset: its latest blockage, when that expires, and its recent compute time."""

    dataset: str
    blocked_at: datetime | None
    compute_seconds: int
    """Seconds its jobs ran in the last hour (sum of `duration` of its `pastJobs`)."""

    @property
    def expires_at(self) -> datetime | None:
        return None if self.blocked_at is None else self.blocked_at + timedelta(seconds=DATASET_BLOCKAGE_SECONDS)

    @property
    def threshold_percent(self) -> int:
        return round(100 * self.compute_seconds / DATASET_BLOCKAGE_THRESHOLD_SECONDS)

    @property
    def over_threshold(self) -> bool:
        return self.compute_seconds > DATASET_BLOCKAGE_THRESHOLD_SECONDS


@dataclass(frozen=True)
class BlockedDatasets:
    datasets: list[BlockedDataset]
    threshold_seconds: int = DATASET_BLOCKAGE_THRESHOLD_SECONDS
    window_seconds: int = PAST_JOBS_WINDOW_SECONDS


def _latest_blockages() -> dict[str, datetime | None]:
    """The latest `blocked_at` of each blocked dataset (one find on a collection of a few documents)."""
    latest: dict[str, datetime | None] = {}
    blockages = mongo.queue_database_for_reports()[mongo.DATASET_BLOCKAGES].find(
        {}, {"_id": 0, "dataset": 1, "blocked_at": 1}
    )
    for blockage in blockages:
        dataset, blocked_at = blockage.get("dataset"), blockage.get("blocked_at")
        if not isinstance(dataset, str):
            continue
        moment = blocked_at if isinstance(blocked_at, datetime) else None
        known = latest.get(dataset)
        latest[dataset] = moment if known is None or (moment is not None and moment > known) else known
    return latest


def _compute_seconds_last_hour(datasets: list[str]) -> dict[str, int]:
    """Seconds of compute of these datasets' jobs finished in the last hour: one aggregation on `pastJobs`.

    `pastJobs` belongs to the workers (who index and expire it on `finished_at`): we create no
    index there, and read it with a filter on `finished_at` so the range stays an hour's jobs.
    """
    since = mongo.utc_now() - timedelta(seconds=PAST_JOBS_WINDOW_SECONDS)
    groups = mongo.queue_database_for_reports()[mongo.PAST_JOBS].aggregate(
        [
            {"$match": {"finished_at": {"$gt": since}, "dataset": {"$in": datasets}}},
            {"$group": {"_id": "$dataset", "seconds": {"$sum": "$duration"}}},
        ]
    )
    return {str(group["_id"]): int(group.get("seconds") or 0) for group in groups}


def blocked_datasets_report() -> BlockedDatasets:
    """Why each dataset is blocked, the most recently blocked first: two commands (one without any blockage).

    The workers block a dataset whose jobs used more than `DATASET_BLOCKAGE_THRESHOLD_SECONDS`
    of compute in the last hour; the blockage expires 6 hours after `blocked_at`.
    """
    latest = _latest_blockages()
    seconds = _compute_seconds_last_hour(sorted(latest)) if latest else {}
    datasets = [
        BlockedDataset(dataset=dataset, blocked_at=blocked_at, compute_seconds=seconds.get(dataset, 0))
        for dataset, blocked_at in latest.items()
    ]
    datasets.sort(
        key=lambda row: (row.blocked_at is None, -(row.blocked_at.timestamp() if row.blocked_at else 0), row.dataset)
    )
    return BlockedDatasets(datasets)


def blocked_among(datasets: set[str]) -> set[str]:
    """Which of these datasets are blocked (one find on index dataset; none when the set is empty)."""
    if not datasets:
        return set()
    blockages = mongo.queue_database_for_reports()[mongo.DATASET_BLOCKAGES].find(
        {"dataset": {"$in": sorted(datasets)}}, {"_id": 0, "dataset": 1}
    )
    return {str(blockage["dataset"]) for blockage in blockages}


# --- Stale jobs -----------------------------------------------------------------------------


def stale_before() -> datetime:
    """A started job not beaten, or terminated, since this moment is stale (ADMIN_STALE_JOB_SECONDS ago)."""
    return mongo.utc_now() - timedelta(seconds=settings.ADMIN.stale_job_seconds)


def stale_condition(before: datetime) -> dict[str, Any]:
    """Started jobs that went quiet before `before`: the two kinds the workers' executors look for.

    "Missing heartbeats": its `last_heartbeat`, or `started_at` when it never beat, is older.
    "Terminated": its worker was sent SIGTERM (`terminated_at`) before then, whatever its beats.
    """
    return {
        "status": Status.STARTED.value,
        "$or": [
            {"last_heartbeat": {"$lt": before}},
            {"last_heartbeat": None, "started_at": {"$lt": before}},
            {"terminated_at": {"$lt": before}},
        ],
    }


def _moment(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def quiet_since(job: Mapping[str, Any]) -> datetime | None:
    """When a started job was last heard of: its last heartbeat, else its start."""
    return _moment(job.get("last_heartbeat")) or _moment(job.get("started_at"))


def is_stale(job: Mapping[str, Any], before: datetime) -> bool:
    """`stale_condition` for one job read already (a document, or a row's `_asdict()`)."""
    if job.get("status") != Status.STARTED.value:
        return False
    quiet, terminated = quiet_since(job), _moment(job.get("terminated_at"))
    return (quiet is not None and quiet < before) or (terminated is not None and terminated < before)


def oldest_waiting_job_created_at() -> datetime | None:
    """When the oldest waiting job was created, None when none waits: one find per priority.

    Each is a seek on index (priority, status, created_at, ...): the first key of the range
    `priority, "waiting"`, read in `created_at` order, whatever the size of the queue.
    """
    jobs = mongo.queue_database_for_reports()[mongo.JOBS]
    oldest: datetime | None = None
    for priority in Priority:
        first = jobs.find_one(
            {"priority": priority.value, "status": Status.WAITING.value},
            {"_id": 0, "created_at": 1},
            sort=[("created_at", 1)],
        )
        created_at = None if first is None else first.get("created_at")
        if isinstance(created_at, datetime) and (oldest is None or created_at < oldest):
            oldest = created_at
    return oldest


def count_stale_jobs() -> int:
    """How many started jobs are stale: one count on index (status, type)."""
    return mongo.queue_database_for_reports()[mongo.JOBS].count_documents(stale_condition(stale_before()))


# --- The browser console: queue summary and the paginated job list ---------------------------

WORKER_SIZES = ("light", "medium", "heavy")

_DIFFICULTY_OF_WORKER_SIZE: dict[str, dict[str, int]] = {
    "light": {"$lte": LIGHT_MAX_DIFFICULTY},
    "medium": {"$gt": LIGHT_MAX_DIFFICULTY, "$lte": MEDIUM_MAX_DIFFICULTY},
    "heavy": {"$gt": MEDIUM_MAX_DIFFICULTY},
}
"""The difficulty range of the jobs each worker size takes (as `worker_size` counts them)."""

JOB_SORTS: dict[str, list[tuple[str, int]]] = {
    "created_at": [("created_at", 1), ("_id", 1)],
    "-created_at": [("created_at", -1), ("_id", -1)],
    "difficulty": [("difficulty", 1), ("created_at", 1), ("_id", 1)],
    "-difficulty": [("difficulty", -1), ("created_at", 1), ("_id", 1)],
    "last_heartbeat": [("last_heartbeat", 1), ("started_at", 1), ("_id", 1)],
    "-last_heartbeat": [("last_heartbeat", -1), ("started_at", -1), ("_id", -1)],
}
"""The orders of the job list: by age (oldest first by default), difficulty or last heartbeat (the
quietest first: jobs that never beat, by start, then the oldest beats); `_id` breaks ties."""


@dataclass(frozen=True)
class TypeSummary:
    """The pending jobs of one job type, and the creation date of its oldest waiting job."""

    type: str
    waiting: int
    started: int
    oldest_waiting_at: datetime | None


@dataclass(frozen=True)
class QueueSummary:
    """What the queue is doing, counted from the jobs themselves (not from the metric rows)."""

    by_type: list[TypeSummary]
    by_priority: dict[str, dict[str, int]]
    by_worker_size: dict[str, dict[str, int]]
    total: dict[str, int]


def _status_counts() -> dict[str, int]:
    return {status: 0 for status in PENDING_STATUSES}


def _queue_groups() -> list[dict[str, Any]]:
    """Pending jobs counted by (type, status, priority, difficulty), in one `$group` (index status, type).

    Each group also carries the `$min` of its `created_at`.
    """
    return list(
        mongo.queue_database_for_reports()[mongo.JOBS].aggregate(
            [
                {"$match": {"status": {"$in": list(PENDING_STATUSES)}}},
                {
                    "$group": {
                        "_id": {
                            "type": "$type",
                            "status": "$status",
                            "priority": "$priority",
                            "difficulty": "$difficulty",
                        },
                        "count": {"$sum": 1},
                        "oldest": {"$min": "$created_at"},
                    }
                },
            ]
        )
    )


def _oldest_waiting_of_groups(groups: list[dict[str, Any]]) -> dict[str, datetime]:
    """The oldest `created_at` of the waiting groups of each type (from `$min` of each group)."""
    oldest: dict[str, datetime] = {}
    for group in groups:
        key, group_oldest = group["_id"], group.get("oldest")
        if key.get("status") != Status.WAITING.value or not isinstance(group_oldest, datetime):
            continue
        job_type = str(key.get("type"))
        if job_type not in oldest or group_oldest < oldest[job_type]:
            oldest[job_type] = group_oldest
    return oldest


def queue_summary() -> QueueSummary:
    """Pending jobs by type, priority and worker size, and the oldest waiting job per type.

    One `$group` on (type, status, priority, difficulty) with the `$min` of `created_at`: its
    few hundred groups at most are summed four ways here, instead of one pass over the queue
    per breakdown ($facet is not available). On MongoDB that is one command and one pass over
    the pending jobs, selected by index (status, type); the pass reads each pending job (priority
    and difficulty are in no index), which is bounded by the queue (100k jobs: well under a
    second) and is what makes the by-priority, by-worker-size and oldest-waiting numbers exact.

    Why not the metric rows: `jobTotalMetric` would give the counts by type and status without
    reading jobs, but the pass above is needed anyway for the other breakdowns, so it would
    only add a command, and numbers that may not add up with the others on the same page (it
    also counts blocked datasets apart). `workerTypeJobCounts` counts only the waiting jobs of
    datasets that are not blocked, with no started count: not what this table shows. Both
    stay on /admin/metrics.
    """
    groups = _queue_groups()
    oldest_waiting = _oldest_waiting_of_groups(groups)
    by_type: dict[str, dict[str, int]] = {step.name: _status_counts() for step in processing_graph()}
    by_priority = {priority.value: _status_counts() for priority in reversed(Priority)}
    by_worker_size = {size: _status_counts() for size in WORKER_SIZES}
    total = _status_counts()
    for group in groups:
        key, count = group["_id"], int(group["count"])
        status, job_type = key.get("status"), str(key.get("type"))
        total[status] += count
        by_type.setdefault(job_type, _status_counts())[status] += count
        by_priority.setdefault(str(key.get("priority")), _status_counts())[status] += count
        difficulty = key.get("difficulty")
        if isinstance(difficulty, int | float):
            by_worker_size[worker_size(int(difficulty))][status] += count
    return QueueSummary(
        by_type=[
            TypeSummary(job_type, counts["waiting"], counts["started"], oldest_waiting.get(job_type))
            for job_type, counts in sorted(by_type.items())
        ],
        by_priority=by_priority,
        by_worker_size=by_worker_size,
        total=total,
    )


def namespace_condition(namespace: str) -> list[dict[str, Any]]:
    """The datasets of a namespace: `namespace` itself, or `namespace/...`, for a `$or`.

    Matched on `dataset`, not on the `namespace` field, so that index (dataset, status) of
    REFERENCE.md serves it: an equality and an anchored prefix regex (literal once escaped)
    are both index ranges. `namespace` has no index of its own in production.
    """
    return [{"dataset": namespace}, {"dataset": {"$regex": "^" + re.escape(namespace) + "/"}}]


@dataclass(frozen=True)
class JobFilters:
    """The filters of the job list; None means "any". Values are validated by the caller."""

    type: str | None = None
    status: str | None = None
    priority: str | None = None
    dataset: str | None = None
    namespace: str | None = None
    worker_size: str | None = None
    stale_before: datetime | None = None
    """Only the stale jobs: started, and not beaten since this moment."""

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {"status": self.status or {"$in": list(PENDING_STATUSES)}}
        for name in ("type", "priority", "dataset"):
            value = getattr(self, name)
            if value is not None:
                query[name] = value
        conditions = []
        if self.namespace is not None:
            conditions.append({"$or": namespace_condition(self.namespace)})
        if self.stale_before is not None:
            conditions.append(stale_condition(self.stale_before))
        if conditions:
            query["$and"] = conditions
        if self.worker_size is not None:
            query["difficulty"] = _DIFFICULTY_OF_WORKER_SIZE[self.worker_size]
        return query


@dataclass(frozen=True)
class JobsPage:
    """One page of pending jobs and the number of jobs matching in all.

    Each job is its document as stored, plus `is_stale` (started, and not beaten since
    `stale_before`) and `dataset_blocked` (its dataset is in `datasetBlockages`).
    """

    jobs: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages


def jobs_page(*, filters: JobFilters, sort: str, page: int, page_size: int) -> JobsPage:
    """Pending jobs matching the filters, one page, their count, and which are blocked: three commands.

    Backed by (status, type), (type, status) and (dataset, status) (namespaces too); the
    sort keeps only skip + limit jobs in memory (top-k), never the whole queue. The
    blockages of the page's datasets are one find on index (dataset) (none for an empty page).
    """
    query = filters.query()
    jobs_collection = mongo.queue_database_for_reports()[mongo.JOBS]
    jobs = list(
        jobs_collection.find(query, _JOB_FIELDS | {"terminated_at": 1})
        .sort(JOB_SORTS[sort])
        .skip((page - 1) * page_size)
        .limit(page_size)
    )
    total = jobs_collection.count_documents(query)
    blocked = blocked_among({str(job.get("dataset")) for job in jobs})
    before = filters.stale_before or stale_before()
    rows = [job | {"is_stale": is_stale(job, before), "dataset_blocked": job.get("dataset") in blocked} for job in jobs]
    return JobsPage(jobs=rows, total=total, page=page, page_size=page_size)


def is_dataset_blocked(*, dataset: str, primary: bool = False) -> bool:
    """Whether the dataset is in `datasetBlockages` (index dataset).

    A page may read a secondary; a write that depends on the answer (the worker-size row a new
    job counts in) reads the primary.
    """
    queue = mongo.queue_database() if primary else mongo.queue_database_for_reports()
    return queue[mongo.DATASET_BLOCKAGES].find_one({"dataset": dataset}, {"_id": 1}) is not None


def started_job(*, unicity_id: str) -> mongo.MongoDocument | None:
    """A started job of this unicity_id, if any (index (unicity_id, status, -created_at); the primary)."""
    jobs = mongo.queue_database()[mongo.JOBS]
    return jobs.find_one({"unicity_id": unicity_id, "status": Status.STARTED.value})


def waiting_unicity_ids_of_dataset(*, dataset: str) -> list[str]:
    """The distinct unicity_ids of a dataset's waiting jobs: the locks a recreate takes (index (dataset, status))."""
    jobs = mongo.queue_database()[mongo.JOBS]
    keys = jobs.distinct("unicity_id", {"dataset": dataset, "status": Status.WAITING.value})
    return sorted(str(key) for key in keys)


def count_waiting_jobs_of_dataset(*, dataset: str) -> int:
    """How many waiting jobs a dataset has (what a recreate would delete; index dataset, status)."""
    return mongo.queue_database()[mongo.JOBS].count_documents({"dataset": dataset, "status": Status.WAITING.value})


def job_metric_rows(database: Database[mongo.MongoDocument] | None = None) -> list[mongo.MongoDocument]:
    """The rows of `jobTotalMetric` (job_type, status, dataset_status, total).

    `database` lets the metrics scrape read through its short-timeout client.
    """
    queue = database if database is not None else mongo.queue_database_for_reports()
    fields = {"_id": 0, "job_type": 1, "status": 1, "dataset_status": 1, "total": 1}
    return list(queue[mongo.JOB_TOTAL_METRIC].find({}, fields))


def worker_size_rows(database: Database[mongo.MongoDocument] | None = None) -> list[mongo.MongoDocument]:
    """The rows of `workerTypeJobCounts` (worker_size, jobs_count)."""
    queue = database if database is not None else mongo.queue_database_for_reports()
    return list(queue[mongo.WORKER_TYPE_JOB_COUNTS].find({}, {"_id": 0, "worker_size": 1, "jobs_count": 1}))


MetricRowKey = tuple[tuple[str, Any], ...]


def _blocked_datasets_on_primary() -> list[str]:
    datasets = mongo.queue_database()[mongo.DATASET_BLOCKAGES].distinct("dataset")
    return sorted(dataset for dataset in datasets if isinstance(dataset, str))


def _jobs_by_type_and_status(match: dict[str, Any]) -> Counter[tuple[Any, Any]]:
    groups = mongo.queue_database()[mongo.JOBS].aggregate(
        [{"$match": match}, {"$group": {"_id": {"type": "$type", "status": "$status"}, "total": {"$sum": 1}}}]
    )
    counts: Counter[tuple[Any, Any]] = Counter()
    for group in groups:
        counts[group["_id"].get("type"), group["_id"].get("status")] += int(group["total"])
    return counts


def jobs_by_metric_row() -> dict[MetricRowKey, int]:
    """Every job counted by its `jobTotalMetric` row, as the other services' queue-metrics collector counts them.

    Their collector groups every job (whatever its status) by (type, status, dataset_status),
    where `dataset_status` is "blocked" for a dataset of `datasetBlockages` and "normal"
    otherwise. (Their writers only ever move "normal" rows; the collector puts a blocked
    dataset's jobs apart.) Two aggregations (index (type, status)) and the blocked datasets, on
    the primary.
    """
    blocked = _blocked_datasets_on_primary()
    every = _jobs_by_type_and_status({})
    of_blocked = _jobs_by_type_and_status({"dataset": {"$in": blocked}}) if blocked else Counter()
    counts: dict[MetricRowKey, int] = {}
    for (job_type, status), total in every.items():
        blocked_total = of_blocked[job_type, status]
        for dataset_status, count in (("normal", total - blocked_total), ("blocked", blocked_total)):
            if count:
                counts[(("job_type", job_type), ("status", status), ("dataset_status", dataset_status))] = count
    return counts


def jobs_by_worker_size() -> dict[MetricRowKey, int]:
    """Jobs counted by `workerTypeJobCounts` row, as the other services' collector counts them.

    Their collector counts every job (waiting and started alike) of a dataset that is not
    blocked, with 0 < difficulty <= 100, by the size its difficulty falls in, and writes the
    three sizes even at 0. (Their writers count waiting jobs only, difficulty 0 included: the
    two disagree while jobs run, and the collector's word is the one kept.) One aggregation.
    """
    blocked = _blocked_datasets_on_primary()
    match: dict[str, Any] = {"difficulty": {"$gt": 0, "$lte": 100}}
    if blocked:
        match["dataset"] = {"$nin": blocked}
    groups = mongo.queue_database()[mongo.JOBS].aggregate(
        [{"$match": match}, {"$group": {"_id": "$difficulty", "total": {"$sum": 1}}}]
    )
    counts = dict.fromkeys(WORKER_SIZES, 0)
    for group in groups:
        if isinstance(group["_id"], int | float):
            counts[worker_size(group["_id"])] += int(group["total"])
    return {(("worker_size", size),): count for size, count in counts.items()}


# --- The workers' pick (REFERENCE.md "The workers' side of the queue", step 1) ----------------

_PICK_FIELDS = {field: 1 for field in ("type", "dataset", "revision", "config", "split", "unicity_id", "priority")}


def difficulty_range(size: str) -> dict[str, int]:
    """The `difficulty` condition of the jobs a worker of this size takes (light <= 40 < medium <= 70 < heavy)."""
    return dict(_DIFFICULTY_OF_WORKER_SIZE[size])


def _oldest_waiting(query: dict[str, Any]) -> mongo.MongoDocument | None:
    jobs = mongo.queue_database()[mongo.JOBS].find(query, _PICK_FIELDS).sort([("created_at", 1), ("_id", 1)]).limit(1)
    return next(iter(jobs), None)


def next_waiting_job(*, size: str) -> mongo.MongoDocument | None:
    """The job a worker of this size takes next, as the workers pick it; None when there is none.

    For priority high, then normal, then low: the oldest waiting job within the size's
    difficulty range whose dataset is not blocked, first among the namespaces with no started
    job, else among the namespaces with the fewest started jobs (then the next fewest...), and
    never a `unicity_id` that already has a started job. Read from the primary (a worker acts
    on it at once). Commands: the blockages and the started jobs (two finds), then one find
    per priority and namespace group tried; the first usually answers. `created_at` ties are
    broken by `_id` (upstream leaves them to the server). Every started job counts in the
    namespace counts, whatever its difficulty, as the contract words it (upstream counts the
    started jobs of the same difficulty range only).
    """
    queue = mongo.queue_database()
    blocked = [dataset for dataset in queue[mongo.DATASET_BLOCKAGES].distinct("dataset") if isinstance(dataset, str)]
    started_by_namespace: dict[str, list[str]] = {}
    for started in queue[mongo.JOBS].find({"status": Status.STARTED.value}, {"namespace": 1, "unicity_id": 1}):
        started_by_namespace.setdefault(str(started.get("namespace")), []).append(str(started.get("unicity_id")))
    for priority in reversed(Priority):
        query: dict[str, Any] = {
            "status": Status.WAITING.value,
            "priority": priority.value,
            "difficulty": difficulty_range(size),
        }
        if blocked:
            query["dataset"] = {"$nin": blocked}
        picked = _oldest_waiting_fairly(query=query, started_by_namespace=started_by_namespace)
        if picked is not None:
            return picked
    return None


def _oldest_waiting_fairly(
    *, query: dict[str, Any], started_by_namespace: dict[str, list[str]]
) -> mongo.MongoDocument | None:
    """The oldest job of `query` in a namespace without a started job, else in the least busy namespaces."""
    # a namespace without a started job holds no unicity_id with a started job
    picked = _oldest_waiting({**query, "namespace": {"$nin": sorted(started_by_namespace)}})
    by_count: dict[int, list[str]] = {}
    for namespace, unicity_ids in started_by_namespace.items():
        by_count.setdefault(len(unicity_ids), []).append(namespace)
    for count in sorted(by_count):
        if picked is not None:
            break
        namespaces = sorted(by_count[count])
        busy = sorted({key for namespace in namespaces for key in started_by_namespace[namespace]})
        picked = _oldest_waiting({**query, "namespace": {"$in": namespaces}, "unicity_id": {"$nin": busy}})
    return picked


def started_job_by_id(*, job_id: Any) -> mongo.MongoDocument | None:
    """The job of this `_id` if it is still started (from the primary: a worker is about to finish it)."""
    return mongo.queue_database()[mongo.JOBS].find_one({"_id": job_id, "status": Status.STARTED.value})


# --- Stale jobs by worker size and type, and the batches a requeue works on -----------------


@dataclass(frozen=True)
class StaleJobsSummary:
    """The stale jobs of a filter by job type then worker size (only types that have some)."""

    by_type: dict[str, dict[str, int]]
    by_worker_size: dict[str, int]
    total: int
    stale_before: datetime


def stale_jobs_summary(*, filters: JobFilters) -> StaleJobsSummary:
    """The stale jobs among the filter's, counted by (type, difficulty) in one `$group` (index status, type).

    Started jobs are as many as the workers at most, so the pass stays small whatever the queue.
    """
    before = filters.stale_before or stale_before()
    groups = mongo.queue_database_for_reports()[mongo.JOBS].aggregate(
        [
            {"$match": replace(filters, stale_before=before).query()},
            {"$group": {"_id": {"type": "$type", "difficulty": "$difficulty"}, "count": {"$sum": 1}}},
        ]
    )
    by_type: dict[str, dict[str, int]] = {}
    by_worker_size = dict.fromkeys(WORKER_SIZES, 0)
    for group in groups:
        key, count = group["_id"], int(group["count"])
        difficulty = key.get("difficulty")
        size = worker_size(int(difficulty)) if isinstance(difficulty, int | float) else worker_size(0)
        by_type.setdefault(str(key.get("type")), dict.fromkeys(WORKER_SIZES, 0))[size] += count
        by_worker_size[size] += count
    return StaleJobsSummary(
        by_type=dict(sorted(by_type.items())),
        by_worker_size=by_worker_size,
        total=sum(by_worker_size.values()),
        stale_before=before,
    )


def count_matching_jobs(*, filters: JobFilters) -> int:
    """How many pending jobs match (one count on the indexes of `JobFilters.query`), read on the primary."""
    return mongo.queue_database()[mongo.JOBS].count_documents(filters.query())


def matching_jobs_after(*, filters: JobFilters, after: ObjectId | None, limit: int) -> list[mongo.MongoDocument]:
    """The next `limit` matching jobs after `_id` `after`, in `_id` order, as stored (primary).

    A requeue reads its batch here: with `stale_before` set, the started jobs only, which are
    as many as the workers at most, so sorting them by `_id` stays small.
    """
    query = filters.query()
    if after is not None:
        query["_id"] = {"$gt": after}
    jobs = mongo.queue_database()[mongo.JOBS].find(query, _JOB_FIELDS).sort("_id", 1).limit(limit)
    return list(jobs)


def pending_job(*, job_id: ObjectId) -> mongo.MongoDocument | None:
    """One job by `_id`, as stored, read on the primary (a write decides on it)."""
    return mongo.queue_database()[mongo.JOBS].find_one({"_id": job_id}, _JOB_FIELDS)
