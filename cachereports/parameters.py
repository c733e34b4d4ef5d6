"""The parameters of the cache's JSON routes and pages (`foundation.web.parameters`).

The values are stripped and a blank one is absent. The filter of bulk operations has its own
serializer, beside the filter (`cachereports.filters`).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from foundation.web.parameters import (
    INTEGER_MESSAGE,
    MAX_TEXT_LENGTH,
    IntegerParameter,
    ObjectIdParameter,
    Parameters,
    PresenceParameter,
    StepParameter,
    TextParameter,
)


class CacheReportsParameters(Parameters):
    """GET /admin/cache-reports/{kind}?cursor= and /admin/cache-reports-with-content/{kind}?cursor="""

    kind = StepParameter()
    cursor = ObjectIdParameter()


class CacheErrorsParameters(Parameters):
    """GET /admin/cache-errors?kind= and the errors page (no kind: every kind)"""

    kind = StepParameter(default=None)


class CacheListParameters(Parameters):
    """GET /admin/cache?kind=&http_status=&error_code=&cause_exception=&no_exception=&root_only=&after=|before="""

    kind = StepParameter(default=None)
    http_status = IntegerParameter(minimum=100, maximum=599, message=INTEGER_MESSAGE)
    error_code = TextParameter(max_length=MAX_TEXT_LENGTH)
    cause_exception = TextParameter(max_length=MAX_TEXT_LENGTH)
    root_only = PresenceParameter()
    no_exception = PresenceParameter()
    """Only the entries without `details.cause_exception` (when no exception is given)."""
    after = ObjectIdParameter()
    before = ObjectIdParameter()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["after"] is not None and attrs["before"] is not None:
            raise serializers.ValidationError("Give 'after' or 'before', not both.")
        return {**attrs, "no_exception": attrs["no_exception"] and attrs["cause_exception"] is None}


class CacheEntryParameters(Parameters):
    """GET /admin/cache/{entry_id}"""

    entry_id = ObjectIdParameter(required=True, error_messages={"invalid": "The cache entry id is not valid."})
