"""HTML pages of the queue: the job list."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from adminsite.authentication import page_login_required
from adminsite.console import choice_parameter, console_page, dataset_filter_parameter, integer_parameter, render_page
from adminsite.dataset_names import is_valid_part
from adminsite.errors import InvalidParameterError
from adminsite.processing_graph import processing_graph
from jobs import selectors
from jobs.constants import PENDING_STATUSES, Priority

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
    """GET /admin/jobs?type=&status=&priority=&dataset=&namespace=&worker_size=&sort=&page="""
    priorities = [priority.value for priority in reversed(Priority)]
    filters = selectors.JobFilters(
        type=choice_parameter(request, "type", processing_graph().names),
        status=choice_parameter(request, "status", PENDING_STATUSES),
        priority=choice_parameter(request, "priority", priorities),
        dataset=dataset_filter_parameter(request),
        namespace=_namespace_parameter(request),
        worker_size=choice_parameter(request, "worker_size", selectors.WORKER_SIZES),
    )
    sort = choice_parameter(request, "sort", list(selectors.JOB_SORTS)) or DEFAULT_SORT
    page = integer_parameter(request, "page", minimum=1, maximum=MAX_PAGE) or 1
    return render_page(
        request,
        "pages/jobs.html",
        {
            "jobs_page": selectors.jobs_page(filters=filters, sort=sort, page=page, page_size=JOBS_PAGE_SIZE),
            "filters": filters,
            "sort": sort,
            "job_types": processing_graph().names,
            "statuses": PENDING_STATUSES,
            "priorities": priorities,
            "worker_sizes": selectors.WORKER_SIZES,
        },
    )
