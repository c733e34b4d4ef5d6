"""Blank and empty parameters get the other services' codes and words (issue 22 items 6 and 8).

A blank `dataset` is missing, on every route that takes one; a present but empty `priority=`
or `difficulty=` is that parameter's InvalidParameter (the default is only for an absent one);
a blank `config` or `split` names the one parameter. Exact bytes, and nothing asked or queued.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

DATASET = "org/ds"

DATASET_ROUTES = [
    ("get", "/admin/dataset-status"),
    ("get", "/admin/dataset-backfill-plan"),
    ("post", "/admin/dataset-backfill"),
    ("post", "/admin/recreate-dataset"),
    ("post", "/admin/force-refresh/dataset-config-names"),
]


def call(client: Client, method: str, url: str) -> Any:
    if method == "get":
        return client.get(url)
    return client.post(url, data="", content_type="application/json")


def assert_refused(response: Any, code: str, body: bytes) -> None:
    assert (response.status_code, response["X-Error-Code"]) == (422, code)
    assert response.content == body


@pytest.mark.parametrize("blank", ["", "%20", "%09%20"])
@pytest.mark.parametrize(("method", "route"), DATASET_ROUTES)
def test_a_blank_dataset_is_missing_on_every_route_that_takes_one(
    client: Client, fake_hub: Any, queue_db: Any, method: str, route: str, blank: str
) -> None:
    response = call(client, method, f"{route}?dataset={blank}")
    assert_refused(response, "MissingRequiredParameter", b'{"error":"Parameter \'dataset\' is required"}')
    assert fake_hub.log == []
    assert queue_db["jobsBlue"].count_documents({}) == 0


PRIORITY_ROUTES = [
    ("get", "/admin/dataset-backfill-plan"),
    ("post", "/admin/dataset-backfill"),
    ("post", "/admin/recreate-dataset"),
    ("post", "/admin/force-refresh/dataset-config-names"),
]


@pytest.mark.parametrize("empty", ["", "%20"])
@pytest.mark.parametrize(("method", "route"), PRIORITY_ROUTES)
def test_an_empty_priority_is_invalid_not_the_default(
    client: Client, fake_hub: Any, queue_db: Any, method: str, route: str, empty: str
) -> None:
    response = call(client, method, f"{route}?dataset={DATASET}&priority={empty}")
    assert_refused(
        response, "InvalidParameter", b'{"error":"Parameter \'priority\' should be one of high, normal, low."}'
    )
    assert fake_hub.log == []
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_an_empty_priority_in_a_bulk_refresh_is_invalid(client: Client, fake_hub: Any, queue_db: Any) -> None:
    response = call(client, "post", "/admin/bulk-refresh?kind=dataset-config-names&priority=&dry_run=false")
    assert_refused(
        response, "InvalidParameter", b'{"error":"Parameter \'priority\' should be one of high, normal, low."}'
    )
    assert queue_db["jobsBlue"].count_documents({}) == 0


@pytest.mark.parametrize("empty", ["", "%20"])
def test_an_empty_difficulty_is_invalid_not_the_default(
    client: Client, fake_hub: Any, queue_db: Any, empty: str
) -> None:
    response = call(client, "post", f"/admin/force-refresh/dataset-config-names?dataset={DATASET}&difficulty={empty}")
    assert_refused(
        response,
        "InvalidParameter",
        b'{"error":"Parameter \'difficulty\' should be an int value between 0 and 100."}',
    )
    assert fake_hub.log == []
    assert queue_db["jobsBlue"].count_documents({}) == 0


@pytest.mark.parametrize(
    ("job_type", "query", "body"),
    [
        ("config-parquet", "config=", b'{"error":"Parameter \'config\' is required"}'),
        ("split-first-rows", "config=&split=train", b'{"error":"Parameter \'config\' is required"}'),
        ("split-first-rows", "config=default&split=", b'{"error":"Parameter \'split\' is required"}'),
        ("split-first-rows", "config=default&split=%20", b'{"error":"Parameter \'split\' is required"}'),
        ("split-first-rows", "config=%20&split=%20", b'{"error":"Parameter \'config\' is required"}'),
    ],
)
def test_a_blank_config_or_split_names_that_parameter(
    client: Client, fake_hub: Any, queue_db: Any, job_type: str, query: str, body: bytes
) -> None:
    response = call(client, "post", f"/admin/force-refresh/{job_type}?dataset={DATASET}&{query}")
    assert_refused(response, "MissingRequiredParameter", body)
    assert fake_hub.log == []


def test_a_config_that_is_no_name_gets_the_two_parameter_message(client: Client, fake_hub: Any) -> None:
    response = client.post(
        "/admin/force-refresh/split-first-rows",
        data={"dataset": DATASET, "config": 5, "split": "train"},
        content_type="application/json",
    )
    assert_refused(
        response, "MissingRequiredParameter", b"{\"error\":\"Parameters 'config' and 'split' are required\"}"
    )
    assert fake_hub.log == []
