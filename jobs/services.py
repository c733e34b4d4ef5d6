"""Writes to the queue database: waiting jobs and the metric rows that count them.

The queue has no transactions (the other services do not use them).
How each write stays safe:

1. Adding a waiting job happens under the lock of its `unicity_id` (the `locks` protocol the
   workers use to start a job): check for a waiting job with that unicity_id, then either
   raise its priority or insert one. Concurrent calls, in any process, leave one waiting job.
   The metric rows are incremented (as upstream, before the insert); if the insert fails
   they are decremented back. The lock is released in `finally` (and expires after its ttl).
2. Deleting waiting jobs reads them in batches, groups them by metric row, deletes each group
   by `_id` (plus `status: waiting`, so a job a worker started in between stays), then
   decrements the row by the count the server reported: the rows follow exactly what was
   deleted. A retry deletes what is left.

The operations on a whole dataset (force-refresh, recreate) that call these live in
`datasetops.services`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pymongo.errors import BulkWriteError

from foundation.database import metric_rows, mongo
from jobs import selectors as job_selectors
from jobs.constants import DATASET_STATUS_NORMAL, Priority, Status, worker_size
from jobs.documents import job_document, unicity_id
from jobs.locks import held_lock, held_locks
from jobs.rows import Job, job_row

logger = logging.getLogger(__name__)

JobAction = Literal["created", "already_waiting", "updated"]

# ---------------------------------------------------------------------------------------------
# Waiting jobs and their metric rows


def _increment_waiting_metrics(*, job_type: str, difficulty: int, by: int, count_worker_size: bool) -> None:
    """`$inc` the rows a waiting job counts in (upsert, as upstream `increase_metric`)."""
    queue = mongo.queue_database()
    now = mongo.utc_now()
    metric_rows.increment_row(
        queue[mongo.JOB_TOTAL_METRIC],
        row={"job_type": job_type, "status": Status.WAITING.value, "dataset_status": DATASET_STATUS_NORMAL},
        field="total",
        by=by,
        now=now,
    )
    if count_worker_size:
        metric_rows.increment_row(
            queue[mongo.WORKER_TYPE_JOB_COUNTS],
            row={"worker_size": worker_size(difficulty)},
            field="jobs_count",
            by=by,
            now=now,
        )


@dataclass(frozen=True)
class WaitingJob:
    """The waiting job that stands for an artifact after a write, and what the write did.

    `changes` names each field of a standing job that the write changed: field -> (before, after).
    """

    job_id: str
    job: Job
    action: JobAction
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def add_waiting_job(
    *,
    job_type: str,
    dataset: str,
    revision: str,
    config: str | None,
    split: str | None,
    priority: Priority,
    difficulty: int,
    difficulty_asked: bool = False,
) -> WaitingJob:
    """Make sure one job of this unicity_id is waiting, with at least `priority`; never add a duplicate.

    A job already waiting stands: its priority is raised if `priority` is higher and, when the
    caller asked for this difficulty (`difficulty_asked`), its difficulty is set to it.
    """
    key = unicity_id(job_type=job_type, dataset=dataset, revision=revision, config=config, split=split)
    with held_lock(key=key):
        return add_waiting_job_holding_its_lock(
            job_type=job_type,
            dataset=dataset,
            revision=revision,
            config=config,
            split=split,
            priority=priority,
            difficulty=difficulty,
            difficulty_asked=difficulty_asked,
        )


def add_waiting_job_holding_its_lock(
    *,
    job_type: str,
    dataset: str,
    revision: str,
    config: str | None,
    split: str | None,
    priority: Priority,
    difficulty: int,
    difficulty_asked: bool = False,
) -> WaitingJob:
    """`add_waiting_job` for a caller that already holds the lock of the job's unicity_id.

    A requeue of a stale job deletes the started job and queues its waiting one under one hold
    of that lock (`jobs.requeue`); every other caller goes through `add_waiting_job`.
    """
    key = unicity_id(job_type=job_type, dataset=dataset, revision=revision, config=config, split=split)
    jobs = mongo.queue_database()[mongo.JOBS]
    waiting = list(jobs.find({"unicity_id": key, "status": Status.WAITING.value}).sort("created_at", -1).limit(1))
    if waiting:
        return _update_standing(
            standing=waiting[0], priority=priority, difficulty=difficulty if difficulty_asked else None
        )
    document = job_document(
        job_type=job_type,
        dataset=dataset,
        revision=revision,
        config=config,
        split=split,
        priority=priority,
        status=Status.WAITING,
        difficulty=difficulty,
        created_at=mongo.utc_now(),
    )
    # rate-limited datasets do not count in `workerTypeJobCounts` (upstream `is_blocked`)
    count_worker_size = not job_selectors.is_dataset_blocked(dataset=dataset, primary=True)
    _increment_waiting_metrics(job_type=job_type, difficulty=difficulty, by=1, count_worker_size=count_worker_size)
    try:
        jobs.insert_one(document)
    except Exception:
        _undo_increment(job_type=job_type, difficulty=difficulty, count_worker_size=count_worker_size)
        raise
    return WaitingJob(job_id=str(document["_id"]), job=job_row(document), action="created")


def _undo_increment(*, job_type: str, difficulty: int, count_worker_size: bool) -> None:
    try:
        _increment_waiting_metrics(job_type=job_type, difficulty=difficulty, by=-1, count_worker_size=count_worker_size)
    except Exception:
        logger.critical(
            "job insert failed and its metric rows could not be decremented back: jobTotalMetric(%s, waiting) and"
            " workerTypeJobCounts(%s) are one too high",
            job_type,
            worker_size(difficulty),
        )


def _update_standing(*, standing: dict[str, Any], priority: Priority, difficulty: int | None) -> WaitingJob:
    """Raise the priority of the waiting jobs of the unicity_id, set the standing one's difficulty if given."""
    changes: dict[str, tuple[Any, Any]] = {}
    before = standing.get("priority")
    if _raise_priority(unicity=str(standing["unicity_id"]), priority=priority) and before in _lower(priority):
        standing = {**standing, "priority": priority.value}
        changes["priority"] = (before, priority.value)
    if (
        difficulty is not None
        and standing.get("difficulty") != difficulty
        and _set_difficulty(standing=standing, difficulty=difficulty)
    ):
        changes["difficulty"] = (standing.get("difficulty"), difficulty)
        standing = {**standing, "difficulty": difficulty}
    return WaitingJob(
        job_id=str(standing["_id"]),
        job=job_row(standing),
        action="updated" if changes else "already_waiting",
        changes=changes,
    )


