"""Plumbing shared by every HTML page of the console: errors, GET parameters, the layout context.

Pages answer HTML; a bad parameter, an unknown kind or a missing entry is an error page with
the status of REFERENCE.md (422, 404), made here and nowhere else, never a traceback. Pages
show live data to a logged-in maintainer, so they are never cached.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from pymongo.errors import PyMongoError

from adminsite.dataset_names import is_valid_dataset_name
from adminsite.errors import AdminError, InvalidParameterError, UnexpectedApiError
from adminsite.identity import identity_of

logger = logging.getLogger(__name__)

P = ParamSpec("P")

MAX_TEXT_PARAMETER_LENGTH = 200
"""Longer filter values (error codes, names) cannot match anything: refused before any query."""


def render_page(request: HttpRequest, template: str, context: Mapping[str, Any], *, status: int = 200) -> HttpResponse:
    response = render(request, template, dict(context), status=status)
    response["Cache-Control"] = "no-store"
    return response


def error_page(request: HttpRequest, error: AdminError) -> HttpResponse:
    response = render_page(request, "pages/error.html", {"error": error}, status=error.status_code)
    response["X-Error-Code"] = error.error_code
    return response


def console_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the domain errors of a page view into an error page with their status."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AdminError as error:
            return error_page(request, error)
        except PyMongoError:
            logger.exception("database error in a page")
            return error_page(request, UnexpectedApiError("The database could not be read. Try again later."))
        except Exception:
            logger.exception("unexpected error in a page")
            return error_page(request, UnexpectedApiError("Unexpected error."))

    return wrapper


def text_parameter(request: HttpRequest, name: str) -> str | None:
    """A GET parameter, stripped; blank or absent is None."""
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    if len(value) > MAX_TEXT_PARAMETER_LENGTH:
        raise InvalidParameterError(f"Parameter '{name}' is too long")
    return value


def choice_parameter(request: HttpRequest, name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    value = text_parameter(request, name)
    if value is not None and value not in choices:
        raise InvalidParameterError(f"Parameter '{name}' must be one of: {', '.join(choices)}")
    return value


def integer_parameter(request: HttpRequest, name: str, *, minimum: int, maximum: int) -> int | None:
    value = text_parameter(request, name)
    if value is None:
        return None
    if not value.isdecimal() or not minimum <= int(value) <= maximum:
        raise InvalidParameterError(f"Parameter '{name}' must be an integer between {minimum} and {maximum}")
    return int(value)


def dataset_filter_parameter(request: HttpRequest, name: str = "dataset") -> str | None:
    """A dataset name, checked as the Hub names repos before it reaches a query."""
    value = text_parameter(request, name)
    if value is not None and not is_valid_dataset_name(value):
        raise InvalidParameterError(f"Parameter '{name}' is not a valid dataset name")
    return value


def console_context(request: HttpRequest) -> dict[str, Any]:
    """Context processor: who is logged in, and the dataset searched for (the header's search box)."""
    return {"identity": identity_of(request), "searched_dataset": request.GET.get("dataset", "")[:200]}
