"""Liveness: answers `ok` without touching a database, so a slow MongoDB never kills the pod."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def healthcheck(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
