"""Job documents exactly as the other services write them (REFERENCE.md, "Queue database").

Fields in the upstream ODM's order, a None field left out, enums as their values, dates as
aware UTC datetimes truncated to the millisecond (a BSON date).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adminsite.dataset_names import namespace_of


def unicity_id(*, job_type: str, dataset: str, revision: str, config: str | None, split: str | None) -> str:
    """`type,dataset,revision[,config[,split]]`: the key of "the same job" across services."""
    parts = [job_type, dataset, revision]
    if config is not None:
        parts.append(config)
        if split is not None:
            parts.append(split)
    return ",".join(parts)


def _bson_date(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(microsecond=value.microsecond // 1000 * 1000)


def job_document(
    *,
    job_type: str,
    dataset: str,
    revision: str,
    config: str | None,
    split: str | None,
    priority: str,
    status: str,
    difficulty: int,
    created_at: datetime,
    started_at: datetime | None = None,
    last_heartbeat: datetime | None = None,
) -> dict[str, Any]:
    """One document of `jobsBlue` (no `_id`: the driver adds it on insert)."""
    fields: dict[str, Any] = {
        "type": job_type,
        "dataset": dataset,
        "revision": revision,
        "config": config,
        "split": split,
        "unicity_id": unicity_id(job_type=job_type, dataset=dataset, revision=revision, config=config, split=split),
        "namespace": namespace_of(dataset),
        "priority": str(priority),
        "status": str(status),
        "difficulty": difficulty,
        "created_at": _bson_date(created_at),
        "started_at": _bson_date(started_at),
        "last_heartbeat": _bson_date(last_heartbeat),
    }
    return {name: value for name, value in fields.items() if value is not None}
