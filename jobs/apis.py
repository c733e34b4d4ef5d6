"""JSON routes of the queue: pending jobs, blocked datasets, the audit log."""

from __future__ import annotations

from django.conf import settings
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


class AuditLogApi(ReadAPIView):
    """GET /admin/audit-log?cursor= (newest first)"""

    def get(self, request: Request) -> Response:
        page = selectors.audit_log_page(
            cursor=request.query_params.get("cursor", ""), limit=settings.ADMIN.audit_log_num_results
        )
        return Response({"actions": page.actions, "next_cursor": page.next_cursor})
