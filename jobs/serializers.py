"""The job dict: one job as the API shows it (REFERENCE.md); missing fields are null."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from foundation.core.serialization import as_int, iso_datetime
from jobs.rows import Job

JobDict = dict[str, Any]


def job_dict(job: Job) -> JobDict:
    """The job dict of a row: the same as of the document it was read from (one list of the fields)."""
    return job_document_dict(job._asdict())


def job_document_dict(document: Mapping[str, Any]) -> JobDict:
    """The job dict of a job document as stored: `job_dict(job_row(document))`, without the row.

    pending-jobs writes one per job of the queue; building it straight from the document costs
    half as much as a row then a dict (`tests/test_job_rows.py` checks that both give the same).
    """
    field = document.get
    return {
        "type": document["type"],
        "dataset": document["dataset"],
        "revision": field("revision"),
        "config": field("config"),
        "split": field("split"),
        "unicity_id": field("unicity_id"),
        "namespace": field("namespace"),
        "priority": field("priority"),
        "status": field("status"),
        "difficulty": as_int(field("difficulty")),
        "created_at": iso_datetime(field("created_at")),
        "started_at": iso_datetime(field("started_at")),
        "last_heartbeat": iso_datetime(field("last_heartbeat")),
    }


def pending_jobs_dict(
    pending: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
) -> dict[str, dict[str, list[JobDict]]]:
    """`{<job type>: {<status>: [job dict]}}` of job documents grouped by type then status."""
    return {
        job_type: {status: [job_document_dict(job) for job in jobs] for status, jobs in by_status.items()}
        for job_type, by_status in pending.items()
    }
