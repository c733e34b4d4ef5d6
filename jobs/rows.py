"""The job as the selectors and services hand it to pages and APIs alike: a typed row with datetimes.

Built from a document as the other services write it (missing fields None); the JSON shape is
the APIs' concern (`jobs.serializers.job_dict`), the words and times of a page the templates'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from foundation.database.mongo import date_or_none


class Job(NamedTuple):
    """One waiting or started job of `jobsBlue`.

    Immutable, and a named tuple rather than a frozen dataclass: pending-jobs builds one per job
    of the queue (10k and more), and a frozen dataclass costs 2.4 us to build against 1.1 us.
    """

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


def job_row(document: Mapping[str, Any]) -> Job:
    """The row of a job document (`_id` may be absent when a projection left it out)."""
    field = document.get
    return Job(
        id=str(field("_id", "")),
        type=document["type"],
        dataset=document["dataset"],
        revision=field("revision"),
        config=field("config"),
        split=field("split"),
        unicity_id=field("unicity_id"),
        namespace=field("namespace"),
        priority=field("priority"),
        status=field("status"),
        difficulty=field("difficulty"),
        created_at=date_or_none(field("created_at")),
        started_at=date_or_none(field("started_at")),
        last_heartbeat=date_or_none(field("last_heartbeat")),
    )
