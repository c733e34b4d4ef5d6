"""A Hub look-up redirected to another host is that call's failure: never followed, never trusted.

A hostile (or misconfigured) Hub answers a redirect to a server of its choosing, which answers
with a revision of its own: 14 jobs were queued at the other host's revision. Now such a call
fails as a Hub failure (500, nothing written) and the other host is never asked. A redirect on
the Hub itself (a renamed repo) is still followed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.support.auth_support import FakeWhoami
from tests.support.write_helpers import SHA, serve_dataset

DATASET = "org/ds"
OTHER_SHA = "e" * 40


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """Another server, which would answer any look-up with its own revision."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    server.expect_request(f"/api/datasets/{DATASET}").respond_with_json({"id": DATASET, "sha": OTHER_SHA})
    server.expect_request("/api/whoami-v2").respond_with_json({"name": "mallory", "auth": {}})
    yield server
    server.clear()
    server.stop()


def redirect(fake_hub: Any, path: str, location: str, status: int = 302) -> None:
    fake_hub.expect_request(path).respond_with_response(Response(status=status, headers={"Location": location}))


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_force_refresh_redirected_to_another_host_queues_nothing(
    client: Client, fake_hub: Any, elsewhere: HTTPServer, queue_db: Any, status: int
) -> None:
    redirect(fake_hub, f"/api/datasets/{DATASET}", elsewhere.url_for(f"/api/datasets/{DATASET}"), status)
    response = client.post(f"/admin/force-refresh/dataset-config-names?dataset={DATASET}")
    assert (response.status_code, response["X-Error-Code"]) == (500, "UnexpectedApiError")
    assert response.json() == {"error": "The Hub could not be reached: nothing was changed."}
    assert queue_db["jobsBlue"].count_documents({}) == 0
    assert elsewhere.log == []


def test_another_host_name_of_the_same_server_is_another_host(client: Client, fake_hub: Any, queue_db: Any) -> None:
    """`localhost` and `127.0.0.1` on the same port: the origin differs, the redirect is refused."""
    assert fake_hub.host == "localhost"
    serve_dataset(fake_hub, DATASET)
    redirect(fake_hub, "/api/datasets/org/moved", f"http://127.0.0.1:{fake_hub.port}/api/datasets/{DATASET}")
    response = client.post("/admin/force-refresh/dataset-config-names?dataset=org/moved")
    assert response.status_code == 500
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_a_recreate_redirected_to_another_host_deletes_nothing(
    client: Client, fake_hub: Any, elsewhere: HTTPServer, queue_db: Any, cache_db: Any
) -> None:
    cache_db["cachedResponsesBlue"].insert_one(
        {"kind": "dataset-config-names", "dataset": DATASET, "http_status": 200, "content": {}}
    )
    redirect(fake_hub, f"/api/datasets/{DATASET}", elsewhere.url_for(f"/api/datasets/{DATASET}"))
    response = client.post(f"/admin/recreate-dataset?dataset={DATASET}")
    assert response.status_code == 500
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 1
    assert elsewhere.log == []


def test_a_redirect_on_the_hub_itself_is_followed(client: Client, fake_hub: Any, queue_db: Any) -> None:
    """A renamed repo: the Hub redirects its old name to the new one, on the same host."""
    serve_dataset(fake_hub, DATASET)
    redirect(fake_hub, "/api/datasets/org/old-name", f"/api/datasets/{DATASET}", 307)
    response = client.post("/admin/force-refresh/dataset-config-names?dataset=org/old-name")
    assert response.status_code == 200, response.content
    assert queue_db["jobsBlue"].find_one({}, {"_id": 0, "revision": 1}) == {"revision": SHA}


def test_a_loop_of_redirects_on_the_hub_is_a_failure(client: Client, fake_hub: Any, queue_db: Any) -> None:
    redirect(fake_hub, f"/api/datasets/{DATASET}", f"/api/datasets/{DATASET}")
    response = client.post(f"/admin/force-refresh/dataset-config-names?dataset={DATASET}")
    assert response.status_code == 500
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_a_whoami_redirected_to_another_host_is_a_hub_failure(
    client: Client, auth_on: FakeWhoami, elsewhere: HTTPServer, fake_hub: Any
) -> None:
    fake_hub.clear()  # the whoami of the fake Hub now redirects
    redirect(fake_hub, "/api/whoami-v2", elsewhere.url_for("/api/whoami-v2"))
    response = client.get("/admin/pending-jobs", HTTP_AUTHORIZATION="Bearer hf_token_0123456789abcdef")
    assert (response.status_code, response["X-Error-Code"]) == (500, "AuthCheckHubRequestError")
    assert elsewhere.log == []
