"""The one error answer of every route: which AdminError an exception is, and its JSON body.

JSON routes (through DRF's exception handler), console pages and actions, middleware, probes
and the URLs that match no route all turn an exception into an AdminError here, and a JSON
answer says `{"error": message}` with an `X-Error-Code` header, built here and nowhere else.
An unexpected exception is logged with its traceback; the caller sees "Unexpected error.".
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeGuard

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse
from pymongo.errors import ConnectionFailure, PyMongoError
from rest_framework import exceptions

from foundation.core.errors import (
    AdminError,
    DatabaseUnavailableError,
    HostNotAllowedError,
    InvalidParameterError,
    MethodNotAllowedError,
    NotFoundError,
    RequestBodyTooLargeError,
    UnexpectedApiError,
)
from foundation.web.parameters import parameter_error

logger = logging.getLogger(__name__)

UNEXPECTED_MESSAGE = "Unexpected error."


def is_database_unavailable(exc: BaseException) -> TypeGuard[PyMongoError]:
    """MongoDB unreachable, or a call that ran out of ADMIN_MONGO_TIMEOUT_SECONDS.

    The second includes a server that gave up itself (`maxTimeMS`, pymongo's ExecutionTimeout,
    not a ConnectionFailure): the database is too slow right now, the same retry-later answer.
    """
    return isinstance(exc, ConnectionFailure) or (isinstance(exc, PyMongoError) and exc.timeout)


def database_unavailable(exc: PyMongoError) -> DatabaseUnavailableError:
    """MongoDB unreachable or timing out (ServerSelectionTimeoutError, AutoReconnect, ...): a 503.

    pymongo's message names hosts and topology, never the URL's credentials; it is logged for
    the operator rather than shown: the caller only needs to know to retry.
    """
    logger.warning("MongoDB unavailable: %s: %.300s", type(exc).__name__, exc)
    return DatabaseUnavailableError("The database is unavailable, please retry later.")


def _protocol_error(exc: exceptions.APIException) -> AdminError:
    """A DRF protocol error (405, 406, 415) keeps its status and says its DRF name as code."""
    error = AdminError(str(exc.detail))
    error.status_code = exc.status_code
    error.error_code = type(exc).__name__
    return error


def as_admin_error(exc: BaseException, *, where: str = "a route") -> AdminError:
    """The AdminError an exception answers as; an unexpected one is logged with its traceback."""
    if isinstance(exc, AdminError):
        return exc
    if isinstance(exc, Http404 | exceptions.NotFound):
        return NotFoundError("Not found.")
    if isinstance(exc, exceptions.MethodNotAllowed | exceptions.NotAcceptable | exceptions.UnsupportedMediaType):
        return _protocol_error(exc)
    if isinstance(exc, exceptions.ValidationError):  # a serializer run with raise_exception=True
        return parameter_error(exc.detail)
    if isinstance(exc, exceptions.ParseError):
        return InvalidParameterError("The request body could not be parsed.")
    if isinstance(exc, RequestDataTooBig):
        return RequestBodyTooLargeError(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    if isinstance(exc, DisallowedHost):
        return HostNotAllowedError("The request is addressed to a host name this server does not answer for.")
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return InvalidParameterError(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if is_database_unavailable(exc):
        return database_unavailable(exc)
    logger.exception("unexpected error in %s", where)
    return UnexpectedApiError(UNEXPECTED_MESSAGE)


def error_body(error: AdminError, **extra: Any) -> dict[str, Any]:
    """`{"error": message}` (probes add what they checked)."""
    return {"error": error.message, **extra}


def json_error(error: AdminError, **extra: Any) -> HttpResponse:
    """The JSON error answer (`no-store`) for code outside DRF views: middleware, probes, handlers."""
    response = HttpResponse(
        json.dumps(error_body(error, **extra)), status=error.status_code, content_type="application/json"
    )
    response["X-Error-Code"] = error.error_code
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's answer to a request it refused before any view (e.g. too many form fields)."""
    if exception is None:
        return json_error(InvalidParameterError("Bad request."))
    error = as_admin_error(exception, where="a refused request")
    if error.status_code == 500:  # a SuspiciousOperation this module does not name
        error = InvalidParameterError("Bad request.")
    return json_error(error)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_error(NotFoundError("Not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    return json_error(UnexpectedApiError(UNEXPECTED_MESSAGE))


def json_safe_methods_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD only; any other method is the JSON 405 (`no-store`, `Allow: GET, HEAD`).

    For the plain Django views (probes, metrics): Django's `require_safe` answers an empty
    HTML 405 without the error code.
    """

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = json_error(MethodNotAllowedError(f'Method "{request.method}" not allowed.'))
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return checked
