"""A lock of ours left by a crash is taken over after 30 s, a worker's never before its ttl (item 7).

Killing the database while a force-refresh held an artifact's lock left the lock taken for
its 600 s ttl: every force-refresh of that artifact waited 10 s and answered 500. Our own
critical sections last well under a second, so a lock of ours (its owner starts with
`adminsite:`) not updated for 30 s is stale. A worker's lock is left alone until its own ttl.
The lock document keeps `ttl: 600`, so on MongoDB the workers' TTL index still drops it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from jobs import locks
from tests.support.write_helpers import SHA, serve_dataset

DATASET = "org/ds"
UNICITY_ID = f"dataset-config-names,{DATASET},{SHA}"


def left_lock(queue_db: Any, *, owner: str, seconds_ago: float, ttl: int = 600) -> None:
    moment = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    queue_db["locks"].insert_one(
        {"_id": UNICITY_ID, "owner": owner, "ttl": ttl, "created_at": moment, "updated_at": moment}
    )


def force_refresh(client: Client) -> Any:
    return client.post(f"/admin/force-refresh/dataset-config-names?dataset={DATASET}")


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "LOCK_DEADLINE_SECONDS", 1.0)


def test_a_lock_of_ours_left_for_31_s_is_taken_over_at_once(
    client: Client, fake_hub: Any, queue_db: Any, short_deadline: None
) -> None:
    left_lock(queue_db, owner="adminsite:3f0c0d2e-dead-process", seconds_ago=31)
    serve_dataset(fake_hub, DATASET)
    response = force_refresh(client)
    assert response.status_code == 200, response.content  # a lock not taken over is a 500 at the deadline
    assert queue_db["jobsBlue"].count_documents({"unicity_id": UNICITY_ID, "status": "waiting"}) == 1
    lock = queue_db["locks"].find_one()
    assert (lock["owner"], lock["ttl"]) == (None, 600)


def test_a_lock_of_ours_in_use_is_not_taken_over(
    client: Client, fake_hub: Any, queue_db: Any, short_deadline: None
) -> None:
    left_lock(queue_db, owner="adminsite:another-process", seconds_ago=5)
    serve_dataset(fake_hub, DATASET)
    response = force_refresh(client)
    assert (response.status_code, response["X-Error-Code"]) == (500, "LockTimeoutError")
    assert queue_db["jobsBlue"].count_documents({}) == 0


@pytest.mark.parametrize(("owner", "ttl"), [("6745f1c2a9b8c7d6e5f4a3b2", 600), ("adminsite-lookalike", 600)])
def test_a_workers_lock_is_not_taken_over_before_its_own_ttl(
    client: Client, fake_hub: Any, queue_db: Any, short_deadline: None, owner: str, ttl: int
) -> None:
    left_lock(queue_db, owner=owner, seconds_ago=300, ttl=ttl)
    serve_dataset(fake_hub, DATASET)
    response = force_refresh(client)
    assert (response.status_code, response["X-Error-Code"]) == (500, "LockTimeoutError")
    assert queue_db["jobsBlue"].count_documents({}) == 0
    assert queue_db["locks"].find_one()["owner"] == owner


def test_a_workers_lock_past_its_ttl_is_taken_over(
    client: Client, fake_hub: Any, queue_db: Any, short_deadline: None
) -> None:
    left_lock(queue_db, owner="6745f1c2a9b8c7d6e5f4a3b2", seconds_ago=601)
    serve_dataset(fake_hub, DATASET)
    response = force_refresh(client)
    assert response.status_code == 200, response.content
    assert queue_db["jobsBlue"].count_documents({"unicity_id": UNICITY_ID, "status": "waiting"}) == 1
    lock = queue_db["locks"].find_one()
    assert (lock["owner"], lock["ttl"]) == (None, 600)  # taken over, then released as ours


def test_our_lock_names_us_and_keeps_the_ttl_the_workers_index_expires(queue_db: Any) -> None:
    with locks.held_lock(key="some-key") as owner:
        lock = queue_db["locks"].find_one({"_id": "some-key"})
    assert owner.startswith("adminsite:")
    assert (lock["owner"], lock["ttl"]) == (owner, 600)
