"""What a stand-in job "computes": an error copied from a parent, an error of its step now and then, else success.

Nothing is computed for real. A parent entry that is an error is copied, as the workers copy
it (same `http_status`, `error_code`, `content`, and `details` plus `copied_from_artifact`
naming the parent), so that following the links reaches the root error. Otherwise the job
fails at the fleet's rate with an error its step has in the demo world (`demo.world`), else it
writes the content the demo world holds for that artifact: the same config and split names,
so the cache stays coherent and the backfill plan can still read it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from cachereports.selectors.artifacts import DatasetArtifact
from cachereports.services import JobResult
from demo.world import Config, DatasetPlan, error_result, plan_of_dataset, step_errors, success_content
from foundation.core.processing_graph import InputType, ProcessingGraph, ProcessingStep

LEVELS: dict[InputType, int] = {"dataset": 0, "config": 1, "split": 2}


def artifact_at(level: InputType, *, config: str | None, split: str | None) -> tuple[str | None, str | None]:
    """The (config, split) of an artifact seen at a level at least as coarse as its own."""
    if level == "dataset":
        return None, None
    if level == "config":
        return config, None
    return config, split


def parent_artifacts(*, step: ProcessingStep, graph: ProcessingGraph, job: Mapping[str, Any]) -> list[DatasetArtifact]:
    """The parent artifacts the job's artifact depends on: each parent step at the same or a coarser level, in order.

    A finer parent (a dataset-level step gathering its configs) is not depended upon: it is
    gathered, and its errors are not copied.
    """
    config, split = job.get("config"), job.get("split")
    artifacts = []
    for parent in step.triggered_by:
        parent_step = graph.get(parent)
        if parent_step is not None and LEVELS[parent_step.input_type] <= LEVELS[step.input_type]:
            artifacts.append((parent, *artifact_at(parent_step.input_type, config=config, split=split)))
    return artifacts


def parent_error(
    *, step: ProcessingStep, graph: ProcessingGraph, job: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The first parent entry of the job's artifact (`parent_artifacts` order) that is an error."""
    by_key = {(entry.get("kind"), entry.get("config"), entry.get("split")): entry for entry in entries}
    for key in parent_artifacts(step=step, graph=graph, job=job):
        entry = by_key.get(key)
        if entry is not None and int(entry.get("http_status", 200)) >= 400:
            return entry
    return None


def copied_error(entry: Mapping[str, Any]) -> JobResult:
    """The parent's error, copied with `details.copied_from_artifact` naming the parent artifact."""
    details = dict(entry.get("details") or {})
    details["copied_from_artifact"] = {
        "kind": entry.get("kind"),
        "dataset": entry.get("dataset"),
        "config": entry.get("config"),
        "split": entry.get("split"),
    }
    content = entry.get("content")
    return JobResult(
        http_status=int(entry["http_status"]),
        error_code=entry.get("error_code"),
        content=dict(content) if isinstance(content, Mapping) else {},
        details=details,
        progress=None,
    )


def stand_in_plan(dataset: str, revision: str, *, world_seed: int) -> DatasetPlan:
    """The demo world's plan of the dataset; for a dataset the world never drew, one config of one split."""
    plan = plan_of_dataset(dataset, world_seed)
    if plan is not None:
        return plan
    return DatasetPlan(
        index=-1,
        name=dataset,
        revision=revision,
        configs=(Config("default", ("train",), {"train": 1_000_000}),),
        builder_name="parquet",
        state="ok",
        blocked=False,
    )


def job_result(
    *,
    step: ProcessingStep,
    graph: ProcessingGraph,
    job: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    rng: random.Random,
    failure_rate: float,
    world_seed: int,
) -> JobResult:
    """The result of one job: a parent's error copied, else its step's error at `failure_rate`, else success."""
    failed_parent = parent_error(step=step, graph=graph, job=job, entries=entries)
    if failed_parent is not None:
        return copied_error(failed_parent)
    if rng.random() < failure_rate:
        error = error_result(rng.choice(step_errors(step.name)))
        return JobResult(
            http_status=error["http_status"],
            error_code=error["error_code"],
            content=error["content"],
            details=error["details"],
            progress=None,
        )
    plan = stand_in_plan(str(job["dataset"]), str(job["revision"]), world_seed=world_seed)
    config, split = job.get("config"), job.get("split")
    known = config is None or any(
        item.name == config and (split is None or split in item.splits) for item in plan.configs
    )
    content = success_content(plan, step, config, split) if known else {}
    return JobResult(http_status=200, error_code=None, content=content, details=None, progress=1.0)
