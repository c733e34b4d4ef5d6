"""Guarantees for every answer, whichever code produced it.

- A JSON answer always has a `Cache-Control` header: the read and write API views set theirs
  (REFERENCE.md); anything else that answers JSON without one (an error page, a view written
  without the base classes) gets `no-store`, so no cache keeps an answer nobody meant to share.
- MongoDB unreachable in a view that is not a DRF view (DRF views go through
  `foundation.web.api.exception_handler`): a 503 `DatabaseUnavailableError`, not a 500 with a
  traceback in the log: the HTML error page for an HTML view (a console page, an action, the
  login, e.g. when the browser session cannot be read), else the JSON answer.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from foundation.web.console import error_page, renders_html
from foundation.web.error_answers import database_unavailable, is_database_unavailable, json_error


class JsonAnswersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("application/json") and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            error = database_unavailable(exception)
            return error_page(request, error) if renders_html(request) else json_error(error)
        return None
