"""One way in: a parameter gets the same answer whichever way it is given (JSON route, page, form, command).

Every way reads its parameters with the serializer of its operation (`foundation.web.parameters`):
the first bad one, in the order the serializer declares them, is the answer, with the code and
words of REFERENCE.md.
"""

from __future__ import annotations

import html
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

KIND = "config-parquet-and-info"
PRIORITY_MESSAGE = "Parameter 'priority' should be one of high, normal, low."


def json_body_post(client: Client, path: str, body: object) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def command_error(command: str, *args: str) -> str:
    with pytest.raises(CommandError) as raised:
        call_command(command, *args, stdout=StringIO(), stderr=StringIO())
    return str(raised.value)


def test_a_bad_priority_is_answered_in_the_same_words_by_every_way_in(client: Client, queue_db: Any) -> None:
    for path, body in (
        ("/admin/recreate-dataset", {"dataset": "org/ds", "priority": "urgent"}),
        ("/admin/dataset-backfill", {"dataset": "org/ds", "priority": "urgent"}),
        ("/admin/force-refresh/dataset-info", {"dataset": "org/ds", "priority": "urgent"}),
        ("/admin/bulk-refresh", {"kind": KIND, "priority": "urgent"}),
    ):
        response = json_body_post(client, path, body)
        assert (response.status_code, response["X-Error-Code"], response.json()) == (
            422,
            "InvalidParameter",
            {"error": PRIORITY_MESSAGE},
        ), path
    page = client.get("/admin/bulk", {"kind": KIND, "priority": "urgent"})
    assert (page.status_code, page["X-Error-Code"]) == (422, "InvalidParameter")
    assert PRIORITY_MESSAGE in html.unescape(page.content.decode())
    assert command_error("recreate_dataset", "org/ds", "--priority", "urgent") == PRIORITY_MESSAGE
    assert command_error("backfill_dataset", "org/ds", "--priority", "urgent") == PRIORITY_MESSAGE
    in_words = f"InvalidParameter: {PRIORITY_MESSAGE}"
    assert command_error("bulk_refresh", "--kind", KIND, "--priority", "urgent") == in_words
    assert command_error("force_refresh", "dataset-info", "--dataset", "org/ds", "--priority", "urgent") == in_words
    assert list(queue_db["adminActions"].find()) == []


def test_the_first_bad_parameter_in_the_declared_order_is_the_answer(client: Client) -> None:
    response = client.post(
        "/admin/force-refresh/split-first-rows?dataset=../x&priority=urgent&difficulty=101",
        data="",
        content_type="application/json",
    )
    assert response.json() == {"error": "Parameter 'dataset' is not a valid dataset name"}
    response = client.post(
        "/admin/force-refresh/split-first-rows?dataset=org/ds&priority=urgent&config=c",
        data="",
        content_type="application/json",
    )
    assert (response["X-Error-Code"], response.json()) == (
        "MissingRequiredParameter",
        {"error": "Parameter 'split' is required"},
    )
    response = client.post(
        f"/admin/bulk-refresh?kind={KIND}&limit=0&http_status=5xx", data="", content_type="application/json"
    )
    assert response.json() == {"error": "Parameter 'http_status' should be an int value between 100 and 599."}
    response = client.post("/admin/bulk-refresh?kind=nope&limit=0", data="", content_type="application/json")
    assert (response.status_code, response["X-Error-Code"]) == (404, "NotFound")


def test_a_json_body_may_give_numbers_and_booleans_where_text_is_expected(
    client: Client, cache_db: Any, queue_db: Any
) -> None:
    response = json_body_post(client, "/admin/bulk-refresh", {"kind": KIND, "limit": 7, "dry_run": True})
    assert (response.status_code, response.json()["dry_run"]) == (200, True)
    response = json_body_post(client, "/admin/bulk-refresh", {"kind": KIND, "limit": [7]})
    assert (response.status_code, response["X-Error-Code"], response.json()) == (
        422,
        "InvalidParameter",
        {"error": "Parameter 'limit' should be a string or a number."},
    )
    assert list(queue_db["adminActions"].find()) == []


def test_the_query_string_wins_over_the_body(client: Client) -> None:
    response = client.post(
        "/admin/bulk-refresh?limit=1001", data=json.dumps({"kind": KIND, "limit": 5}), content_type="application/json"
    )
    assert response.json() == {"error": "Parameter 'limit' should be an int value between 1 and 1000."}


def test_pages_strip_what_is_typed_and_take_a_blank_field_as_absent(client: Client) -> None:
    assert client.get("/admin/jobs", {"dataset": "  org/ds ", "page": " 1 ", "sort": ""}).status_code == 200
    assert client.get("/admin/cache", {"kind": f" {KIND} ", "http_status": "", "after": ""}).status_code == 200
    assert client.get("/admin/dataset", {"dataset": "   "}).status_code == 200  # the search page


def test_a_command_names_every_invalid_dataset_and_does_nothing(queue_db: Any) -> None:
    assert command_error("recreate_dataset", "org/ok", "../x", "a/b/c") == (
        "invalid dataset name(s), nothing done: '../x', 'a/b/c'"
    )
    assert command_error("recreate_dataset") == "no dataset given"
    assert list(queue_db["adminActions"].find()) == []
