"""An independent reading of REFERENCE.md's "Backfill plan", as a test oracle.

Written from the contract alone, to check `datasetops/backfill.py` (never imported here) on random
datasets: it reads the processing graph as REFERENCE.md describes `processing_graph.json` (a
dict of steps: input type, job runner version, difficulty, bonus, parents) and the documents as
the workers store them, and says what the plan must be, or why it must be refused.

Straightforward rather than fast: each artifact looks at every entry and job.

Where REFERENCE.md leaves room, the oracle says what it reads, with the workers' planner as the
tie-breaker (the issue's comparison ran it):
- a config whose `config-split-names` entry lists no split (missing, an error, an empty list)
  has no split to check: entries of its splits are not a refusal (the workers check a config's
  splits only against a non-empty list);
- two pending jobs of one artifact equal by status, priority and creation date: the generator
  never writes them (their creation dates differ), so the oracle need not choose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Document = Mapping[str, Any]
Steps = Mapping[str, Mapping[str, Any]]
"""`processing_graph.json`'s steps: name -> {input_type, job_runner_version, difficulty, bonus..., triggered_by}."""

STATE_NAMES = (
    "cache_is_outdated_by_parent",
    "cache_is_empty",
    "cache_is_error_to_retry",
    "cache_is_job_runner_obsolete",
    "cache_has_different_git_revision",
    "up_to_date",
)
RETRIED_BELOW_3 = {
    "RetryableConfigNamesError",
    "ConnectionError",
    "ExternalServerError",
    "JobManagerCrashedError",
    "StreamingRowsError",
}
RETRIED_BELOW_30 = {"CreateCommitError", "HfHubError", "LockedDatasetTimeoutError", "PreviousStepStillProcessingError"}
BIG = 3e9
PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}


@dataclass(frozen=True)
class Refusal:
    """The plan is refused: 409 IncoherentCacheError naming `names` (configs or splits)."""

    reason: str
    """unlisted_configs, unlisted_splits, repeated_configs or repeated_splits (the first that applies)."""
    names: frozenset[str]
    config: str | None = None
    """The config whose splits are named (split reasons)."""


@dataclass
class Expected:
    """The plan as REFERENCE.md says it: ids by state, ids in process, tasks, jobs to create and delete."""

    cache_status: dict[str, list[str]]
    in_process: list[str]
    tasks: list[str]
    jobs_to_create: list[tuple[str, str | None, str | None, str, int]]
    """(type, config, split, priority, difficulty), sorted."""
    waiting_jobs_to_delete: list[Document] = field(default_factory=list)


def _content(entry: Document | None) -> Mapping[str, Any]:
    content = entry.get("content") if entry is not None else None
    return content if isinstance(content, Mapping) else {}


def _names(entry: Document | None, list_field: str, name_field: str) -> list[str]:
    items = _content(entry).get(list_field)
    return [item[name_field] for item in items] if isinstance(items, list) else []


def _place(document: Document) -> tuple[str | None, str | None]:
    return document.get("config"), document.get("split")


@dataclass(frozen=True)
class _Artifact:
    step: str
    config: str | None
    split: str | None

    def id(self, dataset: str, revision: str) -> str:
        parts = [self.step, dataset, revision] + [part for part in (self.config, self.split) if part is not None]
        return ",".join(parts)


def oracle_plan(
    *, steps: Steps, dataset: str, revision: str, entries: Sequence[Document], jobs: Sequence[Document], priority: str
) -> Expected | Refusal:
    """What the plan of `dataset` at `revision` must be, from its entries and pending jobs."""
    by_key = {(entry["kind"], *_place(entry)): entry for entry in entries if entry["dataset"] == dataset}
    configs = _names(by_key.get(("dataset-config-names", None, None)), "config_names", "config")
    splits = {config: _names(by_key.get(("config-split-names", config, None)), "splits", "split") for config in configs}

    refusal = _refusal(by_key, configs, splits)
    if refusal is not None:
        return refusal

    artifacts = [
        _Artifact(name, config, split)
        for name, step in steps.items()
        for config, split in _places(step["input_type"], configs, splits)
    ]
    states = {artifact: _state(artifact, steps, by_key, artifacts, revision) for artifact in artifacts}
    pending = [job for job in jobs if job["dataset"] == dataset]
    valid = {artifact: _valid_job(artifact, pending, revision) for artifact in artifacts}

    kept: list[Document] = []
    to_create = []
    for artifact in artifacts:
        if states[artifact] == "up_to_date":
            continue
        job = valid[artifact]
        if job is not None:
            kept.append(job)
            continue
        to_create.append(
            (artifact.step, artifact.config, artifact.split, priority, _difficulty(artifact, steps, by_key))
        )
    not_kept = [job for job in pending if not any(job is valid_job for valid_job in kept)]
    tasks = []
    if to_create:
        tasks.append(f"CreateJobs,{len(to_create)}")
    if not_kept:
        tasks.append(f"DeleteWaitingJobs,{len(not_kept)}")
    return Expected(
        cache_status={
            state: sorted(artifact.id(dataset, revision) for artifact in artifacts if states[artifact] == state)
            for state in STATE_NAMES
        },
        in_process=sorted(artifact.id(dataset, revision) for artifact in artifacts if valid[artifact] is not None),
        tasks=sorted(tasks),
        jobs_to_create=sorted(to_create, key=repr),
        waiting_jobs_to_delete=[job for job in not_kept if job["status"] == "waiting"],
    )


