"""Writes to the queue database: waiting jobs and the metric rows that count them.

The queue has no transactions (FerretDB has none, and the other services do not use them).
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
`datasets.services`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from adminsite.database import mongo
from jobs import selectors as job_selectors
from jobs.constants import DATASET_STATUS_NORMAL, Priority, Status, worker_size
from jobs.documents import job_document, unicity_id
from jobs.locks import held_lock
from jobs.serializers import JobDict, job_dict

logger = logging.getLogger(__name__)

JobAction = Literal["created", "already_waiting", "priority_raised"]

# ---------------------------------------------------------------------------------------------
# Waiting jobs and their metric rows


def _increment_waiting_metrics(*, job_type: str, difficulty: int, by: int, count_worker_size: bool) -> None:
    """`$inc` the rows a waiting job counts in (upsert, as upstream `increase_metric`)."""
    queue = mongo.queue_database()
    now = mongo.utc_now()
    queue[mongo.JOB_TOTAL_METRIC].update_one(
        {"job_type": job_type, "status": Status.WAITING.value, "dataset_status": DATASET_STATUS_NORMAL},
        {"$inc": {"total": by}, "$setOnInsert": {"created_at": now}},
        upsert=True,
    )
    if count_worker_size:
        queue[mongo.WORKER_TYPE_JOB_COUNTS].update_one(
            {"worker_size": worker_size(difficulty)},
            {"$inc": {"jobs_count": by}, "$setOnInsert": {"created_at": now}},
            upsert=True,
        )


@dataclass(frozen=True)
class WaitingJob:
    """The waiting job that stands for an artifact after a write, and what the write did."""

    job_id: str
    job: JobDict
    action: JobAction


def add_waiting_job(
    *,
    job_type: str,
    dataset: str,
    revision: str,
    config: str | None,
    split: str | None,
    priority: Priority,
    difficulty: int,
) -> WaitingJob:
    """Make sure one job of this unicity_id is waiting, with at least `priority`; never add a duplicate."""
    key = unicity_id(job_type=job_type, dataset=dataset, revision=revision, config=config, split=split)
    jobs = mongo.queue_database()[mongo.JOBS]
    with held_lock(key=key):
        waiting = list(jobs.find({"unicity_id": key, "status": Status.WAITING.value}).sort("created_at", -1).limit(1))
        if waiting:
            return _raise_priority(standing=waiting[0], priority=priority)
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
    return WaitingJob(job_id=str(document["_id"]), job=job_dict(document), action="created")


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


def _raise_priority(*, standing: dict[str, Any], priority: Priority) -> WaitingJob:
    """Raise every waiting job of the unicity_id below `priority` to it (priority counts in no metric)."""
    jobs = mongo.queue_database()[mongo.JOBS]
    lower = [other.value for other in Priority if other.rank < priority.rank]
    raised = 0
    if lower:
        raised = jobs.update_many(
            {"unicity_id": standing["unicity_id"], "status": Status.WAITING.value, "priority": {"$in": lower}},
            {"$set": {"priority": priority.value}},
        ).modified_count
    if raised and standing.get("priority") in lower:
        standing = {**standing, "priority": priority.value}
    return WaitingJob(
        job_id=str(standing["_id"]), job=job_dict(standing), action="priority_raised" if raised else "already_waiting"
    )


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
