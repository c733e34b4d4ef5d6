"""Reads of the queue database. Every query of the jobs app is built here.

Each function costs one database command (plus cursor batches), whatever the number of
processing steps: jobs are fetched in one query and grouped in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from adminsite import mongo
from adminsite.errors import InvalidParameterError
from adminsite.processing_graph import processing_graph
from jobs.constants import PENDING_STATUSES, Status
from jobs.serializers import AuditActionDict, JobDict, audit_action_dict, job_dict

PendingJobs = dict[str, dict[str, list[JobDict]]]

_JOB_FIELDS = {
    field: 1
    for field in (
        "type",
        "dataset",
        "revision",
        "config",
        "split",
        "unicity_id",
        "namespace",
        "priority",
        "status",
        "difficulty",
        "created_at",
        "started_at",
        "last_heartbeat",
    )
}


def _empty_pending_jobs() -> PendingJobs:
    return {step.name: {Status.WAITING.value: [], Status.STARTED.value: []} for step in processing_graph()}


def _group_by_type_and_status(jobs: Any) -> PendingJobs:
    grouped = _empty_pending_jobs()
    for job in jobs:
        by_status = grouped.get(job.get("type"))
        if by_status is not None and job.get("status") in by_status:
            by_status[job["status"]].append(job_dict(job))
    return grouped


def pending_jobs_by_type() -> PendingJobs:
    """Every waiting and started job, by job type (every step listed) then status.

    One query on (status) for the whole queue; the natural order of the collection is kept,
    as the other services' dump does.
    """
    jobs = mongo.queue_database_for_reports()[mongo.JOBS].find({"status": {"$in": list(PENDING_STATUSES)}}, _JOB_FIELDS)
    return _group_by_type_and_status(jobs)


def pending_jobs_of_dataset(*, dataset: str) -> PendingJobs:
    """The waiting and started jobs of one dataset, by job type then status (index dataset, status)."""
    jobs = mongo.queue_database_for_reports()[mongo.JOBS].find(
        {"dataset": dataset, "status": {"$in": list(PENDING_STATUSES)}}, _JOB_FIELDS
    )
    return _group_by_type_and_status(jobs)


def blocked_datasets() -> list[str]:
    """The distinct datasets of `datasetBlockages`, alphabetically."""
    datasets = mongo.queue_database_for_reports()[mongo.DATASET_BLOCKAGES].distinct("dataset")
    return sorted(dataset for dataset in datasets if isinstance(dataset, str))


def count_waiting_jobs_of_dataset(*, dataset: str) -> int:
    """How many waiting jobs a dataset has (what a recreate would delete; index dataset, status)."""
    return mongo.queue_database()[mongo.JOBS].count_documents({"dataset": dataset, "status": Status.WAITING.value})


def parse_object_id_cursor(cursor: str) -> ObjectId | None:
    """An empty cursor starts at the beginning; anything but an ObjectId string is invalid."""
    if not cursor:
        return None
    try:
        return ObjectId(cursor)
    except (InvalidId, TypeError):
        raise InvalidParameterError("Cursor is invalid.") from None


@dataclass(frozen=True)
class AuditLogPage:
    actions: list[AuditActionDict]
    next_cursor: str


def audit_log_page(*, cursor: str, limit: int) -> AuditLogPage:
    """One page of the audit log, newest first (by `_id` descending).

    `cursor` is the string `_id` of the last action of the previous page ("" for the first);
    `next_cursor` is the `_id` of the last action when the page is full, else "". Read from
    the primary: an operator expects to see the action they just made.
    """
    before = parse_object_id_cursor(cursor)
    query: dict[str, Any] = {} if before is None else {"_id": {"$lt": before}}
    actions = list(mongo.queue_database()[mongo.ADMIN_ACTIONS].find(query).sort("_id", -1).limit(limit))
    next_cursor = str(actions[-1]["_id"]) if len(actions) == limit else ""
    return AuditLogPage([audit_action_dict(action) for action in actions], next_cursor)
