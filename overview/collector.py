"""The collector: counts too costly for a page load, and the activity samples, made apart from the web processes.

The other services of the dataset viewer precompute such numbers in a collector job that runs
on a schedule (their cache-metrics collector); so does the console. `manage.py collect_counts`
runs one round (a cron job or a Kubernetes CronJob every minute), `--every SECONDS` runs a
round at each multiple of SECONDS until stopped (what `make run` starts beside the server).
A round takes the activity sample of the current interval (`overview.activity`: at most one
per interval, whatever the number of collectors), counts the dashboard's costly numbers
(`overview.counts`) and drops the samples past their retention. The pages only read what a
round wrote, and say how old it is.

A round is a list of tasks, each independent of the others: a task that fails (a database
that does not answer) is reported on its line, and the next ones still run. Each task writes
whole documents, so a round stopped half-way leaves the last counts as they were.

The drift of the metric rows (what `manage.py recount_metrics --dry-run` shows) is one more task
of `ROUND`, once an hour: it writes `adminCounts` `_id: "metric-row-drift"`, which /admin/metrics
exposes as the gauges `metric_rows_drift` and `metric_rows_off`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from pymongo.errors import ConnectionFailure

from cachereports.selectors import builder_names as builder_name_selectors
from cachereports.selectors import error_groups
from datasetops import metric_recount
from foundation.core.commands import unavailable_databases
from foundation.database import mongo
from overview import activity, counts

_MAX_ERROR_LENGTH = 200
"""A driver's error can run to kilobytes (pymongo describes the whole topology): its start says why."""


def count_builder_names() -> str:
    """Successful `dataset-info` entries by builder name: one aggregation over them, one write."""
    counted_at, began = mongo.utc_now(), time.monotonic()
    builder_names = builder_name_selectors.num_dataset_infos_by_builder_name()
    duration = time.monotonic() - began
    counts.store_builder_name_counts(counts=builder_names, counted_at=counted_at, duration_seconds=duration)
    return f"{sum(builder_names.values()):,} dataset-info entries by builder name, counted in {duration:.1f} s"


def count_root_errors() -> str:
    """The root-error groups of every kind: one aggregation over the error entries, one write."""
    counted_at, began = mongo.utc_now(), time.monotonic()
    errors = error_groups.cache_errors(kind=None)
    duration = time.monotonic() - began
    counts.store_root_errors(errors=errors, counted_at=counted_at, duration_seconds=duration)
    return f"{len(errors.errors):,} root-error groups, {errors.copied:,} copies, counted in {duration:.1f} s"


def sample_activity() -> str:
    """The activity sample of the interval that holds now (ADMIN_ACTIVITY_SAMPLE_SECONDS), unless it has one."""
    outcome = activity.take_activity_sample(
        now=mongo.utc_now(), interval_seconds=settings.ADMIN.activity_sample_seconds
    )
    return str(outcome)


def drop_expired_samples() -> str:
    """The activity samples older than ADMIN_ACTIVITY_RETENTION_DAYS, deleted (as their TTL index would)."""
    days = settings.ADMIN.activity_retention_days
    deleted = activity.delete_expired_samples(now=mongo.utc_now(), retention_days=days)
    return f"{deleted:,} older than {days} days deleted"


METRIC_COLLECTIONS = (mongo.CACHE_TOTAL_METRIC, mongo.JOB_TOTAL_METRIC, mongo.WORKER_TYPE_JOB_COUNTS)

METRIC_DRIFT_EVERY_SECONDS = 3600
"""How often a round recounts the metric rows: the recount aggregates the whole cache and queue,
as the other services' own metrics collector does on its schedule, so not every minute."""


def count_metric_drift() -> str:
    """How far the metric rows are off a recount of the documents (a dry run: nothing repaired).

    `manage.py recount_metrics` repairs them; this only measures, for /admin/metrics
    (`metric_rows_drift`, `metric_rows_off`) and its alert. Once an hour at most.
    """
    last = counts.latest_metric_drift(mongo.queue_database())
    now = mongo.utc_now()
    if last is not None and (now - last.counted_at).total_seconds() < METRIC_DRIFT_EVERY_SECONDS:
        return f"recounted {int((now - last.counted_at).total_seconds())} s ago: next at the hour"
    began = time.monotonic()
    found = metric_recount.recount_all(dry_run=True).found
    rows_off: dict[str, int] = dict.fromkeys(METRIC_COLLECTIONS, 0)
    total: dict[str, int] = dict.fromkeys(METRIC_COLLECTIONS, 0)
    for row in found:
        if row.drift:
            rows_off[row.collection] = rows_off.get(row.collection, 0) + 1
            total[row.collection] = total.get(row.collection, 0) + abs(row.drift)
    measured = counts.MetricDrift(rows_off=rows_off, total_drift=total, counted_at=now)
    counts.store_metric_drift(drift=measured, duration_seconds=time.monotonic() - began)
    return f"{sum(rows_off.values())} metric rows off a recount (total drift {sum(total.values())})"


@dataclass(frozen=True)
class Task:
    name: str
    run: Callable[[], str]
    """Does the task's work and says what it did, in one line."""


ROUND: Sequence[Task] = (
    Task("activity sample", sample_activity),
    Task("builder names", count_builder_names),
    Task("root errors", count_root_errors),
    Task("expired activity samples", drop_expired_samples),
    Task("metric-row drift", count_metric_drift),
)
"""What a round does, in this order: the sample first, close to the start of its interval."""


@dataclass(frozen=True)
class TaskOutcome:
    name: str
    line: str
    failed: bool

    def __str__(self) -> str:
        return f"{self.name}: {'failed: ' if self.failed else ''}{self.line}"


def _why(error: Exception) -> str:
    if isinstance(error, ConnectionFailure):
        return f"the database is unavailable ({unavailable_databases(error, settings.ADMIN)})"
    first_line = (str(error).splitlines() or [""])[0][:_MAX_ERROR_LENGTH]
    return f"{type(error).__name__}: {first_line}"


def collect_once(tasks: Sequence[Task] = ROUND) -> list[TaskOutcome]:
    """Run every task once; a failing task is reported and the others still run."""
    outcomes = []
    for task in tasks:
        try:
            outcomes.append(TaskOutcome(task.name, task.run(), failed=False))
        except Exception as error:
            outcomes.append(TaskOutcome(task.name, _why(error), failed=True))
    return outcomes


def next_multiple(moment: float, every_seconds: float) -> float:
    """The first multiple of `every_seconds` (since the epoch) after `moment`: rounds fall on the same marks
    in every collector, so with `--every ADMIN_ACTIVITY_SAMPLE_SECONDS` each round opens a new interval."""
    return (math.floor(moment / every_seconds) + 1) * every_seconds


def collect_every(
    every_seconds: float,
    *,
    report: Callable[[list[TaskOutcome]], None],
    wait: Callable[[float], bool],
    clock: Callable[[], float] = time.time,
    tasks: Sequence[Task] = ROUND,
) -> None:
    """A round now, then one at each multiple of `every_seconds`, until `wait` says to stop.

    `wait(seconds)` waits that long, or less, and answers True when the collector is to stop
    (`threading.Event.wait` of a stop event); a wake-up before the mark waits again.
    """
    while True:
        report(collect_once(tasks))
        mark = next_multiple(clock(), every_seconds)
        while (remaining := mark - clock()) > 0:
            if wait(remaining):
                return
