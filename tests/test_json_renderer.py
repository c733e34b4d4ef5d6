"""The JSON renderer writes orjson's bytes, the other services' serializer, with no second pass.

REFERENCE.md, "Exact rendering": U+2028 and U+2029 raw, floats as orjson writes them (`1e-7`,
`0.00002`, `1e+300`), NaN and infinities as null, keys in insertion order, no spaces. Until
issue 22 the renderer rewrote orjson's answer to look like the json module's (`1e-07`,
`2e-05`, `\\u2028`): the other services' clients saw other bytes on richer data.
"""

from __future__ import annotations

import datetime
import math
import random
from typing import Any

import orjson
import pytest
from bson import Decimal128, ObjectId
from django.test import Client

from foundation.web.renderers import AdminJSONRenderer
from tests.support.write_helpers import upstream_job


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"a": "line\u2028paragraph\u2029end"}, b'{"a":"line\xe2\x80\xa8paragraph\xe2\x80\xa9end"}'),
        ({"small": 1e-07, "smaller": -2e-05}, b'{"small":1e-7,"smaller":-0.00002}'),
        ([1e-05, 1e-4, 0.5, 1e16, 1e300, 1e-100], b"[0.00001,0.0001,0.5,1e+16,1e+300,1e-100]"),
        (
            {"progress": float("nan"), "other": [math.inf, -math.inf], "ok": 1.0},
            b'{"progress":null,"other":[null,null],"ok":1.0}',
        ),
        ({"z": 1, "a": 2, "m": {"y": None, "b": True}}, b'{"z":1,"a":2,"m":{"y":null,"b":true}}'),
        ({"text": 'é 😀 " \\ \n \t / <script>'}, b'{"text":"\xc3\xa9 \xf0\x9f\x98\x80 \\" \\\\ \\n \\t / <script>"}'),
    ],
)
def test_the_bytes_are_orjsons(data: Any, expected: bytes) -> None:
    assert AdminJSONRenderer().render(data) == expected


def test_bson_values_and_datetimes_are_written_as_the_other_services_show_them() -> None:
    data = {
        "bytes": b"\x00\xffbinary",
        "oid": ObjectId("6b093ee6b987143c3b6ed483"),
        "d128": Decimal128("1.10"),
        "when": datetime.datetime(2026, 11, 7, 2, 49, 4, 445000, tzinfo=datetime.UTC),
        "whole_second": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    }
    assert AdminJSONRenderer().render(data) == (
        b'{"bytes":"AP9iaW5hcnk=","oid":"6b093ee6b987143c3b6ed483","d128":"1.10",'
        b'"when":"2026-11-07T02:49:04.445000","whole_second":"2024-01-02T03:04:05"}'
    )


def test_a_value_orjson_refuses_is_still_answered() -> None:
    """An integer beyond 64 bits cannot come from MongoDB; written by DRF's renderer rather than a 500."""
    assert AdminJSONRenderer().render({"big": 2**70}) == b'{"big":1180591620717411303424}'


def test_nothing_to_render_is_empty() -> None:
    assert AdminJSONRenderer().render(None) == b""


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """Nested objects and lists of floats of every magnitude, ints, and strings with separators and digits."""
    kind = rng.randrange(5 if depth < 4 else 3)
    if kind == 0:
        return rng.choice([-1, 1]) * rng.uniform(1, 10) * 10.0 ** rng.randint(-30, 30)
    if kind == 1:
        return rng.randint(-(10**6), 10**6)
    if kind == 2:
        return "".join(rng.choice("0123456789e-,.]}:[x\u2028\u2029") for _ in range(rng.randint(0, 12)))
    if kind == 3:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f"k{index}": random_value(rng, depth + 1) for index in range(rng.randint(0, 4))}


@pytest.mark.parametrize("seed", range(100))
def test_nested_floats_and_separators_are_left_as_orjson_wrote_them(seed: int) -> None:
    data = random_value(random.Random(seed))
    assert AdminJSONRenderer().render(data) == orjson.dumps(data)


def test_a_cached_content_reaches_the_client_as_orjson_writes_it(client: Client, cache_db: Any) -> None:
    cache_db["cachedResponsesBlue"].insert_one(
        {
            "kind": "split-descriptive-statistics",
            "dataset": "org/ds",
            "config": "default",
            "split": "train",
            "http_status": 200,
            "content": {"mean": 1e-07, "std": 2e-05, "text": "a\u2028b"},
            "dataset_git_revision": "abc",
            "job_runner_version": 1,
            "failed_runs": 0,
            "updated_at": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
        }
    )
    response = client.get("/admin/cache-reports-with-content/split-descriptive-statistics")
    assert b'"content":{"mean":1e-7,"std":0.00002,"text":"a\xe2\x80\xa8b"}' in response.content


def test_dataset_status_lists_a_steps_jobs_in_the_order_they_were_written(client: Client, queue_db: Any) -> None:
    """Started jobs are not put first: `_id` order, as the other services read them (issue 22 item 11)."""
    jobs = [
        upstream_job(job_type="dataset-info", dataset="org/ds", revision=revision, status=status)
        for revision, status in (("r1", "waiting"), ("r2", "started"), ("r3", "waiting"), ("r4", "started"))
    ]
    queue_db["jobsBlue"].insert_many(jobs)
    listed = client.get("/admin/dataset-status?dataset=org/ds").json()["dataset-info"]["jobs"]
    assert [(job["revision"], job["status"]) for job in listed] == [
        ("r1", "waiting"),
        ("r2", "started"),
        ("r3", "waiting"),
        ("r4", "started"),
    ]
