"""One stand-in worker: the workers' loop of REFERENCE.md, one step at a time, on an injectable clock.

A step does what is due at the clock's time and returns what it did (`Step`):
- idle: pick a job (`jobs.selectors.next_waiting_job`) and start it under the lock of its
  unicity_id (`jobs.services.start_newest_waiting_job`: the newest waiting job of that id is
  started, the others deleted, the metric rows moved). Whether this job will fail, "kill" its
  worker or run away is drawn now, from the worker's own seeded random numbers;
- running: write a heartbeat when one is due (`jobs.services.beat`), every `heartbeat_seconds`;
- at the end of the run, finish (`_finish`): under the unicity_id's lock, check the job is
  still started, compute its result from its parents' entries (`demo.fleet.computation`),
  upsert the cache entry with its metric rows (`cachereports.services.write_job_result`), delete
  the job (`jobs.services.delete_finished_job`), record its compute in `pastJobs`
  (`record_past_job`); the lock is released; then block the dataset if it went over its budget
  (`block_dataset_over_budget`) and queue the children (`demo.fleet.children`,
  `jobs.services.add_jobs_unless_pending`). The blocking comes after the release so that a
  worker never waits for the dataset's lock while it holds an artifact's (the console takes
  them the other way round). A worker that "dies" instead forgets its job: it stays started
  and stops beating, so it turns stale; the worker goes on with the next job, as a restarted one.

Nothing waits here: the caller sleeps until `wake_at()` (the fleet) or moves the clock (tests).
A lock that cannot be had within the workers' 2 s is tried again at the next step.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cachereports import services as cache_services
from cachereports.selectors import artifacts as artifact_selectors
from demo.fleet.children import children_jobs, lists_and_sizes
from demo.fleet.computation import job_result, parent_artifacts
from demo.fleet.settings import FleetSettings
from foundation.core.processing_graph import ProcessingGraph, processing_graph
from foundation.database import mongo
from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.locks import LockTimeoutError, held_lock

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Seconds on a monotonic clock (`time.monotonic` in the fleet, a hand-moved one in tests)."""

Action = Literal["idle", "gave_up", "started", "beat", "running", "died", "finished", "lost", "retry"]

RUNAWAY_COMPUTE_SECONDS = (2.05 * 3600, 3 * 3600)
"""A runaway job stands for this much compute: alone over the 7,200 s budget of its dataset's hour."""


@dataclass(frozen=True)
class Step:
    """What one step of a worker did, for the tests and the fleet's log."""

    action: Action
    job: Mapping[str, Any] | None = None
    http_status: int | None = None
    blocked: bool = False
    children: int = 0


@dataclass
class RunningJob:
    """The job a worker holds, and what was drawn for it when it started."""

    job: Mapping[str, Any]
    started: float
    ends: float
    next_beat: float
    dies: bool
    runaway: bool
    children_to_queue: list[dict[str, Any]] = field(default_factory=list)


