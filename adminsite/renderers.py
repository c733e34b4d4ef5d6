"""The JSON renderer of every route (DRF's DEFAULT_RENDERER_CLASSES).

In a module of its own: DRF reads its settings while `rest_framework.views` is imported, so
the renderer cannot live in a module that imports the views.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer


def _finite(value: Any) -> Any:
    """The value with every NaN or infinite float replaced by None, as the other services show it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class AdminJSONRenderer(JSONRenderer):
    """DRF's JSON, but a NaN or an infinity stored in a cached response becomes null.

    Strict JSON has no NaN; DRF would fail the whole answer with a 500 on the first one. The
    walk only happens when such a value is there.
    """

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except ValueError:
            return super().render(_finite(data), accepted_media_type, renderer_context)
