"""The demo's fleet and the console's writes racing on the same artifacts: no duplicate, rows equal to a recount.

Five stand-in workers (their own threads and connections) step through the queue of one
dataset while the console force-refreshes the same artifacts (two callers) and bulk-refreshes
its entries (one caller), over the whole service, against the fake Hub. Every caller starts a
phase at the same barrier, does its share, and waits at the next one; after each round of
three phases: no unicity_id with two waiting jobs, and the metric rows of the queue and the
cache equal a recount of the documents. Ten rounds, the fleet carrying on from one to the next.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from demo.fleet.settings import FleetSettings
from demo.fleet.worker import StandInWorker
from jobs.constants import Priority
from jobs.services import add_waiting_job
from tests.support.recount import duplicate_waiting_jobs, metric_rows, recount
from tests.support.write_helpers import SHA, serve_dataset, set_config

DATASET = "org/ds"
ROUNDS = 10
PHASES = 3
STEPS_PER_PHASE = 6
JOIN_SECONDS = 120
ARTIFACTS = (
    ("dataset-config-names", None, None),
    ("dataset-info", None, None),
    ("config-parquet-and-info", "default", None),
    ("config-split-names", "default", None),
    ("config-info", "default", None),
    ("split-first-rows", "default", "train"),
)
"""What the console refreshes: artifacts the fleet computes (a dataset not of the world: one config, one split)."""
BULK_KINDS = ("dataset-config-names", "config-parquet-and-info", "config-split-names", "split-first-rows")
SETTINGS = FleetSettings(failure_rate=0.3, death_rate=0.05, runaway_rate=0.0, job_seconds=(0.0, 1.0))
"""No runaway: a blockage moves the worker counts of the dataset's waiting jobs outside of their locks."""


class StepClock:
    """A worker's own clock, moved one second per step: every job of up to 1 s ends at its next step."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def warmed_up_client() -> Client:
    """A client that has loaded the middleware already (two loading it at once register its metrics twice)."""
    client = Client()
    assert client.get("/healthcheck").status_code == 200
    return client


def run_phases(callers: list[Callable[[int], None]], tally: Counter[str]) -> None:
    """Each caller runs `caller(phase)` for every phase, all starting each phase at one barrier."""
    barrier = threading.Barrier(len(callers), timeout=JOIN_SECONDS)
    errors: list[BaseException] = []

    def run(caller: Callable[[int], None]) -> None:
        try:
            for phase in range(PHASES):
                barrier.wait()
                caller(phase)
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(caller,)) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a caller hung"
    if errors:
        raise errors[0]


def test_the_fleet_and_console_writes_on_the_same_artifacts_leave_no_duplicate_and_exact_rows(
    fake_hub: Any, cache_db: Any, queue_db: Any
) -> None:
    set_config(hf_timeout_seconds=30.0)  # the fake Hub answers one request at a time
    serve_dataset(fake_hub, DATASET)
    add_waiting_job(
        job_type="dataset-config-names",
        dataset=DATASET,
        revision=SHA,
        config=None,
        split=None,
        priority=Priority.LOW,
        difficulty=50,
    )
    tally: Counter[str] = Counter()
    tally_lock = threading.Lock()
    workers = [
        StandInWorker(
            name=f"{size}-{index}",
            size=size,
            settings=SETTINGS,
            rng=random.Random(f"race:{size}:{index}"),
            clock=StepClock(),
        )
        for index, size in enumerate(("light", "light", "medium", "medium", "heavy"))
    ]

    def count(name: str, by: int = 1) -> None:
        with tally_lock:
            tally[name] += by

    def fleet_worker(worker: StandInWorker) -> Callable[[int], None]:
        def steps(phase: int) -> None:
            for _ in range(STEPS_PER_PHASE):
                step = worker.step()
                count(f"fleet {step.action}")
                assert isinstance(worker.clock, StepClock)
                worker.clock.now += 1.0

        return steps

    def force_refresher(offset: int) -> Callable[[int], None]:
        client = warmed_up_client()

        def refresh(phase: int) -> None:
            for job_type, config, split in ARTIFACTS[offset::2]:
                params = (
                    {"dataset": DATASET} | ({"config": config} if config else {}) | ({"split": split} if split else {})
                )
                response = client.post(f"/admin/force-refresh/{job_type}?{urlencode(params)}")
                if response.status_code == 500 and response["X-Error-Code"] == "LockTimeoutError":
                    # a worker held the artifact's lock past the workers' 2 s wait (REFERENCE.md): the
                    # console answers at once that nothing was changed; the rows are checked all the same
                    count("force-refresh gave up on a held lock")
                    continue
                assert response.status_code == 200, response.content
                count(f"force-refresh {response.json()['action']}")

        return refresh

    bulk_client = warmed_up_client()
    bulk_calls = itertools.count()

    def bulk_refresher(phase: int) -> None:
        kind = BULK_KINDS[next(bulk_calls) % len(BULK_KINDS)]  # each kind in turn
        response = bulk_client.post(
            f"/admin/bulk-refresh?{urlencode({'kind': kind, 'dry_run': 'false', 'priority': 'normal'})}",
            data="",
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        outcome = response.json()
        count("bulk created", outcome["created_jobs"])
        count("bulk already waiting", outcome["already_waiting"])
        count("bulk skipped", len(outcome["skipped"]))

    callers = [fleet_worker(worker) for worker in workers] + [force_refresher(0), force_refresher(1), bulk_refresher]
    for round_number in range(ROUNDS):
        run_phases(callers, tally)
        assert duplicate_waiting_jobs(queue_db) == {}, f"round {round_number}"
        assert metric_rows(cache_db, queue_db) == recount(cache_db, queue_db), f"round {round_number}"
        count("rounds checked")
    assert tally["rounds checked"] == ROUNDS
    assert tally["fleet finished"] > ROUNDS and tally["force-refresh created"] > ROUNDS, tally
    assert tally["fleet gave_up"] + tally["force-refresh already_waiting"] + tally["bulk already waiting"] > 0, tally
    print(f"\nrace figures over {ROUNDS} rounds: {dict(sorted(tally.items()))}")  # the figures, shown with -s
