"""HTML pages of the cache: the cache browser, one cache entry, one dataset."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from adminsite.authentication import page_login_required
from adminsite.console import console_page, dataset_filter_parameter, integer_parameter, render_page, text_parameter
from adminsite.errors import InvalidParameterError
from adminsite.processing_graph import processing_graph
from cachereports import selectors
from jobs.constants import DATASET_INIT_STEP, Priority


@page_login_required
@console_page
def cache_list(request: HttpRequest) -> HttpResponse:
    """GET /admin/cache?kind=&http_status=&error_code=&after=|before= (without kind: choose one)."""
    kind = text_parameter(request, "kind")
    http_status = integer_parameter(request, "http_status", minimum=100, maximum=599)
    error_code = text_parameter(request, "error_code")
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
        )
    return render_page(
        request,
        "pages/cache.html",
        {
            "kind": kind,
            "http_status": http_status,
            "error_code": error_code,
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
def dataset_page(request: HttpRequest) -> HttpResponse:
    """GET /admin/dataset?dataset=: every step of the dataset, with what is broken or missing."""
    dataset = dataset_filter_parameter(request)
    overview = selectors.dataset_overview(dataset=dataset) if dataset is not None else None
    priorities = [priority.value for priority in Priority]  # of the force-refresh forms, lowest (default) first
    return render_page(
        request,
        "pages/dataset.html",
        {"overview": overview, "priorities": priorities, "init_step": DATASET_INIT_STEP},
    )
