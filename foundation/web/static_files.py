"""Static files of the HTML pages, served by the app itself (no separate web server).

WhiteNoise finds them through Django's finders at start-up (settings: WHITENOISE_USE_FINDERS),
so `collectstatic` is never needed. Its middleware answers with a file stream, which Django's
ASGI handler can only read chunk by chunk through a thread (and warns about); the console's
CSS and scripts are small, so this subclass answers with the bytes instead. WhiteNoise still
does the rest: content types, ETag/Last-Modified and 304s, ranges, HEAD, Cache-Control.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):  # type: ignore[misc]  # untyped library
    @staticmethod
    def serve(static_file: Any, request: HttpRequest) -> HttpResponse:
        answer = static_file.get_response(request.method, request.META)
        response = HttpResponse(status=int(answer.status))
        if answer.file is not None:
            with answer.file as content:
                response.content = content.read()
        del response["Content-Type"]
        for name, value in answer.headers:
            response[name] = value
        return response
