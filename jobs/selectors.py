"""Reads of the queue database. Every query of the jobs app is built here.

Each function costs one database command (plus cursor batches), whatever the number of
processing steps: jobs are fetched in one query and grouped in Python.
"""

from __future__ import annotations

from typing import Any

from adminsite import mongo
from adminsite.processing_graph import processing_graph
from jobs.constants import PENDING_STATUSES, Status
from jobs.serializers import JobDict, job_dict

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
    jobs = (
        mongo.queue_database_for_reports()[mongo.JOBS]
        .find({"status": {"$in": list(PENDING_STATUSES)}}, _JOB_FIELDS)
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
    return _group_by_type_and_status(jobs)


def pending_jobs_of_dataset(*, dataset: str) -> PendingJobs:
    """The waiting and started jobs of one dataset, by job type then status (index dataset, status)."""
    jobs = (
        mongo.queue_database_for_reports()[mongo.JOBS]
        .find({"dataset": dataset, "status": {"$in": list(PENDING_STATUSES)}}, _JOB_FIELDS)
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
    return _group_by_type_and_status(jobs)


def blocked_datasets() -> list[str]:
    """The distinct datasets of `datasetBlockages`, alphabetically."""
    datasets = mongo.queue_database_for_reports()[mongo.DATASET_BLOCKAGES].distinct("dataset")
    return sorted(dataset for dataset in datasets if isinstance(dataset, str))
