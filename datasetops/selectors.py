"""Reads of one dataset across the cache and the queue: its status (JSON) and its page.

Each function costs a constant number of database commands whatever the number of steps,
configs or splits: the cache and queue reads are those of `cachereports.selectors` and
`jobs.selectors`, composed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cachereports import constants as cachereports_constants
from cachereports.rows import CacheEntry, cache_entry_row
from cachereports.selectors import reports as cache_reports
from datasetops.backfill import (
    ArtifactKey,
    BackfillPlan,
    CopyLink,
    IncoherentCacheError,
    RootError,
    State,
    backfill_plan,
    check_coherence,
    root_errors,
)
from foundation.core.processing_graph import ProcessingStep, processing_graph
from foundation.core.words import plural
from foundation.hub import dataset_support
from jobs import selectors as job_selectors
from jobs.constants import Priority
from jobs.rows import Job

DatasetStatus = dict[str, dict[str, list[Any]]]
"""`{<step>: {"cached_responses": [CacheEntry], "jobs": [Job]}}`."""


def dataset_status(*, dataset: str) -> DatasetStatus:
    """Cache entries and pending jobs (rows) of a dataset for every step: two queries in all.

    Within a step, entries and jobs each in `_id` order, the order they were written (the
    other services read them unsorted, in insertion order): started jobs are not put first.
    """
    entries = cache_reports.cache_entries_by_kind(dataset=dataset)
    jobs = job_selectors.pending_jobs_of_dataset(dataset=dataset)
    return {
        step.name: {
            "cached_responses": entries[step.name],
            "jobs": sorted([*jobs[step.name]["waiting"], *jobs[step.name]["started"]], key=_written_order),
        }
        for step in processing_graph()
    }


def _written_order(job: Job) -> str:
    """A job's `_id` as text: for ObjectIds (24 hex digits) the order of their bytes, when they were written."""
    return job.id


PLAN_STATE_LABELS: dict[str, str] = {
    "cache_is_outdated_by_parent": "outdated by parent",
    "cache_is_empty": "empty",
    "cache_is_error_to_retry": "error to retry",
    "cache_is_job_runner_obsolete": "obsolete runner",
    "cache_has_different_git_revision": "other revision",
}
"""How the dataset page names the plan states (up_to_date is shown as nothing)."""


def artifact_label(key: ArtifactKey) -> str:
    """`kind / config / split` (config and split only where the artifact has them)."""
    return " / ".join(part for part in key if part is not None)


NO_ROOT_WORDS = {
    "fixed": "which is no longer an error (fixed since): this copy is stale",
    "missing": "which has no cache entry any more",
    "other_dataset": "of another dataset",
    "loop": "in a loop of copies",
}
"""Why a copied error has no root, in the words of the page (see `datasetops.backfill.CopyLink`)."""


@dataclass(frozen=True)
class CopiedError:
    """A copied error row: the artifact it copies and its root error, with their cache entry ids (links)."""

    link: CopyLink
    copied_from_id: str | None
    root_id: str | None

    @property
    def copied_from_label(self) -> str:
        return artifact_label(self.link.copied_from)

    @property
    def root_label(self) -> str:
        return artifact_label(self.link.root) if self.link.root is not None else ""

    @property
    def no_root_words(self) -> str:
        end = "" if self.link.end == self.link.copied_from else f" (chain ends on {artifact_label(self.link.end)})"
        return f"{NO_ROOT_WORDS.get(self.link.outcome, '')}{end}"


@dataclass(frozen=True)
class RootErrorRow:
    """A root error of the banner: what broke, its cache entry id, and how many entries copy it."""

    root_error: RootError
    entry_id: str | None

    @property
    def label(self) -> str:
        return artifact_label(self.root_error.key)

    @property
    def cause(self) -> str:
        """`DatasetGenerationError (ValueError: message)`: the code, then the exception when known."""
        error = self.root_error
        code = error.error_code or "error"
        if error.cause_exception is None:
            return code
        message = f": {error.cause_message}" if error.cause_message else ""
        return f"{code} ({error.cause_exception}{message})"

    @property
    def downstream_words(self) -> str:
        count = self.root_error.downstream
        if count == 0:
            return "no entry copies it"
        return f"{plural(count, 'downstream entry copies', 'downstream entries copy')} it"


