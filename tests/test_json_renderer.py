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

from foundation.web.renderers import AdminJSONRenderer, BSONJSONEncoder, _finite


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
    # a float in every place a number can stand: first, middle and last of an object or a list, nested, alone
    {"first": 1e-07, "middle": -2e-05, "last": 1e16},
    [1e22, [3e-05, {"x": -1e-100}], 0.00001],
    1e-07,
    -2e-05,
    {"revision": "3e4f0e5d1e2a", "text": "a string holding :1e5, [2e-05 and 0.00001"},
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


def test_strings_that_look_like_numbers_keep_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A git revision or an id with digits before an `e` is no number: orjson's bytes are kept."""

    def no_second_pass(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("written again by the json module")

    monkeypatch.setattr(AdminJSONRenderer, "_render_with_json", no_second_pass)
    data = {
        "revision": "3e4f0e5d1e2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c",
        "id": "6b093ee6b987143c3b6ed483",
        "unicity_id": "config-info,tiiuae/squad-20,028d08a5b52bafee3e9b4c9a2b8bad3a5a0693e2,default",
        "revisions": ["5a0693e2", "693e2]"],
        "n": 1.5,
    }
    assert AdminJSONRenderer().render(data) == DRFRenderer().render(data)


def test_a_float_written_otherwise_by_orjson_takes_the_second_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[Any] = []
    original = AdminJSONRenderer._render_with_json

    def counted(self: AdminJSONRenderer, *args: Any) -> bytes:
        passes.append(args[0])
        return original(self, *args)

    monkeypatch.setattr(AdminJSONRenderer, "_render_with_json", counted)
    rendered = AdminJSONRenderer().render({"revision": "3e4f", "progress": 2e-05})
    assert rendered == b'{"revision":"3e4f","progress":2e-05}'
    assert len(passes) == 1


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """Nested objects and lists of floats of every magnitude, ints, and strings full of digits and `e`."""
    kind = rng.randrange(5 if depth < 4 else 3)
    if kind == 0:
        return rng.choice([-1, 1]) * rng.uniform(1, 10) * 10.0 ** rng.randint(-12, 20)
    if kind == 1:
        return rng.randint(-(10**6), 10**6)
    if kind == 2:
        return "".join(rng.choice("0123456789e-,.]}:[x") for _ in range(rng.randint(0, 12)))
    if kind == 3:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f"k{index}": random_value(rng, depth + 1) for index in range(rng.randint(0, 4))}


@pytest.mark.parametrize("seed", range(200))
def test_nested_floats_and_number_like_strings_give_drf_bytes(seed: int) -> None:
    data = random_value(random.Random(seed))
    assert AdminJSONRenderer().render(data) == DRFRenderer().render(data)
