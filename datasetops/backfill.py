"""The backfill plan of one dataset, and the root errors behind its copied errors: a pure function.

Documents in, plan out: `backfill_plan` reads nothing and writes nothing, so each rule of
REFERENCE.md ("Backfill plan", "Copied errors and root causes") is tested on hand-built
documents without a database. The selectors read the documents (one read of the cache entries,
one of the pending jobs), the services apply the plan.

What the function expects of its documents:
- cache entries of the dataset without `content`, except `content.config_names` (of
  `dataset-config-names`), `content.splits` (of `config-split-names`) and
  `content.dataset_info.dataset_size` / `content.dataset_info.splits` (of `config-info`, for
  the bonus difficulty); `updated_at` as a datetime;
- the dataset's pending jobs (waiting and started) as stored, `_id` included.

The rules are those of the other services' planner as it behaves on their data (REFERENCE.md,
"Backfill plan"), checked against an independent reading of REFERENCE.md on random datasets
(tests/test_backfill_plan_oracle.py):
- Names are read from the two name lists whatever their entry's status, in their order. A list
  with an item that is not an object holding a string name is no list at all (the other
  services' reader gives up on it), so nothing is listed.
- An incoherent cache is refused (IncoherentCacheError, 409), never planned: entries of a config
  the config names do not list, entries of a split that a config's (non-empty) split names do
  not list, or a name listed twice.
- A job is an artifact's only when its (type, config, split) is one of the artifacts: a job of
  a config no longer listed is no artifact's job, so a waiting one is deleted.
- An entry without a `job_runner_version` is not obsolete; only a number below the step's is.
- The big-dataset bonus goes to every config- and split-level artifact of a config whose
  `config-info` `dataset_size` is an integer above 3e9 (a split's `num_bytes` is not read:
  force-refresh has its own rule).
- `DeleteWaitingJobs,n` counts every pending job that is not an artifact's valid job, started
  ones included; only the waiting ones are deleted.

Choices where REFERENCE.md leaves room (each covered by a test):
- Jobs to create are listed in graph order (steps topologically, then configs and splits in the
  order of their name lists); waiting jobs to delete by unicity_id, then creation date.
- Root errors: following `details.copied_from_artifact` from a copy ends on a root error (an
  error entry without it), or on something else: an entry that is no longer an error (the root
  was fixed since: the copy is stale and the plan recomputes it as outdated by its parent), no
  entry, an entry of another dataset, or a loop. Only the first counts as "downstream" of a
  root; the others are reported per copy (`CopyLink.outcome`) so the page can say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cachereports.constants import CONFIG_INFO_KIND, CONFIG_NAMES_KIND, SPLIT_NAMES_KIND
from foundation.core.errors import AdminError
from foundation.core.processing_graph import ProcessingGraph, ProcessingStep
from jobs.constants import Priority, Status
from jobs.difficulty import backfill_plan_difficulty
from jobs.documents import unicity_id
from jobs.serializers import job_document_dict

CacheEntry = Mapping[str, Any]
JobDocument = Mapping[str, Any]
ArtifactKey = tuple[str, str | None, str | None]
"""(step name, config, split) of an artifact or a cache entry."""

State = Literal[
    "cache_is_outdated_by_parent",
    "cache_is_empty",
    "cache_is_error_to_retry",
    "cache_is_job_runner_obsolete",
    "cache_has_different_git_revision",
    "up_to_date",
]
STATES: tuple[State, ...] = (
    "cache_is_outdated_by_parent",
    "cache_is_empty",
    "cache_is_error_to_retry",
    "cache_is_job_runner_obsolete",
    "cache_has_different_git_revision",
    "up_to_date",
)
"""The states of an artifact, in the order they are tried: the first that applies is its state."""

ERROR_CODES_TO_RETRY: dict[str, int] = {
    "RetryableConfigNamesError": 3,
    "ConnectionError": 3,
    "ExternalServerError": 3,
    "JobManagerCrashedError": 3,
    "StreamingRowsError": 3,
    "CreateCommitError": 30,
    "HfHubError": 30,
    "LockedDatasetTimeoutError": 30,
    "PreviousStepStillProcessingError": 30,
}
"""Error codes the workers retry, and the `failed_runs` below which they still do (upstream's lists)."""

MAX_NAMES_IN_MESSAGE = 10
"""An incoherent cache names at most this many configs or splits, then `...` (as the other services)."""


class IncoherentCacheError(AdminError):
    """The dataset's entries do not match its name lists: the other services' planner refuses it.

    Planning anyway would queue jobs the workers never plan. Nothing is written; recreating the
    dataset is the repair.
    """

    status_code = 409


@dataclass(frozen=True)
class Artifact:
    """One step of the dataset at one config/split (None where the step has none)."""

    step: ProcessingStep
    dataset: str
    revision: str
    config: str | None
    split: str | None

    @property
    def key(self) -> ArtifactKey:
        return (self.step.name, self.config, self.split)

    @property
    def id(self) -> str:
        """`{step},{dataset},{revision}[,{config}[,{split}]]`: the unicity_id its job would have."""
        return unicity_id(
            job_type=self.step.name, dataset=self.dataset, revision=self.revision, config=self.config, split=self.split
        )


@dataclass(frozen=True)
class JobToCreate:
    """A job the plan creates, as the route shows it."""

    type: str
    dataset: str
    revision: str
    config: str | None
    split: str | None
    priority: Priority
    difficulty: int

    @property
    def unicity_id(self) -> str:
        return unicity_id(
            job_type=self.type, dataset=self.dataset, revision=self.revision, config=self.config, split=self.split
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "dataset": self.dataset,
            "revision": self.revision,
            "config": self.config,
            "split": self.split,
            "priority": self.priority.value,
            "difficulty": self.difficulty,
        }


@dataclass(frozen=True)
class RootError:
    """An error entry that copies no other one (what actually broke), and how many copy it."""

    kind: str
    dataset: str
    config: str | None
    split: str | None
    error_code: str | None
    cause_exception: str | None
    cause_message: str | None
    downstream: int

    @property
    def key(self) -> ArtifactKey:
        return (self.kind, self.config, self.split)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dataset": self.dataset,
            "config": self.config,
            "split": self.split,
            "error_code": self.error_code,
            "cause_exception": self.cause_exception,
            "cause_message": self.cause_message,
            "downstream": self.downstream,
        }