def _lower(priority: Priority) -> list[str]:
    return [other.value for other in Priority if other.rank < priority.rank]


def _raise_priority(*, unicity: str, priority: Priority) -> int:
    """Raise every waiting job of the unicity_id below `priority` to it (priority counts in no metric)."""
    lower = _lower(priority)
    if not lower:
        return 0
    jobs = mongo.queue_database()[mongo.JOBS]
    return jobs.update_many(
        {"unicity_id": unicity, "status": Status.WAITING.value, "priority": {"$in": lower}},
        {"$set": {"priority": priority.value}},
    ).modified_count


def _set_difficulty(*, standing: dict[str, Any], difficulty: int) -> bool:
    """Set the difficulty of the standing job if still waiting, moving it between `workerTypeJobCounts` rows.

    As if it were deleted (its old size decremented, as a delete always does) and added again
    (its new size incremented unless the dataset is rate-limited, as an insert does);
    `jobTotalMetric` counts by type and status only, so it does not move.
    """
    jobs = mongo.queue_database()[mongo.JOBS]
    updated = jobs.update_one(
        {"_id": standing["_id"], "status": Status.WAITING.value}, {"$set": {"difficulty": difficulty}}
    ).modified_count
    if not updated:
        return False
    old_size, new_size = worker_size(int(standing.get("difficulty", 0))), worker_size(difficulty)
    if old_size != new_size:
        queue = mongo.queue_database()
        now = mongo.utc_now()
        rows = queue[mongo.WORKER_TYPE_JOB_COUNTS]
        metric_rows.increment_row(rows, row={"worker_size": old_size}, field="jobs_count", by=-1, now=now)
        if not job_selectors.is_dataset_blocked(dataset=str(standing.get("dataset")), primary=True):
            metric_rows.increment_row(rows, row={"worker_size": new_size}, field="jobs_count", by=1, now=now)
    return True


