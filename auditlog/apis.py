"""JSON route of the audit log."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from auditlog import selectors
from foundation.web.api import ReadAPIView


class AuditLogApi(ReadAPIView):
    """GET /admin/audit-log?cursor= (newest first)"""

    def get(self, request: Request) -> Response:
        page = selectors.audit_log_page(
            cursor=request.query_params.get("cursor", ""), limit=settings.ADMIN.audit_log_num_results
        )
        return Response({"actions": page.actions, "next_cursor": page.next_cursor})
