"""The bulk refresh page: a filter counted and previewed first, then applied batch by batch.

GET /admin/bulk?kind=&error_code=&...: the form, and for a kind the dry run of the filter (how
many entries, how many datasets, the first ones). POST applies one batch after `cursor` and
shows its outcome with a button for the next batch: that works without JavaScript, one batch
per click. With JavaScript, `static/bulk_refresh.js` posts the batches one after the other
(asking for JSON, the answer of POST /admin/bulk-refresh) and draws a progress bar.
Both call the service of the JSON route with the session's identity: same jobs, same audit.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from bulkops import services as bulk_refresh
from bulkops.parameters import BulkRefreshPageParameters
from cachereports.filters import FILTER_FIELDS, cache_entry_filter
from cachereports.selectors import matching
from foundation.auth.authentication import page_login_required
from foundation.core.identity import identity_of
from foundation.core.processing_graph import processing_graph
from foundation.web.console import console_page, render_page
from foundation.web.parameters import validated
from jobs.constants import Priority

PREVIEW_ROWS = 20
"""How many entries of the first batch the preview lists."""


def _fields(source: Any) -> dict[str, str | None]:
    """The filter as typed, to show it back in the form (checked by the serializer, not here)."""
    return {name: (source.get(name) or "").strip() or None for name in FILTER_FIELDS}


def _page(request: HttpRequest, fields: dict[str, str | None], **context: Any) -> HttpResponse:
    return render_page(
        request,
        "pages/bulk_refresh.html",
        {
            "fields": fields,
            "steps": list(processing_graph()),
            "priorities": [priority.value for priority in Priority],
            "max_limit": bulk_refresh.MAX_LIMIT,
            **context,
        },
    )


@page_login_required
@console_page
def bulk_refresh_page(request: HttpRequest) -> HttpResponse:
    """GET: the form and the preview of a filter. POST: one batch (JSON when the script asks)."""
    source = request.POST if request.method == "POST" else request.GET
    fields = _fields(source)
    if fields["kind"] is None:
        return _page(request, fields)
    parameters = validated(BulkRefreshPageParameters, source.dict())
    entry_filter = cache_entry_filter(parameters)
    limit, priority = parameters["limit"], parameters["priority"]
    if request.method != "POST":
        preview = bulk_refresh.bulk_refresh(
            entry_filter=entry_filter,
            after=None,
            limit=limit,
            priority=priority,
            dry_run=True,
            actor=identity_of(request),
        )
        return _page(
            request,
            fields,
            entry_filter=entry_filter,
            limit=limit,
            priority=priority.value,
            preview=preview,
            preview_rows=preview.entries[:PREVIEW_ROWS],
            datasets=matching.count_matching_datasets(entry_filter=entry_filter),
            cursor="",
            done=0,
        )
    outcome = bulk_refresh.bulk_refresh(
        entry_filter=entry_filter,
        after=parameters["cursor"],
        limit=limit,
        priority=priority,
        dry_run=parameters["dry_run"],
        actor=identity_of(request),
    )
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(outcome.as_json(), headers={"Cache-Control": "no-store"})
    done = parameters["done"] + outcome.processed
    return _page(
        request,
        fields,
        entry_filter=entry_filter,
        limit=limit,
        priority=priority.value,
        batch=outcome,
        cursor=outcome.next_cursor,
        done=done,
        percent=100 * done // outcome.matched if outcome.matched else 100,
    )
