"""HTML pages of one dataset: its page, and the repair forms (force-refresh, recreate, backfill).

The forms read their fields with the serializers of the JSON routes (`datasetops.parameters`)
and call the same services (`datasetops.apis`), with the same actor, so they answer the same
mistakes in the same words and write the same documents and audit entries. Each POST
redirects (POST-redirect-GET) to the page it came from, with its outcome as a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from cachereports.selectors import reports as cache_reports
from datasetops import selectors, services
from datasetops.parameters import (
    DatasetOperationParameters,
    DatasetPageParameters,
    RecreateFormParameters,
    RecreatePageParameters,
    force_refresh_request,
)
from foundation.auth.authentication import page_login_required
from foundation.core import assets
from foundation.core.dataset_names import is_valid_dataset_name
from foundation.core.identity import identity_of
from foundation.core.words import plural
from foundation.web.console import (
    console_action,
    console_page,
    form_text,
    form_value,
    html_view,
    redirect_page,
    render_page,
)
from foundation.web.live import reused_while_polled
from foundation.web.parameters import form_values, validated
from jobs import selectors as job_selectors
from jobs.constants import DATASET_INIT_STEP, Priority
from jobs.rows import Job


@page_login_required
@console_page
def dataset_page(request: HttpRequest) -> HttpResponse:
    """GET /admin/dataset?dataset=: every step of the dataset, with what is broken or missing."""
    parameters = validated(DatasetPageParameters, request.GET.dict())
    dataset, errors_only = parameters["dataset"], parameters["errors"] == "1"
    overview = (
        reused_while_polled(request, lambda: {"overview": selectors.dataset_overview(dataset=dataset)})["overview"]
        if dataset is not None
        else None
    )
    priorities = [priority.value for priority in Priority]  # of the force-refresh forms, lowest (default) first
    return render_page(
        request,
        "pages/dataset.html",
        {"overview": overview, "errors_only": errors_only, "priorities": priorities, "init_step": DATASET_INIT_STEP},
    )


PRIORITIES = [priority.value for priority in Priority]


def _with_dataset(url: str, dataset: str | None) -> str:
    """`url?dataset=...` when the name is valid (never put an unchecked name into a link), else `url`."""
    if dataset is None or not is_valid_dataset_name(dataset):
        return url
    return f"{url}?{urlencode({'dataset': dataset})}"


def _dataset_page(request: HttpRequest) -> str:
    return _with_dataset(reverse("console-dataset"), form_value(request, "dataset"))


def _recreate_page(request: HttpRequest) -> str:
    dataset = form_value(request, "dataset")
    if dataset is None or not is_valid_dataset_name(dataset):
        return reverse("console-dataset")
    return _with_dataset(reverse("console-recreate"), dataset)


def _artifact(job: Job) -> str:
    return " / ".join(str(part) for part in (job.dataset, job.config, job.split) if part is not None)


def changes_words(changes: dict[str, tuple[Any, Any]]) -> str:
    """`priority low -> high, difficulty 50 -> 80`: what a force-refresh changed on a standing job."""
    return ", ".join(f"{name} {old} \u2192 {new}" for name, (old, new) in changes.items())


def force_refresh_words(outcome: services.ForceRefreshOutcome) -> str:
    job = outcome.waiting_job.job
    what = f"{job.type} job for {_artifact(job)}"
    if outcome.waiting_job.action == "created":
        return (
            f"Force-refresh: a {what} is now waiting (priority {job.priority}, difficulty {outcome.difficulty},"
            f" revision {outcome.revision})."
        )
    if outcome.waiting_job.action == "updated":
        return f"Force-refresh: the waiting {what} was updated: {changes_words(outcome.waiting_job.changes)}."
    return f"Force-refresh: a {what} was already waiting (priority {job.priority}); nothing was added."


def _removed_words(outcome: services.RecreateOutcome) -> str:
    return (
        f"deleted {plural(outcome.deleted_jobs, 'waiting job', 'waiting jobs')},"
        f" {plural(outcome.deleted_cached_responses, 'cache entry', 'cache entries')} and"
        f" {plural(outcome.deleted_asset_folders, 'asset folder', 'asset folders')}"
    )


def _force_refresh_of(request: HttpRequest) -> str:
    """Which form failed: "Force-refresh of config-parquet for org/ds / default" (as posted)."""
    step = form_text(request, "step")
    parts = (form_text(request, name) for name in ("dataset", "config", "split"))
    artifact = " / ".join(part for part in parts if part)
    if step is None:
        return f"Force-refresh for {artifact}" if artifact else "Force-refresh"
    return f"Force-refresh of {step} for {artifact}" if artifact else f"Force-refresh of {step}"


@page_login_required
@require_POST
@console_action(back=_dataset_page, about=_force_refresh_of)
def force_refresh_action(request: HttpRequest) -> HttpResponse:
    """POST /admin/dataset/force-refresh (dataset, step, config, split, priority, difficulty)."""
    refresh = force_refresh_request({**form_values(request.POST), "job_type": request.POST.get("step")})
    outcome = services.force_refresh(request=refresh, actor=identity_of(request))
    messages.success(request, force_refresh_words(outcome))
    return redirect_page(_dataset_page(request))


@console_page
def _recreate_confirmation(request: HttpRequest) -> HttpResponse:
    """What a recreate would delete, counted without asking the Hub (the page opens even if it is slow)."""
    dataset = validated(RecreatePageParameters, request.GET.dict())["dataset"]
    context = {
        "dataset": dataset,
        "waiting_jobs": job_selectors.count_waiting_jobs_of_dataset(dataset=dataset),
        "cache_entries": cache_reports.count_cache_entries_of_dataset(dataset=dataset),
        "asset_folders": len(assets.existing_dataset_asset_folders(dataset=dataset)),
        "priorities": PRIORITIES,
        "init_step": DATASET_INIT_STEP,
    }
    return render_page(request, "pages/recreate.html", context)


@console_action(back=_recreate_page)
def _recreate_action(request: HttpRequest) -> HttpResponse:
    """Recreate when the typed name is exactly the dataset's; else nothing is deleted."""
    parameters = validated(RecreateFormParameters, form_values(request.POST))
    dataset, priority = parameters["dataset"], parameters["priority"]
    outcome = services.recreate_dataset(dataset=dataset, priority=priority, actor=identity_of(request))
    if outcome.not_supported is not None:
        removed = _removed_words(outcome)
        messages.warning(request, f"{outcome.not_supported.message} The dataset was removed: {removed}; no job queued.")
    elif outcome.waiting_job is not None and outcome.waiting_job.action == "already_started":
        messages.success(
            request,
            f"Recreated {dataset}: {_removed_words(outcome)}; the {DATASET_INIT_STEP} job of revision"
            f" {outcome.revision} is already running, so none was queued.",
        )
    else:
        messages.success(
            request,
            f"Recreated {dataset}: {_removed_words(outcome)}; a {DATASET_INIT_STEP} job is waiting"
            f" (priority {priority.value}, revision {outcome.revision}).",
        )
    return redirect_page(_dataset_page(request))


