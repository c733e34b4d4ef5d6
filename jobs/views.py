"""HTML pages of the queue: the job list and the blocked datasets."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from foundation.auth.authentication import page_login_required
from foundation.core.processing_graph import processing_graph
from foundation.core.words import plural
from foundation.web.console import console_page, redirect_page, render_page
from foundation.web.live import is_poll, reused_while_polled
from foundation.web.parameters import validated
from jobs import selectors
from jobs.constants import PENDING_STATUSES, Priority
from jobs.filters import filter_parameters
from jobs.parameters import JobsPageParameters

JOBS_PAGE_SIZE = 50


@page_login_required
@console_page
def jobs_list(request: HttpRequest) -> HttpResponse:
    """GET /admin/jobs?type=&status=&priority=&dataset=&namespace=&worker_size=&stale=&sort=&page=

    The page of jobs, their count, their blockages and the filter's stale jobs by type and worker
    size: four commands. Stale jobs can be requeued from here (`bulkops.requeue_views`).
    """
    priorities = [priority.value for priority in reversed(Priority)]
    parameters = validated(JobsPageParameters, request.GET.dict())
    filters = selectors.JobFilters(
        type=parameters["type"],
        status=parameters["status"],
        priority=parameters["priority"],
        dataset=parameters["dataset"],
        namespace=parameters["namespace"],
        worker_size=parameters["worker_size"],
        stale_before=selectors.stale_before() if parameters["stale"] == "1" else None,
    )
    sort, page = parameters["sort"], parameters["page"]
    data = reused_while_polled(
        request,
        lambda: {
            "jobs_page": selectors.jobs_page(filters=filters, sort=sort, page=page, page_size=JOBS_PAGE_SIZE),
            "stale_summary": selectors.stale_jobs_summary(filters=filters),
        },
    )
    jobs_page = data["jobs_page"]
    if jobs_page.page > jobs_page.num_pages and not is_poll(request):  # a poll keeps its page, emptied
        return _last_jobs_page(request, jobs_page)
    return render_page(
        request,
        "pages/jobs.html",
        {
            **data,
            "stale_filter_query": _stale_filter_query(filters),
            "filters": filters,
            "sort": sort,
            "job_types": processing_graph().names,
            "statuses": PENDING_STATUSES,
            "priorities": priorities,
            "worker_sizes": selectors.WORKER_SIZES,
            "stale_job_seconds": settings.ADMIN.stale_job_seconds,
        },
    )


def _stale_filter_query(filters: selectors.JobFilters) -> str:
    """The filters a requeue of the page's stale jobs takes (status aside: stale jobs are started)."""
    return urlencode(filter_parameters(filters))


def _last_jobs_page(request: HttpRequest, jobs_page: selectors.JobsPage) -> HttpResponse:
    """A page past the end (the queue shrank, or a hand-typed URL): the last page, said in words."""
    last = jobs_page.num_pages
    pages = plural(last, "page", "pages")
    messages.info(request, f"There is no page {jobs_page.page}: {pages} in all, here is the last.")
    query = request.GET.copy()
    query["page"] = str(last)
    return redirect_page(f"{reverse('console-jobs')}?{query.urlencode()}")


@page_login_required
@require_GET
@console_page
def blocked_datasets(request: HttpRequest) -> HttpResponse:
    """GET /admin/blocked: why each dataset is blocked, and until when (two commands)."""
    return render_page(request, "pages/blocked.html", {"blocked": selectors.blocked_datasets_report()})