CopyOutcome = Literal["root", "fixed", "missing", "other_dataset", "loop"]
"""Where following a copy ended: on a root error, or (no root) on a fixed entry, no entry, another dataset, a loop."""


@dataclass(frozen=True)
class CopyLink:
    """A copied error: the artifact it names, and its root error when the chain reaches one."""

    copied_from: ArtifactKey
    copied_from_dataset: str
    outcome: CopyOutcome
    root: ArtifactKey | None
    """The root error's key (outcome "root"), else None."""
    end: ArtifactKey
    """The last artifact of the chain: the root, or the fixed/missing/foreign entry where it stopped."""
    depth: int
    """How many copies lie between this entry and `end`, itself included (1: it copies `end` directly)."""


@dataclass(frozen=True)
class BackfillPlan:
    """What to compute again for a dataset at `revision`, and why (the route's answer)."""

    dataset: str
    revision: str
    artifacts: list[Artifact]
    """In graph order."""
    states: dict[ArtifactKey, State]
    in_process: set[ArtifactKey]
    jobs_to_create: list[JobToCreate]
    waiting_jobs_to_delete: list[JobDocument]
    root_errors: list[RootError]
    copies: dict[ArtifactKey, CopyLink] = field(default_factory=dict)
    started_jobs_not_kept: list[JobDocument] = field(default_factory=list)
    """Started jobs that are no artifact's valid job: counted by `DeleteWaitingJobs`, never deleted."""

    @property
    def tasks(self) -> list[str]:
        """`CreateJobs,n` and `DeleteWaitingJobs,n` (n: the pending jobs not kept, started ones included)."""
        tasks = []
        if self.jobs_to_create:
            tasks.append(f"CreateJobs,{len(self.jobs_to_create)}")
        pending_not_kept = len(self.waiting_jobs_to_delete) + len(self.started_jobs_not_kept)
        if pending_not_kept:
            tasks.append(f"DeleteWaitingJobs,{pending_not_kept}")
        return sorted(tasks)

    @property
    def has_changes(self) -> bool:
        """Whether applying it writes anything (a started job not kept is left alone)."""
        return bool(self.jobs_to_create or self.waiting_jobs_to_delete)

    def ids_in_state(self, state: State) -> list[str]:
        return sorted(artifact.id for artifact in self.artifacts if self.states[artifact.key] == state)

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "revision": self.revision,
            "cache_status": {state: self.ids_in_state(state) for state in STATES},
            "queue_status": {
                "in_process": sorted(artifact.id for artifact in self.artifacts if artifact.key in self.in_process)
            },
            "tasks": self.tasks,
            "jobs_to_create": [job.as_json() for job in self.jobs_to_create],
            "waiting_jobs_to_delete": [job_document_dict(job) for job in self.waiting_jobs_to_delete],
            "root_errors": [root_error.as_json() for root_error in self.root_errors],
        }


