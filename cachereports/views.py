"""HTML pages of the cache: the cache browser and one cache entry."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from cachereports.parameters import CacheEntryParameters, CacheErrorsParameters, CacheListParameters
from cachereports.selectors import entries, error_groups
from foundation.auth.authentication import page_login_required
from foundation.core.processing_graph import processing_graph
from foundation.web.console import console_page, render_page
from foundation.web.live import reused_while_polled
from foundation.web.parameters import validated


@page_login_required
@console_page
def cache_list(request: HttpRequest) -> HttpResponse:
    """GET /admin/cache?kind=&http_status=&error_code=&cause_exception=&no_exception=&root_only=&after=|before=

    Without kind: choose one.
    """
    parameters = validated(CacheListParameters, request.GET.dict())
    kind, after, before = parameters["kind"], parameters["after"], parameters["before"]
    page = None
    if kind is not None:
        page = entries.cache_entries_page(
            kind=kind.name,
            http_status=parameters["http_status"],
            error_code=parameters["error_code"],
            after=after,
            before=before,
            limit=settings.ADMIN.cache_reports_num_results,
            cause_exception=parameters["cause_exception"],
            root_errors_only=parameters["root_only"],
            without_cause_exception=parameters["no_exception"],
        )
    return render_page(
        request,
        "pages/cache.html",
        {
            "kind": kind.name if kind is not None else None,
            "http_status": parameters["http_status"],
            "error_code": parameters["error_code"],
            "cause_exception": parameters["cause_exception"],
            "root_only": parameters["root_only"],
            "no_exception": parameters["no_exception"],
            "page": page,
            "paged": after is not None or before is not None,
            "steps": list(processing_graph()),
        },
    )


@page_login_required
@console_page
def cache_entry(request: HttpRequest, entry_id: str) -> HttpResponse:
    """GET /admin/cache/<id>: one entry, its details and its content."""
    parameters = validated(CacheEntryParameters, {"entry_id": entry_id})
    detail = entries.cache_entry_detail(entry_id=parameters["entry_id"])
    return render_page(request, "pages/cache_entry.html", {"detail": detail})


@page_login_required
@console_page
def errors_page(request: HttpRequest) -> HttpResponse:
    """GET /admin/errors?kind=: root errors grouped by kind, error code and exception, largest first."""
    step = validated(CacheErrorsParameters, request.GET.dict())["kind"]
    kind = step.name if step is not None else None
    errors = reused_while_polled(request, lambda: {"errors": error_groups.cache_errors(kind=kind)})
    return render_page(request, "pages/errors.html", {"kind": kind, **errors, "steps": list(processing_graph())})
