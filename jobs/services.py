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
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from pymongo.errors import BulkWriteError, ConnectionFailure

from foundation.database import metric_rows, mongo
from foundation.database.metric_rows import Recount, RowMoves, apply_or_settle_later, settle_later
from jobs import selectors as job_selectors
from jobs.constants import (
    DATASET_BLOCKAGE_THRESHOLD_SECONDS,
    DATASET_STATUS_NORMAL,
    PAST_JOB_MIN_SECONDS,
    PAST_JOBS_WINDOW_SECONDS,
    PENDING_STATUSES,
    Priority,
    Status,
    worker_size,
)
from jobs.documents import job_document, unicity_id
from jobs.locks import LockSet, dataset_lock_key, held_lock, held_locks
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
    return add_waiting_job_holding_its_lock(
        job_type=job_type,
        dataset=dataset,
        revision=revision,
        config=config,
        split=split,
        priority=priority,
        difficulty=difficulty,
        difficulty_asked=False,
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
    """`add_waiting_job` for a caller holding the lock of the job's unicity_id: update its waiting job, or insert one.

    A requeue of a stale job deletes the started job and queues its waiting one under one hold
    of that lock (`jobs.requeue`); `add_waiting_job` takes the lock, then comes here.
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


def _insert_new(
    *, dataset: str, new_jobs: Sequence[dict[str, Any]], standing_statuses: Sequence[str] = (Status.WAITING.value,)
) -> tuple[int, int]:
    """Insert the new jobs whose unicity_id has no job of `standing_statuses` yet; (inserted, already there)."""
    jobs = mongo.queue_database()[mongo.JOBS]
    keys = list(dict.fromkeys(str(job["unicity_id"]) for job in new_jobs))
    if not keys:
        return 0, 0
    standing = {
        str(job.get("unicity_id"))
        for job in jobs.find(
            {"unicity_id": {"$in": keys}, "status": {"$in": list(standing_statuses)}}, {"unicity_id": 1}
        )
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


# The workers' side of the queue: start, heartbeat, finish (REFERENCE.md, steps 2 to 4)
#
# The demo's stand-in workers (`demo/fleet/`) write the queue through these, and the console's
# own operations on started jobs (the requeue of a stale one) meet the same rules: the lock of
# the unicity_id first, and metric rows that move with what the server reports.

WORKER_LOCK_DEADLINE_SECONDS = 2.0
"""How long a worker waits for a lock (upstream: 20 tries 0.1 s apart, then LockTimeoutError)."""


def start_newest_waiting_job(*, unicity: str) -> dict[str, Any] | None:
    """Start the newest waiting job of this unicity_id and delete the other waiting ones; the started job.

    The workers' start, under the lock of the unicity_id (LockTimeoutError after
    WORKER_LOCK_DEADLINE_SECONDS, nothing written): None when a job of that unicity_id is
    already started or none is waiting. The job is started only if it is still waiting
    (`status` started, `started_at` now); then `jobTotalMetric` moves from waiting to started
    and its `workerTypeJobCounts` row loses it; the other waiting jobs are deleted with their rows.
    """
    jobs = mongo.queue_database()[mongo.JOBS]
    with held_lock(key=unicity, deadline_seconds=WORKER_LOCK_DEADLINE_SECONDS):
        pending = list(
            jobs.find({"unicity_id": unicity, "status": {"$in": list(PENDING_STATUSES)}}).sort(
                [("created_at", -1), ("_id", -1)]
            )
        )
        if not pending or any(job.get("status") == Status.STARTED.value for job in pending):
            return None
        newest, others = pending[0], pending[1:]
        now = mongo.utc_now()
        started = jobs.update_one(
            {"_id": newest["_id"], "status": Status.WAITING.value},
            {"$set": {"status": Status.STARTED.value, "started_at": now}},
        ).modified_count
        if not started:
            return None
        _move_to_started(job_type=str(newest["type"]), difficulty=int(newest.get("difficulty", 0)))
        _delete_waiting(others, what="the other waiting jobs of a started job")
    return {**newest, "status": Status.STARTED.value, "started_at": now}


def _move_to_started(*, job_type: str, difficulty: int) -> None:
    """`jobTotalMetric` waiting -1 and started +1 (one bulk write), `workerTypeJobCounts` -1 for its size."""
    queue = mongo.queue_database()
    now = mongo.utc_now()
    rows = [
        ({"job_type": job_type, "status": status.value, "dataset_status": DATASET_STATUS_NORMAL}, by)
        for status, by in ((Status.WAITING, -1), (Status.STARTED, 1))
    ]
    metric_rows.increment_rows(queue[mongo.JOB_TOTAL_METRIC], rows=rows, field="total", now=now)
    metric_rows.increment_row(
        queue[mongo.WORKER_TYPE_JOB_COUNTS],
        row={"worker_size": worker_size(difficulty)},
        field="jobs_count",
        by=-1,
        now=now,
    )


def beat(*, job_id: Any) -> bool:
    """`last_heartbeat` = now on a started job (no metric moves); False when it is no longer started."""
    beaten = mongo.queue_database()[mongo.JOBS].update_one(
        {"_id": job_id, "status": Status.STARTED.value}, {"$set": {"last_heartbeat": mongo.utc_now()}}
    )
    return beaten.matched_count == 1


def mark_terminated(*, job_ids: Sequence[Any]) -> int:
    """`terminated_at` = now on these started jobs: their worker was sent SIGTERM (stale once that is old)."""
    if not job_ids:
        return 0
    return (
        mongo.queue_database()[mongo.JOBS]
        .update_many(
            {"_id": {"$in": list(job_ids)}, "status": Status.STARTED.value},
            {"$set": {"terminated_at": mongo.utc_now()}},
        )
        .modified_count
    )


def delete_finished_job(*, job: Mapping[str, Any]) -> bool:
    """Delete a started job whose result is written, with its `jobTotalMetric` row (started -1).

    False (and no row moved) when the job was no longer started: someone else removed it.
    """
    deleted = (
        mongo.queue_database()[mongo.JOBS].delete_one({"_id": job["_id"], "status": Status.STARTED.value}).deleted_count
    )
    if deleted:
        metric_rows.increment_row(
            mongo.queue_database()[mongo.JOB_TOTAL_METRIC],
            row={"job_type": str(job["type"]), "status": Status.STARTED.value, "dataset_status": DATASET_STATUS_NORMAL},
            field="total",
            by=-deleted,
            now=mongo.utc_now(),
        )
    return bool(deleted)


def record_past_job(*, dataset: str, duration_seconds: float, finished_at: datetime) -> bool:
    """Record a finished job's compute time in `pastJobs` when it ran at least 30 s (as the workers do).

    The document is upstream's: `dataset`, `duration` (whole seconds), `finished_at`; their TTL
    index drops it after an hour. False when the job was too short to be recorded.
    """
    if duration_seconds < PAST_JOB_MIN_SECONDS:
        return False
    mongo.queue_database()[mongo.PAST_JOBS].insert_one(
        {"dataset": dataset, "duration": int(duration_seconds), "finished_at": mongo.bson_date(finished_at)}
    )
    return True


def block_dataset_over_budget(*, dataset: str) -> bool:
    """Block the dataset when its `pastJobs` of the last hour add up to more than 7,200 s; True if blocked now.

    A dataset already blocked is left as it is. Blocking inserts `{dataset, blocked_at}` into
    `datasetBlockages` and takes the dataset's waiting jobs out of `workerTypeJobCounts` (the
    rows count the waiting jobs of datasets that are not blocked, as an insert counts them):
    upstream decrements the rows of every pending job of the dataset there, started ones too,
    which those rows no longer counted. Under the console's lock of the dataset, so that two
    workers finishing at once block it once.
    """
    since = mongo.utc_now() - timedelta(seconds=PAST_JOBS_WINDOW_SECONDS)
    queue = mongo.queue_database()
    groups = queue[mongo.PAST_JOBS].aggregate(
        [
            {"$match": {"dataset": dataset, "finished_at": {"$gt": since}}},
            {"$group": {"_id": None, "seconds": {"$sum": "$duration"}}},
        ]
    )
    seconds = sum(int(group.get("seconds") or 0) for group in groups)
    if seconds <= DATASET_BLOCKAGE_THRESHOLD_SECONDS:
        return False
    with held_lock(key=dataset_lock_key(dataset), deadline_seconds=WORKER_LOCK_DEADLINE_SECONDS):
        if job_selectors.is_dataset_blocked(dataset=dataset, primary=True):
            return False
        queue[mongo.DATASET_BLOCKAGES].insert_one({"dataset": dataset, "blocked_at": mongo.utc_now()})
        waiting = queue[mongo.JOBS].find({"dataset": dataset, "status": Status.WAITING.value}, {"difficulty": 1})
        by_size = Counter(worker_size(int(job.get("difficulty", 0))) for job in waiting)
        metric_rows.increment_rows(
            queue[mongo.WORKER_TYPE_JOB_COUNTS],
            rows=[({"worker_size": size}, -count) for size, count in sorted(by_size.items())],
            field="jobs_count",
            now=mongo.utc_now(),
        )
    return True


def add_jobs_unless_pending(*, dataset: str, new_jobs: Sequence[dict[str, Any]]) -> int:
    """Queue these job documents of one dataset, each unless a job of its unicity_id is pending; the count added.

    The workers' children of a finished job: "unless a pending job for that artifact and
    revision exists" (waiting or started). Under the locks of every unicity_id (one bulk write,
    LockTimeoutError after WORKER_LOCK_DEADLINE_SECONDS, nothing written), with the metric rows
    of `replace_waiting_jobs`.
    """
    if not new_jobs:
        return 0
    keys = [str(job["unicity_id"]) for job in new_jobs]
    with held_locks(keys=keys, deadline_seconds=WORKER_LOCK_DEADLINE_SECONDS):
        created, _ = _insert_new(dataset=dataset, new_jobs=new_jobs, standing_statuses=PENDING_STATUSES)
    return created
