"""The login and logout pages of the browser: paste a Hub token, get a session.

GET /admin/login shows the form; POST /admin/login checks the token on the Hub (through
`HubTokenBackend`) and, when allowed, opens a browser session and redirects to `next` (a path
of this site only) or LOGIN_REDIRECT_URL. POST /admin/logout ends the session. Both POSTs are
CSRF-protected. The token is never put back into the page, not even after a refusal.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from foundation.auth import browser_sessions
from foundation.auth.authentication import HubUser, auth_enabled
from foundation.core.errors import AuthCheckHubRequestError
from foundation.web.console import html_view


def _next_url(request: HttpRequest) -> str:
    """Where to go after login: the `next` parameter if it is a path of this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return str(settings.LOGIN_REDIRECT_URL)


def _login_page(request: HttpRequest, *, error: str | None = None, status: int = 200) -> HttpResponse:
    context = {
        "next": _next_url(request),
        "error": error,
        "organization": settings.ADMIN.hf_organization,
        "signed_in_as": browser_sessions.displayed_identity(request),
    }
    return render(request, "auth/login.html", context, status=status)


HUB_UNREACHABLE_AT_LOGIN = (
    "The Hub could not be reached to check this token: you are not signed in. Paste the token again in a moment."
)


def _hub_unavailable_login_page(request: HttpRequest, error: AuthCheckHubRequestError) -> HttpResponse:
    """The login form again (never the token), with the Hub failure in words and its status.

    A page of its own would leave the browser on a POST result holding the token: reloading
    it would send the token again.
    """
    response = _login_page(request, error=HUB_UNREACHABLE_AT_LOGIN, status=error.status_code)
    response["X-Error-Code"] = error.error_code
    return response


@html_view
@sensitive_post_parameters("token")
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST `token` (and `next`): check it on the Hub and open a session."""
    if not auth_enabled():
        return HttpResponseRedirect(_next_url(request))
    if request.method == "GET":
        return _login_page(request)
    token = request.POST.get("token", "").strip()
    if not token:
        return _login_page(request, error="Paste a Hugging Face Hub token.", status=401)
    try:
        user = authenticate(request, hub_token=token)
    except AuthCheckHubRequestError as error:
        return _hub_unavailable_login_page(request, error)
    if not isinstance(user, HubUser):
        organization = settings.ADMIN.hf_organization
        message = f"The Hub did not accept this token: it must grant write access to the {organization} organization."
        return _login_page(request, error=message, status=401)
    browser_sessions.open_session(request, token=token, identity=user.identity)
    return HttpResponseRedirect(_next_url(request))


@html_view
@never_cache
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """POST: end the browser session, then show the login page, which says so."""
    browser_sessions.close_session(request)
    messages.info(request, "You are signed out.")
    return HttpResponseRedirect(str(settings.LOGIN_URL))
