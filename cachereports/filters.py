"""Which cache entries a bulk operation works on: one filter, checked once, turned into one query.

The bulk refresh (JSON route, page, command) and the error triage links share it, so a filter
means the same entries whichever way an operator gives it. Every field but `kind` is optional;
the values are checked before any query is built (a bad one is 422 and touches nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adminsite.core.errors import InvalidParameterError
from adminsite.core.parameters import required_value
from adminsite.core.processing_graph import known_step

_DATASET_PREFIX = re.compile(r"[A-Za-z0-9_.\-/]{1,200}")
"""The characters of a dataset name (and its `/`): a prefix is matched literally, never as a pattern."""
_DIGITS = re.compile(r"[0-9]{1,9}")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


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


def _blank_to_none(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameterError("Filter values are strings.")
    return value.strip() or None


def _integer(name: str, value: str | None, *, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    if _DIGITS.fullmatch(value) is None or not minimum <= int(value) <= maximum:
        raise InvalidParameterError(f"Parameter '{name}' should be an int value between {minimum} and {maximum}.")
    return int(value)


def parse_datetime(name: str, value: str | None) -> datetime | None:
    """An ISO 8601 date or datetime (`2024-05-01`, `2024-05-01T12:00:00`, `...+02:00`); naive is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameterError(
            f"Parameter '{name}' should be an ISO 8601 datetime, e.g. 2024-05-01T12:00:00."
        ) from None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC, 9999-12-31T23:59-01:00 after 9999
        raise InvalidParameterError(
            f"Parameter '{name}' should be a datetime between 0001-01-01 and 9999-12-31T23:59:59.999999 in UTC."
        ) from None


def parse_flag(name: str, value: str | None, *, default: bool) -> bool:
    """1/true/yes/on or 0/false/no/off (any case); absent or blank: the default."""
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidParameterError(f"Parameter '{name}' should be true or false.")


FILTER_FIELDS = (
    "kind",
    "error_code",
    "http_status",
    "cause_exception",
    "job_runner_version_below",
    "dataset_prefix",
    "updated_before",
    "root_errors_only",
    "without_cause_exception",
)
"""The parameters of `parse_cache_entry_filter`, as the JSON route and the bulk refresh page read them."""


def parse_cache_entry_filter(
    *,
    kind: object,
    error_code: object = None,
    http_status: object = None,
    cause_exception: object = None,
    job_runner_version_below: object = None,
    dataset_prefix: object = None,
    updated_before: object = None,
    root_errors_only: object = None,
    without_cause_exception: object = None,
) -> CacheEntryFilter:
    """Check raw parameters (strings or None) in order; raise the AdminError of the first bad one.

    A missing kind is 422 MissingRequiredParameter, an unknown one 404 (as on every route).
    """
    checked_kind = required_value("kind", kind).strip()
    known_step(checked_kind)
    prefix = _blank_to_none(dataset_prefix)
    if prefix is not None and _DATASET_PREFIX.fullmatch(prefix) is None:
        raise InvalidParameterError("Parameter 'dataset_prefix' should be the start of a dataset name.")
    return CacheEntryFilter(
        kind=checked_kind,
        error_code=_blank_to_none(error_code),
        http_status=_integer("http_status", _blank_to_none(http_status), minimum=100, maximum=599),
        cause_exception=_blank_to_none(cause_exception),
        job_runner_version_below=_integer(
            "job_runner_version_below", _blank_to_none(job_runner_version_below), minimum=0, maximum=1_000_000
        ),
        dataset_prefix=prefix,
        updated_before=parse_datetime("updated_before", _blank_to_none(updated_before)),
        root_errors_only=parse_flag("root_errors_only", _blank_to_none(root_errors_only), default=False),
        without_cause_exception=parse_flag(
            "without_cause_exception", _blank_to_none(without_cause_exception), default=False
        ),
    )
