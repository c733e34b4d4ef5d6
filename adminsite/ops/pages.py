"""HTML pages that span both databases: the dashboard and the processing graph."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from adminsite.auth.authentication import page_login_required
from adminsite.web.console import console_page, render_page
from adminsite.web.graph_drawing import graph_drawing
from cachereports import selectors as cache_selectors
from jobs import selectors as job_selectors

TOP_ROOT_ERRORS = 10
"""How many root-error groups the dashboard lists, the largest first (the errors page lists all)."""


@page_login_required
@console_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """GET /admin/: queue, cache health, builder names, blocked datasets, root-error groups (5 commands)."""
    root_errors = cache_selectors.cache_errors(kind=None)
    return render_page(
        request,
        "pages/dashboard.html",
        {
            "queue": job_selectors.queue_summary(),
            "cache": cache_selectors.cache_health(),
            "root_errors": root_errors,
            "top_root_errors": root_errors.errors[:TOP_ROOT_ERRORS],
            "builder_names": cache_selectors.num_dataset_infos_by_builder_name(),
            "blocked_datasets": job_selectors.blocked_datasets(),
        },
    )


@page_login_required
@console_page
def graph(request: HttpRequest) -> HttpResponse:
    """GET /admin/graph: the steps drawn layer by layer (no database command)."""
    return render_page(request, "pages/graph.html", {"drawing": graph_drawing()})
