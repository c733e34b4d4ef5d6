"""The job document, built exactly as the other services write it into `jobsBlue`.

Upstream's ODM leaves out every field whose value is None, stores enums by value and dates as
BSON UTC dates; `unicity_id` is `type,dataset,revision[,config[,split]]` and `namespace` the
part of the dataset name before the first `/`. Seed data and the repair operations both build
their jobs here, so that a job we write cannot be told apart from one a worker wrote.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from foundation.core.dataset_names import namespace_of
from foundation.database import mongo
from jobs.constants import Priority, Status


def unicity_id(*, job_type: str, dataset: str, revision: str, config: str | None, split: str | None) -> str:
    """`type,dataset,revision[,config[,split]]`, as upstream's `inputs_to_string(prefix=type)`."""
    parts = [job_type, dataset, revision]
    if config is not None:
        parts.append(config)
    if split is not None:
        parts.append(split)
    return ",".join(parts)


def job_document(
    *,
    job_type: str,
    dataset: str,
    revision: str,
    config: str | None,
    split: str | None,
    priority: Priority | str,
    status: Status | str,
    difficulty: int,
    created_at: datetime,
    started_at: datetime | None = None,
    last_heartbeat: datetime | None = None,
) -> dict[str, Any]:
    """A `jobsBlue` document without `_id` (the driver adds it on insert); None fields left out."""
    document: dict[str, Any] = {
        "type": job_type,
        "dataset": dataset,
        "revision": revision,
        "config": config,
        "split": split,
        "unicity_id": unicity_id(job_type=job_type, dataset=dataset, revision=revision, config=config, split=split),
        "namespace": namespace_of(dataset),
        "priority": Priority(priority).value,
        "status": Status(status).value,
        "difficulty": difficulty,
        "created_at": mongo.bson_date(created_at),
        "started_at": None if started_at is None else mongo.bson_date(started_at),
        "last_heartbeat": None if last_heartbeat is None else mongo.bson_date(last_heartbeat),
    }
    return mongo.without_none(document)