@page_login_required
@html_view
def recreate_dataset_page(request: HttpRequest) -> HttpResponse:
    """GET /admin/dataset/recreate?dataset=: the confirmation; POST (dataset, confirmation, priority): do it."""
    if request.method == "POST":
        return _recreate_action(request)
    if request.method in ("GET", "HEAD"):
        return _recreate_confirmation(request)
    return _method_not_allowed(request)


def _method_not_allowed(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("Method not allowed.", status=405, content_type="text/plain")
    response["Allow"] = "GET, HEAD, POST"
    return response


def backfill_words(outcome: services.BackfillOutcome) -> str:
    changes = outcome.changes
    at_revision = f"Backfill of {outcome.plan.dataset} at revision {outcome.plan.revision}"
    if not changes.created and not changes.deleted:
        return f"{at_revision}: nothing to do, the plan was empty."
    return (
        f"{at_revision}: created {plural(changes.created, 'job', 'jobs')},"
        f" deleted {plural(changes.deleted, 'waiting job', 'waiting jobs')}."
    )


@page_login_required
@require_POST
@console_action(back=_dataset_page, about=lambda request: "Backfill")
def backfill_action(request: HttpRequest) -> HttpResponse:
    """POST /admin/dataset/backfill (dataset, priority): apply the plan at the Hub's revision."""
    parameters = validated(DatasetOperationParameters, form_values(request.POST))
    outcome = services.backfill_dataset(
        dataset=parameters["dataset"], priority=parameters["priority"], actor=identity_of(request)
    )
    messages.success(request, backfill_words(outcome))
    return redirect_page(_dataset_page(request))