class StandInWorker:
    """A worker of one size (light, medium, heavy) taking jobs in a loop, as the dataset viewer's workers do."""

    def __init__(
        self,
        *,
        name: str,
        size: str,
        settings: FleetSettings,
        rng: random.Random,
        clock: Clock = time.monotonic,
        graph: ProcessingGraph | None = None,
    ) -> None:
        self.name = name
        self.size = size
        self.settings = settings
        self.rng = rng
        self.clock = clock
        self.graph = graph or processing_graph()
        self.running: RunningJob | None = None
        self.idle_until = 0.0

    def wake_at(self) -> float:
        """When the next step has something to do (the fleet sleeps until then)."""
        if self.running is None:
            return self.idle_until
        if self.running.children_to_queue:
            return self.running.ends
        return min(self.running.ends, self.running.next_beat)

    def step(self) -> Step:
        now = self.clock()
        running = self.running
        if running is None:
            return self._pick_and_start(now)
        if now >= running.ends:
            if running.children_to_queue:
                return self._queue_children(running, now)
            if running.dies:
                self.running = None
                return Step("died", running.job)
            return self._finish(running, now)
        if now >= running.next_beat:
            running.next_beat = now + self.settings.heartbeat_seconds
            job_services.beat(job_id=running.job["_id"])
            return Step("beat", running.job)
        return Step("running", running.job)

    def stop(self) -> Mapping[str, Any] | None:
        """SIGTERM: the job held stays started with `terminated_at` (stale once that is old); it is returned."""
        running, self.running = self.running, None
        if running is None or running.children_to_queue:
            return None
        job_services.mark_terminated(job_ids=[running.job["_id"]])
        return running.job

    # --- the steps ------------------------------------------------------------------------

    def _pick_and_start(self, now: float) -> Step:
        picked = job_selectors.next_waiting_job(size=self.size)
        if picked is None:
            self.idle_until = now + self.settings.idle_seconds
            return Step("idle")
        try:
            started = job_services.start_newest_waiting_job(unicity=str(picked["unicity_id"]))
        except LockTimeoutError:
            started = None
        if started is None:
            return Step("gave_up", picked)  # another worker (or the console) was first: pick again
        low, high = self.settings.job_seconds
        self.running = RunningJob(
            job=started,
            started=now,
            ends=now + self.rng.uniform(low, high),
            next_beat=now + self.settings.heartbeat_seconds,
            dies=self.rng.random() < self.settings.death_rate,
            runaway=self.rng.random() < self.settings.runaway_rate,
        )
        return Step("started", started)

    def _compute_seconds(self, running: RunningJob, now: float) -> float:
        if running.runaway:
            return round(self.rng.uniform(*RUNAWAY_COMPUTE_SECONDS), 3)
        return round((now - running.started) * self.settings.clock_scale, 3)

    def _finish(self, running: RunningJob, now: float) -> Step:
        job = running.job
        step = self.graph.steps_by_name[str(job["type"])]
        duration = self._compute_seconds(running, now)
        try:
            with held_lock(key=str(job["unicity_id"]), deadline_seconds=job_services.WORKER_LOCK_DEADLINE_SECONDS):
                current = job_selectors.started_job_by_id(job_id=job["_id"])
                if current is None:
                    self.running = None
                    return Step("lost", job)  # requeued or deleted meanwhile: nothing is written
                entries = artifact_selectors.cache_entries_of_artifacts(
                    dataset=str(current["dataset"]),
                    artifacts=[*parent_artifacts(step=step, graph=self.graph, job=current), *lists_and_sizes(current)],
                )
                result = job_result(
                    step=step,
                    graph=self.graph,
                    job=current,
                    entries=entries,
                    rng=self.rng,
                    failure_rate=self.settings.failure_rate,
                    world_seed=self.settings.world_seed,
                )
                written = cache_services.write_job_result(
                    kind=step.name,
                    dataset=str(current["dataset"]),
                    config=current.get("config"),
                    split=current.get("split"),
                    revision=str(current["revision"]),
                    job_runner_version=step.job_runner_version,
                    result=result,
                    duration=duration,
                )
                job_services.delete_finished_job(job=current)
                finished_at = mongo.utc_now()
                recorded = job_services.record_past_job(
                    dataset=str(current["dataset"]), duration_seconds=duration, finished_at=finished_at
                )
        except LockTimeoutError:
            running.ends = now + self.settings.idle_seconds
            return Step("retry", job)
        blocked = recorded and self._block_if_over_budget(str(current["dataset"]))
        running.children_to_queue = children_jobs(
            graph=self.graph,
            job=current,
            entries=_with_written(entries, written.entry),
            now=mongo.utc_now(),
        )
        queued = self._queue_children(running, now)
        return Step("finished", current, http_status=result.http_status, blocked=blocked, children=queued.children)

    def _block_if_over_budget(self, dataset: str) -> bool:
        try:
            return job_services.block_dataset_over_budget(dataset=dataset)
        except LockTimeoutError:
            return False  # a console operation holds the dataset: its next recorded job checks again

    def _queue_children(self, running: RunningJob, now: float) -> Step:
        try:
            created = job_services.add_jobs_unless_pending(
                dataset=str(running.job["dataset"]), new_jobs=running.children_to_queue
            )
        except LockTimeoutError:
            running.ends = now + self.settings.idle_seconds
            return Step("retry", running.job)
        self.running = None
        return Step("finished", running.job, children=created)


def _with_written(entries: Sequence[Mapping[str, Any]], written: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The entries read before the write, with the written one in place of its old self."""
    key = (written.get("kind"), written.get("config"), written.get("split"))
    return [entry for entry in entries if (entry.get("kind"), entry.get("config"), entry.get("split")) != key] + [
        written
    ]
