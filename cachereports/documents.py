"""Cache documents exactly as the other services write them (REFERENCE.md, "Cache database").

Shared by the tests and `seed_demo`, so that what we read in tests is what production holds:
fields in the upstream ODM's order, a None field left out of the document, the HTTP status
as an int, dates as aware UTC datetimes truncated to the millisecond (a BSON date).
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Any

from foundation.database import mongo


def cache_entry_document(
    *,
    kind: str,
    dataset: str,
    config: str | None = None,
    split: str | None = None,
    http_status: int = HTTPStatus.OK,
    error_code: str | None = None,
    content: dict[str, Any] | None = None,
    dataset_git_revision: str = "0" * 40,
    progress: float | None = None,
    job_runner_version: int | None = None,
    failed_runs: int = 0,
    details: dict[str, Any] | None = None,
    updated_at: datetime | None = None,
    duration: float | None = None,
) -> dict[str, Any]:
    """One document of `cachedResponsesBlue` (no `_id`: the driver adds it on insert)."""
    return mongo.without_none(
        {
            "kind": kind,
            "dataset": dataset,
            "config": config,
            "split": split,
            "http_status": int(http_status),
            "error_code": error_code,
            "content": {} if content is None else content,
            "dataset_git_revision": dataset_git_revision,
            "progress": progress,
            "job_runner_version": job_runner_version,
            "failed_runs": failed_runs,
            "details": details,
            "updated_at": mongo.bson_date(updated_at) if updated_at is not None else mongo.utc_now(),
            "duration": duration,
        }
    )


def cache_total_metric_document(
    *, kind: str, http_status: int, error_code: str | None, total: int, created_at: datetime | None = None
) -> dict[str, Any]:
    """One row of `cacheTotalMetric`: the number of cache entries of (kind, http_status, error_code)."""
    return mongo.without_none(
        {
            "kind": kind,
            "http_status": int(http_status),
            "error_code": error_code,
            "total": total,
            "created_at": mongo.bson_date(created_at) if created_at is not None else mongo.utc_now(),
        }
    )