# ---------------------------------------------------------------------------------------------
# Artifacts from the name lists


def entry_key(entry: CacheEntry) -> ArtifactKey:
    """(kind, config, split) of a cache entry; a missing field is None."""
    return (str(entry.get("kind")), entry.get("config"), entry.get("split"))


def _content(entry: CacheEntry | None) -> Mapping[str, Any]:
    content = entry.get("content") if entry is not None else None
    return content if isinstance(content, Mapping) else {}


def listed_names(items: object, name_field: str) -> list[str]:
    """The `name_field` of each item of a name list, in order, duplicates kept (they are refused).

    A list with an item that is not an object holding a string name lists nothing, as the other
    services read it (their reader gives up on the whole list).
    """
    if not isinstance(items, list):
        return []
    names: list[str] = []
    for item in items:
        name = item.get(name_field) if isinstance(item, Mapping) else None
        if not isinstance(name, str):
            return []
        names.append(name)
    return names


def config_names(entries: Mapping[ArtifactKey, CacheEntry]) -> list[str]:
    """The configs listed by the dataset's `dataset-config-names` entry (any status; none when missing)."""
    return listed_names(_content(entries.get((CONFIG_NAMES_KIND, None, None))).get("config_names"), "config")


def split_names(entries: Mapping[ArtifactKey, CacheEntry], config: str) -> list[str]:
    """The splits listed by a config's `config-split-names` entry (any status; none when missing)."""
    return listed_names(_content(entries.get((SPLIT_NAMES_KIND, config, None))).get("splits"), "split")


def _names_listing(names: Iterable[str]) -> str:
    """`'a', 'b'`: sorted, at most MAX_NAMES_IN_MESSAGE, then `...`."""
    ordered = sorted(names)
    shown = ", ".join(repr(name) for name in ordered[:MAX_NAMES_IN_MESSAGE])
    return f"{shown}, ..." if len(ordered) > MAX_NAMES_IN_MESSAGE else shown


def _incoherence(dataset: str, what: str) -> IncoherentCacheError:
    return IncoherentCacheError(
        f"Incoherent cache of {dataset}: {what}. The plan is refused, as the other services' planner"
        " refuses it; recreate the dataset to repair it."
    )


def check_coherence(*, dataset: str, entries: Mapping[ArtifactKey, CacheEntry]) -> None:
    """Raise IncoherentCacheError where the other services' planner refuses the dataset, in its order.

    1. entries of configs that the config names do not list (all of them, when there is no list);
    2. for each listed config whose split names are not empty, entries of splits they do not list;
    3. a config, or a split of a listed config, listed twice.
    """
    configs = config_names(entries)
    unexpected_configs = {config for _, config, _ in entries if config is not None} - set(configs)
    if unexpected_configs:
        raise _incoherence(
            dataset,
            f"it holds entries for {len(unexpected_configs)} config(s) that its dataset-config-names entry"
            f" does not list: {_names_listing(unexpected_configs)}",
        )
    splits_by_config = {config: split_names(entries, config) for config in configs}
    for config in dict.fromkeys(configs):
        splits = splits_by_config[config]
        unexpected_splits = {split for _, of, split in entries if of == config and split is not None} - set(splits)
        if splits and unexpected_splits:
            raise _incoherence(
                dataset,
                f"it holds entries for {len(unexpected_splits)} split(s) of config {config!r} that its"
                f" config-split-names entry does not list: {_names_listing(unexpected_splits)}",
            )
    repeated_configs = {config for config in configs if configs.count(config) > 1}
    if repeated_configs:
        raise _incoherence(
            dataset,
            f"its dataset-config-names entry lists {len(repeated_configs)} config(s) more than once:"
            f" {_names_listing(repeated_configs)}",
        )
    for config, splits in splits_by_config.items():
        repeated_splits = {split for split in splits if splits.count(split) > 1}
        if repeated_splits:
            raise _incoherence(
                dataset,
                f"the config-split-names entry of config {config!r} lists {len(repeated_splits)} split(s) more"
                f" than once: {_names_listing(repeated_splits)}",
            )


