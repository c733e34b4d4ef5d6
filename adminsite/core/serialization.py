"""How values read from MongoDB are shown in the JSON API and the HTML pages alike."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_datetime(value: object) -> str | None:
    """ISO 8601 in UTC (`2024-01-31T12:00:00.123000+00:00`), or None for a missing date.

    Documents of the other services may hold naive datetimes (already UTC) when read by a
    client without tz_aware; both forms give the same string.
    """
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
