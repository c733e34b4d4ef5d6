"""Which cache entries a bulk operation works on: one filter, its parameters checked once, one query.

The bulk refresh (JSON route, page, command) and the error triage links share it, so a filter
means the same entries whichever way an operator gives it. Every field but `kind` is optional;
the values are checked by `CacheEntryFilterParameters` (the filter's serializer) before any
query is built (a bad one is 422 and touches nothing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from foundation.web.parameters import (
    DateTimeParameter,
    FlagParameter,
    IntegerParameter,
    Parameter,
    Parameters,
    StepParameter,
    TextParameter,
)

_DATASET_PREFIX = re.compile(r"[A-Za-z0-9_.\-/]{1,200}")
"""The characters of a dataset name (and its `/`): a prefix is matched literally, never as a pattern."""


@dataclass(frozen=True, kw_only=True)
class CacheEntryFilter:
    """The entries of one kind that match every given field (None: that field does not filter)."""

    kind: str
    error_code: str | None = None
    http_status: int | None = None
    cause_exception: str | None = None
    job_runner_version_below: int | None = None
    """Entries computed by an older job runner, or of no known version."""
    dataset_prefix: str | None = None
    updated_before: datetime | None = None
    root_errors_only: bool = False
    """Errors (http_status >= 400) that copy no other entry: refreshing a copy would copy again."""
    without_cause_exception: bool = False
    """Only entries without `details.cause_exception` (a triage group of no exception, exactly)."""

    def query(self) -> dict[str, Any]:
        """The MongoDB filter. Equality on kind (and error_code, http_status, exception) comes first:
        the indexes (kind, http_status, error_code), (kind, _id), (error_code, kind,
        details.copied_from_artifact) and (details.cause_exception, error_code,
        details.copied_from_artifact) of REFERENCE.md back every combination the console builds."""
        query: dict[str, Any] = {"kind": self.kind}
        if self.error_code is not None:
            query["error_code"] = self.error_code
        if self.cause_exception is not None:
            query["details.cause_exception"] = self.cause_exception
        elif self.without_cause_exception:
            query["details.cause_exception"] = None
        if self.http_status is not None:
            query["http_status"] = self.http_status
        elif self.root_errors_only:
            query["http_status"] = {"$gte": 400}
        if self.root_errors_only:
            query["details.copied_from_artifact"] = None
        if self.job_runner_version_below is not None:
            query["job_runner_version"] = {"$not": {"$gte": self.job_runner_version_below}}
        if self.dataset_prefix is not None:
            query["dataset"] = {"$regex": f"^{re.escape(self.dataset_prefix)}"}
        if self.updated_before is not None:
            query["updated_at"] = {"$lt": self.updated_before}
        return query

    def as_parameters(self) -> dict[str, Any]:
        """The filter as the audit log records it and as a URL carries it (None fields left out)."""
        values: dict[str, Any] = {
            "kind": self.kind,
            "error_code": self.error_code,
            "http_status": self.http_status,
            "cause_exception": self.cause_exception,
            "job_runner_version_below": self.job_runner_version_below,
            "dataset_prefix": self.dataset_prefix,
            "updated_before": self.updated_before.isoformat() if self.updated_before is not None else None,
            "root_errors_only": True if self.root_errors_only else None,
            "without_cause_exception": True if self.without_cause_exception else None,
        }
        return {name: value for name, value in values.items() if value is not None}


class DatasetPrefixParameter(Parameter):
    """The start of a dataset name, matched literally (never as a pattern); blank is None."""

    default_error_messages: ClassVar[dict[str, Any]] = {
        "invalid": "Parameter '{name}' should be the start of a dataset name."
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=None, **kwargs)

    def parse(self, text: str) -> str:
        if _DATASET_PREFIX.fullmatch(text) is None:
            self.fail("invalid")
        return text


class CacheEntryFilterParameters(Parameters):
    """The filter's fields, checked in this order before any query is built: a bad one is 422 and touches nothing.

    A missing kind is 422 MissingRequiredParameter, an unknown one 404 (as on every route).
    The bulk refresh (JSON route, page, command) extends it with the fields of a batch.
    """

    kind = StepParameter()
    dataset_prefix = DatasetPrefixParameter()
    error_code = TextParameter()
    http_status = IntegerParameter(minimum=100, maximum=599)
    cause_exception = TextParameter()
    job_runner_version_below = IntegerParameter(minimum=0, maximum=1_000_000)
    updated_before = DateTimeParameter()
    root_errors_only = FlagParameter(default=False)
    without_cause_exception = FlagParameter(default=False)


FILTER_FIELDS = tuple(field.name for field in fields(CacheEntryFilter))
"""The parameters of the filter, as the JSON route and the bulk refresh page read them."""


def cache_entry_filter(parameters: Mapping[str, Any]) -> CacheEntryFilter:
    """The filter of the checked values of `CacheEntryFilterParameters` (or of a serializer extending it)."""
    return CacheEntryFilter(
        kind=parameters["kind"].name, **{name: parameters[name] for name in FILTER_FIELDS if name != "kind"}
    )
