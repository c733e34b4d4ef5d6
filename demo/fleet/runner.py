"""The fleet: one thread per stand-in worker, until told to stop; a line per minute of what it did.

Each thread steps its worker and sleeps until the worker's next `wake_at()` (or until the stop
event). A database error is logged and the worker tries again a second later, as a restarted
worker would. At the stop, a worker in the middle of a job leaves it started with
`terminated_at` (as a worker sent SIGTERM), so the console sees it stale soon after.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pymongo.errors import PyMongoError

from demo.fleet.settings import FleetSettings
from demo.fleet.worker import StandInWorker, Step

REPORT_SECONDS = 60.0
RETRY_AFTER_ERROR_SECONDS = 1.0


@dataclass
class FleetTally:
    """What the fleet did since its last report (thread-safe)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: Step) -> None:
        with self.lock:
            if step.action == "finished" and step.http_status is not None:
                self.counts["finished"] += 1
                self.counts["errors"] += step.http_status >= 400
            elif step.action == "died":
                self.counts["died"] += 1
            self.counts["blocked"] += step.blocked

    def take(self) -> Counter[str]:
        with self.lock:
            counts, self.counts = self.counts, Counter()
        return counts


def fleet_workers(settings: FleetSettings, *, seed: int) -> list[StandInWorker]:
    """One worker per size of `settings.workers`, named `light-1`, `medium-1`..., each with its own random numbers."""
    workers = []
    numbers: Counter[str] = Counter()
    for size in settings.workers.sizes():
        numbers[size] += 1
        name = f"{size}-{numbers[size]}"
        workers.append(StandInWorker(name=name, size=size, settings=settings, rng=random.Random(f"{seed}:{name}")))
    return workers


def event_line(worker: StandInWorker, step: Step) -> str | None:
    """The line worth showing for a step (a death, a blockage), None for the others."""
    if step.job is None:
        return None
    if step.action == "died":
        return f"stand-in worker {worker.name} died holding {step.job['unicity_id']}: started, no heartbeats from now"
    if step.blocked:
        return f"dataset {step.job['dataset']} went over its compute budget (7,200 s in an hour): blocked"
    return None


def work_until_stopped(
    worker: StandInWorker, stop: threading.Event, tally: FleetTally, report: Callable[[str], None]
) -> None:
    """One worker's thread: step, report what is worth it, sleep until the next step is due; stop on `stop`."""
    while not stop.is_set():
        try:
            step = worker.step()
        except PyMongoError as error:  # the database, for a moment: the same step again
            report(f"stand-in worker {worker.name}: {type(error).__name__}: {error}; trying again")
            stop.wait(RETRY_AFTER_ERROR_SECONDS)
            continue
        except Exception as error:  # a job it cannot run (say, of a step the graph lacks): dropped, as a crash
            abandoned, worker.running = worker.running, None
            what = abandoned.job.get("unicity_id") if abandoned is not None else "no job"
            report(f"stand-in worker {worker.name} crashed on {what}: {type(error).__name__}: {error}")
            stop.wait(RETRY_AFTER_ERROR_SECONDS)
            continue
        tally.add(step)
        line = event_line(worker, step)
        if line is not None:
            report(line)
        stop.wait(max(0.0, worker.wake_at() - worker.clock()))
    try:
        left = worker.stop()
    except PyMongoError:
        return
    if left is not None:
        report(f"stand-in worker {worker.name} stopped: {left['unicity_id']} left started, terminated")


def run_fleet(
    settings: FleetSettings,
    *,
    seed: int,
    stop: threading.Event,
    report: Callable[[str], None],
    report_seconds: float = REPORT_SECONDS,
) -> None:
    """Run the workers until `stop` is set; `report` gets a line per `report_seconds` of what they did."""
    workers = fleet_workers(settings, seed=seed)
    tally = FleetTally()
    threads = [
        threading.Thread(
            target=work_until_stopped, args=(worker, stop, tally, report), name=f"stand-in-{worker.name}", daemon=True
        )
        for worker in workers
    ]
    for thread in threads:
        thread.start()
    last = time.monotonic()
    while not stop.wait(max(0.0, last + report_seconds - time.monotonic())):
        last = time.monotonic()
        counts = tally.take()
        report(
            f"stand-in workers, last {report_seconds:g} s: {counts['finished']} jobs finished"
            f" ({counts['errors']} errors), {counts['died']} died, {counts['blocked']} datasets blocked"
        )
    for thread in threads:
        thread.join(timeout=10)
