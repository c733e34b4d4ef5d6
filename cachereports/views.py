"""HTML pages of the cache: the cache browser and one cache entry."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from cachereports import selectors
from foundation.auth.authentication import page_login_required
from foundation.core.errors import InvalidParameterError
from foundation.core.processing_graph import processing_graph
from foundation.web.console import console_page, integer_parameter, render_page, text_parameter
from foundation.web.live import reused_while_polled


@page_login_required
@console_page
def cache_list(request: HttpRequest) -> HttpResponse:
    """GET /admin/cache?kind=&http_status=&error_code=&cause_exception=&no_exception=&root_only=&after=|before=

    Without kind: choose one.
    """
    kind = text_parameter(request, "kind")
    http_status = integer_parameter(request, "http_status", minimum=100, maximum=599)
    error_code = text_parameter(request, "error_code")
    cause_exception = text_parameter(request, "cause_exception")
    root_only = text_parameter(request, "root_only") is not None
    no_exception = cause_exception is None and text_parameter(request, "no_exception") is not None
    after, before = request.GET.get("after", "").strip(), request.GET.get("before", "").strip()
    if after and before:
        raise InvalidParameterError("Give 'after' or 'before', not both.")
    page = None
    if kind is not None:
        page = selectors.cache_entries_page(
            kind=kind,
            http_status=http_status,
            error_code=error_code,
            after=after,
            before=before,
            limit=settings.ADMIN.cache_reports_num_results,
            cause_exception=cause_exception,
            root_errors_only=root_only,
            without_cause_exception=no_exception,
        )
    return render_page(
        request,
        "pages/cache.html",
        {
            "kind": kind,
            "http_status": http_status,
            "error_code": error_code,
            "cause_exception": cause_exception,
            "root_only": root_only,
            "no_exception": no_exception,
            "page": page,
            "paged": bool(after or before),
            "steps": list(processing_graph()),
        },
    )


@page_login_required
@console_page
def cache_entry(request: HttpRequest, entry_id: str) -> HttpResponse:
    """GET /admin/cache/<id>: one entry, its details and its content."""
    return render_page(request, "pages/cache_entry.html", {"detail": selectors.cache_entry_detail(entry_id=entry_id)})


@page_login_required
@console_page
def errors_page(request: HttpRequest) -> HttpResponse:
    """GET /admin/errors?kind=: root errors grouped by kind, error code and exception, largest first."""
    kind = text_parameter(request, "kind")
    errors = reused_while_polled(request, lambda: {"errors": selectors.cache_errors(kind=kind)})
    return render_page(request, "pages/errors.html", {"kind": kind, **errors, "steps": list(processing_graph())})


@page_login_required
@console_page
def builder_names(request: HttpRequest) -> HttpResponse:
    """GET /admin/builder-names: datasets by builder name, counted at most once a minute per process.

    Loaded apart from the dashboard (its script fetches this page's table), so that the one
    aggregation over the `dataset-info` entries never delays the dashboard itself.
    """
    return render_page(request, "pages/builder_names.html", {"builder_names": selectors.builder_name_counts()})
