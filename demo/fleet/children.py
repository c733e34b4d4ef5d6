"""The jobs a finished job queues for the steps it triggers (REFERENCE.md, end of step 4).

For each step whose parents include the finished one, one waiting job per artifact of the
child, at the revision and priority of the finished job: after `dataset-config-names`, one per
config its entry lists; after a config-level step, a split-level child gets one per split that
the config's `config-split-names` entry lists (as the workers read the names: the entry's
content whatever its status, none when it is missing); otherwise the same config and split, or
the coarser one. Difficulty: the child step's, plus its bonus when the config (or split) of the
finished job is at least 3e9 bytes by its `config-info` entry, at most 100. Whether a pending
job of that artifact and revision exists is the queue's to check, under the locks
(`jobs.services.add_jobs_unless_pending`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cachereports.constants import CONFIG_INFO_KIND, CONFIG_NAMES_KIND, SPLIT_NAMES_KIND
from cachereports.selectors.artifacts import DatasetArtifact
from cachereports.selectors.config_sizes import ConfigSizes
from datasetops.backfill import listed_names
from demo.fleet.computation import LEVELS, artifact_at
from foundation.core.processing_graph import ProcessingGraph, ProcessingStep
from jobs.constants import Priority, Status
from jobs.difficulty import MAX_DIFFICULTY, child_job_difficulty
from jobs.documents import job_document

Artifact = tuple[str | None, str | None]


def lists_and_sizes(job: Mapping[str, Any]) -> list[DatasetArtifact]:
    """The entries the children of a job depend on: the config names, and its config's split names and size."""
    config = job.get("config")
    if not isinstance(config, str):
        return [(CONFIG_NAMES_KIND, None, None)]
    return [(CONFIG_NAMES_KIND, None, None), (SPLIT_NAMES_KIND, config, None), (CONFIG_INFO_KIND, config, None)]


def _content(entries: Sequence[Mapping[str, Any]], kind: str, config: str | None) -> Mapping[str, Any]:
    for entry in entries:
        if entry.get("kind") == kind and entry.get("config") == config and entry.get("split") is None:
            content = entry.get("content")
            return content if isinstance(content, Mapping) else {}
    return {}


def child_artifacts(
    *, finished: ProcessingStep, child: ProcessingStep, job: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]
) -> list[Artifact]:
    """The artifacts of `child` that the finished job triggers."""
    config, split = job.get("config"), job.get("split")
    if LEVELS[child.input_type] <= LEVELS[finished.input_type]:
        return [artifact_at(child.input_type, config=config, split=split)]
    if finished.input_type == "dataset" and child.input_type == "config":
        configs = listed_names(_content(entries, CONFIG_NAMES_KIND, None).get("config_names"), "config")
        return [(name, None) for name in configs]
    if finished.input_type == "config" and child.input_type == "split":
        splits = listed_names(_content(entries, SPLIT_NAMES_KIND, config).get("splits"), "split")
        return [(config, name) for name in splits]
    return []  # dataset to split: no such edge in the graph (the workers do not support it either)


def finished_num_bytes(*, job: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> int | None:
    """The size of the finished job's config (or split) by its `config-info` entry; None when unknown."""
    config = job.get("config")
    if not isinstance(config, str):
        return None
    sizes = ConfigSizes({(str(job["dataset"]), config): _content(entries, CONFIG_INFO_KIND, config)})
    return sizes.num_bytes(dataset=str(job["dataset"]), config=config, split=job.get("split"))


def children_jobs(
    *, graph: ProcessingGraph, job: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The waiting job documents the finished `job` queues, for every step it triggers (before the pending check)."""
    finished = graph.get(str(job["type"]))
    if finished is None:
        return []
    num_bytes = finished_num_bytes(job=job, entries=entries)
    documents = []
    for name in graph.children(finished.name):
        child = graph.steps_by_name[name]
        difficulty = min(MAX_DIFFICULTY, child_job_difficulty(step=child, num_bytes=num_bytes))
        for config, split in child_artifacts(finished=finished, child=child, job=job, entries=entries):
            documents.append(
                job_document(
                    job_type=child.name,
                    dataset=str(job["dataset"]),
                    revision=str(job["revision"]),
                    config=config,
                    split=split,
                    priority=Priority(str(job.get("priority", Priority.LOW.value))),
                    status=Status.WAITING,
                    difficulty=difficulty,
                    created_at=now,
                )
            )
    return documents
