"""A database that stalls (accepts, never answers) holds no request past ADMIN_MONGO_TIMEOUT_SECONDS.

The databases are reached through a proxy that stops forwarding bytes: the connections the
clients already pooled stay open and silent, as they do when a server hangs or a network path
dies. Every answer must come within the setting (plus a little for the machine): a 503 for the
JSON routes and the pages, the readiness probe's 503 within its own shorter bound.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.support.stalling_proxy import StallingProxy
from tests.test_server import start_server  # noqa: F401 (the fixture)

MONGO_TIMEOUT_SECONDS = 1.0
SLACK_SECONDS = 0.75
"""What a loaded machine may add to the bound (thread switches, the test client)."""
CONCURRENT_REQUESTS = 6
"""At most the threads of one worker (the served app runs the sync views in a pool of 6 on 2
cores): more would queue behind one another before they reach the database at all."""


@pytest.fixture
def stalling_proxy(settings: Any, mongo_server: Any) -> Iterator[StallingProxy]:
    """Both databases of this test reached through a proxy that can stall, with a 1 s timeout."""
    port = urlsplit(mongo_server.cache_url).port
    assert port is not None
    with StallingProxy(port) as proxy:
        settings.ADMIN = dataclasses.replace(
            settings.ADMIN,
            cache_mongo_url=proxy.url,
            queue_mongo_url=proxy.url,
            mongo_timeout_seconds=MONGO_TIMEOUT_SECONDS,
        )
        yield proxy


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


@pytest.mark.parametrize(
    "path",
    ["/admin/dataset-status?dataset=org/ds", "/admin/pending-jobs", "/admin/cache-reports/dataset-info"],
)
def test_a_json_route_answers_503_within_the_timeout_when_the_database_stalls(
    client: Client, stalling_proxy: StallingProxy, path: str
) -> None:
    assert client.get(path).status_code == 200  # connections pooled through the proxy
    stalling_proxy.stall()
    response, seconds = timed(lambda: client.get(path))
    assert response.status_code == 503
    assert response["X-Error-Code"] == "DatabaseUnavailableError"
    assert response.json() == {"error": "The database is unavailable, please retry later."}
    assert seconds < MONGO_TIMEOUT_SECONDS + SLACK_SECONDS


def test_a_write_answers_503_within_the_timeout_when_the_database_stalls(
    client: Client, stalling_proxy: StallingProxy, fake_hub: Any
) -> None:
    fake_hub.expect_request("/api/datasets/org/ds").respond_with_json({"id": "org/ds", "sha": "a" * 40})
    assert client.get("/admin/blocked-datasets").status_code == 200
    stalling_proxy.stall()
    response, seconds = timed(lambda: client.post("/admin/force-refresh/dataset-config-names?dataset=org/ds"))
    assert response.status_code == 503
    assert response["X-Error-Code"] == "DatabaseUnavailableError"
    assert seconds < MONGO_TIMEOUT_SECONDS + SLACK_SECONDS


def test_a_page_answers_503_within_the_timeout_when_the_database_stalls(
    client: Client, stalling_proxy: StallingProxy
) -> None:
    assert client.get("/admin/jobs").status_code == 200
    stalling_proxy.stall()
    response, seconds = timed(lambda: client.get("/admin/jobs"))
    assert response.status_code == 503
    assert seconds < MONGO_TIMEOUT_SECONDS + SLACK_SECONDS


def test_readiness_says_unreachable_within_its_probe_bound_when_the_database_stalls(
    client: Client, stalling_proxy: StallingProxy, settings: Any
) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, mongo_timeout_seconds=3.0)  # the probe's own bound is 1 s
    assert client.get("/admin/readiness").status_code == 200
    stalling_proxy.stall()
    response, seconds = timed(lambda: client.get("/admin/readiness"))
    assert response.status_code == 503
    assert response.json()["databases"] == {"cache": "unreachable", "queue": "unreachable"}
    assert seconds < 1.0 + SLACK_SECONDS


def test_the_answers_come_back_when_the_database_does(client: Client, stalling_proxy: StallingProxy) -> None:
    assert client.get("/admin/pending-jobs").status_code == 200
    stalling_proxy.stall()
    assert client.get("/admin/pending-jobs").status_code == 503
    stalling_proxy.resume()
    assert client.get("/admin/pending-jobs").status_code == 200


def test_on_the_real_server_every_answer_comes_within_the_timeout_while_the_database_stalls(
    start_server: Any,  # noqa: F811
    stalling_proxy: StallingProxy,
    settings: Any,
) -> None:
    """Requests at once on the 2 workers (no more than a worker has threads): each is answered
    within the timeout, whatever the worker, the pooled connection or pymongo's monitor does."""
    server = start_server(
        cache_url=stalling_proxy.url,
        queue_url=stalling_proxy.url,
        cache_database=settings.ADMIN.cache_mongo_database,
        queue_database=settings.ADMIN.queue_mongo_database,
        ADMIN_MONGO_TIMEOUT_SECONDS=str(MONGO_TIMEOUT_SECONDS),
    )
    paths = ["/admin/pending-jobs", "/admin/dataset-status?dataset=org/ds", "/admin/readiness"]
    for path in paths:  # every worker's connections pooled through the proxy
        for _ in range(4):
            assert server.get(path).status_code == 200
    stalling_proxy.stall()
    start = threading.Barrier(CONCURRENT_REQUESTS)

    def ask(index: int) -> tuple[int, float]:
        start.wait()
        response, seconds = timed(lambda: server.http.get(f"{server.url}{paths[index % 3]}", timeout=30))
        return response.status_code, seconds

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        answers = list(pool.map(ask, range(CONCURRENT_REQUESTS)))
    assert {status for status, _ in answers} == {503}
    assert max(seconds for _, seconds in answers) < MONGO_TIMEOUT_SECONDS + 2 * SLACK_SECONDS
