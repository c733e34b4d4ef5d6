"""Requeue of stale jobs: every stale job of a filter (or one job), batch by batch, audited.

A stale job's worker is most likely gone (REFERENCE.md: started, and quiet for longer than
ADMIN_STALE_JOB_SECONDS, or terminated that long ago); until someone acts, its artifact stays
"in process" and nothing recomputes it. Each job of a batch is requeued by
`jobs.requeue.requeue_stale_job` under its own lock (deleted only if still stale, then one waiting
job for the same artifact, revision, priority and difficulty, never a duplicate), and reported:
requeued, or left alone with the reason (it beat again, it finished, its lock stayed held).

As bulk refresh, a call takes the next `limit` matching jobs after `cursor` in `_id` order and
answers the cursor of the next batch; `matched` counts every matching job. A dry run (the
default of the JSON route) counts and lists the batch and writes nothing, audit entry included.
The JSON route, the jobs page's forms and the management command all call this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from auditlog.services import audited
from bulkops.services import MAX_LIMIT
from foundation.core.errors import InvalidParameterError
from foundation.core.identity import HubIdentity
from foundation.core.serialization import iso_datetime
from jobs import selectors as job_selectors
from jobs.filters import filter_parameters
from jobs.requeue import LeftAlone, Requeued, RequeueResult, requeue_stale_job
from jobs.serializers import job_document_dict

ACTION = "requeue-stale-jobs"
"""The audit log's name of the operation, for a filter's batch or a single job."""


def _job_identity(job: Mapping[str, Any]) -> dict[str, Any]:
    """`job_id`, then the job dict of REFERENCE.md, then `terminated_at`: which job, as stored."""
    return {
        "job_id": str(job.get("_id", "")),
        **job_document_dict({"type": None, "dataset": None, **job}),
        "terminated_at": iso_datetime(job.get("terminated_at")),
    }


def requeued_json(result: Requeued) -> dict[str, Any]:
    return {**_job_identity(result.job), "waiting_job": {"job_id": result.waiting_job_id, "action": result.action}}


def left_alone_json(result: LeftAlone) -> dict[str, Any]:
    return {**_job_identity(result.job), "reason": result.reason}


def _artifact(job: Mapping[str, Any]) -> str:
    parts = (job.get("dataset"), job.get("config"), job.get("split"))
    return " / ".join(str(part) for part in parts if part is not None)


def result_words(result: RequeueResult) -> str:
    """One sentence per job, as the page's message and the report's rows say it."""
    job = result.job
    what = f"the {job.get('type') or 'stale'} job of {_artifact(job)}" if job.get("type") else f"job {job.get('_id')}"
    if isinstance(result, Requeued):
        if result.action == "created":
            return (
                f"Requeued {what}: a waiting job was queued (priority {job.get('priority')},"
                f" difficulty {job.get('difficulty')}, revision {job.get('revision')})."
            )
        return f"Requeued {what}: a waiting job of it stood already, none was added."
    return f"Left {what} alone: {result.reason}."


@dataclass(frozen=True, kw_only=True)
class RequeueOutcome:
    """What one call did (or, in a dry run, would work on): the answer of POST /admin/requeue-stale-jobs."""

    dry_run: bool
    matched: int
    processed: int
    results: list[RequeueResult] = field(default_factory=list)
    next_cursor: str = ""
    jobs: Sequence[Mapping[str, Any]] = ()
    """The batch's stale jobs as read (the page's and the command's preview; not in the JSON)."""

    @property
    def requeued(self) -> list[Requeued]:
        return [result for result in self.results if isinstance(result, Requeued)]

    @property
    def left_alone(self) -> list[LeftAlone]:
        return [result for result in self.results if isinstance(result, LeftAlone)]

    @property
    def created_jobs(self) -> int:
        return sum(1 for result in self.requeued if result.action == "created")

    @property
    def already_waiting(self) -> int:
        return len(self.requeued) - self.created_jobs

    def counts(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "processed": self.processed,
            "requeued": len(self.requeued),
            "created_jobs": self.created_jobs,
            "already_waiting": self.already_waiting,
            "left_alone": len(self.left_alone),
            "next_cursor": self.next_cursor,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "matched": self.matched,
            "processed": self.processed,
            "requeued": [requeued_json(result) for result in self.requeued],
            "created_jobs": self.created_jobs,
            "already_waiting": self.already_waiting,
            "left_alone": [left_alone_json(result) for result in self.left_alone],
            "next_cursor": self.next_cursor,
        }


def requeue_stale_jobs(
    *, filters: job_selectors.JobFilters, cursor: str, limit: int, dry_run: bool, actor: HubIdentity
) -> RequeueOutcome:
    """Requeue the next `limit` stale jobs of the filter after `cursor` (a dry run only counts and lists them).

    `filters` must select stale jobs (`stale_before` set: `jobs.filters.parse_stale_job_filters`).
    A constant three reads, then a handful of commands per job (its lock, the conditional
    delete, the metric rows, the insert): started jobs are as many as the workers at most.
    """
    if filters.stale_before is None:
        raise ValueError("a requeue works on stale jobs only: filters.stale_before is required")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameterError(f"Parameter 'limit' should be an int value between 1 and {MAX_LIMIT}.")
    after: ObjectId | None = ObjectId(cursor) if cursor else None  # checked by the caller's serializer
    matched = job_selectors.count_matching_jobs(filters=filters)
    found = job_selectors.matching_jobs_after(filters=filters, after=after, limit=limit + 1)
    jobs = found[:limit]
    next_cursor = str(jobs[-1]["_id"]) if len(found) > limit else ""
    if dry_run:
        return RequeueOutcome(dry_run=True, matched=matched, processed=len(jobs), next_cursor=next_cursor, jobs=jobs)
    parameters = {**filter_parameters(filters), "cursor": cursor or None, "limit": limit}
    with audited(actor=actor, action=ACTION, parameters=parameters) as record:
        results = [requeue_stale_job(job) for job in jobs]
        outcome = RequeueOutcome(
            dry_run=False, matched=matched, processed=len(jobs), results=results, next_cursor=next_cursor, jobs=jobs
        )
        record.result = outcome.counts()
    return outcome


def parse_job_id(value: object) -> ObjectId:
    """The `_id` of a job as a form posts it; anything else is 422."""
    try:
        return ObjectId(value.strip() if isinstance(value, str) else "")
    except (InvalidId, TypeError):
        raise InvalidParameterError("Parameter 'job' should be the id of a job.") from None


def requeue_one_stale_job(*, job_id: ObjectId, actor: HubIdentity) -> RequeueResult:
    """Requeue one job by its id, if it is (still) stale; a job not in the queue is left alone, said so."""
    with audited(actor=actor, action=ACTION, parameters={"job_id": str(job_id)}) as record:
        job = job_selectors.pending_job(job_id=job_id)
        result: RequeueResult = (
            LeftAlone({"_id": job_id}, "gone", "no longer in the queue: it finished, or was requeued meanwhile")
            if job is None
            else requeue_stale_job(job)
        )
        record.result = (
            {"requeued": 1, "waiting_job_action": result.action}
            if isinstance(result, Requeued)
            else {"requeued": 0, "left_alone": result.reason}
        )
    return result
