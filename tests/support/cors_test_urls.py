"""The console's routes plus a JSON route that no setting names, for the CORS tests."""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from adminsite.urls import urlpatterns as console_urlpatterns
from foundation.web.api import ReadAPIView


class BrandNewApi(ReadAPIView):
    """GET /admin/brand-new-route: a JSON route added after the CORS settings were written."""

    def get(self, request: Request) -> Response:
        return Response({"new": True})


urlpatterns = [*console_urlpatterns, path("admin/brand-new-route", BrandNewApi.as_view())]

handler404 = "foundation.web.error_answers.not_found"
handler500 = "foundation.web.error_answers.server_error"
