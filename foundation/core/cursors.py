"""The cursors of the paginated routes: the string `_id` of the last entry of a page."""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId

from foundation.core.errors import InvalidParameterError


def parse_cursor(cursor: str) -> ObjectId | None:
    """An empty cursor starts at the beginning; anything but an ObjectId string is invalid."""
    if not cursor:
        return None
    try:
        return ObjectId(cursor)
    except (InvalidId, TypeError):
        raise InvalidParameterError("Invalid cursor.") from None
