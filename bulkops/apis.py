"""JSON routes of the operations across many datasets: bulk refresh, requeue of stale jobs."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from bulkops import services as bulk_refresh
from bulkops import stale_jobs
from bulkops.parameters import BulkRefreshParameters, RequeueStaleJobsParameters
from cachereports.filters import cache_entry_filter
from foundation.core.identity import identity_of
from foundation.web.api import WriteAPIView
from foundation.web.parameters import request_parameters, validated
from jobs import selectors as job_selectors
from jobs.filters import stale_job_filters


class BulkRefreshApi(WriteAPIView):
    """POST /admin/bulk-refresh?kind=&error_code=&...&priority=&limit=&cursor=&dry_run= (dry run by default)"""

    def post(self, request: Request) -> Response:
        parameters = validated(BulkRefreshParameters, request_parameters(request))
        outcome = bulk_refresh.bulk_refresh(
            entry_filter=cache_entry_filter(parameters),
            after=parameters["cursor"],
            limit=parameters["limit"],
            priority=parameters["priority"],
            dry_run=parameters["dry_run"],
            actor=identity_of(request),
        )
        return Response(outcome.as_json())


class RequeueStaleJobsApi(WriteAPIView):
    """POST /admin/requeue-stale-jobs?type=&priority=&dataset=&namespace=&worker_size=&limit=&cursor=&dry_run=

    A dry run by default, as bulk refresh: a write needs `dry_run=false`.
    """

    def post(self, request: Request) -> Response:
        parameters = validated(RequeueStaleJobsParameters, request_parameters(request))
        outcome = stale_jobs.requeue_stale_jobs(
            filters=stale_job_filters(parameters, stale_before=job_selectors.stale_before()),
            cursor=str(parameters["cursor"] or ""),
            limit=parameters["limit"],
            dry_run=parameters["dry_run"],
            actor=identity_of(request),
        )
        return Response(outcome.as_json())
