"""Django's limit on request bodies (DATA_UPLOAD_MAX_MEMORY_SIZE), checked for every body before a view.

Django checks the limit when `request.body` is read, from the Content-Length, before reading a
byte of it; DRF's parsers read the request as a stream and skip that check, so a 200 MB JSON
body would be read whole. Reading `request.body` here puts every body through Django's check:
past the limit Django raises RequestDataTooBig and answers through `handler400` (413
RequestBodyTooLargeError, `foundation.web.error_answers`); DRF then parses the body read here.

A chunked body (no Content-Length) is one a WSGI application cannot read: Django would see an
empty body, and a write would run on its query string alone. It is refused (411).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from foundation.core.errors import LengthRequiredError
from foundation.web.error_answers import json_error


class BodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "HTTP_TRANSFER_ENCODING" in request.META:
            return json_error(LengthRequiredError("A request body needs a Content-Length header."))
        if request.META.get("CONTENT_LENGTH", "") not in ("", "0"):
            _ = request.body  # Django's check: RequestDataTooBig past DATA_UPLOAD_MAX_MEMORY_SIZE
        return self.get_response(request)
