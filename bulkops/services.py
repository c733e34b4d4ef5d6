"""Bulk refresh: force-refresh every cache entry a filter matches, one batch per call.

After a fix in a worker, maintainers re-run thousands of entries (kind X, error Y). Each call
takes the next `limit` entries after `cursor` in `_id` order and answers the cursor of the
next batch, so no request runs long behind a proxy and an interrupted run resumes where it
stopped (the page, the command and a script all chain the cursor).

Per batch:
1. The Hub is asked once per distinct dataset of the batch (support rules and revision), a few
   requests at a time (`HUB_CONCURRENCY`), within HUB_DEADLINE_SECONDS for the whole batch. A
   dataset it refuses or cannot answer, or that the deadline left unasked, is skipped with its
   reason; the others go on.
2. Every entry of a supported dataset gets a waiting job, under the lock of its `unicity_id`
   (the protocol of `jobs.services.add_waiting_job`, taken for a dataset's jobs at once by
   `replace_waiting_jobs`): two runs of the same filter at once leave one job per artifact, a
   job already waiting is counted, not duplicated, and raised to the asked priority.
3. One audit entry records the batch: the filter, cursor, limit, priority and the counts;
   its outcome is "partial" when entries were skipped.

A dry run (the default) counts and lists the batch and writes nothing: no Hub call, no job,
no audit entry.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from auditlog.services import audited
from cachereports.filters import CacheEntryFilter
from cachereports.rows import CacheEntry
from cachereports.selectors import config_sizes, matching, recount
from foundation.core.dataset_names import is_valid_dataset_name
from foundation.core.errors import AdminError, InvalidParameterError
from foundation.core.identity import HubIdentity
from foundation.core.processing_graph import ProcessingStep, known_step
from foundation.database import mongo
from foundation.hub import dataset_support
from jobs.constants import Priority, Status
from jobs.difficulty import force_refresh_difficulty
from jobs.documents import job_document
from jobs.locks import LOCK_DEADLINE_SECONDS, LockTimeoutError, shared_dataset_lock
from jobs.services import WaitingJobChanges, raise_waiting_priority, replace_waiting_jobs

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
HUB_CONCURRENCY = 4
"""Hub requests in flight at once for a batch: enough to hide latency, few enough to be polite."""
HUB_DEADLINE_SECONDS = 10.0
"""No Hub request of a batch starts later than this after the first: a Hub that hangs costs one
call this long (plus one Hub timeout), not a timeout per dataset (400 datasets took 50 s)."""


class HubDeadlineError(AdminError):
    """The batch's Hub deadline passed before this dataset was asked: nothing was done for it."""

    status_code = 500
    error_code = "HubDeadlineExceeded"


@dataclass(frozen=True)
class Skipped:
    """An entry left alone, and why (the Hub's refusal, an unreachable Hub, a malformed entry)."""

    dataset: str
    config: str | None
    split: str | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "config": self.config, "split": self.split, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class BulkRefreshOutcome:
    """What one call did (or, in a dry run, would work on): the answer of POST /admin/bulk-refresh."""

    dry_run: bool
    matched: int
    processed: int
    created_jobs: int
    already_waiting: int
    skipped: list[Skipped]
    next_cursor: str
    entries: list[CacheEntry] = field(default_factory=list)
    """The batch's entries (kind, dataset, config, split, status, error code): the page's preview, not in the JSON."""

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "matched": self.matched,
            "processed": self.processed,
            "created_jobs": self.created_jobs,
            "already_waiting": self.already_waiting,
            "skipped": [skipped.as_json() for skipped in self.skipped],
            "next_cursor": self.next_cursor,
        }


