"""The JSON renderer writes with orjson exactly the bytes DRF's renderer (the json module) writes."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
import random
import uuid
from typing import Any

import pytest
from bson import Decimal128, ObjectId
from rest_framework.renderers import JSONRenderer

from adminsite.web.renderers import AdminJSONRenderer, BSONJSONEncoder, _finite


class DRFRenderer(JSONRenderer):
    """What the console answered before orjson: DRF's renderer with our encoder and NaN as null."""

    encoder_class = BSONJSONEncoder

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except ValueError:
            return super().render(_finite(data), accepted_media_type, renderer_context)


@dataclasses.dataclass
class Point:
    x: int


def floats_of_every_magnitude() -> list[float]:
    rng = random.Random(7)
    values = [0.0, -0.0, 1.0, 0.1, 1 / 3, 1e-4, 1e-5, 2e-05, 1e15, 1e16, 1e22, 5e-324, 1.7976931348623157e308]
    values += [rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30) for _ in range(2000)]
    return values


CASES: list[Any] = [
    {"cache_reports": [], "next_cursor": ""},
    {"a": 'é ü 😀 \u2028 \u2029 \x00 \x1f \x7f " \\ \n \t / <script>', "b": None, "c": True, "d": [1, -2, 3.5]},
    {"progress": float("nan"), "other": [float("inf"), -math.inf], "ok": 1.0},
    {"bytes": b"\x00\xffbinary", "oid": ObjectId("6b093ee6b987143c3b6ed483"), "d128": Decimal128("1.10")},
    {"when": datetime.datetime(2026, 11, 7, 2, 49, 4, 445000, tzinfo=datetime.UTC), "day": datetime.date(2026, 1, 2)},
    {"decimal": decimal.Decimal("1.5"), "uuid": uuid.UUID(int=7), "tuple": (1, 2), "set_free": {"nested": {"x": [[]]}}},
    {"big": 2**70, "negative_big": -(2**64)},
    {1: "int key", "s": "x"},
    {"text that looks like a number": "1e-07 0.00001"},
    {"floats": floats_of_every_magnitude()},
    [Point(1)],
    "just a string",
    12,
]


@pytest.mark.parametrize("data", CASES)
def test_the_bytes_are_those_of_drf_renderer(data: Any) -> None:
    try:
        expected = DRFRenderer().render(data)
    except TypeError:
        with pytest.raises(TypeError):
            AdminJSONRenderer().render(data)
        return
    assert AdminJSONRenderer().render(data) == expected


def test_nothing_to_render_is_empty() -> None:
    assert AdminJSONRenderer().render(None) == b""
