"""The job dict: one job as the API shows it (REFERENCE.md); missing fields are null."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adminsite.serialization import iso_datetime

JobDict = dict[str, Any]


def job_dict(job: Mapping[str, Any]) -> JobDict:
    return {
        "type": job["type"],
        "dataset": job["dataset"],
        "revision": job.get("revision"),
        "config": job.get("config"),
        "split": job.get("split"),
        "unicity_id": job.get("unicity_id"),
        "namespace": job.get("namespace"),
        "priority": job.get("priority"),
        "status": job.get("status"),
        "difficulty": job.get("difficulty"),
        "created_at": iso_datetime(job.get("created_at")),
        "started_at": iso_datetime(job.get("started_at")),
        "last_heartbeat": iso_datetime(job.get("last_heartbeat")),
    }
