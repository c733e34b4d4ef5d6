"""HTML pages that span both databases: the dashboard and the processing graph."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from cachereports import selectors as cache_selectors
from foundation.auth.authentication import page_login_required
from foundation.web.console import console_page, render_page
from foundation.web.graph_drawing import graph_drawing
from foundation.web.live import reused_while_polled
from jobs import selectors as job_selectors

TOP_ROOT_ERRORS = 10
"""How many root-error groups the dashboard lists, the largest first (the errors page lists all)."""


@page_login_required
@console_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """GET /admin/: the queue and its stale jobs, cache health, root-error groups, blocked datasets.

    A constant few commands, none over all the cache entries: the root-error groups are
    counted at most once a minute per process (at worker start, then behind the load that
    finds them a minute old), and builder-name counts are shown only when this process has
    counted them, else loaded apart (/admin/builder-names).
    """
    return render_page(request, "pages/dashboard.html", reused_while_polled(request, _dashboard_context))


def _dashboard_context() -> dict[str, Any]:
    """The dashboard's data: reused by its polls for the interval (foundation.web.live)."""
    root_errors = cache_selectors.cache_errors_reused()
    return {
        "queue": job_selectors.queue_summary(),
        "stale_jobs": job_selectors.count_stale_jobs(),
        "cache": cache_selectors.cache_health(),
        "root_errors": root_errors,
        "top_root_errors": root_errors.errors[:TOP_ROOT_ERRORS],
        "builder_names": cache_selectors.recent_builder_name_counts(),
        "blocked": job_selectors.blocked_datasets_report(),
    }


@page_login_required
@console_page
def graph(request: HttpRequest) -> HttpResponse:
    """GET /admin/graph: the steps drawn layer by layer (no database command)."""
    return render_page(request, "pages/graph.html", {"drawing": graph_drawing()})
