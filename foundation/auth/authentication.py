"""One Hub-token authentication, two doors: the JSON API (DRF) and the browser pages (Django).

Both doors end in `hub_whoami.verify_token`, so the rules, the error codes and the verdict cache
are the same everywhere.

- JSON API: `HubTokenAuthentication` reads `Authorization: Bearer <token>` and
  `IsAllowedByHub` lets only a verified identity through. They are DRF's default
  authentication and permission classes (settings.REST_FRAMEWORK), so every DRF view is
  protected without declaring anything, and their errors come out through
  `foundation.web.api.exception_handler` with the route's Cache-Control. Plain Django views (the
  healthchecks, /admin/metrics) do not go through DRF and stay open.
- Browser: `HubTokenBackend` is the Django authentication backend the login page uses
  (`django.contrib.auth.authenticate(request, hub_token=...)`, which also keeps the token out
  of error reports); `page_login_required` protects an HTML view: it reads the verified
  identity of the browser session (`foundation.auth.browser_sessions`, re-verified on the Hub every
  ADMIN_SESSION_REVERIFY_SECONDS) or redirects to the login page.

With ADMIN_HF_ORGANIZATION unset, auth is off: everything is open and the caller is
`ANONYMOUS`. In every case `request.hub_identity` is set (on the DRF request and on the Django
request underneath) for `foundation.core.identity.identity_of`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from foundation.auth import browser_sessions, hub_whoami
from foundation.core.errors import (
    AuthCheckHubRequestError,
    ExternalAuthenticatedError,
    ExternalUnauthenticatedError,
)
from foundation.core.identity import ANONYMOUS, HubIdentity

if TYPE_CHECKING:  # rest_framework.views reads the settings naming this module: no import at run time
    from rest_framework.views import APIView


def auth_enabled() -> bool:
    return settings.ADMIN.hf_organization is not None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _attach(request: Any, identity: HubIdentity) -> None:
    """Put the identity on the request (and on the Django request under a DRF one)."""
    request.hub_identity = identity
    django_request = getattr(request, "_request", None)
    if django_request is not None:
        django_request.hub_identity = identity


# --- JSON API -------------------------------------------------------------------------------


class HubTokenAuthentication(BaseAuthentication):
    """DRF authentication: the Bearer token, verified on the Hub. The DRF user is a HubIdentity."""

    def authenticate(self, request: Request) -> tuple[HubIdentity, None]:
        if not auth_enabled():
            identity = ANONYMOUS
        else:
            token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
            if token is None:
                raise ExternalUnauthenticatedError(hub_whoami.UNAUTHENTICATED_MESSAGE)
            identity = hub_whoami.verify_token(token=token)
        _attach(request, identity)
        return identity, None


class IsAllowedByHub(BasePermission):
    """DRF permission: with auth on, only an identity verified for the configured org passes.

    A second lock behind the authentication class: a view that swapped its authentication
    classes away still does not open.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        org = settings.ADMIN.hf_organization
        if org is None:
            return True
        user = getattr(request, "user", None)
        if isinstance(user, HubIdentity) and user.org == org:
            return True
        raise ExternalUnauthenticatedError(hub_whoami.UNAUTHENTICATED_MESSAGE)


# --- Browser --------------------------------------------------------------------------------


class HubUser:
    """The user object of `HubTokenBackend`: a verified identity (Django sets `.backend` on it)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, identity: HubIdentity) -> None:
        self.identity = identity
        self.username = identity.name
        self.pk = identity.name
        self.backend = ""

    def __repr__(self) -> str:
        return f"HubUser({self.identity.name!r}, org={self.identity.org!r})"


class HubTokenBackend:
    """Django authentication backend: `authenticate(request, hub_token=...)` asks the Hub.

    Returns None for a refused token (Hub 401, 403/404, not allowed by the rules), so the
    login page says so; a Hub failure raises AuthCheckHubRequestError (the page answers 500).
    There are no users to fetch by id: the session holds the identity (`get_user` is None).
    """

    def authenticate(self, request: HttpRequest | None, hub_token: str | None = None, **kwargs: Any) -> HubUser | None:
        if hub_token is None or not auth_enabled():
            return None
        try:
            identity = hub_whoami.verify_token(token=hub_token)
        except (ExternalUnauthenticatedError, ExternalAuthenticatedError):
            return None
        return HubUser(identity)

    def get_user(self, user_id: Any) -> None:
        return None


def hub_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The page shown when the Hub cannot be asked (500, AuthCheckHubRequestError)."""
    error = AuthCheckHubRequestError(hub_whoami.HUB_FAILURE_MESSAGE)
    response = render(request, "auth/hub_unavailable.html", {"message": error.message}, status=error.status_code)
    response["X-Error-Code"] = error.error_code
    patch_cache_control(response, no_store=True)
    return response


def page_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Protect an HTML page: a verified browser session, else a redirect to the login page.

    Sets `request.hub_identity`. With auth on, the page is marked private (it depends on who
    is logged in) and varies on the cookie.
    """

    @functools.wraps(view)
    def protected_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not auth_enabled():
            _attach(request, ANONYMOUS)
            return view(request, *args, **kwargs)
        try:
            identity = browser_sessions.session_identity(request)
        except AuthCheckHubRequestError:
            return hub_unavailable_response(request)
        if identity is None:
            return redirect_to_login(request.get_full_path(), login_url=settings.LOGIN_URL)
        _attach(request, identity)
        response = view(request, *args, **kwargs)
        patch_cache_control(response, private=True)
        patch_vary_headers(response, ["Cookie"])
        return response

    return protected_view
