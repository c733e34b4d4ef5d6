"""The dataset's lock: refreshes of one dataset share it, side by side; a recreate (or backfill) holds it alone.

Twenty force-refreshes of one dataset queued behind one exclusive lock each waited for the
others, and under load some gave up after their 2 s. Shared holders each write a mark of their
own, so they never wait for each other; an exclusive holder waits until the marks are gone, and
a shared holder does not enter while an exclusive one holds the lock. Barriers and events, no
sleep: holders are kept inside their blocks until the test lets them out.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobs import locks
from tests.support.races import JOIN_SECONDS, run_together

DATASET = "org/ds"


def test_twenty_shared_holders_are_inside_at_once(queue_db: Any) -> None:
    inside = threading.Barrier(20, timeout=JOIN_SECONDS)

    def hold() -> bool:
        with locks.shared_dataset_lock(dataset=DATASET, deadline_seconds=0):
            inside.wait()  # all 20 hold it at this moment: none waited for another
        return True

    assert run_together(*[hold] * 20) == [True] * 20
    assert list(queue_db["locks"].find()) == []  # every mark taken back


def test_an_exclusive_holder_waits_for_the_shared_one_inside_then_has_it_alone(queue_db: Any) -> None:
    entered, leave = threading.Event(), threading.Event()

    def shared() -> None:
        with locks.shared_dataset_lock(dataset=DATASET):
            entered.set()
            leave.wait(timeout=JOIN_SECONDS)

    holder = threading.Thread(target=shared)
    holder.start()
    assert entered.wait(timeout=JOIN_SECONDS)
    with pytest.raises(locks.LockTimeoutError) as refused, locks.exclusive_dataset_lock(dataset=DATASET):
        pytest.fail("entered beside a shared holder")
    assert refused.value.message.endswith("nothing was changed.")
    leave.set()
    holder.join(timeout=JOIN_SECONDS)
    with (
        locks.exclusive_dataset_lock(dataset=DATASET),
        pytest.raises(locks.LockTimeoutError),
        locks.shared_dataset_lock(dataset=DATASET, deadline_seconds=0.1),
    ):
        pytest.fail("entered beside the exclusive holder")


def test_a_mark_left_by_a_dead_process_does_not_hold_the_dataset(queue_db: Any) -> None:
    left = datetime.now(UTC) - timedelta(seconds=locks.OUR_LOCK_LIFETIME_SECONDS + 1)
    queue_db["locks"].insert_one(
        {
            "_id": f"{locks.dataset_lock_key(DATASET)}{locks.SHARED_MARK}adminsite:dead",
            "owner": "adminsite:dead",
            "ttl": 600,
            "created_at": left,
            "updated_at": left,
        }
    )
    with locks.exclusive_dataset_lock(dataset=DATASET):
        pass


def test_exclusive_and_shared_holders_racing_are_never_inside_together(queue_db: Any) -> None:
    """Mark-then-read against take-then-read: whatever the interleaving, one of the two sees the other."""
    inside: list[str] = []
    overlaps: list[list[str]] = []
    guard = threading.Lock()

    def enter(kind: str) -> None:
        with guard:
            inside.append(kind)
            if "exclusive" in inside and len(inside) > 1:
                overlaps.append(list(inside))

    def leave(kind: str) -> None:
        with guard:
            inside.remove(kind)

    def exclusive() -> str:
        try:
            with locks.exclusive_dataset_lock(dataset=DATASET):
                enter("exclusive")
                leave("exclusive")
        except locks.LockTimeoutError:
            return "gave up"
        return "held"

    def shared() -> str:
        try:
            with locks.shared_dataset_lock(dataset=DATASET):
                enter("shared")
                leave("shared")
        except locks.LockTimeoutError:
            return "gave up"
        return "held"

    for _ in range(10):
        run_together(exclusive, shared, shared, exclusive, shared)
    assert overlaps == []