def hub_revisions(*, datasets: list[str]) -> dict[str, str | AdminError]:
    """The Hub's revision of each dataset, or the error it answered: one request per dataset, a few at once.

    A dataset whose turn comes after HUB_DEADLINE_SECONDS is not asked: HubDeadlineError.
    """
    deadline = time.monotonic() + HUB_DEADLINE_SECONDS

    def ask(dataset: str) -> str | AdminError:
        if not is_valid_dataset_name(dataset):
            return InvalidParameterError("Not a valid dataset name.")
        if time.monotonic() >= deadline:
            return HubDeadlineError(
                f"Not asked: the Hub took more than this call's {HUB_DEADLINE_SECONDS:g}s for the datasets before"
                " it. Nothing was changed for it: refresh it again."
            )
        try:
            return dataset_support.supported_revision(dataset=dataset)
        except AdminError as error:
            return error

    if not datasets:
        return {}
    with ThreadPoolExecutor(max_workers=min(HUB_CONCURRENCY, len(datasets))) as pool:
        return dict(zip(datasets, pool.map(ask, datasets), strict=True))


def _artifact(entry: CacheEntry) -> tuple[str, str | None, str | None]:
    return entry.dataset, entry.config, entry.split


def _difficulty(*, entry: CacheEntry, sizes: config_sizes.ConfigSizes, step: ProcessingStep) -> int:
    """The difficulty of the entry's force-refresh (its config or split size from one `config_sizes` read)."""
    dataset, config, split = _artifact(entry)
    num_bytes = None if config is None else sizes.num_bytes(dataset=dataset, config=config, split=split)
    return force_refresh_difficulty(step=step, asked=None, num_bytes=num_bytes)


@dataclass
class _Tally:
    created_jobs: int = 0
    already_waiting: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def _job_documents(
    *,
    entries: list[CacheEntry],
    step: ProcessingStep,
    revision: str,
    priority: Priority,
    sizes: config_sizes.ConfigSizes,
) -> list[dict[str, Any]]:
    now = mongo.utc_now()
    return [
        job_document(
            job_type=step.name,
            dataset=dataset,
            revision=revision,
            config=config,
            split=split,
            priority=priority,
            status=Status.WAITING,
            difficulty=_difficulty(entry=entry, sizes=sizes, step=step),
            created_at=now,
        )
        for entry in entries
        for dataset, config, split in [_artifact(entry)]
    ]


GONE_REASON = "no longer in the cache (deleted meanwhile, e.g. by a recreate of its dataset): no job queued"


def _left(until: float) -> float:
    """Seconds left before `until` (0: one try only)."""
    return max(0.0, until - time.monotonic())


def _refresh_dataset(
    *,
    dataset: str,
    entries: list[CacheEntry],
    step: ProcessingStep,
    revision: str,
    priority: Priority,
    sizes: config_sizes.ConfigSizes,
    lock_waits_end: float,
) -> tuple[WaitingJobChanges, list[dict[str, Any]], list[CacheEntry]]:
    """Under the dataset's lock: queue jobs for the entries still in the cache; (changes, jobs, entries gone).

    The batch was read before the lock: an entry a recreate deleted since then gets no job (it
    would be a job of the old cache beside the new `dataset-init`).
    """
    still_there = recount.existing_entry_ids(ids=[entry.id for entry in entries])
    kept = [entry for entry in entries if entry.id in still_there]
    gone = [entry for entry in entries if entry.id not in still_there]
    documents = _job_documents(entries=kept, step=step, revision=revision, priority=priority, sizes=sizes)
    changes = replace_waiting_jobs(
        dataset=dataset, new_jobs=documents, waiting_jobs=[], deadline_seconds=_left(lock_waits_end)
    )
    return changes, documents, gone


