"""JSON route of bulk refresh."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from bulkops import services as bulk_refresh
from cachereports.filters import FILTER_FIELDS, parse_cache_entry_filter, parse_flag
from datasetops import services
from foundation.core.errors import InvalidParameterError
from foundation.core.identity import identity_of
from foundation.web.api import WriteAPIView, raw_parameter


def _text(request: Request, name: str) -> str | None:
    """A parameter of the query or the body as text (a JSON body may give numbers and booleans)."""
    value = raw_parameter(request, name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None or isinstance(value, str):
        return value.strip() or None if isinstance(value, str) else None
    raise InvalidParameterError(f"Parameter '{name}' should be a string or a number.")


class BulkRefreshApi(WriteAPIView):
    """POST /admin/bulk-refresh?kind=&error_code=&...&priority=&limit=&cursor=&dry_run= (dry run by default)"""

    def post(self, request: Request) -> Response:
        entry_filter = parse_cache_entry_filter(**{name: _text(request, name) for name in FILTER_FIELDS})
        outcome = bulk_refresh.bulk_refresh(
            entry_filter=entry_filter,
            cursor=_text(request, "cursor") or "",
            limit=bulk_refresh.parse_limit(_text(request, "limit")),
            priority=services.parse_priority(raw_parameter(request, "priority")),
            dry_run=parse_flag("dry_run", _text(request, "dry_run"), default=True),
            actor=identity_of(request),
        )
        return Response(outcome.as_json())