@dataclass(frozen=True)
class StepRow:
    """One (step, config, split) of a dataset: its cache entry (None: missing) and pending jobs.

    A phase-2 action form (force-refresh) posts `step.name`, the dataset, `config`, `split`.
    """

    step: ProcessingStep
    dataset: str
    config: str | None
    split: str | None
    cache_entry: CacheEntry | None
    jobs: list[Job]
    outdated_reasons: list[str]
    plan_state: State | None = None
    """The artifact's state in the page's backfill plan, when not up to date (None: up to date, or no plan)."""
    in_process: bool = False
    """A pending job at the plan's revision stands for it (the plan creates none then)."""
    copied_error: CopiedError | None = None

    @property
    def plan_state_label(self) -> str:
        return PLAN_STATE_LABELS.get(self.plan_state, "") if self.plan_state is not None else ""

    @property
    def state(self) -> str:
        """missing, ok (HTTP 200) or error: the colour of the row."""
        if self.cache_entry is None:
            return "missing"
        return "ok" if self.cache_entry.http_status == 200 else "error"


@dataclass(frozen=True)
class StepSection:
    step: ProcessingStep
    rows: list[StepRow]
    configs_without_splits: list[str]
    """For a split step: listed configs whose splits are not known yet (no config-split-names)."""

    @property
    def num_errors(self) -> int:
        return sum(1 for row in self.rows if row.state == "error")


@dataclass(frozen=True)
class DatasetOverview:
    """Everything about one dataset, step by step in graph order."""

    dataset: str
    revision: str | None
    config_names: list[str]
    blocked: bool
    sections: list[StepSection]
    root_errors: list[RootErrorRow] = field(default_factory=list)
    """Most copied first."""
    plan: BackfillPlan | None = None
    """The backfill plan at the cache's revision (`revision`); None when no revision is known or it is refused."""
    incoherence: IncoherentCacheError | None = None
    """Why the plan is refused: the entries do not match the name lists (recreate repairs it)."""
    stale_job_ids: frozenset[str] = frozenset()
    """The ids of its stale jobs (started, and quiet for longer than ADMIN_STALE_JOB_SECONDS)."""

    @property
    def plan_words(self) -> str:
        """`5 jobs to create, 2 waiting jobs to delete`, or that there is nothing to do."""
        if self.plan is None:
            return ""
        if not self.plan.has_changes:
            return "Nothing to do: every artifact is up to date or has its pending job."
        return (
            f"{plural(len(self.plan.jobs_to_create), 'job', 'jobs')} to create,"
            f" {plural(len(self.plan.waiting_jobs_to_delete), 'waiting job', 'waiting jobs')} to delete"
        )

    def count(self, state: str) -> int:
        return sum(1 for section in self.sections for row in section.rows if row.state == state)

    @property
    def num_ok(self) -> int:
        return self.count("ok")

    @property
    def num_errors(self) -> int:
        return self.count("error")

    @property
    def num_missing(self) -> int:
        return self.count("missing")

    @property
    def num_rows(self) -> int:
        return sum(len(section.rows) for section in self.sections)

    @property
    def num_outdated(self) -> int:
        return sum(1 for section in self.sections for row in section.rows if row.outdated_reasons)

    @property
    def num_jobs(self) -> int:
        return sum(len(row.jobs) for section in self.sections for row in section.rows)

    @property
    def is_unknown(self) -> bool:
        """No cache entry and no pending job: not on the Hub, or never processed (not "all missing")."""
        return all(row.cache_entry is None and not row.jobs for section in self.sections for row in section.rows)


