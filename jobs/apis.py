"""JSON routes of the queue: pending jobs, blocked datasets."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from foundation.web.api import ReadAPIView
from jobs import selectors
from jobs.serializers import pending_jobs_dict


class PendingJobsApi(ReadAPIView):
    """GET /admin/pending-jobs"""

    def get(self, request: Request) -> Response:
        return Response(pending_jobs_dict(selectors.pending_job_documents_by_type()))


class BlockedDatasetsApi(ReadAPIView):
    """GET /admin/blocked-datasets"""

    def get(self, request: Request) -> Response:
        return Response({"blocked_datasets": selectors.blocked_datasets()})
