"""The parameters of bulk refresh: the cache entry filter, then one batch of it (JSON route, page, command).

One serializer for the three ways in (`foundation.web.parameters`): the values are stripped and
a blank one is absent, as a filter typed by hand; the fields are checked in the order declared,
the filter's first (`cachereports.filters.CacheEntryFilterParameters`).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from bulkops.services import DEFAULT_LIMIT, MAX_LIMIT
from cachereports.filters import CacheEntryFilterParameters
from foundation.web.parameters import FlagParameter, IntegerParameter, ObjectIdParameter
from jobs.filters import StaleJobFilterParameters
from jobs.parameters import PriorityParameter


class BulkRefreshParameters(CacheEntryFilterParameters):
    """POST /admin/bulk-refresh and `manage.py bulk_refresh`: a dry run unless `dry_run` is false."""

    keeps_blank = frozenset({"priority"})
    limit = IntegerParameter(minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT)
    priority = PriorityParameter()
    dry_run = FlagParameter(default=True)
    cursor = ObjectIdParameter()


class ShownCountParameter(IntegerParameter):
    """A count the page carries from one batch to the next, only shown, never trusted: anything else is 0."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(minimum=0, maximum=999_999_999, default=0, **kwargs)

    def parse(self, text: str) -> int:
        try:
            return super().parse(text)
        except serializers.ValidationError:
            return 0


class BulkRefreshPageParameters(BulkRefreshParameters):
    """The bulk refresh page (GET: the filter's preview; POST: one batch, which its form never marks a dry run)."""

    keeps_blank = frozenset()  # a page: a blank select is the default
    dry_run = FlagParameter(default=False)
    done = ShownCountParameter()


class RequeueStaleJobsParameters(StaleJobFilterParameters):
    """POST /admin/requeue-stale-jobs: the jobs page's filters, then the batch; a dry run unless `dry_run` is false."""

    limit = IntegerParameter(minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT)
    dry_run = FlagParameter(default=True)
    cursor = ObjectIdParameter()
