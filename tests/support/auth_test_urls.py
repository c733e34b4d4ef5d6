"""The console's routes plus one page protected by `page_login_required`, for the login tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from adminsite.urls import urlpatterns as console_urlpatterns
from foundation.auth.authentication import page_login_required
from foundation.core.identity import identity_of


@page_login_required
def who_am_i_page(request: HttpRequest) -> HttpResponse:
    identity = identity_of(request)
    return HttpResponse(f"<p>Hello {identity.name} of {identity.org}</p>")


urlpatterns = [*console_urlpatterns, path("admin/test-page", who_am_i_page)]

handler404 = "foundation.web.error_answers.not_found"
handler500 = "foundation.web.error_answers.server_error"
