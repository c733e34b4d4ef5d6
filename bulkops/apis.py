"""JSON routes of the operations across many datasets: bulk refresh, requeue of stale jobs."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from bulkops import services as bulk_refresh
from bulkops import stale_jobs
from cachereports.filters import FILTER_FIELDS, parse_cache_entry_filter, parse_flag
from datasetops import services
from foundation.core.errors import InvalidParameterError
from foundation.core.identity import identity_of
from foundation.web.api import WriteAPIView, raw_parameter
from jobs import selectors as job_selectors
from jobs.filters import JOB_FILTER_FIELDS, parse_stale_job_filters


def _text(request: Request, name: str) -> str | None:
    """A parameter of the query or the body as text (a JSON body may give numbers and booleans)."""
    value = raw_parameter(request, name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None or isinstance(value, str):
        return value.strip() or None if isinstance(value, str) else None
    raise InvalidParameterError(f"Parameter '{name}' should be a string or a number.")


class BulkRefreshApi(WriteAPIView):
    """POST /admin/bulk-refresh?kind=&error_code=&...&priority=&limit=&cursor=&dry_run= (dry run by default)"""

    def post(self, request: Request) -> Response:
        entry_filter = parse_cache_entry_filter(**{name: _text(request, name) for name in FILTER_FIELDS})
        outcome = bulk_refresh.bulk_refresh(
            entry_filter=entry_filter,
            cursor=_text(request, "cursor") or "",
            limit=bulk_refresh.parse_limit(_text(request, "limit")),
            priority=services.parse_priority(_text(request, "priority")),
            dry_run=parse_flag("dry_run", _text(request, "dry_run"), default=True),
            actor=identity_of(request),
        )
        return Response(outcome.as_json())


class RequeueStaleJobsApi(WriteAPIView):
    """POST /admin/requeue-stale-jobs?type=&priority=&dataset=&namespace=&worker_size=&limit=&cursor=&dry_run=

    A dry run by default, as bulk refresh: a write needs `dry_run=false`.
    """

    def post(self, request: Request) -> Response:
        filters = parse_stale_job_filters(
            stale_before=job_selectors.stale_before(), **{name: _text(request, name) for name in JOB_FILTER_FIELDS}
        )
        outcome = stale_jobs.requeue_stale_jobs(
            filters=filters,
            cursor=_text(request, "cursor") or "",
            limit=bulk_refresh.parse_limit(_text(request, "limit")),
            dry_run=parse_flag("dry_run", _text(request, "dry_run"), default=True),
            actor=identity_of(request),
        )
        return Response(outcome.as_json())
