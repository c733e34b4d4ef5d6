"""One bulk-refresh call has a deadline while the Hub hangs: the datasets it did not reach are skips.

A Hub that hangs used to cost a call one Hub timeout per dataset, a few at a time: 50 s for 400
datasets, behind a proxy that gives up long before. Now no Hub request of a call starts after
its deadline, and the datasets it left unasked are skipped with that reason, nothing written.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from werkzeug import Request, Response

from bulkops import services as bulk_refresh
from tests.support.write_helpers import set_config, upstream_cache_entry

KIND = "dataset-config-names"
DATASETS = [f"org/ds-{number:02}" for number in range(40)]
HUB_TIMEOUT_SECONDS = 0.3
DEADLINE_SECONDS = 0.5


@pytest.fixture
def hanging_hub(fake_hub: Any) -> Iterator[Any]:
    """A Hub that never answers a dataset look-up (until the test ends)."""
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(timeout=10)
        return Response("{}", status=503)

    fake_hub.expect_request(re.compile(r"/api/datasets/.*")).respond_with_handler(hang)
    yield fake_hub
    release.set()


def test_the_datasets_a_call_did_not_reach_before_its_deadline_are_skipped(
    client: Client, cache_db: Any, queue_db: Any, hanging_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_config(hf_timeout_seconds=HUB_TIMEOUT_SECONDS)
    monkeypatch.setattr(bulk_refresh, "HUB_DEADLINE_SECONDS", DEADLINE_SECONDS)
    cache_db["cachedResponsesBlue"].insert_many([upstream_cache_entry(kind=KIND, dataset=name) for name in DATASETS])
    assert client.post(f"/admin/bulk-refresh?kind={KIND}").status_code == 200  # a dry run: the route warmed up
    started = time.monotonic()
    response = client.post(f"/admin/bulk-refresh?kind={KIND}&dry_run=false&limit=100")
    seconds = time.monotonic() - started
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["processed"], answer["created_jobs"], answer["next_cursor"]) == (40, 0, "")
    assert sorted(skipped["dataset"] for skipped in answer["skipped"]) == DATASETS
    codes = Counter(skipped["reason"].split(":")[0] for skipped in answer["skipped"])
    assert set(codes) == {"UnexpectedApiError", "HubDeadlineExceeded"}  # the asked timed out, the others waited
    assert codes["HubDeadlineExceeded"] >= 28  # at most 3 rounds of 4 requests start before the deadline
    not_asked = next(skipped for skipped in answer["skipped"] if skipped["reason"].startswith("HubDeadlineExceeded"))
    assert not_asked["reason"] == (
        "HubDeadlineExceeded: Not asked: the Hub took more than this call's 0.5s for the datasets before it."
        " Nothing was changed for it: refresh it again."
    )
    assert seconds < DEADLINE_SECONDS + HUB_TIMEOUT_SECONDS + 1.0  # not the 10 rounds of 0.3 s it took
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_a_hub_that_answers_is_not_cut_by_the_deadline(client: Client, cache_db: Any, fake_hub: Any) -> None:
    cache_db["cachedResponsesBlue"].insert_many([upstream_cache_entry(kind=KIND, dataset=name) for name in DATASETS])
    fake_hub.expect_request(re.compile(r"/api/datasets/.*")).respond_with_json({"sha": "a" * 40})
    response = client.post(f"/admin/bulk-refresh?kind={KIND}&dry_run=false")
    assert response.status_code == 200, response.content
    assert (response.json()["created_jobs"], response.json()["skipped"]) == (40, [])
