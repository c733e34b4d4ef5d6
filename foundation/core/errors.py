"""Domain errors, each with the HTTP status and the stable `X-Error-Code` of REFERENCE.md.

Selectors and services raise these; `foundation.web.api.exception_handler` turns them into the
JSON error answer in one place.
"""

from __future__ import annotations

from typing import Any


class AdminError(Exception):
    """An error the caller can act on: its message is shown as is, so it never holds a secret.

    `error_code` is the class name unless a class says otherwise: the codes clients match on
    are the names of the other services' exceptions, so a class cannot drift from its code.
    """

    status_code: int = 500
    error_code: str = "UnexpectedApiError"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "error_code" not in cls.__dict__:
            cls.error_code = cls.__name__

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingRequiredParameterError(AdminError):
    status_code = 422
    error_code = "MissingRequiredParameter"


class InvalidParameterError(AdminError):
    status_code = 422
    error_code = "InvalidParameter"


class NotFoundError(AdminError):
    """An unknown kind or job type: the route does not exist."""

    status_code = 404
    error_code = "NotFound"


class ExternalUnauthenticatedError(AdminError):
    status_code = 401


class ExternalAuthenticatedError(AdminError):
    status_code = 404


class AuthCheckHubRequestError(AdminError):
    status_code = 500


class UnexpectedApiError(AdminError):
    status_code = 500


class DatabaseUnavailableError(AdminError):
    """MongoDB did not answer within ADMIN_MONGO_TIMEOUT_SECONDS: retry later, nothing was changed by us."""

    status_code = 503


class FormRefusedError(AdminError):
    """A console form posted without a valid CSRF token (an old page, or not sent by the console)."""

    status_code = 403
    error_code = "FormRefused"


class CrossSiteRequestError(AdminError):
    """A write sent by a browser from a page of another site (no valid Origin or CSRF token)."""

    status_code = 403
    error_code = "CrossSiteRequestRefused"


class HostNotAllowedError(AdminError):
    """A request addressed to a host name the server is not configured with (ALLOWED_HOSTS)."""

    status_code = 400
    error_code = "DisallowedHost"


class MethodNotAllowedError(AdminError):
    """A method the route does not take (a POST on a probe): 405, the code DRF routes answer too."""

    status_code = 405
    error_code = "MethodNotAllowed"


class RequestBodyTooLargeError(AdminError):
    """The request body is over Django's DATA_UPLOAD_MAX_MEMORY_SIZE: refused before it is read."""

    status_code = 413


class LengthRequiredError(AdminError):
    """A request body without a Content-Length (chunked), which a WSGI application cannot read: 411."""

    status_code = 411
