"""The jobs page's requeue of stale jobs: one job from its row, or every stale job of a filter.

- POST /admin/jobs/requeue (`job`, `back`): one job, then back to the jobs page (POST-redirect-GET)
  with what happened in a message: requeued, or left alone and why.
- GET /admin/jobs/requeue-stale?<the jobs page's filters>: the confirmation, which states how many
  stale jobs match and lists the first ones; nothing is written.
- POST of that page: every stale job of the filter, batch after batch, then the report of each job.

All of it works without JavaScript (plain forms), and calls `bulkops.stale_jobs` with the
session's identity, as the JSON route and the command do: same writes, same audit entries.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.views.decorators.http import require_POST

from bulkops import stale_jobs
from bulkops.services import MAX_LIMIT
from foundation.auth.authentication import page_login_required
from foundation.core.identity import identity_of
from foundation.web.console import console_action, console_page, redirect_page, render_page
from jobs import selectors as job_selectors
from jobs.filters import JOB_FILTER_FIELDS, filter_parameters, parse_from
from jobs.requeue import LeftAlone, Requeued, RequeueResult

PREVIEW_ROWS = 20
"""How many of the matching stale jobs the confirmation lists."""

JOBS_PAGE_PARAMETERS = ("type", "status", "priority", "dataset", "namespace", "worker_size", "stale", "sort", "page")
"""What a jobs page URL may carry back after a requeue (anything else posted is dropped)."""


def _jobs_page(query: str) -> str:
    """The jobs page with the known parameters of a query string (never an arbitrary URL)."""
    given = QueryDict(query[:2000])
    kept = {name: given[name] for name in JOBS_PAGE_PARAMETERS if given.get(name)}
    return f"{reverse('console-jobs')}?{urlencode(kept)}" if kept else reverse("console-jobs")


def _back(request: HttpRequest) -> str:
    return _jobs_page(request.POST.get("back") or "")


@page_login_required
@require_POST
@console_action(back=_back, about=lambda request: "Requeue")
def requeue_job_action(request: HttpRequest) -> HttpResponse:
    """POST /admin/jobs/requeue (job, back): requeue one stale job from its row of the jobs page."""
    job_id = stale_jobs.parse_job_id(request.POST.get("job"))
    result = stale_jobs.requeue_one_stale_job(job_id=job_id, actor=identity_of(request))
    if isinstance(result, LeftAlone):
        messages.warning(request, stale_jobs.result_words(result))
    else:
        messages.success(request, stale_jobs.result_words(result))
    return redirect_page(_back(request))


def _filter_query(filters: job_selectors.JobFilters) -> str:
    return urlencode(filter_parameters(filters))


@page_login_required
@console_page
def requeue_stale_jobs_page(request: HttpRequest) -> HttpResponse:
    """GET: how many stale jobs the filter matches, and a button that says it. POST: requeue them all."""
    source = request.POST if request.method == "POST" else request.GET
    filters = parse_from(source, stale_before=job_selectors.stale_before())
    context: dict[str, Any] = {
        "filters": filters,
        "filter_fields": {name: getattr(filters, name) for name in JOB_FILTER_FIELDS},
        "jobs_url": _jobs_page(f"stale=1&{_filter_query(filters)}"),
    }
    actor = identity_of(request)
    if request.method != "POST":
        preview = stale_jobs.requeue_stale_jobs(
            filters=filters, cursor="", limit=PREVIEW_ROWS, dry_run=True, actor=actor
        )
        return render_page(request, "pages/requeue_stale.html", {**context, "preview": preview})
    results: list[RequeueResult] = []
    cursor, matched = "", 0
    while True:
        outcome = stale_jobs.requeue_stale_jobs(
            filters=filters, cursor=cursor, limit=MAX_LIMIT, dry_run=False, actor=actor
        )
        matched = matched or outcome.matched
        results.extend(outcome.results)
        cursor = outcome.next_cursor
        if not cursor:
            break
    requeued = [result for result in results if isinstance(result, Requeued)]
    return render_page(
        request,
        "pages/requeue_stale.html",
        {
            **context,
            "results": [(result, stale_jobs.result_words(result)) for result in results],
            "requeued": len(requeued),
            "created": sum(1 for result in requeued if result.action == "created"),
            "left_alone": len(results) - len(requeued),
            "matched": matched,
        },
    )
