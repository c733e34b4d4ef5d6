"""Which jobs an operation on the queue works on: the jobs page's filters, checked once.

The requeue of stale jobs takes the same filters from the jobs page's form, the JSON route and
the management command, so a filter means the same jobs whichever way an operator gives it.
Values are checked by one serializer (`StaleJobFilterParameters`, the fields of
`foundation.web.parameters`) before any query is built: a bad one is 422 (an unknown job type
404, as on every route) and touches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from foundation.web.parameters import (
    ChoiceParameter,
    DatasetNameParameter,
    NamespaceParameter,
    Parameters,
    StepParameter,
    validated,
)
from jobs.constants import Priority
from jobs.selectors import WORKER_SIZES, JobFilters

JOB_FILTER_FIELDS = ("type", "priority", "dataset", "namespace", "worker_size")
"""The filters of the jobs page that select stale jobs (status is `started` by definition)."""


class StaleJobFilterParameters(Parameters):
    """The jobs page's filters that select stale jobs (status is `started` by definition)."""

    type = StepParameter(default=None)
    priority = ChoiceParameter(choices=[priority.value for priority in reversed(Priority)])
    dataset = DatasetNameParameter(default=None)
    namespace = NamespaceParameter()
    worker_size = ChoiceParameter(choices=WORKER_SIZES)


def stale_job_filters(parameters: Mapping[str, Any], *, stale_before: datetime) -> JobFilters:
    """The stale jobs (quiet since before `stale_before`) that match the checked filters."""
    step = parameters.get("type")
    return JobFilters(
        type=step.name if step is not None else None,
        priority=parameters.get("priority"),
        dataset=parameters.get("dataset"),
        namespace=parameters.get("namespace"),
        worker_size=parameters.get("worker_size"),
        stale_before=stale_before,
    )


def parse_stale_job_filters(*, stale_before: datetime, **values: object) -> JobFilters:
    """`stale_job_filters` of raw values (a form's, a command's), checked by `StaleJobFilterParameters`."""
    return stale_job_filters(validated(StaleJobFilterParameters, values), stale_before=stale_before)


def filter_parameters(filters: JobFilters) -> dict[str, Any]:
    """The filter as the audit log records it and a URL carries it (unset fields left out)."""
    values = {name: getattr(filters, name) for name in JOB_FILTER_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def parse_from(source: Mapping[str, Any], *, stale_before: datetime) -> JobFilters:
    """`parse_stale_job_filters` of the fields of a form, a query or a JSON body."""
    return parse_stale_job_filters(stale_before=stale_before, **{name: source.get(name) for name in JOB_FILTER_FIELDS})