def _refusal(
    by_key: Mapping[tuple[Any, ...], Document], configs: list[str], splits: Mapping[str, list[str]]
) -> Refusal | None:
    entry_configs = {config for _, config, _ in by_key if config is not None}
    if entry_configs - set(configs):
        return Refusal("unlisted_configs", frozenset(entry_configs - set(configs)))
    for config in configs:
        if not splits[config]:
            continue
        entry_splits = {split for _, of, split in by_key if of == config and split is not None}
        if entry_splits - set(splits[config]):
            return Refusal("unlisted_splits", frozenset(entry_splits - set(splits[config])), config)
    if len(set(configs)) < len(configs):
        return Refusal("repeated_configs", frozenset(config for config in configs if configs.count(config) > 1))
    for config in configs:
        listed = splits[config]
        if len(set(listed)) < len(listed):
            return Refusal("repeated_splits", frozenset(split for split in listed if listed.count(split) > 1), config)
    return None


def _places(
    input_type: str, configs: list[str], splits: Mapping[str, list[str]]
) -> list[tuple[str | None, str | None]]:
    if input_type == "dataset":
        return [(None, None)]
    if input_type == "config":
        return [(config, None) for config in configs]
    return [(config, split) for config in configs for split in splits[config]]


def _parents(artifact: _Artifact, steps: Steps, artifacts: list[_Artifact]) -> list[_Artifact]:
    """Each parent step's artifact at the same config/split, or all of them when the parent is finer."""
    found = []
    for parent in steps[artifact.step]["triggered_by"]:
        for candidate in artifacts:
            if candidate.step != parent:
                continue
            same_config = artifact.config is None or candidate.config is None or candidate.config == artifact.config
            same_split = artifact.split is None or candidate.split is None or candidate.split == artifact.split
            if same_config and same_split:
                found.append(candidate)
    return found


def _state(
    artifact: _Artifact,
    steps: Steps,
    by_key: Mapping[tuple[Any, ...], Document],
    artifacts: list[_Artifact],
    revision: str,
) -> str:
    entry = by_key.get((artifact.step, artifact.config, artifact.split))
    if entry is not None:
        for parent in _parents(artifact, steps, artifacts):
            parent_entry = by_key.get((parent.step, parent.config, parent.split))
            if parent_entry is not None and parent_entry["updated_at"] > entry["updated_at"]:
                return "cache_is_outdated_by_parent"
    if entry is None:
        return "cache_is_empty"
    failed_runs = entry.get("failed_runs", 0)
    if entry["http_status"] >= 400 and (
        (entry.get("error_code") in RETRIED_BELOW_3 and failed_runs < 3)
        or (entry.get("error_code") in RETRIED_BELOW_30 and failed_runs < 30)
    ):
        return "cache_is_error_to_retry"
    version = entry.get("job_runner_version")
    if version is not None and version < steps[artifact.step]["job_runner_version"]:
        return "cache_is_job_runner_obsolete"
    if entry.get("dataset_git_revision") != revision:
        return "cache_has_different_git_revision"
    return "up_to_date"


def _valid_job(artifact: _Artifact, pending: list[Document], revision: str) -> Document | None:
    """The first pending job of the artifact at `revision`: started first, then higher priority, then older."""
    own = [
        job
        for job in pending
        if job["type"] == artifact.step
        and job["revision"] == revision
        and (job.get("config"), job.get("split")) == (artifact.config, artifact.split)
    ]
    own.sort(key=lambda job: (job["status"] != "started", PRIORITY_ORDER[job["priority"]], job["created_at"]))
    return own[0] if own else None


def _difficulty(artifact: _Artifact, steps: Steps, by_key: Mapping[tuple[Any, ...], Document]) -> int:
    step = steps[artifact.step]
    difficulty: int = step["difficulty"]
    if artifact.config is not None:
        config_info = by_key.get(("config-info", artifact.config, None))
        size = _content(config_info).get("dataset_info", {}).get("dataset_size")
        if isinstance(size, int) and size > BIG:
            difficulty += step["bonus_difficulty_if_dataset_is_big"]
    entry = by_key.get((artifact.step, artifact.config, artifact.split))
    failed_runs = entry.get("failed_runs", 0) if entry is not None else 0
    return min(100, difficulty + 20 * failed_runs)
