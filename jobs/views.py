"""HTML pages of the queue: the job list and the blocked datasets."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from foundation.auth.authentication import page_login_required
from foundation.core.dataset_names import is_valid_part
from foundation.core.errors import InvalidParameterError
from foundation.core.processing_graph import processing_graph
from foundation.core.words import plural
from foundation.web.console import (
    choice_parameter,
    console_page,
    dataset_filter_parameter,
    integer_parameter,
    redirect_page,
    render_page,
)
from foundation.web.live import is_poll, reused_while_polled
from jobs import selectors
from jobs.constants import PENDING_STATUSES, Priority
from jobs.filters import filter_parameters

JOBS_PAGE_SIZE = 50
MAX_PAGE = 100_000
DEFAULT_SORT = "created_at"


def _namespace_parameter(request: HttpRequest) -> str | None:
    namespace = request.GET.get("namespace", "").strip() or None
    if namespace is not None and not is_valid_part(namespace):
        raise InvalidParameterError("Parameter 'namespace' is not a valid namespace")
    return namespace


@page_login_required
@console_page
def jobs_list(request: HttpRequest) -> HttpResponse:
    """GET /admin/jobs?type=&status=&priority=&dataset=&namespace=&worker_size=&stale=&sort=&page=

    The page of jobs, their count, their blockages and the filter's stale jobs by type and worker
    size: four commands. Stale jobs can be requeued from here (`bulkops.requeue_views`).
    """
    priorities = [priority.value for priority in reversed(Priority)]
    stale = choice_parameter(request, "stale", ("0", "1")) == "1"
    filters = selectors.JobFilters(
        type=choice_parameter(request, "type", processing_graph().names),
        status=choice_parameter(request, "status", PENDING_STATUSES),
        priority=choice_parameter(request, "priority", priorities),
        dataset=dataset_filter_parameter(request),
        namespace=_namespace_parameter(request),
        worker_size=choice_parameter(request, "worker_size", selectors.WORKER_SIZES),
        stale_before=selectors.stale_before() if stale else None,
    )
    sort = choice_parameter(request, "sort", list(selectors.JOB_SORTS)) or DEFAULT_SORT
    page = integer_parameter(request, "page", minimum=1, maximum=MAX_PAGE) or 1
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
