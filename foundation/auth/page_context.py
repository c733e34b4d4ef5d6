"""What every console page knows of its visitor: who is logged in, and the CSRF refusal page.

Here rather than in `foundation.web.console` because both ask the browser session: the web
plumbing stays below auth (auth's login views render through it).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from foundation.auth.authentication import auth_enabled
from foundation.auth.browser_sessions import displayed_identity
from foundation.core.errors import FormRefusedError
from foundation.core.identity import identity_of
from foundation.web.console import error_page

FORM_REFUSED_MESSAGE = "This form has expired or was not sent by this console: reload the page and try again."


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form without a valid CSRF token is the console's 403 error page.

    Only console forms reach it: the JSON routes are DRF views, exempt from the CSRF check
    (they authenticate with a Bearer token, never a cookie). Django's reason is not shown.
    """
    if auth_enabled() and not hasattr(request, "hub_identity"):
        # for the top bar only (the check runs before any view verified the session):
        # the name the signed session cookie holds, so the page does not say "not logged in"
        displayed = displayed_identity(request)
        if displayed is not None:
            request.hub_identity = displayed  # type: ignore[attr-defined]
    return error_page(request, FormRefusedError(FORM_REFUSED_MESSAGE))


def console_context(request: HttpRequest) -> dict[str, Any]:
    """Context processor: who is logged in (and whether to offer a logout), the dataset searched for."""
    return {
        "identity": identity_of(request),
        "auth_enabled": auth_enabled(),
        "searched_dataset": request.GET.get("dataset", "")[:200],
    }
