"""The dashboard's counts over many entries: no request pays for them once they exist.

`ReusedValues` (foundation/core/reused_values.py) serves an old value at once and counts it again
in one background thread; a load that finds nothing waits for the count in flight; a failing
refresh keeps the old value and logs one line. Threads meet on events and barriers, the clock is
moved by hand: no test sleeps.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from cachereports.selectors import reused_counts as selectors
from foundation.core.errors import DatabaseUnavailableError
from foundation.core.reused_values import ReusedValues
from tests.support.page_data import insert_cache_entry

WAIT_SECONDS = 30  # only a hung thread ever waits this long


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """A computation that counts its calls; with `gate`, each call waits for it before answering."""

    def __init__(self, *, gate: threading.Event | None = None) -> None:
        self.calls = 0
        self.gate = gate
        self.entered = threading.Event()
        self.fails = False
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
            number = self.calls
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_SECONDS)
        if self.fails:
            raise RuntimeError("the database went away\nand a second line")
        return f"value {number}"


def reused(clock: Clock) -> ReusedValues[str]:
    return ReusedValues(max_age_seconds=60, clock=clock)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(call()))
    thread.start()
    return thread, results


def test_an_old_value_is_served_at_once_and_counted_again_once_in_the_background() -> None:
    clock = Clock()
    values = reused(clock)
    gate = threading.Event()
    compute = Counter(gate=gate)
    gate.set()
    assert values.get("k", compute, name="counts") == "value 1"
    gate.clear()
    clock.now += 59
    assert values.get("k", compute, name="counts") == "value 1"
    assert compute.calls == 1

    clock.now += 2
    compute.entered.clear()
    assert values.get("k", compute, name="counts") == "value 1"  # old, served without waiting
    assert compute.entered.wait(WAIT_SECONDS)  # the refresh runs in its own thread, held by the gate
    assert values.get("k", compute, name="counts") == "value 1"  # in flight: no second refresh
    assert compute.calls == 2
    gate.set()
    assert values.wait_for_refreshes(WAIT_SECONDS)
    assert values.get("k", compute, name="counts") == "value 2"
    assert values.age_seconds("k") == 0


def test_two_concurrent_loads_of_an_old_value_start_one_refresh() -> None:
    clock = Clock()
    values = reused(clock)
    compute = Counter()
    values.get("k", compute, name="counts")
    clock.now += 61
    compute.gate = gate = threading.Event()
    barrier = threading.Barrier(2)

    def load() -> str:
        barrier.wait(WAIT_SECONDS)
        return values.get("k", compute, name="counts")

    threads = [in_thread(load) for _ in range(2)]
    for thread, _ in threads:
        thread.join(WAIT_SECONDS)
    assert [results for _, results in threads] == [["value 1"], ["value 1"]]
    gate.set()
    assert values.wait_for_refreshes(WAIT_SECONDS)
    assert compute.calls == 2  # the first count and one refresh
    assert values.get("k", compute, name="counts") == "value 2"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[Records]:
    """The warnings of foundation.core.reused_values, whichever thread logs them."""
    records = Records()
    logger = logging.getLogger("foundation.core.reused_values")
    logger.addHandler(records)
    yield records
    logger.removeHandler(records)


def test_a_failing_refresh_keeps_the_old_value_and_logs_one_line(logged: Records) -> None:
    clock = Clock()
    values = reused(clock)
    compute = Counter()
    values.get("k", compute, name="root-error groups")
    clock.now += 61
    compute.fails = True
    assert values.get("k", compute, name="root-error groups") == "value 1"
    assert values.wait_for_refreshes(WAIT_SECONDS)
    assert [record.getMessage() for record in logged.records] == [
        "refresh of root-error groups failed (its last value, if any, is kept): RuntimeError: the database went away"
    ]
    compute.fails = False
    assert values.get("k", compute, name="root-error groups") == "value 1"  # no new refresh right after a failure
    assert values.wait_for_refreshes(WAIT_SECONDS)
    assert compute.calls == 2
    clock.now += 61  # a max age after the failure: tried again
    assert values.get("k", compute, name="root-error groups") == "value 1"
    assert values.wait_for_refreshes(WAIT_SECONDS)
    assert values.get("k", compute, name="root-error groups") == "value 3"


def test_a_load_that_finds_no_value_waits_for_the_count_in_flight() -> None:
    values = reused(Clock())
    gate = threading.Event()
    compute = Counter(gate=gate)
    values.warm("k", compute, name="counts")
    assert compute.entered.wait(WAIT_SECONDS)
    thread, results = in_thread(lambda: values.get("k", compute, name="counts"))
    assert results == []  # waiting on the warm-up, not counting
    assert values.peek("k", compute, name="counts") is None  # a peek neither waits nor counts
    gate.set()
    thread.join(WAIT_SECONDS)
    assert results == ["value 1"]
    assert compute.calls == 1


def test_a_load_that_waited_for_a_failing_count_fails_with_it() -> None:
    values = reused(Clock())
    gate = threading.Event()
    compute = Counter(gate=gate)
    compute.fails = True

    def failing_load() -> str:
        try:
            values.get("k", compute, name="counts")
        except RuntimeError as error:
            return str(error)
        return "no error"

    first, first_results = in_thread(failing_load)
    assert compute.entered.wait(WAIT_SECONDS)
    second, second_results = in_thread(failing_load)
    gate.set()
    first.join(WAIT_SECONDS)
    second.join(WAIT_SECONDS)
    assert first_results == second_results == ["the database went away\nand a second line"]
    assert compute.calls == 1  # one count failed, both loads saw it
    compute.fails = False
    assert values.get("k", compute, name="counts") == "value 2"  # the next load counts again


def seed_errors_and_builders(cache_db: Any) -> None:
    insert_cache_entry(cache_db, kind="dataset-config-names", dataset="org/bad", http_status=500, error_code="E")
    insert_cache_entry(
        cache_db, kind="dataset-info", dataset="org/csv", content={"dataset_info": {"default": {"builder_name": "csv"}}}
    )


def test_the_warm_up_fills_the_dashboards_counts_before_its_first_load(
    client: Client, cache_db: Any, db_commands: Any
) -> None:
    seed_errors_and_builders(cache_db)
    selectors.warm_up()
    assert selectors.wait_for_reused_counts(WAIT_SECONDS)
    db_commands.collections.clear()
    response = client.get("/admin/")
    assert response.status_code == 200
    # neither the root-error groups nor the builder names are counted by the request
    assert [target for target in db_commands.collections if target[1] == "cachedResponsesBlue"] == []
    assert response.context["builder_names"].counts["csv"] == 1
    root_errors = response.context["root_errors"]
    assert [(group.kind, group.error_code, group.count) for group in root_errors.errors] == [
        ("dataset-config-names", "E", 1)
    ]
    assert root_errors.counted_at is not None  # the page can say how old they are


def test_the_served_app_warms_up_as_a_worker_imports_it(monkeypatch: pytest.MonkeyPatch, cache_db: Any) -> None:
    seed_errors_and_builders(cache_db)
    monkeypatch.setattr(selectors, "WARM_UP_AT_WORKER_START", True)
    import adminsite.asgi

    importlib.reload(adminsite.asgi)  # what a uvicorn worker does: import the app
    assert selectors.wait_for_reused_counts(WAIT_SECONDS)
    recent = selectors.recent_builder_name_counts()
    assert recent is not None and recent.counts["csv"] == 1


def test_importing_the_served_app_in_the_test_suite_warms_nothing_up(cache_db: Any) -> None:
    seed_errors_and_builders(cache_db)
    import adminsite.asgi

    importlib.reload(adminsite.asgi)  # WARM_UP_AT_WORKER_START is off in the suite (tests/conftest.py)
    assert selectors.wait_for_reused_counts(WAIT_SECONDS)
    assert selectors.recent_builder_name_counts() is None


def test_a_refresh_that_cannot_start_keeps_the_old_value_and_is_tried_again(logged: Records) -> None:
    clock = Clock()
    starts: list[str] = []

    def no_thread(name: str, target: Callable[[], None]) -> None:
        starts.append(name)
        raise RuntimeError("can't start new thread")

    values: ReusedValues[str] = ReusedValues(max_age_seconds=60, clock=clock, start=no_thread)
    compute = Counter()
    assert values.get("k", compute, name="counts") == "value 1"  # no value yet: counted in this thread
    clock.now += 61
    assert values.get("k", compute, name="counts") == "value 1"  # the old value, not a 500
    clock.now += 61
    assert values.get("k", compute, name="counts") == "value 1"  # and the refresh is tried again, later
    assert starts == ["refresh counts", "refresh counts"]
    assert [record.getMessage() for record in logged.records] == [
        "refresh of counts could not start: RuntimeError: can't start new thread"
    ] * 2


def test_a_load_with_no_value_gives_up_on_a_count_that_never_ends() -> None:
    gate = threading.Event()
    values: ReusedValues[str] = ReusedValues(max_age_seconds=60, clock=Clock(), wait_seconds=0.05)
    compute = Counter(gate=gate)
    values.warm("k", compute, name="root-error groups")
    assert compute.entered.wait(WAIT_SECONDS)
    with pytest.raises(DatabaseUnavailableError, match=r"^The root-error groups were not counted within 0\.05s\.$"):
        values.get("k", compute, name="root-error groups")
    gate.set()
    assert values.wait_for_refreshes(WAIT_SECONDS)
    assert values.get("k", compute, name="root-error groups") == "value 1"