def delete_dataset_waiting_jobs(*, dataset: str) -> int:
    """Delete every waiting job of a dataset (started ones stay), decrementing their metric rows."""
    jobs = mongo.queue_database()[mongo.JOBS]
    deleted = 0
    while True:
        batch = list(
            jobs.find({"dataset": dataset, "status": Status.WAITING.value}, {"type": 1, "difficulty": 1}).limit(
                mongo.DELETE_BATCH_SIZE
            )
        )
        if not batch:
            return deleted
        # One group per metric row pair: (job type, worker size); a difficulty stands for its size.
        groups: dict[tuple[str, str], tuple[int, list[Any]]] = {}
        for job in batch:
            difficulty = int(job.get("difficulty", 0))
            _, ids = groups.setdefault((str(job.get("type")), worker_size(difficulty)), (difficulty, []))
            ids.append(job["_id"])
        for (job_type, _size), (difficulty, ids) in groups.items():
            count = jobs.delete_many({"_id": {"$in": ids}, "status": Status.WAITING.value}).deleted_count
            if count:
                _increment_waiting_metrics(job_type=job_type, difficulty=difficulty, by=-count, count_worker_size=True)
                deleted += count


# ---------------------------------------------------------------------------------------------
# Many waiting jobs at once (the backfill of a dataset)


def _increment_many(by_type: Counter[str], by_size: Counter[str]) -> None:
    """`$inc` the metric rows of many waiting jobs: one bulk write per collection, whatever the number of types."""
    queue = mongo.queue_database()
    now = mongo.utc_now()
    metric_rows.increment_rows(
        queue[mongo.JOB_TOTAL_METRIC],
        rows=[
            ({"job_type": job_type, "status": Status.WAITING.value, "dataset_status": DATASET_STATUS_NORMAL}, by)
            for job_type, by in sorted(by_type.items())
            if by
        ],
        field="total",
        now=now,
    )
    metric_rows.increment_rows(
        queue[mongo.WORKER_TYPE_JOB_COUNTS],
        rows=[({"worker_size": size}, by) for size, by in sorted(by_size.items()) if by],
        field="jobs_count",
        now=now,
    )


def _metric_counts(
    jobs: Iterable[Mapping[str, Any]], *, sign: int, count_worker_size: bool
) -> tuple[Counter[str], Counter[str]]:
    by_type: Counter[str] = Counter()
    by_size: Counter[str] = Counter()
    for job in jobs:
        by_type[str(job.get("type"))] += sign
        if count_worker_size:
            by_size[worker_size(int(job.get("difficulty", 0)))] += sign
    return by_type, by_size


@dataclass(frozen=True)
class WaitingJobChanges:
    """What `replace_waiting_jobs` did: jobs inserted, waiting jobs deleted, new jobs found already waiting."""

    created: int
    deleted: int
    already_waiting: int