def _refresh_entries(*, entries: list[CacheEntry], kind: str, priority: Priority) -> _Tally:
    """Queue a job for each entry whose dataset the Hub supports; skip the others with the reason.

    Per dataset, under the dataset's lock, shared (a recreate of it at the same moment ends
    first, and its deleted entries get no job), `jobs.services.replace_waiting_jobs` adds the jobs under the
    lock of every unicity_id (the protocol of `add_waiting_job`, taken in one bulk write): a job
    already waiting is counted, never duplicated, even when two runs of the filter race. A few
    commands per dataset instead of a handful per entry. A waiting job below the asked priority
    is then raised to it, as force-refresh does (one update for the batch).

    The lock waits of the whole call end together, LOCK_DEADLINE_SECONDS after it starts
    them: a dataset whose lock is held past that is skipped with the reason at its first try,
    instead of each locked dataset waiting in turn.
    """
    step = known_step(kind)
    datasets = list(dict.fromkeys(entry.dataset for entry in entries))
    revisions = hub_revisions(datasets=datasets)
    sizes = config_sizes.config_sizes(datasets=[name for name in datasets if isinstance(revisions[name], str)])
    tally = _Tally()
    by_dataset: dict[str, list[CacheEntry]] = {}
    for entry in entries:
        dataset, config, split = _artifact(entry)
        revision = revisions[dataset]
        if isinstance(revision, AdminError):
            tally.skipped.append(Skipped(dataset, config, split, f"{revision.error_code}: {revision.message}"))
        elif step.needs_config != (config is not None) or step.needs_split != (split is not None):
            tally.skipped.append(Skipped(dataset, config, split, f"not a {step.input_type} entry of {kind}"))
        else:
            by_dataset.setdefault(dataset, []).append(entry)
    keys: list[str] = []
    lock_waits_end = time.monotonic() + LOCK_DEADLINE_SECONDS
    for dataset, dataset_entries in by_dataset.items():
        try:
            with shared_dataset_lock(dataset=dataset, deadline_seconds=_left(lock_waits_end)):
                changes, documents, gone = _refresh_dataset(
                    dataset=dataset,
                    entries=dataset_entries,
                    step=step,
                    revision=str(revisions[dataset]),
                    priority=priority,
                    sizes=sizes,
                    lock_waits_end=lock_waits_end,
                )
        except LockTimeoutError as error:  # held past the call's lock waits: this dataset only
            tally.skipped.extend(
                Skipped(*_artifact(entry), f"{error.error_code}: {error.message}") for entry in dataset_entries
            )
            continue
        tally.skipped.extend(Skipped(*_artifact(entry), GONE_REASON) for entry in gone)
        tally.created_jobs += changes.created
        tally.already_waiting += changes.already_waiting
        keys.extend(str(document["unicity_id"]) for document in documents)
    if tally.already_waiting:
        raise_waiting_priority(unicity_ids=keys, priority=priority)
    return tally


def bulk_refresh(
    *,
    entry_filter: CacheEntryFilter,
    after: ObjectId | None,
    limit: int,
    priority: Priority,
    dry_run: bool,
    actor: HubIdentity,
) -> BulkRefreshOutcome:
    """Refresh the next `limit` (1..MAX_LIMIT) matching entries after `after` (a dry run only counts and lists them).

    `matched` counts every matching entry (not only those after the cursor), so a progress bar
    knows its end from the first call. `next_cursor` is the `_id` of the batch's last entry
    when more entries follow it (one extra entry is read to know), else "": the last batch says
    it is the last.
    """
    matched = matching.count_matching_entries(entry_filter=entry_filter)
    found = matching.matching_entries_after(entry_filter=entry_filter, after=after, limit=limit + 1)
    entries = found[:limit]
    next_cursor = entries[-1].id if len(found) > limit else ""
    if dry_run:
        return BulkRefreshOutcome(
            dry_run=True,
            matched=matched,
            processed=len(entries),
            created_jobs=0,
            already_waiting=0,
            skipped=[],
            next_cursor=next_cursor,
            entries=entries,
        )
    cursor = str(after) if after is not None else None
    parameters = {**entry_filter.as_parameters(), "cursor": cursor, "limit": limit, "priority": priority.value}
    with audited(actor=actor, action="bulk-refresh", parameters=parameters) as record:
        tally = _refresh_entries(entries=entries, kind=entry_filter.kind, priority=priority)
        record.partial = bool(tally.skipped)
        record.result = {
            "matched": matched,
            "processed": len(entries),
            "created_jobs": tally.created_jobs,
            "already_waiting": tally.already_waiting,
            "skipped": len(tally.skipped),
            "next_cursor": next_cursor,
        }
    return BulkRefreshOutcome(
        dry_run=False,
        matched=matched,
        processed=len(entries),
        created_jobs=tally.created_jobs,
        already_waiting=tally.already_waiting,
        skipped=tally.skipped,
        next_cursor=next_cursor,
        entries=entries,
    )
