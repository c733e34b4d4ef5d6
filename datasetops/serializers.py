"""The JSON of a dataset's status: the selectors' rows written as the API shows them."""

from __future__ import annotations

from typing import Any

from cachereports.serializers import cache_report
from datasetops.selectors import DatasetStatus
from jobs.serializers import job_dict


def dataset_status_dict(status: DatasetStatus) -> dict[str, dict[str, list[Any]]]:
    """`{<step>: {"cached_responses": [cache report], "jobs": [job dict]}}` (REFERENCE.md)."""
    return {
        step: {
            "cached_responses": [cache_report(entry) for entry in parts["cached_responses"]],
            "jobs": [job_dict(job) for job in parts["jobs"]],
        }
        for step, parts in status.items()
    }