def _delete_waiting(*, waiting_jobs: Sequence[Mapping[str, Any]]) -> int:
    """Delete those of these jobs that are still waiting (two commands), decrementing their rows."""
    jobs = mongo.queue_database()[mongo.JOBS]
    ids = [job["_id"] for job in waiting_jobs]
    if not ids:
        return 0
    still_waiting = list(
        jobs.find({"_id": {"$in": ids}, "status": Status.WAITING.value}, {"type": 1, "difficulty": 1}).batch_size(
            mongo.WHOLE_RESULT_BATCH_SIZE
        )
    )
    if not still_waiting:
        return 0
    deleted = jobs.delete_many(
        {"_id": {"$in": [job["_id"] for job in still_waiting]}, "status": Status.WAITING.value}
    ).deleted_count
    if deleted != len(still_waiting):
        # Only a writer that ignores the job locks could get here; the rows follow what was read.
        logger.warning("deleted %d waiting jobs of %d read under their locks", deleted, len(still_waiting))
    _increment_many(*_metric_counts(still_waiting, sign=-1, count_worker_size=True))
    return deleted


def _insert_new(*, dataset: str, new_jobs: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Insert the new jobs whose unicity_id has no waiting job yet; (inserted, already waiting)."""
    jobs = mongo.queue_database()[mongo.JOBS]
    keys = list(dict.fromkeys(str(job["unicity_id"]) for job in new_jobs))
    if not keys:
        return 0, 0
    standing = {
        str(job.get("unicity_id"))
        for job in jobs.find({"unicity_id": {"$in": keys}, "status": Status.WAITING.value}, {"unicity_id": 1})
    }
    unique = {str(job["unicity_id"]): job for job in new_jobs}
    documents = [job for key, job in unique.items() if key not in standing]
    if not documents:
        return 0, len(standing)
    count_worker_size = not job_selectors.is_dataset_blocked(dataset=dataset, primary=True)
    _increment_many(*_metric_counts(documents, sign=1, count_worker_size=count_worker_size))
    try:
        jobs.insert_many(documents, ordered=True)
    except Exception as error:
        inserted = int(error.details.get("nInserted", 0)) if isinstance(error, BulkWriteError) else 0
        try:
            _increment_many(*_metric_counts(documents[inserted:], sign=-1, count_worker_size=count_worker_size))
        except Exception:
            logger.critical("job inserts failed and their metric rows could not be decremented back")
        raise
    return len(documents), len(standing)


def replace_waiting_jobs(
    *, dataset: str, new_jobs: Sequence[dict[str, Any]], waiting_jobs: Sequence[Mapping[str, Any]]
) -> WaitingJobChanges:
    """Delete these waiting jobs, then add these new ones (job documents), with their metric rows.

    A constant number of commands whatever the number of jobs: one bulk write takes the lock of
    every unicity_id involved (the workers' lock to start a job, as `add_waiting_job`), the jobs
    still waiting are read and deleted, a new job whose unicity_id already has a waiting job is
    not added (no duplicate), the rest are inserted at once, each metric collection gets one
    bulk `$inc`, one update gives the locks back.
    """
    keys = [str(job["unicity_id"]) for job in new_jobs] + [str(job.get("unicity_id")) for job in waiting_jobs]
    if not keys:
        return WaitingJobChanges(created=0, deleted=0, already_waiting=0)
    with held_locks(keys=keys):
        deleted = _delete_waiting(waiting_jobs=waiting_jobs)
        created, already_waiting = _insert_new(dataset=dataset, new_jobs=new_jobs)
    return WaitingJobChanges(created=created, deleted=deleted, already_waiting=already_waiting)


def raise_waiting_priority(*, unicity_ids: Sequence[str], priority: Priority) -> int:
    """Raise the waiting jobs of these unicity_ids that are below `priority` to it (one update).

    Priority counts in no metric row and a started job is left alone (`status: waiting`), so no
    lock is needed: the same rule as `_raise_priority` for many artifacts at once.
    """
    lower = [other.value for other in Priority if other.rank < priority.rank]
    if not lower or not unicity_ids:
        return 0
    return (
        mongo.queue_database()[mongo.JOBS]
        .update_many(
            {"unicity_id": {"$in": list(unicity_ids)}, "status": Status.WAITING.value, "priority": {"$in": lower}},
            {"$set": {"priority": priority.value}},
        )
        .modified_count
    )
