"""Random datasets as the workers write them: cache entries and pending jobs of one dataset.

Each seed gives one dataset: its name lists (sometimes failed, sometimes listing a name twice),
config sizes around the 3e9 bonus threshold, entries of every step that succeeded or failed
(retried errors below and above their caps, other errors), at the current or an old revision,
by the current, an older, a newer or no runner version, written in roughly graph order (so that
some are outdated by their parents), and waiting and started jobs at the current or an old
revision, some of them duplicates. Now and then an entry of a config or split that the lists no
longer name (what the workers' planner refuses). Documents have the workers' shape: a None
field is left out, dates are BSON dates (milliseconds).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from cachereports.documents import cache_entry_document

REVISION = "6a7b2f0c9d3e4f5a6b7c8d9e0f1a2b3c4d5e6f70"
OLD_REVISION = "0000000000000000000000000000000000000001"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
CONFIGS = ("default", "en", "fr", "de", "ja")
SPLITS = ("train", "test", "validation")
RETRIED_ERRORS = (
    "RetryableConfigNamesError",
    "ConnectionError",
    "ExternalServerError",
    "JobManagerCrashedError",
    "StreamingRowsError",
    "CreateCommitError",
    "HfHubError",
    "LockedDatasetTimeoutError",
    "PreviousStepStillProcessingError",
)
OTHER_ERRORS = ("DatasetGenerationError", "ConfigNamesError", "SplitsNamesError", "TooBigContentError")
NAME_AND_SIZE_KINDS = ("dataset-config-names", "config-split-names", "config-info")
SIZES = (10, 2_999_999_999, 3_000_000_000, 3_000_000_001, 5_000_000_000, 12_345_678_901)


@dataclass
class RandomDataset:
    dataset: str
    entries: list[dict[str, Any]]
    jobs: list[dict[str, Any]]


def _depths(steps: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    depths: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in depths:
            depths[name] = 1 + max((depth(parent) for parent in steps[name]["triggered_by"]), default=0)
        return depths[name]

    for name in steps:
        depth(name)
    return depths


class _Writer:
    def __init__(self, rng: random.Random, steps: Mapping[str, Mapping[str, Any]], dataset: str) -> None:
        self.rng, self.steps, self.dataset = rng, steps, dataset
        self.healthy = rng.random() < 0.25
        """Every step computed once, in graph order, successfully, by the current runner, at the current revision."""
        self.depths = _depths(steps)
        self.entries: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}

    def write(self, kind: str, config: str | None = None, split: str | None = None, **fields: Any) -> None:
        """One entry, a success or an error, as a worker's finished job writes it."""
        rng = self.rng
        version = self.steps[kind]["job_runner_version"]
        versions = [version, version, version, version, max(0, version - 1), version + 1, None]
        if self.healthy:
            versions = [version]
        if self.healthy or rng.random() < 0.78:
            status, error_code, failed_runs, content = 200, None, 0, fields.pop("content", {})
        else:
            status = rng.choice([500, 500, 501, 404])
            error_code = rng.choice(RETRIED_ERRORS + OTHER_ERRORS)
            failed_runs = rng.choice([0, 1, 2, 3, 4, 29, 30, 31])
            content = {"error": "it failed"}
            fields.pop("content", None)
        minutes = 10 * self.depths[kind] + (rng.randint(0, 8) if self.healthy else rng.randint(-12, 6))
        self.entries[(kind, config, split)] = {
            "_id": ObjectId(),
            **cache_entry_document(
                kind=kind,
                dataset=self.dataset,
                config=config,
                split=split,
                http_status=status,
                error_code=error_code,
                content=content,
                dataset_git_revision=REVISION
                if self.healthy
                else rng.choice([REVISION, REVISION, REVISION, OLD_REVISION]),
                progress=rng.choice([None, 1.0, 0.5]),
                job_runner_version=rng.choice(versions),
                failed_runs=failed_runs,
                updated_at=T0 + timedelta(minutes=minutes, milliseconds=rng.randint(0, 999)),
            ),
        }

    def maybe_write(self, kind: str, config: str | None = None, split: str | None = None) -> None:
        if (kind, config, split) not in self.entries and (self.healthy or self.rng.random() < 0.7):
            self.write(kind, config, split)


