"""The job as the selectors and services hand it to pages and APIs alike: a typed row with datetimes.

Built from a document as the other services write it (missing fields None); the JSON shape is
the APIs' concern (`jobs.serializers.job_dict`), the words and times of a page the templates'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Job:
    """One waiting or started job of `jobsBlue`."""

    id: str
    type: str
    dataset: str
    revision: str | None
    config: str | None
    split: str | None
    unicity_id: str | None
    namespace: str | None
    priority: str | None
    status: str | None
    difficulty: Any
    created_at: datetime | None
    started_at: datetime | None
    last_heartbeat: datetime | None


def _date(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def job_row(document: Mapping[str, Any]) -> Job:
    """The row of a job document (`_id` may be absent when a projection left it out)."""
    return Job(
        id=str(document.get("_id", "")),
        type=document["type"],
        dataset=document["dataset"],
        revision=document.get("revision"),
        config=document.get("config"),
        split=document.get("split"),
        unicity_id=document.get("unicity_id"),
        namespace=document.get("namespace"),
        priority=document.get("priority"),
        status=document.get("status"),
        difficulty=document.get("difficulty"),
        created_at=_date(document.get("created_at")),
        started_at=_date(document.get("started_at")),
        last_heartbeat=_date(document.get("last_heartbeat")),
    )
