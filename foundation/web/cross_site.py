"""Requests from other sites: no write, and no answer of a write to read, whatever the auth mode.

The JSON API is for scripts: they authenticate with a Bearer token (or, auth off, with nothing)
and send no cookie, so its views are exempt from Django's CSRF check, which needs a token the
page got from us. That left a browser writing for any page it visits: with auth off (the default
of `make run`) a plain form on another site, posted to `http://localhost:8000/admin/recreate-dataset`,
recreated a dataset, and `Access-Control-Allow-Origin: *` let that page read the answer; a page
whose own name resolves to this server (DNS rebinding) was even same-origin. Three locks:

- `ALLOWED_HOSTS` (settings, from ADMIN_ALLOWED_HOSTS or the configured names): a request
  addressed to another name is a 400 before any view, so a rebound name reaches nothing;
- `CrossSiteWritesMiddleware`: a write (any method but GET, HEAD, OPTIONS, TRACE) to a view
  exempt from the CSRF check, sent by a browser, must pass Django's own CSRF check, as the
  console's forms do: its Origin check (the request's own origin, or one of
  CSRF_TRUSTED_ORIGINS) and its token. A browser says so with the headers only browsers send on
  their own (`Origin`, `Sec-Fetch-*`, `Referer`): every browser sends `Origin` on a cross-origin
  POST, a form's included. A script sends none of them and is not affected;
- `ReadsOnlyCorsMiddleware`: the CORS headers go on the JSON API's reads only (GET, HEAD and
  their preflights), so another origin's page may read the API with a token it holds, and
  never a write's answer; a write's preflight gets no CORS header and the browser stops there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corsheaders.middleware import CorsMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware

from foundation.core.errors import CrossSiteRequestError
from foundation.web.error_answers import json_error

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods that change nothing: Django's CSRF check lets them through too."""
BROWSER_HEADERS = ("HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_MODE", "HTTP_REFERER")
"""Headers a browser adds by itself to a write, which a script calling the API does not send. Not
`Cookie`: a script may keep one (a session that fetched a page first), and no cookie opens the
API (it reads a Bearer token only)."""

REFUSED_MESSAGE = (
    "A write from a page of another site is refused. Call the API from a script (without browser"
    " headers), or use the console's own pages."
)


def sent_by_a_browser(request: HttpRequest) -> bool:
    return any(request.META.get(header) for header in BROWSER_HEADERS)


def _not_exempt(request: HttpRequest) -> HttpResponse:
    """The view Django's CSRF check is asked about: one without `csrf_exempt`, so it checks."""
    raise NotImplementedError


class CrossSiteWritesMiddleware:
    """Put it after Django's CsrfViewMiddleware: it checks the writes that one lets through as exempt."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.csrf_check = CsrfViewMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        if request.method in READ_METHODS or not getattr(view, "csrf_exempt", False):
            return None  # a read, or a view Django's CSRF check has already checked
        if not sent_by_a_browser(request):
            return None
        # Django's whole check (Origin, then the token), as for a view that is not exempt; it logs
        # the reason of a refusal (django.security.csrf) and answers its failure page, replaced
        # here by the JSON error of the API.
        if self.csrf_check.process_view(request, _not_exempt, (), {}) is None:
            return None
        return json_error(CrossSiteRequestError(REFUSED_MESSAGE))


class ReadsOnlyCorsMiddleware(CorsMiddleware):
    """django-cors-headers' middleware, on the routes of CORS_URLS_REGEX and for reads only."""

    def is_enabled(self, request: HttpRequest) -> bool:
        method = request.method or ""
        if method == "OPTIONS":  # a preflight says which method is to follow
            method = request.headers.get("Access-Control-Request-Method", "GET").upper()
        return method in ("GET", "HEAD") and super().is_enabled(request)
