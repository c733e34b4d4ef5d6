"""JSON routes of the queue: pending jobs and blocked datasets."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from adminsite.api import ReadAPIView
from jobs import selectors


class PendingJobsApi(ReadAPIView):
    """GET /admin/pending-jobs"""

    def get(self, request: Request) -> Response:
        return Response(selectors.pending_jobs_by_type())


class BlockedDatasetsApi(ReadAPIView):
    """GET /admin/blocked-datasets"""

    def get(self, request: Request) -> Response:
        return Response({"blocked_datasets": selectors.blocked_datasets()})
