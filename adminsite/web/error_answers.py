"""Answers for URLs that match no route and for errors outside DRF views: JSON, no traceback."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from adminsite.core.errors import AdminError, NotFoundError, UnexpectedApiError


def _json_error(error: AdminError) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"error": error.message}), status=error.status_code, content_type="application/json"
    )
    response["X-Error-Code"] = error.error_code
    response["Cache-Control"] = "no-store"
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _json_error(NotFoundError("Not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _json_error(UnexpectedApiError("Unexpected error."))


def json_error(error: AdminError) -> HttpResponse:
    """The JSON error answer (`no-store`) for code outside DRF views, e.g. middleware."""
    return _json_error(error)
