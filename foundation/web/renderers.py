"""The JSON renderer of every route (DRF's DEFAULT_RENDERER_CLASSES).

In a module of its own: DRF reads its settings while `rest_framework.views` is imported, so
the renderer cannot live in a module that imports the views.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from bson import Decimal128, ObjectId
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.utils.encoders import JSONEncoder

from foundation.core.serialization import iso_datetime


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
    UTF-8 and fail the whole answer); ObjectId and Decimal128 are shown as strings. A datetime
    (one stored inside a cached `content`: the serializers already wrote the others) is
    written as the other services write it, `iso_datetime`, not as DRF would (`...Z`, cut to
    milliseconds).
    """

    def default(self, obj: Any) -> Any:
        if isinstance(obj, datetime):
            return iso_datetime(obj)
        if isinstance(obj, bytes):
            return base64.b64encode(obj).decode("ascii")
        if isinstance(obj, ObjectId | Decimal128):
            return str(obj)
        return super().default(obj)


_ENCODER = BSONJSONEncoder()


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Every answer is JSON whatever the `Accept` header says, as the other services answer.

    DRF would answer 406 to `Accept: text/html`, even before checking the token.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
"""Datetimes and dataclasses through `BSONJSONEncoder.default` (our date format, DRF's dataclass rule);
keys that are not strings written as strings, as the other services' orjson options do."""


class AdminJSONRenderer(JSONRenderer):
    """orjson's bytes, the other services' serializer (REFERENCE.md, "Exact rendering").

    The answer is what orjson writes, with no pass over its output: U+2028 and U+2029 raw,
    floats in orjson's shortest form (`1e-7`, `0.00002`, `1e+300`), NaN and infinities as null,
    keys in insertion order, no spaces. Only a value orjson refuses to write (an integer beyond
    64 bits, a lone surrogate: neither can come from MongoDB) is written by DRF's renderer
    instead, rather than failing the answer; `_finite` then stands for orjson's null.
    """

    encoder_class = BSONJSONEncoder

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is not None and self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                return orjson.dumps(data, default=_ENCODER.default, option=_ORJSON_OPTIONS)
            except TypeError:  # orjson.JSONEncodeError, or DRF's encoder refusing a value
                pass
        return self._render_with_json(data, accepted_media_type, renderer_context)

    def _render_with_json(self, data: Any, accepted_media_type: str | None, renderer_context: Any) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except ValueError:
            return super().render(_finite(data), accepted_media_type, renderer_context)