def _names(items: object, field: str) -> list[str]:
    """`config`/`split` names of a content list (dicts as the workers write them, or strings)."""
    if not isinstance(items, list):
        return []
    names = [item.get(field) if isinstance(item, dict) else item for item in items]
    return list(dict.fromkeys(name for name in names if isinstance(name, str)))


def _listed_names(entries: dict[tuple[str, str | None, str | None], dict[str, Any]]) -> dict[str | None, list[str]]:
    """Configs listed by dataset-config-names (key None), and the splits of each config."""
    listed: dict[str | None, list[str]] = {}
    for (kind, config, _split), entry in entries.items():
        content = entry.get("content") if entry.get("http_status") == 200 else None
        if not isinstance(content, dict):
            continue
        if kind == cachereports_constants.CONFIG_NAMES_KIND:
            listed[None] = _names(content.get("config_names"), "config")
        elif kind == cachereports_constants.SPLIT_NAMES_KIND and config is not None:
            listed[config] = _names(content.get("splits"), "split")
    return listed


def _outdated_reasons(step: ProcessingStep, entry: CacheEntry | None, revision: str | None) -> list[str]:
    if entry is None:
        return []
    reasons = []
    version = entry.job_runner_version
    if isinstance(version, int) and version < step.job_runner_version:  # a missing one is not obsolete
        reasons.append(f"job runner version {version} < {step.job_runner_version}")
    entry_revision = entry.dataset_git_revision
    if revision is not None and entry_revision is not None and entry_revision != revision:
        reasons.append(f"revision {entry_revision} is not the dataset's {revision}")
    return reasons


def _row_keys(
    step: ProcessingStep, listed: dict[str | None, list[str]], present: list[tuple[str | None, str | None]]
) -> list[tuple[str | None, str | None]]:
    """The (config, split) rows a step should have, listed ones first, then any other present."""
    configs = listed.get(None, [])
    if step.input_type == "dataset":
        expected: list[tuple[str | None, str | None]] = [(None, None)]
    elif step.input_type == "config":
        expected = [(config, None) for config in configs]
    else:
        expected = [(config, split) for config in configs for split in listed.get(config, [])]
    extra = sorted(set(present) - set(expected), key=lambda key: (key[0] or "", key[1] or ""))
    return [*expected, *extra]


def dataset_overview(*, dataset: str) -> DatasetOverview:
    """The dataset page: its cache entries and pending jobs per step, with what is missing.

    Three commands whatever the number of steps, configs or splits: the dataset's entries
    (index dataset, kind, http_status), its pending jobs (index dataset, status) and its
    blockage (index dataset).
    """
    documents = dataset_documents(dataset=dataset)
    entries = {
        (str(entry["kind"]), entry.get("config"), entry.get("split")): entry for entry in documents.cache_entries
    }
    jobs_by_type = job_selectors.group_pending_jobs(documents.pending_jobs)
    listed = _listed_names(entries)
    root = entries.get((cachereports_constants.CONFIG_NAMES_KIND, None, None))
    revision = root.get("dataset_git_revision") if root is not None else None
    plan, incoherence = None, None
    try:
        if isinstance(revision, str):
            plan = plan_from_documents(dataset=dataset, revision=revision, documents=documents, priority=Priority.LOW)
        else:  # no plan without a revision, but Apply would still be refused
            check_coherence(dataset=dataset, entries=entries)
    except IncoherentCacheError as refusal:
        incoherence = refusal
    # the plan found the root errors and copies of these same entries: not searched twice
    roots, copies = (
        (plan.root_errors, plan.copies)
        if plan is not None
        else root_errors(graph=processing_graph(), dataset=dataset, entries=entries)
    )
    places_by_kind: dict[str, list[tuple[str | None, str | None]]] = {}
    for kind, config, split in entries:
        places_by_kind.setdefault(kind, []).append((config, split))
    sections = []
    for step in processing_graph().in_graph_order():
        jobs: dict[tuple[str | None, str | None], list[Job]] = {}
        for job in [*jobs_by_type[step.name]["started"], *jobs_by_type[step.name]["waiting"]]:
            jobs.setdefault((job.config, job.split), []).append(job)
        present = places_by_kind.get(step.name, []) + list(jobs)
        rows = []
        for config, split in _row_keys(step, listed, present):
            found = entries.get((step.name, config, split))
            entry = cache_entry_row(found) if found is not None else None
            rows.append(
                StepRow(
                    step=step,
                    dataset=dataset,
                    config=config,
                    split=split,
                    cache_entry=entry,
                    jobs=jobs.get((config, split), []),
                    outdated_reasons=_outdated_reasons(step, entry, revision),
                    **_plan_fields(plan, (step.name, config, split)),
                    copied_error=_copied_error(copies.get((step.name, config, split)), entries),
                )
            )
        unknown_splits = [config for config in listed.get(None, []) if config not in listed]
        sections.append(StepSection(step, rows, unknown_splits if step.input_type == "split" else []))
    return DatasetOverview(
        dataset=dataset,
        revision=revision if isinstance(revision, str) else None,
        config_names=listed.get(None, []),
        blocked=job_selectors.is_dataset_blocked(dataset=dataset),
        sections=sections,
        root_errors=[RootErrorRow(root_error, _entry_id(entries.get(root_error.key))) for root_error in roots],
        plan=plan,
        incoherence=incoherence,
        stale_job_ids=_stale_job_ids(documents.pending_jobs),
    )


