"""HTML page of the audit log."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from auditlog import selectors
from auditlog.parameters import AuditLogParameters
from foundation.auth.authentication import page_login_required
from foundation.web.console import console_page, render_page
from foundation.web.parameters import validated


@page_login_required
@require_GET
@console_page
def audit_log(request: HttpRequest) -> HttpResponse:
    """GET /admin/audit?cursor=: the writes made through the console, newest first."""
    before = validated(AuditLogParameters, request.GET.dict())["cursor"]
    page = selectors.audit_log_page(before=before, limit=settings.ADMIN.audit_log_num_results)
    return render_page(request, "pages/audit_log.html", {"page": page, "paged": before is not None})