def dataset_artifacts(
    *, graph: ProcessingGraph, dataset: str, revision: str, entries: Mapping[ArtifactKey, CacheEntry]
) -> list[Artifact]:
    """Every artifact of the dataset at `revision`, in graph order, configs and splits from the name lists."""
    configs = config_names(entries)
    splits = {config: split_names(entries, config) for config in configs}
    artifacts: list[Artifact] = []
    for step in graph.in_graph_order():
        if step.input_type == "dataset":
            keys: list[tuple[str | None, str | None]] = [(None, None)]
        elif step.input_type == "config":
            keys = [(config, None) for config in configs]
        else:
            keys = [(config, split) for config in configs for split in splits[config]]
        artifacts.extend(
            Artifact(step=step, dataset=dataset, revision=revision, config=config, split=split)
            for config, split in keys
        )
    return artifacts


def _parent_keys(
    artifact: Artifact, parent: ProcessingStep, keys_by_step: Mapping[str, list[ArtifactKey]]
) -> list[ArtifactKey]:
    """The parent step's artifacts this one depends on: the same config/split, or all of them when finer."""
    candidates = keys_by_step.get(parent.name, [])
    if parent.input_type == "dataset":
        return candidates
    if artifact.step.input_type == "dataset":
        return candidates
    if parent.input_type == "config" or artifact.step.input_type == "config":
        return [key for key in candidates if key[1] == artifact.config]
    return [key for key in candidates if key[1] == artifact.config and key[2] == artifact.split]


# ---------------------------------------------------------------------------------------------
# States


def _updated_at(entry: CacheEntry | None) -> datetime | None:
    value = entry.get("updated_at") if entry is not None else None
    return value if isinstance(value, datetime) else None


def _is_error_to_retry(entry: CacheEntry) -> bool:
    http_status = entry.get("http_status")
    if not isinstance(http_status, int | float) or http_status < 400:
        return False
    max_failed_runs = ERROR_CODES_TO_RETRY.get(str(entry.get("error_code")))
    return max_failed_runs is not None and failed_runs(entry) < max_failed_runs


def _is_job_runner_obsolete(entry: CacheEntry, step: ProcessingStep) -> bool:
    """A version below the step's; a missing one is not obsolete (the other services compare it as a null number)."""
    version = entry.get("job_runner_version")
    return isinstance(version, int | float) and not isinstance(version, bool) and version < step.job_runner_version


def failed_runs(entry: CacheEntry | None) -> int:
    value = entry.get("failed_runs", 0) if entry is not None else 0
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def artifact_state(
    artifact: Artifact, *, entry: CacheEntry | None, parent_entries: Iterable[CacheEntry | None]
) -> State:
    """The first state of REFERENCE.md's list that applies to the artifact."""
    if entry is not None:
        updated_at = _updated_at(entry)
        for parent_entry in parent_entries:
            parent_updated_at = _updated_at(parent_entry)
            if updated_at is not None and parent_updated_at is not None and parent_updated_at > updated_at:
                return "cache_is_outdated_by_parent"
    if entry is None:
        return "cache_is_empty"
    if _is_error_to_retry(entry):
        return "cache_is_error_to_retry"
    if _is_job_runner_obsolete(entry, artifact.step):
        return "cache_is_job_runner_obsolete"
    if entry.get("dataset_git_revision") != artifact.revision:
        return "cache_has_different_git_revision"
    return "up_to_date"


# ---------------------------------------------------------------------------------------------
# Jobs


def _priority_rank(job: JobDocument) -> int:
    try:
        return Priority(str(job.get("priority"))).rank
    except ValueError:
        return -1


def _valid_job_order(job: JobDocument) -> tuple[int, int, str, str]:
    """Started first, then higher priority, then older (then by `_id`, for a stable choice)."""
    created_at = job.get("created_at")
    return (
        0 if job.get("status") == Status.STARTED.value else 1,
        -_priority_rank(job),
        created_at.isoformat() if isinstance(created_at, datetime) else "",
        str(job.get("_id", "")),
    )


