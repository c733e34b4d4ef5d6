"""The JSON renderer of every route (DRF's DEFAULT_RENDERER_CLASSES).

In a module of its own: DRF reads its settings while `rest_framework.views` is imported, so
the renderer cannot live in a module that imports the views.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from typing import Any

from bson import Decimal128, ObjectId
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.utils.encoders import JSONEncoder


def _finite(value: Any) -> Any:
    """The value with every NaN or infinite float replaced by None, as the other services show it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class BSONJSONEncoder(JSONEncoder):
    """DRF's encoder, plus the BSON values a cached `content` may hold.

    Bytes are base64, as the other services' JSON shows them (DRF would try to decode them as
    UTF-8 and fail the whole answer); ObjectId and Decimal128 are shown as strings.
    """

    def default(self, obj: Any) -> Any:
        if isinstance(obj, bytes):
            return base64.b64encode(obj).decode("ascii")
        if isinstance(obj, ObjectId | Decimal128):
            return str(obj)
        return super().default(obj)


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Every answer is JSON whatever the `Accept` header says, as the other services answer.

    DRF would answer 406 to `Accept: text/html`, even before checking the token.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class AdminJSONRenderer(JSONRenderer):
    """DRF's JSON, but a NaN or an infinity stored in a cached response becomes null.

    Strict JSON has no NaN; DRF would fail the whole answer with a 500 on the first one. The
    walk only happens when such a value is there.
    """

    encoder_class = BSONJSONEncoder

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except ValueError:
            return super().render(_finite(data), accepted_media_type, renderer_context)
