"""How values read from MongoDB are written in the JSON answers: as the other services write them.

Their clients already parse these answers (REFERENCE.md, "Exact rendering"), so the rules are
theirs: a datetime is a naive UTC one in ISO form, microseconds only when not 0, no offset
(`2026-12-01T19:11:38.507000`, `2024-01-02T03:04:05`); a number takes the type of its field
whatever was stored (`1` -> `1.0` for a float field, `2.0` -> `2` for an int field).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_UTC_SUFFIX = "+00:00"


def iso_datetime(value: object) -> str | None:
    """A date as the other services render a naive UTC datetime, or None for a missing date.

    BSON dates come back aware (UTC) or, read without tz_aware, naive UTC: both give the same string.
    """
    if not isinstance(value, datetime):
        return None
    text = value.isoformat()
    if value.tzinfo is None:
        return text
    if text.endswith(_UTC_SUFFIX):  # what the driver gives: UTC (half the cost of converting it)
        return text[: -len(_UTC_SUFFIX)]
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def as_int(value: Any) -> Any:
    """An int field: `2.0` -> `2`; a missing value stays None, a value that is no number stays as stored."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_float(value: Any) -> Any:
    """A float field: `1` -> `1.0`; a missing value stays None, a value that is no number stays as stored."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
