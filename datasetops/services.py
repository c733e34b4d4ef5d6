"""The repair operations of one dataset: force-refresh one artifact, recreate the dataset.

Both write into the production queue and cache, which have no transactions (the other
services do not use them). How each write stays all-or-nothing, or at
least safe and completed by a retry:

1. Everything is checked before the first write: the dataset name (as the Hub names repos:
   no query, Hub call or path is built from anything else), the parameters, then the Hub
   (support rules and current revision). A Hub timeout or error is a 500 and nothing is
   written; only the audit entry records the attempt (see `auditlog.services`).
2. Every write to a dataset's jobs holds the dataset's lock (`jobs.locks.dataset_lock_key`):
   alone for a recreate or a backfill, shared for force-refreshes and bulk refreshes (they may
   run side by side, not beside a recreate). A refresh of a dataset that is being recreated
   either ends before the recreate deletes anything or waits for its `dataset-init` job (a
   couple of seconds at most, then LockTimeoutError: nothing was changed). Inside it, each job
   is written under the lock of its `unicity_id`, the workers' lock to start a job
   (`jobs.services`).
3. Metric rows move by what the server says was written or deleted (`jobs.services`,
   `cachereports.services`): never by what was counted before.
4. Recreate takes every lock it needs before it deletes anything: the dataset's, those of the
   dataset's waiting jobs (one of them held by a worker, which is starting it or running its
   twin: LockTimeoutError, nothing was changed), and that of the `dataset-init` job it will
   queue (unless one of that revision is running: then it queues none). Then, in this order:
   waiting jobs, cache entries, asset folders, the `dataset-init` job. Each count is recorded
   in the audit entry as it is done; an error half-way answers what was done, never "nothing
   was changed". Stopping half-way leaves a dataset with less cached data and no job: what the
   viewer shows for a dataset not processed yet, never wrong data; running the same recreate
   again finishes it (every step is idempotent). The job comes last so that no worker
   computes from a cache that is about to be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditlog.services import audited
from cachereports import services as cache_services
from cachereports.selectors import config_sizes, reports
from datasetops import selectors
from datasetops.backfill import BackfillPlan
from foundation.core import assets
from foundation.core.dataset_names import check_dataset_name
from foundation.core.errors import InvalidParameterError
from foundation.core.identity import HubIdentity
from foundation.core.processing_graph import ProcessingStep, processing_graph
from foundation.core.words import plural
from foundation.database import mongo
from foundation.hub import dataset_support
from foundation.hub.dataset_support import NotSupportedError
from jobs import selectors as job_selectors
from jobs.constants import DATASET_INIT_STEP, Priority, Status
from jobs.difficulty import MAX_DIFFICULTY, force_refresh_difficulty
from jobs.documents import job_document, unicity_id
from jobs.locks import (
    LockSet,
    LockTimeoutError,
    dataset_lock_key,
    exclusive_dataset_lock,
    lock_set,
    shared_dataset_lock,
    wait_for_shared_holders,
)
from jobs.parameters import DIFFICULTY_MESSAGE
from jobs.serializers import job_dict
from jobs.services import (
    WaitingJob,
    WaitingJobChanges,
    add_job_unless_pending,
    add_waiting_job,
    delete_dataset_waiting_jobs,
    lock_waiting_jobs_of_dataset,
    replace_waiting_jobs,
)

# ---------------------------------------------------------------------------------------------
# Force-refresh


@dataclass(frozen=True, kw_only=True)
class ForceRefreshRequest:
    """A validated force-refresh: the artifact of one step, its priority and requested difficulty.

    Built from the checked parameters (`datasetops.parameters.force_refresh_request`); checked
    again on construction so that no caller can pass an invalid dataset name or a missing
    config/split to `force_refresh`.
    """

    step: ProcessingStep
    dataset: str
    config: str | None
    split: str | None
    priority: Priority
    difficulty: int | None
    """None: the step's difficulty."""

    def __post_init__(self) -> None:
        check_dataset_name(self.dataset)
        if self.step.needs_config != (self.config is not None) or self.step.needs_split != (self.split is not None):
            raise InvalidParameterError(f"Step '{self.step.name}' takes a {self.step.input_type} as input.")
        if self.difficulty is not None and not 0 <= self.difficulty <= MAX_DIFFICULTY:
            raise InvalidParameterError(DIFFICULTY_MESSAGE)

    def audit_parameters(self) -> dict[str, Any]:
        return {
            "job_type": self.step.name,
            "dataset": self.dataset,
            "config": self.config,
            "split": self.split,
            "priority": self.priority.value,
            "difficulty": self.difficulty,
        }


