"""The operator's log: one line per request, one line per write, never a secret.

Per request (logger `adminsite.requests`, INFO):

    GET /admin/dataset-status?dataset=org/ds 200 12.3ms caller=alice

Writes (POST, PUT, PATCH, DELETE) are marked `write` at the head of the line. The query
string is kept for the operator, but any parameter whose name looks like a credential
(token, key, secret, password, auth...) has its value replaced by `***`. Headers are never
logged, so neither is the Authorization header. Every write (JSON route, page or command) adds
one line with its outcome, written by the audit log (`auditlog.services`, logger `adminsite.writes`).

A log line is never forged by a request: the path is logged percent-encoded, as it was sent,
write details go through `foundation.core.words.printable`, and every handler of LOGGING formats with
`SingleLineFormatter`, which escapes control characters in any message (`%0A` in a parameter
becomes `\\n` inside its own line, not a line of its own).

Uvicorn's access log, which would repeat each line without the caller, is turned off by
`adminsite.server`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from django.http import HttpRequest, HttpResponseBase
from django.utils.encoding import escape_uri_path
from rest_framework.request import Request

from foundation.core.identity import HubIdentity, identity_of
from foundation.core.words import printable

request_logger = logging.getLogger("adminsite.requests")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MASK = "***"
_SECRET_PARAMETER = re.compile(r"token|key|secret|passw|auth|session|cookie|signature|credential", re.IGNORECASE)


def masked_query_string(query_string: str) -> str:
    """The query string with the value of every credential-like parameter replaced by ***."""
    if not query_string:
        return ""
    parameters = parse_qsl(query_string, keep_blank_values=True)
    return urlencode(
        [(name, MASK if _SECRET_PARAMETER.search(name) else value) for name, value in parameters],
        safe="/*,:",
    )


class SingleLineFormatter(logging.Formatter):
    """Every log message on one line: control characters in it are escaped, whoever logged it.

    A value that comes from a request (a path, a parameter, a name the Hub sent) can hold a
    `%0A`: without this, it would add a line of its choosing to the log. A traceback that
    follows the message keeps its lines.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = printable(record.message)
        return super().formatMessage(record)


def loggable_path(request: HttpRequest) -> str:
    """The path as sent, percent-encoded (as in the request line), then the masked query string."""
    path = escape_uri_path(request.path)
    query = masked_query_string(request.META.get("QUERY_STRING", ""))
    return f"{path}?{query}" if query else path


def caller_of(request: HttpRequest | Request) -> HubIdentity:
    """The verified caller: `request.hub_identity`, or a HubIdentity that DRF put as `user`."""
    identity = identity_of(request)
    user = getattr(request, "user", None)
    if identity.name == "anonymous" and isinstance(user, HubIdentity):
        return user
    return identity


class RequestLogMiddleware:
    """Outermost middleware: sees the final status, whatever answered (view, CORS, static)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        marker = "write " if request.method in WRITE_METHODS else ""
        request_logger.info(
            "%s%s %s %d %.1fms caller=%s",
            marker,
            request.method,
            loggable_path(request),
            response.status_code,
            duration_ms,
            printable(caller_of(request).name),
        )
        return response


class UnexpectedServerErrorsOnly(logging.Filter):
    """Lets through Django's request log records of a 500 only (`status_code` is set by Django)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", 500) == 500
