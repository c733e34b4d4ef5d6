"""Writes to the queue database: waiting jobs and the metric rows that count them.

The queue has no transactions (the other services do not use them).
How each write stays safe:

1. Every write to a job holds the lock of its `unicity_id` (the `locks` protocol the workers
   use to start a job): adding a waiting job checks for a waiting job with that unicity_id,
   then either raises its priority or inserts one, so concurrent calls, in any process, leave
   one waiting job; deleting waiting jobs takes their locks first, so a job a worker is
   starting is never deleted under it. Locks are released at the end (and expire after their
   ttl).
2. The metric rows move by what the server says was written, never by what was counted
   before: a job is inserted, then its rows are incremented (under its lock, so no worker
   starts it in between); waiting jobs are deleted each by a filter pinning the rows it counts
   in (its `_id`, type and difficulty as read, `status: waiting`), all in one bulk write, and
   the rows go down by the jobs deleted (`foundation.database.metric_rows.delete_each`). A job
   that changed in between (started, given another difficulty) does not match its filter and
   is not deleted; the next round reads it again. A retry deletes what is left.
3. When the database is lost half-way, the moves of what landed, and of the write in flight
   once read back, are applied when it is back (`foundation.database.metric_rows.RowMoves`).

The operations on a whole dataset (force-refresh, recreate, backfill) that call these live in
`datasetops.services`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from pymongo.errors import BulkWriteError, ConnectionFailure

from foundation.database import metric_rows, mongo
from foundation.database.metric_rows import Recount, RowMoves, apply_or_settle_later, settle_later
from jobs import selectors as job_selectors
from jobs.constants import DATASET_STATUS_NORMAL, Priority, Status, worker_size
from jobs.documents import job_document, unicity_id
from jobs.locks import LockSet, held_lock, held_locks
from jobs.rows import Job, job_row

logger = logging.getLogger(__name__)

JobAction = Literal["created", "already_waiting", "updated", "already_started"]

MAX_ROUNDS_WITHOUT_PROGRESS = 3
"""Rounds of a dataset's deletion in a row that delete nothing (every job read changed in between) before it stops."""

# ---------------------------------------------------------------------------------------------
# Metric rows of waiting jobs


def _difficulty(job: Mapping[str, Any]) -> int:
    return int(job.get("difficulty", 0))


def _move_rows(moves: RowMoves, *, job_type: str, size: str | None, by: int) -> None:
    """Owe `by` to the (type, waiting, normal) row of `jobTotalMetric` and to the `size` row (if any) of the other."""
    queue = mongo.queue_database()
    row = {"job_type": job_type, "status": Status.WAITING.value, "dataset_status": DATASET_STATUS_NORMAL}
    moves.add(queue[mongo.JOB_TOTAL_METRIC], row=row, field="total", by=by)
    if size is not None:
        moves.add(queue[mongo.WORKER_TYPE_JOB_COUNTS], row={"worker_size": size}, field="jobs_count", by=by)


def _move_rows_of(moves: RowMoves, jobs: Iterable[Mapping[str, Any]], *, by: int, count_worker_size: bool) -> None:
    for job in jobs:
        size = worker_size(_difficulty(job)) if count_worker_size else None
        _move_rows(moves, job_type=str(job.get("type")), size=size, by=by)


def _insert_jobs(documents: Sequence[dict[str, Any]], *, count_worker_size: bool, what: str) -> None:
    """Insert job documents, then move their rows by what was inserted (the caller holds their locks).

    Rate-limited datasets do not count in `workerTypeJobCounts` (upstream `is_blocked`):
    `count_worker_size` says whether these do.
    """
    jobs = mongo.queue_database()[mongo.JOBS]
    moves = RowMoves()
    try:
        if len(documents) == 1:
            jobs.insert_one(documents[0])
        else:
            jobs.insert_many(documents, ordered=True)
    except BulkWriteError as error:
        inserted = documents[: int(error.details.get("nInserted", 0))]
        _move_rows_of(moves, inserted, by=1, count_worker_size=count_worker_size)
        apply_or_settle_later(moves, what=what)
        raise
    except ConnectionFailure:
        resolve = partial(_resolve_inserts, documents=documents, count_worker_size=count_worker_size)
        settle_later(moves=moves, what=what, resolve=resolve)
        raise
    _move_rows_of(moves, documents, by=1, count_worker_size=count_worker_size)
    apply_or_settle_later(moves, what=what)


def _resolve_inserts(moves: RowMoves, *, documents: Sequence[dict[str, Any]], count_worker_size: bool) -> None:
    """After a lost answer: the documents that are there were inserted (the driver gave each its `_id`)."""
    ids = [document["_id"] for document in documents if "_id" in document]
    found = mongo.queue_database()[mongo.JOBS].find({"_id": {"$in": ids}}, {"_id": 1})
    there = {job["_id"] for job in found}
    inserted = [document for document in documents if document.get("_id") in there]
    _move_rows_of(moves, inserted, by=1, count_worker_size=count_worker_size)