@dataclass(frozen=True)
class ForceRefreshOutcome:
    """The waiting job that stands for the artifact, the revision and the difficulty asked for."""

    waiting_job: WaitingJob
    revision: str
    difficulty: int

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "action": self.waiting_job.action,
            "job_id": self.waiting_job.job_id,
            "changes": {name: {"from": old, "to": new} for name, (old, new) in self.waiting_job.changes.items()},
            "job": job_dict(self.waiting_job.job),
        }


def job_difficulty(*, request: ForceRefreshRequest) -> int:
    """The requested (or step's) difficulty, plus the step's bonus when the config/split is big."""
    num_bytes = (
        None
        if request.config is None
        else config_sizes.config_num_bytes(dataset=request.dataset, config=request.config, split=request.split)
    )
    return force_refresh_difficulty(step=request.step, asked=request.difficulty, num_bytes=num_bytes)


def force_refresh(*, request: ForceRefreshRequest, actor: HubIdentity) -> ForceRefreshOutcome:
    """Queue one job for the artifact at the Hub's revision (or raise the priority of the waiting one).

    Under the dataset's lock, shared (a recreate of the dataset at the same moment ends first;
    other refreshes go on side by side), and the job's. Raises a NotSupported error (501,
    nothing queued), HubRequestError (500, nothing written) or LockTimeoutError (500, nothing
    written).
    """
    with audited(actor=actor, action="force-refresh", parameters=request.audit_parameters()) as record:
        revision = dataset_support.supported_revision(dataset=request.dataset)
        difficulty = job_difficulty(request=request)
        with shared_dataset_lock(dataset=request.dataset):
            waiting_job = add_waiting_job(
                job_type=request.step.name,
                dataset=request.dataset,
                revision=revision,
                config=request.config,
                split=request.split,
                priority=request.priority,
                difficulty=difficulty,
                difficulty_asked=request.difficulty is not None,
            )
        record.result = {
            "action": waiting_job.action,
            "job_id": waiting_job.job_id,
            "revision": revision,
            "difficulty": difficulty,
        }
        if waiting_job.changes:
            record.result["changes"] = {name: list(change) for name, change in waiting_job.changes.items()}
    return ForceRefreshOutcome(waiting_job=waiting_job, revision=revision, difficulty=difficulty)


# ---------------------------------------------------------------------------------------------
# Recreate


@dataclass(frozen=True, kw_only=True)
class RecreateOutcome:
    """What a recreate deleted and created (or, in a dry run, would delete and create).

    `not_supported` is set when the Hub refused the dataset: it was removed (unless dry run)
    and no job was created; the JSON API answers that error (501).
    """

    dataset: str
    dry_run: bool
    deleted_jobs: int
    deleted_cached_responses: int
    deleted_asset_folders: int
    revision: str | None = None
    waiting_job: WaitingJob | None = None
    not_supported: NotSupportedError | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "dataset": self.dataset,
            "deleted_jobs": self.deleted_jobs,
            "deleted_cached_responses": self.deleted_cached_responses,
            "deleted_asset_folders": self.deleted_asset_folders,
        }


