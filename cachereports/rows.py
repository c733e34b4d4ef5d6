"""What the cache's selectors hand to pages and APIs alike: typed rows with datetimes.

A cache entry is built from its document as the other services write it (a missing field is
None); its JSON is the APIs' concern (`cachereports.serializers`), its words and links the
templates'. Numbers are kept as stored (`2.0`, `1`): the serializers give them the type of
their field, as the other services write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from foundation.database.mongo import date_or_none


class CacheEntry(NamedTuple):
    """One entry of `cachedResponsesBlue`; `content` is None when the read left it out.

    A named tuple, as `jobs.rows.Job`: a page of reports builds a hundred, a dataset's page
    thousands.
    """

    id: str
    kind: str
    dataset: str
    config: str | None
    split: str | None
    http_status: Any
    error_code: str | None
    content: Any
    details: Any
    """As stored: a dict, or None when the entry has none (the JSON shows `{}`)."""
    updated_at: datetime | None
    job_runner_version: Any
    dataset_git_revision: str | None
    progress: Any
    failed_runs: Any
    """As stored; 0 when the field is absent (the other services' default)."""
    duration: Any


def cache_entry_row(document: Mapping[str, Any]) -> CacheEntry:
    """The row of a cache entry document (`_id` may be absent when a projection left it out)."""
    field = document.get
    return CacheEntry(
        id=str(field("_id", "")),
        kind=document["kind"],
        dataset=document["dataset"],
        config=field("config"),
        split=field("split"),
        http_status=field("http_status"),
        error_code=field("error_code"),
        content=field("content"),
        details=field("details"),
        updated_at=date_or_none(field("updated_at")),
        job_runner_version=field("job_runner_version"),
        dataset_git_revision=field("dataset_git_revision"),
        progress=field("progress"),
        failed_runs=field("failed_runs", 0),
        duration=field("duration"),
    )


@dataclass(frozen=True)
class ErrorGroup:
    """Root errors of one (kind, error_code, cause_exception): how many, how recent, where."""

    kind: str
    error_code: str | None
    cause_exception: str | None
    count: int
    latest_updated_at: datetime | None
    sample_datasets: list[str]


@dataclass(frozen=True)
class CacheErrors:
    """The root-error groups, the largest first, and how many error entries only copy another."""

    errors: list[ErrorGroup]
    copied: int
    counted_at: datetime | None = None
    """When the dashboard's reused groups were counted (`cache_errors_reused`); None when counted for this request."""
