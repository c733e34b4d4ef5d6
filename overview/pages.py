"""HTML pages that span both databases: the dashboard, the builder names and the processing graph."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from cachereports.selectors import health
from foundation.auth.authentication import page_login_required
from foundation.database import mongo
from foundation.web.console import console_page, render_page
from foundation.web.graph_drawing import graph_drawing
from foundation.web.live import reused_while_polled
from jobs import selectors as job_selectors
from overview.activity_page import dashboard_activity
from overview.counts import latest_counts

TOP_ROOT_ERRORS = 10
"""How many root-error groups the dashboard lists, the largest first (the errors page lists all)."""


@page_login_required
@console_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """GET /admin/: the queue and its stale jobs, cache health, root-error groups, blocked datasets.

    A constant few commands, none over all the cache entries: the root-error groups and the
    builder names are those `manage.py collect_counts` wrote last (one find), shown with their age;
    the sparklines of the last hour cost the activity page's two commands (its samples, and the
    entries written in that hour through index `kind_updated`).
    """
    return render_page(request, "pages/dashboard.html", reused_while_polled(request, _dashboard_context))


def _dashboard_context() -> dict[str, Any]:
    """The dashboard's data: reused by its polls for the interval (foundation.web.live)."""
    counts = latest_counts()
    return {
        "queue": job_selectors.queue_summary(),
        "stale_jobs": job_selectors.count_stale_jobs(),
        "cache": health.cache_health(),
        "root_errors": counts.root_errors,
        "top_root_errors": counts.root_errors.errors[:TOP_ROOT_ERRORS] if counts.root_errors else [],
        "builder_names": counts.builder_names,
        "blocked": job_selectors.blocked_datasets_report(),
        "activity": dashboard_activity(now=mongo.utc_now()),
    }


@page_login_required
@console_page
def builder_names(request: HttpRequest) -> HttpResponse:
    """GET /admin/builder-names: datasets by builder name, as `manage.py collect_counts` counted them last."""
    return render_page(request, "pages/builder_names.html", {"builder_names": latest_counts().builder_names})


@page_login_required
@console_page
def graph(request: HttpRequest) -> HttpResponse:
    """GET /admin/graph: the steps drawn layer by layer (no database command)."""
    return render_page(request, "pages/graph.html", {"drawing": graph_drawing()})
