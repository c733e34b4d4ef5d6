"""The cache report: one cache entry as the API shows it (REFERENCE.md), without `content`.

Documents written by the other services leave out every field whose value is None, so each
optional field is read with `.get` and shown as null, except `details`, which the other
services show as `{}`. Numbers take the type of their field (`foundation.core.serialization`).
Datetimes inside `content` are written by the renderer's encoder with the same function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from foundation.core.serialization import as_float, as_int, iso_datetime

CacheReport = dict[str, Any]


def cache_report(cache_entry: Mapping[str, Any]) -> CacheReport:
    return {
        "kind": cache_entry["kind"],
        "dataset": cache_entry["dataset"],
        "config": cache_entry.get("config"),
        "split": cache_entry.get("split"),
        "http_status": as_int(cache_entry.get("http_status")),
        "error_code": cache_entry.get("error_code"),
        "details": cache_entry.get("details") or {},
        "updated_at": iso_datetime(cache_entry.get("updated_at")),
        "job_runner_version": as_int(cache_entry.get("job_runner_version")),
        "dataset_git_revision": cache_entry.get("dataset_git_revision"),
        "progress": as_float(cache_entry.get("progress")),
        "failed_runs": as_int(cache_entry.get("failed_runs", 0)),
    }


def cache_report_with_content(cache_entry: Mapping[str, Any]) -> CacheReport:
    """The report with its `content`, keys in the other services' own order for this route (REFERENCE.md)."""
    return {
        "kind": cache_entry["kind"],
        "dataset": cache_entry["dataset"],
        "config": cache_entry.get("config"),
        "split": cache_entry.get("split"),
        "http_status": as_int(cache_entry.get("http_status")),
        "error_code": cache_entry.get("error_code"),
        "content": cache_entry.get("content"),
        "job_runner_version": as_int(cache_entry.get("job_runner_version")),
        "dataset_git_revision": cache_entry.get("dataset_git_revision"),
        "details": cache_entry.get("details") or {},
        "updated_at": iso_datetime(cache_entry.get("updated_at")),
        "progress": as_float(cache_entry.get("progress")),
        "failed_runs": as_int(cache_entry.get("failed_runs", 0)),
    }