def _recreate_plan(*, dataset: str) -> RecreateOutcome:
    """The dry run: ask the Hub, count what would be deleted, write nothing."""
    revision: str | None = None
    refusal: NotSupportedError | None = None
    try:
        revision = dataset_support.supported_revision(dataset=dataset)
    except NotSupportedError as error:
        refusal = error
    return RecreateOutcome(
        dataset=dataset,
        dry_run=True,
        deleted_jobs=job_selectors.count_waiting_jobs_of_dataset(dataset=dataset),
        deleted_cached_responses=reports.count_cache_entries_of_dataset(dataset=dataset),
        deleted_asset_folders=len(assets.existing_dataset_asset_folders(dataset=dataset)),
        revision=revision,
        not_supported=refusal,
    )


def _take_locks_before_any_write(*, locks: LockSet, dataset: str, revision: str | None) -> None:
    """The dataset's lock, then those of its waiting jobs and of the `dataset-init` job to queue (if any).

    LockTimeoutError (nothing was changed) when one stays held. `dataset-init`'s is not taken
    when a job of it at that revision is started: its worker holds that lock while it runs, and
    no second one will be queued.
    """
    locks.take([dataset_lock_key(dataset)])
    wait_for_shared_holders(dataset=dataset)
    lock_waiting_jobs_of_dataset(dataset=dataset, locks=locks)
    if revision is not None:
        init_key = unicity_id(job_type=DATASET_INIT_STEP, dataset=dataset, revision=revision, config=None, split=None)
        if job_selectors.started_job(unicity_id=init_key) is None:
            locks.take([init_key])


def _count_into(result: dict[str, Any], name: str) -> Callable[[int], None]:
    """A callback adding each count to `result[name]` as soon as it is done (the audit entry's truth)."""

    def add(count: int) -> None:
        result[name] = result.get(name, 0) + count

    return add


def _remove_dataset(*, dataset: str, locks: LockSet, result: dict[str, Any]) -> None:
    """Delete waiting jobs, cache entries and asset folders, recording each count as it is done."""
    result["deleted_jobs"] = delete_dataset_waiting_jobs(
        dataset=dataset, locks=locks, on_deleted=_count_into(result, "deleted_jobs")
    )
    locks.touch()
    result["deleted_cached_responses"] = cache_services.delete_dataset_cache_entries(
        dataset=dataset, on_deleted=_count_into(result, "deleted_cached_responses")
    )
    locks.touch()
    result["deleted_asset_folders"] = assets.delete_dataset_asset_folders(dataset=dataset)
    locks.touch()


def _stopped_half_way(error: LockTimeoutError, *, result: dict[str, Any]) -> LockTimeoutError:
    """The error to answer when a lock was refused after the recreate started deleting: what it did."""
    done = [
        plural(result.get(name, 0), one, many)
        for name, one, many in (
            ("deleted_jobs", "waiting job", "waiting jobs"),
            ("deleted_cached_responses", "cache entry", "cache entries"),
            ("deleted_asset_folders", "asset folder", "asset folders"),
        )
    ]
    if not any(result.get(name) for name in ("deleted_jobs", "deleted_cached_responses", "deleted_asset_folders")):
        return error
    return LockTimeoutError(
        key=error.key,
        waited_seconds=error.waited_seconds,
        outcome=(
            f"the recreate stopped there, after it deleted {done[0]}, {done[1]} and {done[2]};"
            f" no {DATASET_INIT_STEP} job was queued. Run the recreate again to finish it."
        ),
    )


