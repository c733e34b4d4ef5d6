"""JSON route of bulk refresh."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from bulkops import services as bulk_refresh
from bulkops.parameters import BulkRefreshParameters
from cachereports.filters import cache_entry_filter
from foundation.core.identity import identity_of
from foundation.web.api import WriteAPIView
from foundation.web.parameters import request_parameters, validated


class BulkRefreshApi(WriteAPIView):
    """POST /admin/bulk-refresh?kind=&error_code=&...&priority=&limit=&cursor=&dry_run= (dry run by default)"""

    def post(self, request: Request) -> Response:
        parameters = validated(BulkRefreshParameters, request_parameters(request))
        outcome = bulk_refresh.bulk_refresh(
            entry_filter=cache_entry_filter(parameters),
            after=parameters["cursor"],
            limit=parameters["limit"],
            priority=parameters["priority"],
            dry_run=parameters["dry_run"],
            actor=identity_of(request),
        )
        return Response(outcome.as_json())
