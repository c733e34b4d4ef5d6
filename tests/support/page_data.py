"""Documents as the other services write them (None fields left out), for the page tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.database import Database

from foundation.core.dataset_names import namespace_of
from foundation.core.processing_graph import processing_graph

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def insert_cache_entry(
    cache_db: Database[Any],
    *,
    kind: str,
    dataset: str,
    config: str | None = None,
    split: str | None = None,
    http_status: int = 200,
    error_code: str | None = None,
    content: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    revision: str = "rev-1",
    job_runner_version: int | None = None,
    updated_at: datetime | None = None,
    _id: ObjectId | None = None,
) -> ObjectId:
    step = processing_graph().get(kind)
    entry_id = _id or ObjectId()
    document: dict[str, Any] = {
        "_id": entry_id,
        "kind": kind,
        "dataset": dataset,
        "config": config,
        "split": split,
        "http_status": http_status,
        "error_code": error_code,
        "content": content if content is not None else {},
        "dataset_git_revision": revision,
        "job_runner_version": job_runner_version or (step.job_runner_version if step else 1),
        "failed_runs": 0,
        "details": details,
        "updated_at": updated_at or ago(hours=1),
    }
    cache_db["cachedResponsesBlue"].insert_one({key: value for key, value in document.items() if value is not None})
    increment_cache_metric(cache_db, kind=kind, http_status=http_status, error_code=error_code)
    return entry_id


def increment_cache_metric(cache_db: Database[Any], *, kind: str, http_status: int, error_code: str | None) -> None:
    """What the other services do after writing an entry: `$inc` total by 1 on the row of
    (kind, http_status, error_code), created on first use; error_code left out when None."""
    row: dict[str, Any] = {"kind": kind, "http_status": http_status}
    row["error_code"] = error_code if error_code is not None else {"$exists": False}
    cache_db["cacheTotalMetric"].update_one(
        row, {"$inc": {"total": 1}, "$setOnInsert": {"created_at": NOW}}, upsert=True
    )


def insert_job(
    queue_db: Database[Any],
    *,
    type: str,
    dataset: str,
    config: str | None = None,
    split: str | None = None,
    status: str = "waiting",
    priority: str = "low",
    difficulty: int | None = None,
    created_at: datetime | None = None,
    revision: str = "rev-1",
) -> None:
    step = processing_graph().steps_by_name[type]
    parts = [type, dataset, revision, *(part for part in (config, split) if part is not None)]
    created = created_at or ago(minutes=5)
    document: dict[str, Any] = {
        "type": type,
        "dataset": dataset,
        "revision": revision,
        "config": config,
        "split": split,
        "unicity_id": ",".join(parts),
        "namespace": namespace_of(dataset),
        "priority": priority,
        "status": status,
        "difficulty": step.difficulty if difficulty is None else difficulty,
        "created_at": created,
        "started_at": created + timedelta(seconds=30) if status == "started" else None,
        "last_heartbeat": created + timedelta(seconds=60) if status == "started" else None,
    }
    queue_db["jobsBlue"].insert_one({key: value for key, value in document.items() if value is not None})


def seed_broken_dataset(cache_db: Database[Any], queue_db: Database[Any], dataset: str = "acme/reviews") -> ObjectId:
    """A dataset with two configs; one config's parquet conversion failed; returns that entry's id."""
    insert_cache_entry(
        cache_db,
        kind="dataset-config-names",
        dataset=dataset,
        content={"config_names": [{"dataset": dataset, "config": "default"}, {"dataset": dataset, "config": "fr"}]},
    )
    insert_cache_entry(
        cache_db,
        kind="config-split-names",
        dataset=dataset,
        config="default",
        content={
            "splits": [
                {"dataset": dataset, "config": "default", "split": "train"},
                {"dataset": dataset, "config": "default", "split": "test"},
            ]
        },
    )
    insert_cache_entry(cache_db, kind="config-parquet-and-info", dataset=dataset, config="default")
    broken = insert_cache_entry(
        cache_db,
        kind="config-parquet-and-info",
        dataset=dataset,
        config="fr",
        http_status=500,
        error_code="DatasetGenerationError",
        details={"error": "An error occurred while generating the dataset", "cause_exception": "ValueError"},
    )
    insert_cache_entry(cache_db, kind="split-first-rows", dataset=dataset, config="default", split="train")
    insert_cache_entry(
        cache_db, kind="config-parquet", dataset=dataset, config="default", job_runner_version=2, revision="rev-0"
    )
    insert_job(queue_db, type="split-first-rows", dataset=dataset, config="default", split="test")
    return broken