def recreate_dataset(*, dataset: str, priority: Priority, actor: HubIdentity, dry_run: bool = False) -> RecreateOutcome:
    """Wipe a dataset (waiting jobs, cache entries, asset folders) and queue its `dataset-init` job.

    The Hub is asked first: HubRequestError means nothing was changed. Then every lock needed
    is taken (LockTimeoutError: nothing was changed). A NotSupported answer removes the dataset
    and is returned in `not_supported` (no job created). No `dataset-init` job is queued when
    one of that revision is running (issue 22: the other services' planner would queue none).
    """
    check_dataset_name(dataset)
    assets.existing_dataset_asset_folders(dataset=dataset)  # refuses unsafe folders before any write
    if dry_run:
        return _recreate_plan(dataset=dataset)
    parameters = {"dataset": dataset, "priority": priority.value}
    with audited(actor=actor, action="recreate-dataset", parameters=parameters) as record:
        revision: str | None = None
        refusal: NotSupportedError | None = None
        try:
            revision = dataset_support.supported_revision(dataset=dataset)
        except NotSupportedError as error:
            refusal = error
        with lock_set() as locks:
            _take_locks_before_any_write(locks=locks, dataset=dataset, revision=revision)
            try:
                _remove_dataset(dataset=dataset, locks=locks, result=record.result)
                if revision is None:
                    record.not_supported = refusal
                    return RecreateOutcome(dataset=dataset, dry_run=False, not_supported=refusal, **record.result)
                init_step = processing_graph().steps_by_name[DATASET_INIT_STEP]
                waiting_job = add_job_unless_pending(
                    locks=locks,
                    job_type=init_step.name,
                    dataset=dataset,
                    revision=revision,
                    config=None,
                    split=None,
                    priority=priority,
                    difficulty=init_step.difficulty,
                )
            except LockTimeoutError as error:
                raise _stopped_half_way(error, result=record.result) from None
        record.result |= {"revision": revision, "job_id": waiting_job.job_id, "job_action": waiting_job.action}
        return RecreateOutcome(
            dataset=dataset,
            dry_run=False,
            deleted_jobs=record.result["deleted_jobs"],
            deleted_cached_responses=record.result["deleted_cached_responses"],
            deleted_asset_folders=record.result["deleted_asset_folders"],
            revision=revision,
            waiting_job=waiting_job,
        )


# ---------------------------------------------------------------------------------------------
# Backfill


@dataclass(frozen=True, kw_only=True)
class BackfillOutcome:
    """The plan applied (computed afresh at the Hub's revision, under the dataset's lock) and what it did."""

    plan: BackfillPlan
    changes: WaitingJobChanges

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "dataset": self.plan.dataset,
            "revision": self.plan.revision,
            "created_jobs": self.changes.created,
            "deleted_waiting_jobs": self.changes.deleted,
        }


def backfill_dataset(*, dataset: str, priority: Priority, actor: HubIdentity) -> BackfillOutcome:
    """Apply the backfill plan of a dataset: delete the waiting jobs it names, create the jobs it lists.

    The Hub first (refused: 501, unreachable: 500; nothing written but the audit entry), then,
    under the dataset's lock (two backfills of one dataset do not interleave), the plan is
    computed from the primary and applied by `replace_waiting_jobs` under the jobs' own locks:
    no duplicate waiting job, metric rows in step, a constant number of commands. Right after,
    the plan is empty: a second call creates and deletes nothing.
    """
    check_dataset_name(dataset)
    parameters = {"dataset": dataset, "priority": priority.value}
    with audited(actor=actor, action="dataset-backfill", parameters=parameters) as record:
        revision = dataset_support.supported_revision(dataset=dataset)
        with exclusive_dataset_lock(dataset=dataset):
            documents = selectors.dataset_documents(dataset=dataset, primary=True)
            plan = selectors.plan_from_documents(
                dataset=dataset, revision=revision, documents=documents, priority=priority
            )
            new_jobs = [
                job_document(
                    job_type=job.type,
                    dataset=job.dataset,
                    revision=job.revision,
                    config=job.config,
                    split=job.split,
                    priority=job.priority,
                    status=Status.WAITING,
                    difficulty=job.difficulty,
                    created_at=mongo.utc_now(),
                )
                for job in plan.jobs_to_create
            ]
            changes = replace_waiting_jobs(dataset=dataset, new_jobs=new_jobs, waiting_jobs=plan.waiting_jobs_to_delete)
        record.result = {
            "revision": revision,
            "tasks": plan.tasks,
            "created_jobs": changes.created,
            "deleted_waiting_jobs": changes.deleted,
        }
    return BackfillOutcome(plan=plan, changes=changes)