def _jobs_by_artifact(
    *, jobs: Sequence[JobDocument], dataset: str, revision: str, artifact_keys: set[ArtifactKey]
) -> dict[ArtifactKey, JobDocument]:
    """The valid job of each artifact in process: its pending jobs at `revision`, the first by `_valid_job_order`."""
    candidates: dict[ArtifactKey, list[JobDocument]] = {}
    for job in jobs:
        key: ArtifactKey = (str(job.get("type")), job.get("config"), job.get("split"))
        if job.get("dataset") == dataset and job.get("revision") == revision and key in artifact_keys:
            candidates.setdefault(key, []).append(job)
    return {key: min(pending, key=_valid_job_order) for key, pending in candidates.items()}


def config_dataset_size(config_info: CacheEntry | None) -> int | None:
    """The integer `dataset_size` a config's `config-info` entry (any status) reports, else None."""
    dataset_info = _content(config_info).get("dataset_info")
    num_bytes = dataset_info.get("dataset_size") if isinstance(dataset_info, Mapping) else None
    return num_bytes if isinstance(num_bytes, int) and not isinstance(num_bytes, bool) else None


def job_difficulty(artifact: Artifact, *, entry: CacheEntry | None, config_info: CacheEntry | None) -> int:
    """Step difficulty, + its bonus when the artifact's CONFIG is big, + 20 per failed run, at most 100.

    Config- and split-level artifacts alike read the config's size: the plan never reads a
    split's `num_bytes` (force-refresh does; the other services' two rules differ).
    """
    config_size = None if artifact.config is None else config_dataset_size(config_info)
    return backfill_plan_difficulty(step=artifact.step, num_bytes=config_size, failed_runs=failed_runs(entry))


def _waiting_job_order(job: JobDocument) -> tuple[str, str, str]:
    created_at = job.get("created_at")
    return (
        str(job.get("unicity_id", "")),
        created_at.isoformat() if isinstance(created_at, datetime) else "",
        str(job.get("_id", "")),
    )


# ---------------------------------------------------------------------------------------------
# Root errors


def _is_error(entry: CacheEntry) -> bool:
    http_status = entry.get("http_status")
    return isinstance(http_status, int | float) and http_status >= 400


def _copied_from(entry: CacheEntry) -> Mapping[str, Any] | None:
    details = entry.get("details")
    copied = details.get("copied_from_artifact") if isinstance(details, Mapping) else None
    return copied if isinstance(copied, Mapping) and isinstance(copied.get("kind"), str) else None


def _follow(key: ArtifactKey, *, dataset: str, entries: Mapping[ArtifactKey, CacheEntry]) -> CopyLink | None:
    """Where the chain of copies from this entry ends; None when the entry is no copied error."""
    entry = entries[key]
    copied = _copied_from(entry) if _is_error(entry) else None
    if copied is None:
        return None
    first: ArtifactKey = (str(copied["kind"]), copied.get("config"), copied.get("split"))
    first_dataset = str(copied.get("dataset", dataset))
    seen = {key}
    current, current_dataset, depth = first, first_dataset, 1
    while True:
        outcome: CopyOutcome | None = None
        if current_dataset != dataset:
            outcome = "other_dataset"
        elif current in seen:
            outcome = "loop"
        elif current not in entries:
            outcome = "missing"
        elif not _is_error(entries[current]):
            outcome = "fixed"
        if outcome is not None:
            return CopyLink(first, first_dataset, outcome, None, current, depth)
        parent = _copied_from(entries[current])
        if parent is None:
            return CopyLink(first, first_dataset, "root", current, current, depth)
        seen.add(current)
        current = (str(parent["kind"]), parent.get("config"), parent.get("split"))
        current_dataset = str(parent.get("dataset", dataset))
        depth += 1


def _details_text(entry: CacheEntry, name: str) -> str | None:
    details = entry.get("details")
    value = details.get(name) if isinstance(details, Mapping) else None
    return value if isinstance(value, str) else None


