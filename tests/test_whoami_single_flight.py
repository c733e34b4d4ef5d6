"""One whoami call in flight per token: requests that arrive meanwhile share its outcome.

A Hub whoami that hangs used to be asked again by every waiting request with the same token,
one after the other (24 requests took up to 7.1 s against a 0.5 s timeout). Now the waiting
requests share the one call's outcome, a failure included, and a burst costs one timeout.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.test import Client

from foundation.auth import hub_whoami
from tests.support.auth_support import FakeWhoami, whoami_answer

TOKEN = "hf_burst_token_0123456789abcdef"
BURST = 24
HUB_TIMEOUT_SECONDS = 1.0


def burst(path: str) -> tuple[list[Any], float]:
    """BURST requests with the same token, let go at once; their answers and the time they all took."""
    start = threading.Barrier(BURST)

    def ask(_: int) -> Any:
        client = Client()
        start.wait()
        return client.get(path, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        answers = list(pool.map(ask, range(BURST)))
    return answers, time.monotonic() - started


def test_a_burst_against_a_hanging_whoami_costs_one_call_and_one_timeout(auth_on: FakeWhoami, settings: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, hf_timeout_seconds=HUB_TIMEOUT_SECONDS)
    auth_on.allow(TOKEN, whoami_answer())
    auth_on.hang = True
    answers, seconds = burst("/admin/blocked-datasets")
    assert [answer.status_code for answer in answers] == [500] * BURST
    assert {answer["X-Error-Code"] for answer in answers} == {"AuthCheckHubRequestError"}
    assert {answer.content for answer in answers} == {
        b'{"error":"The authentication check on the Hub failed. Please retry later."}'
    }
    assert auth_on.calls == 1
    assert seconds < 2 * HUB_TIMEOUT_SECONDS
    assert len(hub_whoami.WHOAMI_FLIGHTS) == 0


def test_a_burst_shares_the_verdict_even_when_verdicts_are_not_kept(auth_on: FakeWhoami, settings: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, auth_cache_seconds=0)
    auth_on.allow(TOKEN, whoami_answer())
    auth_on.latency_seconds = 0.5  # long enough for the whole burst to arrive while it is in flight
    answers, _ = burst("/admin/blocked-datasets")
    assert [answer.status_code for answer in answers] == [200] * BURST
    assert auth_on.calls == 1


def test_a_failed_call_is_not_kept_the_next_request_asks_again(auth_on: FakeWhoami, settings: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, hf_timeout_seconds=0.3)
    auth_on.allow(TOKEN, whoami_answer())
    auth_on.hang = True
    client = Client()
    assert client.get("/admin/blocked-datasets", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 500
    auth_on.hang = False
    auth_on.release.set()  # the hung answer ends, and with it the fake Hub's wait
    assert client.get("/admin/blocked-datasets", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert auth_on.calls == 2


def test_other_tokens_are_not_held_by_a_flight_in_progress(auth_on: FakeWhoami, monkeypatch: Any) -> None:
    auth_on.allow(TOKEN, whoami_answer(name="slow"))
    auth_on.allow("hf_other_token_0123456789abcdef", whoami_answer(name="other"))
    in_flight = threading.Event()
    leave = threading.Event()

    def slow_ask_hub(*, token: str, config: Any) -> hub_whoami.Verdict:
        if token == TOKEN:
            in_flight.set()
            leave.wait(10)
        return real_ask_hub(token=token, config=config)

    real_ask_hub = hub_whoami.ask_hub
    monkeypatch.setattr(hub_whoami, "ask_hub", slow_ask_hub)
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(Client().get, "/admin/blocked-datasets", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert in_flight.wait(10)
        other = Client().get("/admin/blocked-datasets", HTTP_AUTHORIZATION="Bearer hf_other_token_0123456789abcdef")
        assert other.status_code == 200
        leave.set()
        assert slow.result(timeout=10).status_code == 200