def _as_read(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job, if still waiting with the type and difficulty read: what its rows count."""
    return {
        "_id": job["_id"],
        "status": Status.WAITING.value,
        "type": job.get("type"),
        "difficulty": job.get("difficulty"),
    }


def _delete_waiting(
    waiting_jobs: Sequence[Mapping[str, Any]], *, what: str, on_deleted: Callable[[int], None] = lambda count: None
) -> int:
    """Delete these jobs where still waiting as read (one bulk write); the rows follow the jobs deleted.

    The caller holds their locks. A job a worker started, or whose difficulty changed, in
    between is not deleted (and not counted). The count goes to `on_deleted` as soon as the
    server answers it.
    """
    moves = RowMoves()
    jobs = mongo.queue_database()[mongo.JOBS]
    try:
        deleted = metric_rows.delete_each(jobs, waiting_jobs, pin=_as_read)
    except ConnectionFailure:
        settle_later(moves=moves, what=what, resolve=partial(_resolve_deletes, jobs=waiting_jobs))
        raise
    on_deleted(len(deleted))
    _move_rows_of(moves, deleted, by=-1, count_worker_size=True)
    apply_or_settle_later(moves, what=what)
    return len(deleted)


def _resolve_deletes(moves: RowMoves, *, jobs: Sequence[Mapping[str, Any]]) -> None:
    """After a lost answer: the jobs that are gone were deleted (their locks are still ours)."""
    ids = [job["_id"] for job in jobs]
    there = {job["_id"] for job in mongo.queue_database()[mongo.JOBS].find({"_id": {"$in": ids}}, {"_id": 1})}
    _move_rows_of(moves, [job for job in jobs if job["_id"] not in there], by=-1, count_worker_size=True)


# ---------------------------------------------------------------------------------------------
# One waiting job


@dataclass(frozen=True)
class WaitingJob:
    """The job that stands for an artifact after a write, and what the write did.

    Waiting, except after `add_job_unless_pending` found one started (`already_started`).
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
        return _stand_or_add(
            key=key,
            job_type=job_type,
            dataset=dataset,
            revision=revision,
            config=config,
            split=split,
            priority=priority,
            difficulty=difficulty,
            difficulty_asked=difficulty_asked,
        )


def add_job_unless_pending(
    *,
    locks: LockSet,
    job_type: str,
    dataset: str,
    revision: str,
    config: str | None,
    split: str | None,
    priority: Priority,
    difficulty: int,
) -> WaitingJob:
    """`add_waiting_job`, unless a job of that unicity_id is started: it stays, and no twin is queued beside it.

    The other services' planner does the same: a started job is the artifact's valid job (a
    waiting twin would only run the same work again once it ends). A started job's worker
    holds its lock while it runs, so the lock is only taken (into `locks`) when none is started.
    """
    key = unicity_id(job_type=job_type, dataset=dataset, revision=revision, config=config, split=split)
    started = job_selectors.started_job(unicity_id=key)
    if started is None:
        locks.take([key])
        started = job_selectors.started_job(unicity_id=key)
    if started is not None:
        return WaitingJob(job_id=str(started["_id"]), job=job_row(started), action="already_started")
    return _stand_or_add(
        key=key,
        job_type=job_type,
        dataset=dataset,
        revision=revision,
        config=config,
        split=split,
        priority=priority,
        difficulty=difficulty,
        difficulty_asked=False,
    )


def _stand_or_add(
    *,
    key: str,
    job_type: str,
    dataset: str,
    revision: str,
    config: str | None,
    split: str | None,
    priority: Priority,
    difficulty: int,
    difficulty_asked: bool,
) -> WaitingJob:
    """Under the lock of `key`: update the waiting job of the unicity_id, or insert one."""
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
    count_worker_size = not job_selectors.is_dataset_blocked(dataset=dataset, primary=True)
    _insert_jobs([document], count_worker_size=count_worker_size, what=f"adding the waiting job {key}")
    return WaitingJob(job_id=str(document["_id"]), job=job_row(document), action="created")


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
    old_size, new_size = worker_size(_difficulty(standing)), worker_size(difficulty)
    moves = RowMoves()
    what = f"the difficulty of the waiting job {standing.get('unicity_id')}"
    if old_size != new_size:
        sizes = mongo.queue_database()[mongo.WORKER_TYPE_JOB_COUNTS]
        moves.add(sizes, row={"worker_size": old_size}, field="jobs_count", by=-1)
        if not job_selectors.is_dataset_blocked(dataset=str(standing.get("dataset")), primary=True):
            moves.add(sizes, row={"worker_size": new_size}, field="jobs_count", by=1)
    waiting = {"_id": standing["_id"], "status": Status.WAITING.value}
    try:
        updated = jobs.update_one(waiting, {"$set": {"difficulty": difficulty}}).modified_count
    except ConnectionFailure:
        changed = waiting | {"difficulty": difficulty}
        settle_later(moves=RowMoves(), what=what, resolve=partial(_resolve_update, moves=moves, changed=changed))
        raise
    if updated:
        apply_or_settle_later(moves, what=what)
    return bool(updated)


def _resolve_update(owed: RowMoves, *, moves: RowMoves, changed: dict[str, Any]) -> None:
    """After a lost answer: the update landed when the job is there with the new value; then its moves are owed."""
    if mongo.queue_database()[mongo.JOBS].find_one(changed, {"_id": 1}) is not None:
        owed.extend(moves)


def lock_waiting_jobs_of_dataset(*, dataset: str, locks: LockSet) -> None:
    """Take the lock of every unicity_id with a waiting job in the dataset (one read, one bulk write).

    LockTimeoutError when one stays held (a worker starting that job, or running its twin):
    nothing was deleted yet.
    """
    locks.take(job_selectors.waiting_unicity_ids_of_dataset(dataset=dataset))


def delete_dataset_waiting_jobs(
    *, dataset: str, locks: LockSet, on_deleted: Callable[[int], None] = lambda count: None
) -> int:
    """Delete every waiting job of a dataset (started ones stay), with their locks, decrementing their rows.

    Round after round (DELETE_BATCH_SIZE jobs each): read the waiting jobs, take the locks of
    their unicity_ids not held yet (a job queued in between), delete them group by group. Each
    delete's count is reported to `on_deleted` as soon as it is answered, so that an error later
    still leaves the truth of what was deleted. LockTimeoutError when a lock stays held.
    """
    jobs = mongo.queue_database()[mongo.JOBS]
    deleted = 0
    rounds_without_progress = 0
    while rounds_without_progress < MAX_ROUNDS_WITHOUT_PROGRESS:
        batch = list(
            jobs.find(
                {"dataset": dataset, "status": Status.WAITING.value}, {"type": 1, "difficulty": 1, "unicity_id": 1}
            ).limit(mongo.DELETE_BATCH_SIZE)
        )
        if not batch:
            return deleted
        locks.take(str(job.get("unicity_id")) for job in batch)
        count = _delete_waiting(batch, what=f"deleting waiting jobs of {dataset}", on_deleted=on_deleted)
        rounds_without_progress = 0 if count else rounds_without_progress + 1
        deleted += count
    logger.warning("waiting jobs of %s kept changing while they were deleted: some are left", dataset)
    return deleted


# ---------------------------------------------------------------------------------------------
# Many waiting jobs at once (the backfill of a dataset)


@dataclass(frozen=True)
class WaitingJobChanges:
    """What `replace_waiting_jobs` did: jobs inserted, waiting jobs deleted, new jobs found already waiting."""

    created: int
    deleted: int
    already_waiting: int


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
    _insert_jobs(documents, count_worker_size=count_worker_size, what=f"adding {len(documents)} jobs of {dataset}")
    return len(documents), len(standing)


def replace_waiting_jobs(
    *,
    dataset: str,
    new_jobs: Sequence[dict[str, Any]],
    waiting_jobs: Sequence[Mapping[str, Any]],
    deadline_seconds: float | None = None,
) -> WaitingJobChanges:
    """Delete these waiting jobs, then add these new ones (job documents), with their metric rows.

    A number of commands that does not grow with the number of jobs: one bulk write takes the
    lock of every unicity_id involved (the workers' lock to start a job, as `add_waiting_job`;
    waiting up to `deadline_seconds`, LOCK_DEADLINE_SECONDS by default), the jobs are deleted
    where still waiting (one delete per metric row they count in), a new job whose unicity_id
    already has a waiting job is not added (no duplicate), the rest are inserted at once, each
    metric collection gets one bulk `$inc` per step, one update gives the locks back.
    """
    keys = [str(job["unicity_id"]) for job in new_jobs] + [str(job.get("unicity_id")) for job in waiting_jobs]
    if not keys:
        return WaitingJobChanges(created=0, deleted=0, already_waiting=0)
    with held_locks(keys=keys, deadline_seconds=deadline_seconds):
        deleted = _delete_waiting(waiting_jobs, what=f"deleting waiting jobs of {dataset}")
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


# ---------------------------------------------------------------------------------------------
# The recount of the metric rows

JOB_METRIC_ROW_FIELDS = ("job_type", "status", "dataset_status")


def recount_job_metrics(*, dry_run: bool) -> Recount:
    """`jobTotalMetric` and `workerTypeJobCounts` against the queue recounted as the other services' collector does.

    The rows off the recount, set to it unless `dry_run` (those left: rows that moved while the
    queue was counted).
    """
    queue = mongo.queue_database()
    totals = metric_rows.recount_rows(
        queue[mongo.JOB_TOTAL_METRIC],
        key_fields=JOB_METRIC_ROW_FIELDS,
        field="total",
        recount=job_selectors.jobs_by_metric_row,
        dry_run=dry_run,
    )
    sizes = metric_rows.recount_rows(
        queue[mongo.WORKER_TYPE_JOB_COUNTS],
        key_fields=("worker_size",),
        field="jobs_count",
        recount=job_selectors.jobs_by_worker_size,
        dry_run=dry_run,
    )
    return totals + sizes