def root_errors(
    *, graph: ProcessingGraph, dataset: str, entries: Mapping[ArtifactKey, CacheEntry]
) -> tuple[list[RootError], dict[ArtifactKey, CopyLink]]:
    """The dataset's root errors (most copied first, then in graph order), and where each copy leads."""
    copies = {key: link for key in entries if (link := _follow(key, dataset=dataset, entries=entries)) is not None}
    downstream: dict[ArtifactKey, int] = {}
    for link in copies.values():
        if link.root is not None:
            downstream[link.root] = downstream.get(link.root, 0) + 1
    position = {name: index for index, name in enumerate(graph.graph_order)}
    roots = [
        RootError(
            kind=key[0],
            dataset=dataset,
            config=key[1],
            split=key[2],
            error_code=entry.get("error_code"),
            cause_exception=_details_text(entry, "cause_exception"),
            cause_message=_details_text(entry, "cause_message"),
            downstream=downstream.get(key, 0),
        )
        for key, entry in entries.items()
        if _is_error(entry) and _copied_from(entry) is None
    ]
    roots.sort(key=lambda root: (-root.downstream, position.get(root.kind, len(position)), *_sortable(root.key)))
    return roots, copies


def _sortable(key: ArtifactKey) -> tuple[str, str, str]:
    return (key[0], key[1] or "", key[2] or "")


# ---------------------------------------------------------------------------------------------
# The plan


def entries_by_key(cache_entries: Iterable[CacheEntry], *, dataset: str) -> dict[ArtifactKey, CacheEntry]:
    return {entry_key(entry): entry for entry in cache_entries if entry.get("dataset") == dataset}


def backfill_plan(
    *,
    graph: ProcessingGraph,
    dataset: str,
    revision: str,
    cache_entries: Iterable[CacheEntry],
    pending_jobs: Sequence[JobDocument],
    priority: Priority,
) -> BackfillPlan:
    """The plan of REFERENCE.md for the dataset at `revision`, from its cache entries and pending jobs.

    Raises IncoherentCacheError when the entries do not match the name lists (nothing planned).
    """
    entries = entries_by_key(cache_entries, dataset=dataset)
    check_coherence(dataset=dataset, entries=entries)
    artifacts = dataset_artifacts(graph=graph, dataset=dataset, revision=revision, entries=entries)
    keys_by_step: dict[str, list[ArtifactKey]] = {}
    for artifact in artifacts:
        keys_by_step.setdefault(artifact.step.name, []).append(artifact.key)
    states: dict[ArtifactKey, State] = {}
    for artifact in artifacts:
        parent_entries = [
            entries.get(parent_key)
            for parent_name in artifact.step.triggered_by
            for parent_key in _parent_keys(artifact, graph.steps_by_name[parent_name], keys_by_step)
        ]
        states[artifact.key] = artifact_state(artifact, entry=entries.get(artifact.key), parent_entries=parent_entries)
    valid_jobs = _jobs_by_artifact(jobs=pending_jobs, dataset=dataset, revision=revision, artifact_keys=set(states))
    kept: set[int] = set()
    jobs_to_create = []
    for artifact in artifacts:
        if states[artifact.key] == "up_to_date":
            continue
        valid_job = valid_jobs.get(artifact.key)
        if valid_job is not None:
            kept.add(id(valid_job))
            continue
        difficulty = job_difficulty(
            artifact,
            entry=entries.get(artifact.key),
            config_info=entries.get((CONFIG_INFO_KIND, artifact.config, None)),
        )
        jobs_to_create.append(
            JobToCreate(
                type=artifact.step.name,
                dataset=dataset,
                revision=revision,
                config=artifact.config,
                split=artifact.split,
                priority=priority,
                difficulty=difficulty,
            )
        )
    not_kept = [job for job in pending_jobs if job.get("dataset") == dataset and id(job) not in kept]
    waiting_jobs_to_delete = sorted(
        (job for job in not_kept if job.get("status") == Status.WAITING.value), key=_waiting_job_order
    )
    started_jobs_not_kept = [job for job in not_kept if job.get("status") != Status.WAITING.value]
    roots, copies = root_errors(graph=graph, dataset=dataset, entries=entries)
    return BackfillPlan(
        dataset=dataset,
        revision=revision,
        artifacts=artifacts,
        states=states,
        in_process=set(valid_jobs),
        jobs_to_create=jobs_to_create,
        waiting_jobs_to_delete=waiting_jobs_to_delete,
        root_errors=roots,
        copies=copies,
        started_jobs_not_kept=started_jobs_not_kept,
    )
