"""JSON route of the audit log."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from auditlog import selectors
from auditlog.parameters import AuditLogParameters
from auditlog.serializers import audit_action_dict
from foundation.web.api import ReadAPIView
from foundation.web.parameters import request_parameters, validated


class AuditLogApi(ReadAPIView):
    """GET /admin/audit-log?cursor= (newest first)"""

    def get(self, request: Request) -> Response:
        parameters = validated(AuditLogParameters, request_parameters(request))
        page = selectors.audit_log_page(before=parameters["cursor"], limit=settings.ADMIN.audit_log_num_results)
        return Response(
            {"actions": [audit_action_dict(action) for action in page.actions], "next_cursor": page.next_cursor}
        )
