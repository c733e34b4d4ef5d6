"""The HTTP plumbing as a Django app: only to connect the CORS rule (`foundation.web.cors`) at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "foundation.web"
    label = "web"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from foundation.web.cors import is_json_api_request

        check_request_enabled.connect(is_json_api_request, dispatch_uid="foundation.web.cors")
