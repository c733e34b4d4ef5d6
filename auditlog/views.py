"""HTML page of the audit log."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from auditlog import selectors
from foundation.auth.authentication import page_login_required
from foundation.web.console import console_page, render_page


@page_login_required
@require_GET
@console_page
def audit_log(request: HttpRequest) -> HttpResponse:
    """GET /admin/audit?cursor=: the writes made through the console, newest first."""
    cursor = request.GET.get("cursor", "").strip()
    page = selectors.audit_log_page(cursor=cursor, limit=settings.ADMIN.audit_log_num_results)
    return render_page(request, "pages/audit_log.html", {"page": page, "cursor": cursor})
