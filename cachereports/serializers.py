"""The cache's rows as the API shows them: cache reports (REFERENCE.md) and root-error groups.

Documents written by the other services leave out every field whose value is None: a row holds
None for them, shown as null, except `details`, which the other services show as `{}`. Numbers
take the type of their field (`foundation.core.serialization`). Datetimes inside `content` are
written by the renderer's encoder with the same function.
"""

from __future__ import annotations

from typing import Any

from cachereports.rows import CacheEntry, CacheErrors, ErrorGroup
from foundation.core.serialization import as_float, as_int, iso_datetime

CacheReport = dict[str, Any]


def cache_report(cache_entry: CacheEntry) -> CacheReport:
    """A cache report, without `content`."""
    return {
        "kind": cache_entry.kind,
        "dataset": cache_entry.dataset,
        "config": cache_entry.config,
        "split": cache_entry.split,
        "http_status": as_int(cache_entry.http_status),
        "error_code": cache_entry.error_code,
        "details": cache_entry.details or {},
        "updated_at": iso_datetime(cache_entry.updated_at),
        "job_runner_version": as_int(cache_entry.job_runner_version),
        "dataset_git_revision": cache_entry.dataset_git_revision,
        "progress": as_float(cache_entry.progress),
        "failed_runs": as_int(cache_entry.failed_runs),
    }


def cache_report_with_content(cache_entry: CacheEntry) -> CacheReport:
    """The report with its `content`, keys in the other services' own order for this route (REFERENCE.md)."""
    return {
        "kind": cache_entry.kind,
        "dataset": cache_entry.dataset,
        "config": cache_entry.config,
        "split": cache_entry.split,
        "http_status": as_int(cache_entry.http_status),
        "error_code": cache_entry.error_code,
        "content": cache_entry.content,
        "job_runner_version": as_int(cache_entry.job_runner_version),
        "dataset_git_revision": cache_entry.dataset_git_revision,
        "details": cache_entry.details or {},
        "updated_at": iso_datetime(cache_entry.updated_at),
        "progress": as_float(cache_entry.progress),
        "failed_runs": as_int(cache_entry.failed_runs),
    }


def error_group_dict(group: ErrorGroup) -> dict[str, Any]:
    return {
        "kind": group.kind,
        "error_code": group.error_code,
        "cause_exception": group.cause_exception,
        "count": group.count,
        "latest_updated_at": iso_datetime(group.latest_updated_at),
        "sample_datasets": group.sample_datasets,
    }


def cache_errors_dict(errors: CacheErrors) -> dict[str, Any]:
    """GET /admin/cache-errors: `{"errors": [group], "copied": n}`."""
    return {"errors": [error_group_dict(group) for group in errors.errors], "copied": errors.copied}
