"""Which jobs an operation on the queue works on: the jobs page's filters, checked once.

The requeue of stale jobs takes the same filters from the jobs page's form, the JSON route and
the management command, so a filter means the same jobs whichever way an operator gives it.
Values are raw (strings, or None when absent); each is checked before any query is built, and a
bad one is 422 (an unknown job type 404, as on every route) and touches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from foundation.core.dataset_names import is_valid_dataset_name, is_valid_part
from foundation.core.errors import InvalidParameterError
from foundation.core.processing_graph import known_step
from jobs.constants import Priority
from jobs.selectors import WORKER_SIZES, JobFilters

JOB_FILTER_FIELDS = ("type", "priority", "dataset", "namespace", "worker_size")
"""The filters of the jobs page that select stale jobs (status is `started` by definition)."""

_MAX_LENGTH = 200


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(f"Parameter '{name}' should be a string.")
    text = value.strip()
    if len(text) > _MAX_LENGTH:
        raise InvalidParameterError(f"Parameter '{name}' is too long")
    return text or None


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is not None and value not in choices:
        raise InvalidParameterError(f"Parameter '{name}' must be one of: {', '.join(choices)}")
    return value


def parse_stale_job_filters(
    *,
    stale_before: datetime,
    type: object = None,
    priority: object = None,
    dataset: object = None,
    namespace: object = None,
    worker_size: object = None,
) -> JobFilters:
    """The stale jobs (quiet since before `stale_before`) that match every given filter."""
    job_type = _text("type", type)
    if job_type is not None:
        known_step(job_type)
    dataset_name = _text("dataset", dataset)
    if dataset_name is not None and not is_valid_dataset_name(dataset_name):
        raise InvalidParameterError("Parameter 'dataset' is not a valid dataset name")
    namespace_name = _text("namespace", namespace)
    if namespace_name is not None and not is_valid_part(namespace_name):
        raise InvalidParameterError("Parameter 'namespace' is not a valid namespace")
    priorities = tuple(priority.value for priority in reversed(Priority))
    return JobFilters(
        type=job_type,
        priority=_choice("priority", _text("priority", priority), priorities),
        dataset=dataset_name,
        namespace=namespace_name,
        worker_size=_choice("worker_size", _text("worker_size", worker_size), WORKER_SIZES),
        stale_before=stale_before,
    )


def filter_parameters(filters: JobFilters) -> dict[str, Any]:
    """The filter as the audit log records it and a URL carries it (unset fields left out)."""
    values = {name: getattr(filters, name) for name in JOB_FILTER_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def parse_from(source: Mapping[str, Any], *, stale_before: datetime) -> JobFilters:
    """`parse_stale_job_filters` of the fields of a form, a query or a JSON body."""
    return parse_stale_job_filters(stale_before=stale_before, **{name: source.get(name) for name in JOB_FILTER_FIELDS})
