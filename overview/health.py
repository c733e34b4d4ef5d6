"""Liveness: answers `ok` without touching a database, so a slow MongoDB never kills the pod.

Under uvicorn, a GET or HEAD of the probe is answered the same way before Django, without
waiting for a thread (`adminsite.asgi.LivenessFirst`); this view answers the other methods.
Readiness (/admin/readiness) is the one that asks the databases.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from foundation.core.errors import DatabaseUnavailableError
from foundation.database.probes import ping_databases
from foundation.web.error_answers import json_error, json_safe_methods_only


@csrf_exempt
@json_safe_methods_only
def healthcheck(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@json_safe_methods_only
def readiness(request: HttpRequest) -> HttpResponse:
    """Ready: both databases answer a ping within the probe timeout (at most 1 s); else a 503
    naming the silent one, so the load balancer stops sending traffic this pod cannot serve."""
    verdicts = ping_databases(settings.ADMIN)
    databases = {name: "ok" if answered else "unreachable" for name, answered in verdicts.items()}
    silent = [name for name, answered in verdicts.items() if not answered]
    if silent:
        error = DatabaseUnavailableError(f"MongoDB did not answer: {', '.join(silent)}")
        return json_error(error, databases=databases)
    response = JsonResponse({"status": "ready", "databases": databases})
    response["Cache-Control"] = "no-store"
    return response
