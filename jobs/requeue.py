"""Requeue of a stale job: its started job deleted, one waiting job for the same artifact queued.

A started job is stale when its worker has gone quiet (`jobs.selectors.stale_condition`): the
worker most likely died, and its artifact stays "in process" until someone acts. Requeueing it,
under the lock of its `unicity_id` (the workers' lock to start a job, `jobs.locks`), is:
1. delete the started job only if it is still stale: the condition is part of the delete's own
   filter, so a heartbeat written in between (heartbeats take no lock) keeps the job, which is
   then left alone and reported so; `jobTotalMetric` (type, started) goes -1 as when a worker
   finishes a job;
2. queue one waiting job for the same artifact at the same revision, priority and difficulty,
   with its metric rows (`jobTotalMetric` waiting +1, `workerTypeJobCounts` +1 unless the dataset
   is blocked), unless a waiting job of that unicity_id stands already: then none is added (its
   priority is raised to the stale job's if lower), exactly as `jobs.services.add_waiting_job`.

The queue has no transactions: a process that dies between 1 and 2 leaves the artifact without a
job, which the dataset's backfill plan then lists (never a duplicate, never a wrong metric row).
The audited operation over a filter's stale jobs is `bulkops.stale_jobs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from foundation.core.serialization import iso_datetime
from foundation.database import metric_rows, mongo
from jobs import selectors
from jobs.constants import DATASET_STATUS_NORMAL, Priority, Status
from jobs.documents import unicity_id
from jobs.locks import LockTimeoutError, held_lock
from jobs.services import add_waiting_job_holding_its_lock

LOCK_WAIT_SECONDS = 2.0
"""How long a requeue waits for a job's lock: a couple of seconds, as the workers' own start waits
(REFERENCE.md); a job whose lock stays held is left alone with the reason, the others go on."""

LeftAloneWhy = Literal["alive", "gone", "locked"]


@dataclass(frozen=True)
class Requeued:
    """A stale job that was deleted, and what stands for its artifact now."""

    job: Mapping[str, Any]
    """The started job as it was read before the requeue (`_id` included)."""
    waiting_job_id: str
    action: str
    """`created`: a waiting job was queued; `already_waiting` / `updated`: one stood already."""


@dataclass(frozen=True)
class LeftAlone:
    """A job that was not requeued, and why in words (`why` says which kind of reason)."""

    job: Mapping[str, Any]
    why: LeftAloneWhy
    reason: str


RequeueResult = Requeued | LeftAlone


def _priority(job: Mapping[str, Any]) -> Priority:
    try:
        return Priority(str(job.get("priority")))
    except ValueError:
        return Priority.LOW  # a priority the other services never write: the default one


def _delete_if_still_stale(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Delete the started job if it is stale now (one command), with its `jobTotalMetric` row; None if kept."""
    condition = {"_id": job["_id"], **selectors.stale_condition(selectors.stale_before())}
    deleted: Mapping[str, Any] | None = mongo.queue_database()[mongo.JOBS].find_one_and_delete(condition)
    if deleted is not None:
        metric_rows.increment_row(
            mongo.queue_database()[mongo.JOB_TOTAL_METRIC],
            row={"job_type": deleted["type"], "status": Status.STARTED.value, "dataset_status": DATASET_STATUS_NORMAL},
            field="total",
            by=-1,
            now=mongo.utc_now(),
        )
    return deleted


def _why_kept(job: Mapping[str, Any]) -> LeftAlone:
    """Why the delete matched nothing: the job is gone, no longer started, or alive again."""
    now = selectors.pending_job(job_id=job["_id"])
    if now is None:
        return LeftAlone(job, "gone", "no longer in the queue: it finished, or was requeued meanwhile")
    if now.get("status") != Status.STARTED.value:
        return LeftAlone(job, "gone", f"no longer started: it is {now.get('status')}")
    beat = selectors.quiet_since(now)
    when = f" at {iso_datetime(beat)}" if beat is not None else ""
    return LeftAlone(now, "alive", f"not stale anymore: it sent a heartbeat{when}")


def requeue_stale_job(job: Mapping[str, Any]) -> RequeueResult:
    """Requeue one job read as stale (a document with `_id`, type, artifact, revision, priority, difficulty).

    Waits at most LOCK_WAIT_SECONDS for the job's lock; never raises LockTimeoutError (the
    job is left alone with the reason). A database error is raised: nothing more was written
    than the step it interrupted (see the module's docstring).
    """
    key = job.get("unicity_id") or unicity_id(
        job_type=str(job["type"]),
        dataset=str(job["dataset"]),
        revision=str(job.get("revision")),
        config=job.get("config"),
        split=job.get("split"),
    )
    try:
        with held_lock(key=str(key), deadline_seconds=LOCK_WAIT_SECONDS):
            deleted = _delete_if_still_stale(job)
            if deleted is None:
                return _why_kept(job)
            waiting = add_waiting_job_holding_its_lock(
                job_type=str(deleted["type"]),
                dataset=str(deleted["dataset"]),
                revision=str(deleted["revision"]),
                config=deleted.get("config"),
                split=deleted.get("split"),
                priority=_priority(deleted),
                difficulty=int(deleted.get("difficulty", 0)),
            )
    except LockTimeoutError as error:
        return LeftAlone(job, "locked", f"{error.error_code}: {error.message}")
    return Requeued(job=deleted, waiting_job_id=waiting.job_id, action=waiting.action)