def _stale_job_ids(pending_jobs: list[dict[str, Any]]) -> frozenset[str]:
    before = job_selectors.stale_before()
    return frozenset(str(job["_id"]) for job in pending_jobs if job_selectors.is_stale(job, before))


def _entry_id(entry: dict[str, Any] | Any) -> str | None:
    return str(entry["_id"]) if isinstance(entry, dict) and "_id" in entry else None


def _plan_fields(plan: BackfillPlan | None, key: ArtifactKey) -> dict[str, Any]:
    if plan is None:
        return {}
    state = plan.states.get(key)
    return {"plan_state": None if state in (None, "up_to_date") else state, "in_process": key in plan.in_process}


def _copied_error(link: CopyLink | None, entries: dict[ArtifactKey, Any]) -> CopiedError | None:
    if link is None:
        return None
    root_id = _entry_id(entries.get(link.root)) if link.root is not None else None
    return CopiedError(link=link, copied_from_id=_entry_id(entries.get(link.copied_from)), root_id=root_id)


# The backfill plan


@dataclass(frozen=True)
class DatasetDocuments:
    """What the plan is computed from: the dataset's cache entries (no content but the name lists
    and the config sizes) and its pending jobs as stored. Two reads whatever the number of
    configs, splits or steps."""

    cache_entries: list[dict[str, Any]]
    pending_jobs: list[dict[str, Any]]


def dataset_documents(*, dataset: str, primary: bool = False) -> DatasetDocuments:
    """One read of the cache entries (index dataset, kind, http_status), one of the jobs (index dataset, status)."""
    return DatasetDocuments(
        cache_entries=cache_reports.cache_entries_of_dataset_page(dataset=dataset, primary=primary),
        pending_jobs=job_selectors.pending_job_documents_of_dataset(dataset=dataset, primary=primary),
    )


def plan_from_documents(
    *, dataset: str, revision: str, documents: DatasetDocuments, priority: Priority
) -> BackfillPlan:
    return backfill_plan(
        graph=processing_graph(),
        dataset=dataset,
        revision=revision,
        cache_entries=documents.cache_entries,
        pending_jobs=documents.pending_jobs,
        priority=priority,
    )


def dataset_backfill_plan(*, dataset: str, priority: Priority) -> BackfillPlan:
    """The plan at the Hub's current revision (support rules of force-refresh: 501 / 500); writes nothing.

    The Hub is asked first, so a refused or unreachable dataset costs no database command.
    """
    revision = dataset_support.supported_revision(dataset=dataset)
    return plan_from_documents(
        dataset=dataset, revision=revision, documents=dataset_documents(dataset=dataset), priority=priority
    )
