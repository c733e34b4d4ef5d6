"""Plumbing shared by every JSON route: base views and the error answer (parameters: `foundation.web.parameters`).

Every route answers JSON with a `Cache-Control` header: `max-age=ADMIN_MAX_AGE` for reads
(errors included, as the other services do), `no-store` for writes and healthchecks. Errors
are `{"error": message}` with an `X-Error-Code` header, built by `foundation.web.error_answers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.utils.cache import patch_vary_headers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.web.error_answers import as_admin_error, error_body

JSON_API = "is_json_api"
"""Attribute of the view function of every JSON API route (set by `as_view()`): CORS is for them (`web.cors`)."""


def is_json_api_view(view: Callable[..., Any]) -> bool:
    return getattr(view, JSON_API, False) is True


def cache_control(max_age: int) -> str:
    return f"max-age={max_age}" if max_age > 0 else "no-store"


class ReadAPIView(APIView):
    """A read route: answers may be cached for ADMIN_MAX_AGE seconds."""

    cacheable: ClassVar[bool] = True

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)
        setattr(view, JSON_API, True)
        return view

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Only a read's answer may be cached: not a 405 to a POST on a read route, for one.
        is_read = self.cacheable and request.method in ("GET", "HEAD")
        max_age = settings.ADMIN.max_age if is_read else 0
        response["Cache-Control"] = cache_control(max_age)
        # The answer depends on the token: a shared cache must not serve it to another caller.
        patch_vary_headers(response, ["Authorization"])
        return response


class WriteAPIView(ReadAPIView):
    """A write route: never cached."""

    cacheable = False


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every error of every JSON route goes through here."""
    error = as_admin_error(exc, where="a JSON route")
    return Response(error_body(error), status=error.status_code, headers={"X-Error-Code": error.error_code})
