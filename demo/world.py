"""A realistic, self-consistent demo world for the two databases (`manage.py seed_demo`).

Written exactly as the other services write it (the document builders of
`cachereports.documents` and `jobs.documents`): datasets with and without a namespace, one
cache entry per step and dataset/config/split at the step's level, 200s and errors (with
`details` and a cause, errors of a parent step copied to its children), some outdated job
runner versions, waiting and started jobs of every priority, blocked datasets, and the metric
rows (`cacheTotalMetric`, `jobTotalMetric`, `workerTypeJobCounts`) that count exactly those
documents.

The same `seed` gives the same world; dates are relative to `now` (blockages must be recent
for the 6-hour TTL of the other services). Documents are written with `insert_many` in
batches, so a million cache entries fit in memory one batch at a time.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from cachereports.documents import cache_entry_document, cache_total_metric_document
from foundation.core.processing_graph import ProcessingGraph, ProcessingStep, processing_graph
from foundation.database import mongo
from jobs.constants import Priority, Status, worker_size
from jobs.difficulty import MIN_BYTES_FOR_BONUS_DIFFICULTY
from jobs.documents import job_document, unicity_id

Progress = Callable[[str, int, int], None]
"""Called as `progress(what, done, total)` after each batch."""

_NAMESPACES = (
    "huggingface",
    "allenai",
    "google",
    "mozilla-foundation",
    "HuggingFaceFW",
    "bigcode",
    "lmsys",
    "nyu-mll",
    "facebook",
    "stanfordnlp",
    "openbmb",
    "tiiuae",
    "jane-doe",
    "jdoe42",
    "ml_student",
    "data.lab",
)
_BASE_NAMES = (
    "squad",
    "glue",
    "imdb",
    "mnist",
    "cifar10",
    "wikitext",
    "c4",
    "common_voice",
    "fineweb",
    "the-stack",
    "oasst1",
    "dolly-15k",
    "alpaca",
    "tiny-shakespeare",
    "coco-captions",
    "librispeech",
    "xsum",
    "cnn_dailymail",
    "emotion",
    "yelp_review_full",
    "ag_news",
    "amazon-polarity",
    "openwebtext",
    "gsm8k",
    "mmlu",
    "hellaswag",
    "food101",
    "beans",
    "pokemon-blip",
    "chest-xray",
)
# No dot in a config name: it is a key of dataset-info content, and FerretDB refuses dotted keys.
_MULTI_CONFIGS = (("en", "fr", "de", "es"), ("plain_text",), ("20231101-en", "20231101-fr"), ("small", "large"))
_SPLIT_SETS = (("train",), ("train", "test"), ("train", "validation", "test"))
_BUILDERS = (
    ("parquet", 35),
    ("csv", 14),
    ("json", 14),
    ("imagefolder", 10),
    ("text", 5),
    ("audiofolder", 5),
    ("arrow", 3),
    ("webdataset", 8),
    ("squad_v2", 3),
    ("generator", 3),
)


@dataclass(frozen=True)
class ErrorKind:
    error_code: str
    http_status: int
    message: str
    cause_exception: str


_ERRORS = {
    "dataset-config-names": (
        ErrorKind("ConfigNamesError", 500, "Cannot get the config names for the dataset.", "DataFilesNotFoundError"),
        ErrorKind(
            "DatasetWithScriptNotSupportedError",
            501,
            "The dataset viewer doesn't support this dataset because it runs arbitrary Python code.",
            "DatasetWithScriptNotSupportedError",
        ),
        ErrorKind("EmptyDatasetError", 500, "The dataset is empty.", "EmptyDatasetError"),
    ),
    "config-parquet-and-info": (
        ErrorKind(
            "DatasetGenerationError", 500, "An error occurred while generating the dataset", "DatasetGenerationError"
        ),
        ErrorKind(
            "DatasetGenerationCastError",
            500,
            "An error occurred while generating the dataset: all the data files must have the same columns",
            "DatasetGenerationCastError",
        ),
        ErrorKind("FileSystemError", 500, "Could not read the parquet files.", "OSError"),
    ),
    "split-first-rows": (
        ErrorKind(
            "TooBigContentError",
            500,
            "The size of the content of the first rows exceeds the maximum supported size.",
            "TooBigContentError",
        ),
        ErrorKind(
            "StreamingRowsError",
            500,
            "Cannot load the dataset split (in streaming mode) to extract the first rows.",
            "ValueError",
        ),
    ),
    "split-descriptive-statistics": (
        ErrorKind(
            "NoSupportedFeaturesError", 500, "No columns for statistics computation found.", "NoSupportedFeaturesError"
        ),
    ),
    "split-opt-in-out-urls-scan": (
        ErrorKind("NoImageUrlColumnsError", 501, "No columns with image URLs were found.", "NoImageUrlColumnsError"),
    ),
}
_UNEXPECTED = ErrorKind("UnexpectedError", 500, "Unexpected error.", "RuntimeError")


@dataclass(frozen=True)
class Config:
    name: str
    splits: tuple[str, ...]
    num_bytes_by_split: dict[str, int]

    @property
    def dataset_size(self) -> int:
        return sum(self.num_bytes_by_split.values())

    @property
    def is_big(self) -> bool:
        return self.dataset_size > MIN_BYTES_FOR_BONUS_DIFFICULTY


@dataclass(frozen=True)
class DatasetPlan:
    """What the world holds for one dataset, drawn once from the seed."""

    index: int
    name: str
    revision: str
    configs: tuple[Config, ...]
    builder_name: str
    state: str  # ok | dataset_error | config_error | in_progress
    blocked: bool

    @property
    def failed_config(self) -> str | None:
        return self.configs[0].name if self.state == "config_error" else None


@dataclass
class WorldSummary:
    datasets: int = 0
    cache_entries: int = 0
    jobs: int = 0
    blocked_datasets: int = 0
    cache_totals: Counter[tuple[str, int, str | None]] = field(default_factory=Counter)
    job_totals: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    worker_counts: Counter[str] = field(default_factory=Counter)


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in choices], weights=[weight for _, weight in choices])[0]


def dataset_name(index: int, rng: random.Random) -> str:
    """Unique by index; three in four have a namespace."""
    base = _BASE_NAMES[index % len(_BASE_NAMES)]
    name = base if index < len(_BASE_NAMES) else f"{base}-{index // len(_BASE_NAMES)}"
    return name if rng.random() < 0.25 else f"{rng.choice(_NAMESPACES)}/{name}"


def plan_dataset(index: int, seed: int) -> DatasetPlan:
    rng = random.Random(f"{seed}:dataset:{index}")
    name = dataset_name(index, rng)
    config_names = ("default",) if rng.random() < 0.7 else rng.choice(_MULTI_CONFIGS)
    configs = []
    for config_name in config_names:
        splits = rng.choice(_SPLIT_SETS)
        huge = rng.random() < 0.06
        num_bytes = {
            split: rng.randint(3_100_000_000, 90_000_000_000) if huge else rng.randint(10_000, 800_000_000)
            for split in splits
        }
        configs.append(Config(config_name, splits, num_bytes))
    draw = rng.random()
    state = (
        "ok" if draw < 0.75 else "dataset_error" if draw < 0.85 else "config_error" if draw < 0.93 else "in_progress"
    )
    return DatasetPlan(
        index=index,
        name=name,
        revision=rng.randbytes(20).hex(),
        configs=tuple(configs),
        builder_name=_weighted(rng, _BUILDERS),
        state=state,
        blocked=rng.random() < 0.03,
    )


def plan_of_dataset(name: str, seed: int) -> DatasetPlan | None:
    """The plan of a dataset of the world of `seed` from its name alone; None for a name the world never draws.

    A name is `base` (index < 30) or `base-k` (index 30 k + the base's position), under the
    namespace drawn for that index: the index is read back from the name, then drawn again.
    """
    repo = name.rpartition("/")[2]
    base, _, suffix = repo.rpartition("-")
    if repo in _BASE_NAMES:
        index = _BASE_NAMES.index(repo)
    elif base in _BASE_NAMES and suffix.isascii() and suffix.isdigit() and int(suffix) >= 1:
        index = _BASE_NAMES.index(base) + len(_BASE_NAMES) * int(suffix)
    else:
        return None
    plan = plan_dataset(index, seed)
    return plan if plan.name == name else None


# --- which cache entries a dataset has ----------------------------------------------------------

Artifact = tuple[ProcessingStep, str | None, str | None]


def all_artifacts(plan: DatasetPlan, graph: ProcessingGraph) -> Iterator[Artifact]:
    """Every (step, config, split) the dataset could have, at each step's level."""
    for step in graph:
        if step.input_type == "dataset":
            yield step, None, None
        for config in plan.configs:
            if step.input_type == "config":
                yield step, config.name, None
            elif step.input_type == "split":
                for split in config.splits:
                    yield step, config.name, split


_IN_PROGRESS_STEPS = ("dataset-init", "dataset-config-names", "dataset-filetypes", "config-parquet-and-info")
_INDEPENDENT_OF_CONFIG_NAMES = ("dataset-init", "dataset-filetypes")


def cached_artifacts(plan: DatasetPlan, graph: ProcessingGraph) -> Iterator[Artifact]:
    """The artifacts that have a cache entry: all of them, but for failed or unfinished datasets."""
    for step, config, split in all_artifacts(plan, graph):
        if plan.state == "dataset_error" and step.input_type != "dataset":
            continue  # no config names: nothing below the dataset level
        if plan.state == "config_error" and config == plan.failed_config and step.input_type == "split":
            continue  # no split names for the failed config
        if plan.state == "in_progress" and step.name not in _IN_PROGRESS_STEPS:
            continue
        yield step, config, split


def count_cache_entries(plan: DatasetPlan, graph: ProcessingGraph) -> int:
    return sum(1 for _ in cached_artifacts(plan, graph))


# --- contents -----------------------------------------------------------------------------------


def _features() -> dict[str, Any]:
    return {
        "text": {"dtype": "string", "_type": "Value"},
        "label": {"names": ["negative", "positive"], "_type": "ClassLabel"},
    }


def _config_info(plan: DatasetPlan, config: Config) -> dict[str, Any]:
    return {
        "builder_name": plan.builder_name,
        "config_name": config.name,
        "dataset_name": plan.name.split("/")[-1],
        "features": _features(),
        "splits": {
            split: {
                "name": split,
                "num_bytes": config.num_bytes_by_split[split],
                "num_examples": config.num_bytes_by_split[split] // 512,
                "dataset_name": plan.name.split("/")[-1],
            }
            for split in config.splits
        },
        "download_size": config.dataset_size // 3,
        "dataset_size": config.dataset_size,
    }


def _size(plan: DatasetPlan, config: Config) -> dict[str, Any]:
    return {
        "dataset": plan.name,
        "config": config.name,
        "num_bytes_original_files": config.dataset_size // 3,
        "num_bytes_parquet_files": config.dataset_size // 4,
        "num_bytes_memory": config.dataset_size,
        "num_rows": config.dataset_size // 512,
        "num_columns": 2,
    }


def _parquet_file(plan: DatasetPlan, config: str, split: str) -> dict[str, Any]:
    return {
        "dataset": plan.name,
        "config": config,
        "split": split,
        "url": f"https://huggingface.co/datasets/{plan.name}/resolve/refs%2Fconvert%2Fparquet/{config}/{split}/0000.parquet",
        "filename": "0000.parquet",
        "size": 123_456,
    }


_VALIDITY = {"viewer": True, "preview": True, "search": True, "filter": True, "statistics": True}


def success_content(plan: DatasetPlan, step: ProcessingStep, config: str | None, split: str | None) -> dict[str, Any]:
    """The content of a 200 entry, shaped as the step's worker writes it."""
    configs = {item.name: item for item in plan.configs}
    name = step.name
    partial = {"pending": [], "failed": [], "partial": False}
    if name == "dataset-config-names":
        return {"config_names": [{"dataset": plan.name, "config": item.name} for item in plan.configs]}
    if name == "dataset-init":
        return {"revision": plan.revision}
    if name == "dataset-filetypes":
        extension = {"imagefolder": ".jpg", "audiofolder": ".wav", "webdataset": ".tar"}.get(
            plan.builder_name, ".parquet"
        )
        return {"filetypes": [{"extension": extension, "count": 12}]}
    if name == "dataset-info":
        return {"dataset_info": {item.name: _config_info(plan, item) for item in plan.configs}, **partial}
    if name == "config-info" and config is not None:
        return {"dataset_info": _config_info(plan, configs[config]), "partial": False}
    if name == "config-parquet-and-info" and config is not None:
        files = [_parquet_file(plan, config, each) for each in configs[config].splits]
        return {"parquet_files": files, "dataset_info": _config_info(plan, configs[config]), "partial": False}
    if name == "config-parquet" and config is not None:
        files = [_parquet_file(plan, config, each) for each in configs[config].splits]
        return {"parquet_files": files, "features": _features(), "partial": False}
    if name == "dataset-parquet":
        files = [_parquet_file(plan, item.name, each) for item in plan.configs for each in item.splits]
        return {"parquet_files": files, **partial}
    if name == "config-split-names" and config is not None:
        return {"splits": [{"dataset": plan.name, "config": config, "split": each} for each in configs[config].splits]}
    if name == "dataset-split-names":
        splits = [
            {"dataset": plan.name, "config": item.name, "split": each} for item in plan.configs for each in item.splits
        ]
        return {"splits": splits, "pending": [], "failed": []}
    if name == "config-size" and config is not None:
        return {"size": {"config": _size(plan, configs[config]), "splits": []}, "partial": False}
    if name == "dataset-size":
        return {
            "size": {"dataset": {"dataset": plan.name}, "configs": [_size(plan, item) for item in plan.configs]},
            **partial,
        }
    if name == "split-first-rows":
        rows = [
            {"row_idx": index, "row": {"text": f"example {index}", "label": index % 2}, "truncated_cells": []}
            for index in range(3)
        ]
        features = [
            {"feature_idx": 0, "name": "text", "type": _features()["text"]},
            {"feature_idx": 1, "name": "label", "type": _features()["label"]},
        ]
        return {
            "dataset": plan.name,
            "config": config,
            "split": split,
            "features": features,
            "rows": rows,
            "truncated": False,
        }
    if name.endswith("-is-valid"):
        return dict(_VALIDITY)
    if name == "split-descriptive-statistics":
        return {
            "num_examples": 1000,
            "statistics": [
                {
                    "column_name": "label",
                    "column_type": "class_label",
                    "column_statistics": {"nan_count": 0, "n_unique": 2},
                }
            ],
            "partial": False,
        }
    if name == "dataset-compatible-libraries":
        return {
            "tags": ["croissant"],
            "formats": [plan.builder_name],
            "libraries": [{"library": "datasets", "function": "load_dataset"}],
        }
    if name == "dataset-modalities":
        modality = {"imagefolder": "image", "audiofolder": "audio"}.get(plan.builder_name, "text")
        return {"modalities": [modality]}
    if name == "dataset-hub-cache":
        return {
            "preview": True,
            "viewer": True,
            "partial": False,
            "num_rows": 1000,
            "tags": [],
            "libraries": ["datasets"],
            "modalities": ["text"],
            "formats": [plan.builder_name],
        }
    if name == "split-image-url-columns":
        return {"columns": []}
    if "opt-in-out" in name:
        return {
            "urls_columns": [],
            "num_opt_in_urls": 0,
            "num_opt_out_urls": 0,
            "num_urls": 0,
            "num_scanned_rows": 100,
            "has_urls_columns": False,
            "full_scan": True,
        }
    if "presidio" in name:
        return {
            "scanned_columns": ["text"],
            "num_rows_with_person_entities": 0,
            "num_scanned_rows": 100,
            "full_scan": True,
        }
    if name == "dataset-croissant-crumbs":
        return {"@context": {"@vocab": "https://schema.org/"}, "@type": "sc:Dataset", "name": plan.name}
    return {}


# --- one cache entry ----------------------------------------------------------------------------


def step_errors(step: str) -> tuple[ErrorKind, ...]:
    """The errors a step of the demo world fails with: its own codes, else UnexpectedError."""
    return _ERRORS.get(step, (_UNEXPECTED,))


def error_result(error: ErrorKind, copied_from: dict[str, Any] | None = None) -> dict[str, Any]:
    """`http_status`, `error_code`, `content` and `details` of an error entry, as a worker writes them."""
    details: dict[str, Any] = {
        "error": error.message,
        "cause_exception": error.cause_exception,
        "cause_message": f"{error.cause_exception}: {error.message}",
        "cause_traceback": [
            "Traceback (most recent call last):\n",
            '  File "/src/services/worker/src/worker/job_manager.py", line 125, in process\n',
            f"{error.cause_exception}: {error.message}\n",
        ],
    }
    if copied_from is not None:
        details["copied_from_artifact"] = copied_from
    return {
        "http_status": error.http_status,
        "error_code": error.error_code,
        "content": {"error": error.message},
        "details": details,
    }


def _error_fields(error: ErrorKind, copied_from: dict[str, Any] | None, rng: random.Random) -> dict[str, Any]:
    return {**error_result(error, copied_from), "failed_runs": rng.choice((0, 0, 1, 2, 3))}


_AGGREGATES_OF_CONFIGS = (
    "dataset-info",
    "dataset-parquet",
    "dataset-size",
    "dataset-split-names",
    "dataset-is-valid",
    "dataset-opt-in-out-urls-count",
)
"""Dataset-level steps that gather their configs: their `progress` is the share of configs done."""


def _share_of_good_configs(plan: DatasetPlan) -> float:
    return round((len(plan.configs) - 1) / len(plan.configs), 4)


def cache_entry(
    plan: DatasetPlan, step: ProcessingStep, config: str | None, split: str | None, now: datetime
) -> dict[str, Any]:
    rng = random.Random(f"{plan.index}:{step.name}:{config}:{split}:{plan.revision}")
    fields: dict[str, Any] = {"http_status": int(HTTPStatus.OK), "content": None, "failed_runs": 0}
    root_error = random.Random(f"{plan.revision}:root-error")
    if plan.state == "dataset_error" and step.name not in _INDEPENDENT_OF_CONFIG_NAMES:
        error = root_error.choice(_ERRORS["dataset-config-names"])
        source = (
            None
            if step.name == "dataset-config-names"
            else {"kind": "dataset-config-names", "dataset": plan.name, "config": None, "split": None}
        )
        fields.update(_error_fields(error, source, rng))
    elif plan.state == "config_error" and config == plan.failed_config and step.input_type == "config":
        error = root_error.choice(_ERRORS["config-parquet-and-info"])
        source = (
            None
            if step.name == "config-parquet-and-info"
            else {"kind": "config-parquet-and-info", "dataset": plan.name, "config": config, "split": None}
        )
        fields.update(_error_fields(error, source, rng))
    elif step.name in _ERRORS and step.input_type == "split" and rng.random() < 0.06:
        fields.update(_error_fields(rng.choice(_ERRORS[step.name]), None, rng))
    elif rng.random() < 0.01:
        fields.update(_error_fields(_UNEXPECTED, None, rng))
    else:
        fields["content"] = success_content(plan, step, config, split)
    succeeded = fields["http_status"] == HTTPStatus.OK
    partly_failed = plan.state == "config_error" and step.name in _AGGREGATES_OF_CONFIGS
    written_by_an_old_worker = rng.random() < 0.05
    version = step.job_runner_version
    if rng.random() < 0.05 and version > 1:
        version -= 1  # not recomputed since the last runner upgrade
    return cache_entry_document(
        kind=step.name,
        dataset=plan.name,
        config=config,
        split=split,
        dataset_git_revision=plan.revision,
        progress=None
        if not succeeded or written_by_an_old_worker
        else (_share_of_good_configs(plan) if partly_failed else 1.0),
        job_runner_version=version,
        updated_at=now - timedelta(seconds=rng.randint(60, 90 * 24 * 3600)),
        duration=None if written_by_an_old_worker else round(rng.uniform(0.05, 300.0), 3),
        **fields,
    )


# --- jobs ---------------------------------------------------------------------------------------


def draw_jobs(
    plans: list[DatasetPlan], graph: ProcessingGraph, count: int, seed: int, now: datetime
) -> Iterator[dict[str, Any]]:
    """`count` distinct jobs (no two with one unicity_id) on random artifacts of the datasets."""
    if not plans or count <= 0:
        return
    rng = random.Random(f"{seed}:jobs")
    steps = list(graph)
    seen: set[str] = set()
    attempts = 0
    while len(seen) < count and attempts < 20 * count:
        attempts += 1
        plan = rng.choice(plans)
        step = rng.choice(steps)
        config_plan = rng.choice(plan.configs)
        config = config_plan.name if step.needs_config else None
        split = rng.choice(config_plan.splits) if step.needs_split else None
        key = unicity_id(job_type=step.name, dataset=plan.name, revision=plan.revision, config=config, split=split)
        if key in seen:
            continue
        seen.add(key)
        started = not plan.blocked and rng.random() < 0.15
        created_at = now - timedelta(seconds=rng.randint(5, 3 * 24 * 3600))
        bonus = step.bonus_difficulty_if_dataset_is_big if config is not None and config_plan.is_big else 0
        yield job_document(
            job_type=step.name,
            dataset=plan.name,
            revision=plan.revision,
            config=config,
            split=split,
            priority=_weighted(rng, ((Priority.LOW, 60), (Priority.NORMAL, 25), (Priority.HIGH, 15))),
            status=Status.STARTED if started else Status.WAITING,
            difficulty=min(100, step.difficulty + bonus),
            created_at=created_at,
            started_at=created_at + timedelta(seconds=rng.randint(1, 600)) if started else None,
            last_heartbeat=now - timedelta(seconds=rng.randint(0, 60)) if started else None,
        )


# --- the whole world ----------------------------------------------------------------------------


def plan_world(
    *, datasets: int | None, cache_entries: int | None, seed: int, graph: ProcessingGraph
) -> tuple[list[DatasetPlan], int]:
    """The datasets of the world and how many cache entries to write.

    With `cache_entries`, datasets are added until there are that many entries (the last
    dataset may be written in part, as if its processing were under way).
    """
    plans: list[DatasetPlan] = []
    total = 0
    while (datasets is not None and len(plans) < datasets) or (cache_entries is not None and total < cache_entries):
        plan = plan_dataset(len(plans), seed)
        plans.append(plan)
        total += count_cache_entries(plan, graph)
    return plans, total if cache_entries is None else min(total, cache_entries)


def _batches(documents: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for document in documents:
        batch.append(document)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _no_progress(what: str, done: int, total: int) -> None:
    return None


def seed_world(
    *,
    datasets: int | None = 300,
    cache_entries: int | None = None,
    jobs: int = 400,
    seed: int = 0,
    batch_size: int = 5000,
    now: datetime | None = None,
    progress: Progress = _no_progress,
) -> WorldSummary:
    """Write the world into the (empty) databases of the settings; return what was written."""
    graph = processing_graph()
    now = now or mongo.utc_now()
    plans, entries_to_write = plan_world(datasets=datasets, cache_entries=cache_entries, seed=seed, graph=graph)
    summary = WorldSummary(datasets=len(plans))
    cache = mongo.cache_database()
    queue = mongo.queue_database()

    def entries() -> Iterator[dict[str, Any]]:
        written = 0
        for plan in plans:
            for step, config, split in cached_artifacts(plan, graph):
                if written >= entries_to_write:
                    return
                written += 1
                yield cache_entry(plan, step, config, split, now)

    for batch in _batches(entries(), batch_size):
        cache[mongo.CACHED_RESPONSES].insert_many(batch, ordered=False)
        for entry in batch:
            summary.cache_totals[(entry["kind"], entry["http_status"], entry.get("error_code"))] += 1
        summary.cache_entries += len(batch)
        progress("cache entries", summary.cache_entries, entries_to_write)

    blocked = {plan.name for plan in plans if plan.blocked}
    if blocked:
        queue[mongo.DATASET_BLOCKAGES].insert_many(
            [
                {"dataset": name, "blocked_at": now - timedelta(minutes=(index * 37) % 300)}
                for index, name in enumerate(sorted(blocked))
            ]
        )
    summary.blocked_datasets = len(blocked)

    for batch in _batches(draw_jobs(plans, graph, jobs, seed, now), batch_size):
        queue[mongo.JOBS].insert_many(batch, ordered=False)
        for job in batch:
            # the other services count every job under dataset_status "normal" (REFERENCE.md)
            summary.job_totals[(job["type"], job["status"], "normal")] += 1
            if job["status"] == Status.WAITING and job["dataset"] not in blocked:
                summary.worker_counts[worker_size(job["difficulty"])] += 1
        summary.jobs += len(batch)
        progress("jobs", summary.jobs, jobs)

    _write_metrics(summary, now)
    return summary


def _write_metrics(summary: WorldSummary, now: datetime) -> None:
    """The metric rows as the other services keep them: one row per key, counting the documents."""
    cache_rows = [
        cache_total_metric_document(kind=kind, http_status=status, error_code=code, total=total, created_at=now)
        for (kind, status, code), total in sorted(summary.cache_totals.items(), key=lambda item: str(item[0]))
    ]
    if cache_rows:
        mongo.cache_database()[mongo.CACHE_TOTAL_METRIC].insert_many(cache_rows)
    job_rows = [
        {"job_type": job_type, "status": status, "dataset_status": dataset_status, "total": total, "created_at": now}
        for (job_type, status, dataset_status), total in sorted(summary.job_totals.items())
    ]
    if job_rows:
        mongo.queue_database()[mongo.JOB_TOTAL_METRIC].insert_many(job_rows)
    mongo.queue_database()[mongo.WORKER_TYPE_JOB_COUNTS].insert_many(
        [
            {"worker_size": size, "jobs_count": summary.worker_counts[size], "created_at": now}
            for size in ("light", "medium", "heavy")
        ]
    )


def databases_are_empty() -> bool:
    """No cache entry, job or metric row: the only state in which the demo world may be written."""
    cache = mongo.cache_database()
    queue = mongo.queue_database()
    collections = [
        cache[mongo.CACHED_RESPONSES],
        cache[mongo.CACHE_TOTAL_METRIC],
        queue[mongo.JOBS],
        queue[mongo.JOB_TOTAL_METRIC],
        queue[mongo.WORKER_TYPE_JOB_COUNTS],
        queue[mongo.DATASET_BLOCKAGES],
    ]
    return all(collection.find_one({}, {"_id": 1}) is None for collection in collections)