def random_dataset(seed: int, steps: Mapping[str, Mapping[str, Any]], dataset: str) -> RandomDataset:
    rng = random.Random(seed)
    writer = _Writer(rng, steps, dataset)
    configs = rng.sample(CONFIGS, k=rng.choice([0, 1, 1, 2, 2, 3]))
    listed = list(configs) + ([configs[0]] if configs and rng.random() < 0.03 else [])
    if writer.healthy or rng.random() < 0.93:
        names = [{"dataset": dataset, "config": config} for config in listed]
        writer.write("dataset-config-names", content={"config_names": names})
    config_names_entry = writer.entries.get(("dataset-config-names", None, None))
    if config_names_entry is None or config_names_entry["http_status"] != 200:
        configs = configs if rng.random() < 0.2 else []  # entries of earlier configs may be left: refused
    splits_of: dict[str, list[str]] = {}
    for config in configs:
        splits = rng.sample(SPLITS, k=rng.randint(1, 3))
        listed_splits = splits + ([splits[0]] if rng.random() < 0.03 else [])
        if writer.healthy or rng.random() < 0.9:
            items = [{"dataset": dataset, "config": config, "split": split} for split in listed_splits]
            writer.write("config-split-names", config, content={"splits": items})
        if writer.healthy or rng.random() < 0.85:
            split_sizes = {split: {"name": split, "num_bytes": rng.choice(SIZES)} for split in splits}
            info = {"dataset_info": {"dataset_size": rng.choice(SIZES), "splits": split_sizes}}
            writer.write("config-info", config, content=info)
        splits_of[config] = splits
    for name, step in steps.items():
        if name in NAME_AND_SIZE_KINDS:  # written above, or missing on purpose
            continue
        for place in _places(step["input_type"], splits_of):
            writer.maybe_write(name, *place)
    if rng.random() < 0.05:  # a config no longer listed
        writer.write(rng.choice([name for name, step in steps.items() if step["input_type"] == "config"]), "gone")
    if splits_of and rng.random() < 0.05:  # a split no longer listed
        of = rng.choice(sorted(splits_of))
        writer.write(rng.choice([name for name, step in steps.items() if step["input_type"] == "split"]), of, "old")
    num_jobs = rng.choice([0, 0, 1, 2] if writer.healthy else [0, 1, 2, 4, 6, 8, 12])
    return RandomDataset(
        dataset=dataset, entries=list(writer.entries.values()), jobs=_jobs(rng, steps, dataset, splits_of, num_jobs)
    )


def _places(input_type: str, splits_of: Mapping[str, list[str]]) -> list[tuple[str | None, str | None]]:
    if input_type == "dataset":
        return [(None, None)]
    if input_type == "config":
        return [(config, None) for config in splits_of]
    return [(config, split) for config, splits in splits_of.items() for split in splits]


def _jobs(
    rng: random.Random,
    steps: Mapping[str, Mapping[str, Any]],
    dataset: str,
    splits_of: Mapping[str, list[str]],
    num_jobs: int,
) -> list[dict[str, Any]]:
    """Waiting and started jobs (never two started of one unicity_id), each created at its own millisecond."""
    jobs: list[dict[str, Any]] = []
    started: set[str] = set()
    moments = rng.sample(range(100_000), k=12)
    for moment in moments[:num_jobs]:
        config: str | None
        split: str | None
        if jobs and rng.random() < 0.2:  # a duplicate of a job already there
            twin = rng.choice(jobs)
            job_type, config, split, revision = twin["type"], twin.get("config"), twin.get("split"), twin["revision"]
        else:
            job_type = rng.choice(list(steps))
            places = _places(steps[job_type]["input_type"], splits_of)
            if steps[job_type]["input_type"] == "config":
                places.append(("gone", None))
            config, split = rng.choice(places) if places else (None, None)
            if config is None and steps[job_type]["input_type"] != "dataset":
                continue
            revision = rng.choice([REVISION, REVISION, OLD_REVISION])
        unicity_id = ",".join(part for part in (job_type, dataset, revision, config, split) if part is not None)
        status = "started" if rng.random() < 0.25 and unicity_id not in started else "waiting"
        if status == "started":
            started.add(unicity_id)
        created_at = T0 + timedelta(milliseconds=moment)
        job: dict[str, Any] = {
            "_id": ObjectId(),
            "type": job_type,
            "dataset": dataset,
            "revision": revision,
            "unicity_id": unicity_id,
            "namespace": dataset.split("/")[0],
            "priority": rng.choice(["low", "normal", "high"]),
            "status": status,
            "difficulty": rng.choice([20, 50, 70, 90]),
            "created_at": created_at,
        }
        if config is not None:
            job["config"] = config
        if split is not None:
            job["split"] = split
        if status == "started":
            job["started_at"] = job["last_heartbeat"] = created_at + timedelta(seconds=1)
        jobs.append(job)
    return jobs
