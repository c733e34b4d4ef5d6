"""Plumbing shared by every HTML page of the console: errors, forms' outcomes, the layout context.

Pages answer HTML; a bad parameter (checked by the serializers of `foundation.web.parameters`),
an unknown kind or a missing entry is an error page with the status of REFERENCE.md (422,
404), made here and nowhere else, never a traceback. Pages show live data to a logged-in
maintainer, so they are never cached.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from foundation.core.errors import AdminError
from foundation.web.error_answers import as_admin_error

logger = logging.getLogger(__name__)

P = ParamSpec("P")

MAX_SHOWN_LENGTH = 200
"""A posted field longer than this is cut short when a message shows it back."""


def render_page(request: HttpRequest, template: str, context: Mapping[str, Any], *, status: int = 200) -> HttpResponse:
    response = render(request, template, dict(context), status=status)
    response["Cache-Control"] = "no-store"
    return response


def error_page(request: HttpRequest, error: AdminError) -> HttpResponse:
    response = render_page(request, "pages/error.html", {"error": error}, status=error.status_code)
    response["X-Error-Code"] = error.error_code
    return response


RENDERS_HTML = "renders_html"
"""Attribute of a view that answers HTML: its errors outside the view are HTML pages too."""


def html_view(view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """Mark a view as an HTML one (the mark survives `functools.wraps` decorators around it)."""
    setattr(view, RENDERS_HTML, True)
    return view


def renders_html(request: HttpRequest) -> bool:
    """Whether the request went to an HTML view (a page, an action, the login)."""
    match = getattr(request, "resolver_match", None)
    return match is not None and getattr(match.func, RENDERS_HTML, False) is True


def console_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the domain errors of a page view into an error page with their status.

    MongoDB unreachable is a 503 page (DatabaseUnavailableError), as the JSON routes answer.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Exception as exception:  # every error becomes a page, never a traceback
            return error_page(request, as_admin_error(exception, where="a page"))

    return html_view(wrapper)


def redirect_page(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


def console_action(
    *, back: Callable[[HttpRequest], str], about: Callable[[HttpRequest], str] | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A form's POST: its errors become a message on the page the form came from (`back`).

    POST-redirect-GET: the view adds its outcome as a message and redirects; an AdminError
    (bad input, Hub refusal or timeout, database down) is shown in words the same way,
    prefixed by `about(request)` ("Force-refresh of <step> for <dataset> / <config>") when the
    page holds many such forms, so the message says which one failed. Messages hold our
    sentences, posted names and `AdminError.message`, which never holds a secret.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except Exception as exception:  # every error becomes a message, never a traceback
                message = as_admin_error(exception, where="a form").message
                messages.error(request, message if about is None else f"{about(request)}: {message}")
                return redirect_page(back(request))

        return html_view(wrapper)

    return decorator


def form_value(request: HttpRequest, name: str) -> str | None:
    """A posted field, unchecked, absent or blank as None: where a form's outcome leads back to.

    Only for the way back after an error (an invalid name is left out of the link); the
    parameters an action acts on are read by its serializer.
    """
    value = request.POST.get(name)
    return value if isinstance(value, str) and value.strip() else None


def form_text(request: HttpRequest, name: str) -> str | None:
    """A posted field to show back in a message: stripped and cut short (it is not checked yet)."""
    value = form_value(request, name)
    if value is None:
        return None
    value = value.strip()
    return value if len(value) <= MAX_SHOWN_LENGTH else f"{value[:MAX_SHOWN_LENGTH]}…"
