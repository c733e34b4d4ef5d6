"""/admin/metrics: what Prometheus scrapes.

Two kinds of numbers, gathered differently:

- Request metrics (django-prometheus middleware: counts, latencies, statuses by view) are
  counted by each uvicorn worker. With PROMETHEUS_MULTIPROC_DIR set, every worker writes them
  to files there and a scrape, whichever worker answers it, returns their sum over all
  workers (prometheus_client's MultiProcessCollector). Without it, each worker reports its own.
- The state gauges are read at each scrape from the metric collections the other services
  keep (jobTotalMetric, workerTypeJobCounts, cacheTotalMetric) and from the disk holding
  PARQUET_METADATA_STORAGE_DIRECTORY. They describe the system, not the worker, so they are
  produced by a collector added to the scrape's registry only: never written to the
  multiprocess files, never summed across workers. Names and labels are upstream's.

If MongoDB does not answer within the probe timeout, the scrape still answers 200 with the
request metrics and `mongodb_up{database="cache"|"queue"} 0` instead of that database's gauges.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from pymongo.errors import PyMongoError

from cachereports.selectors import health
from foundation.core.config import AdminConfig
from foundation.database.mongo import MongoDocument
from foundation.database.probes import (
    DatabaseTarget,
    database_targets,
    ping_databases,
    probe_database,
    probe_timeout_seconds,
)
from foundation.web.error_answers import json_safe_methods_only
from jobs import selectors as job_selectors
from overview import counts

logger = logging.getLogger(__name__)

Labels = tuple[str, ...]


def _label(value: Any) -> str:
    """A label value as upstream writes it: str() of the field (a missing error_code is "None")."""
    return str(value)


def _gauge(name: str, documentation: str, labels: list[str], values: dict[Labels, float]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        gauge.add_metric(list(label_values), value)
    return gauge


def _summed(rows: Iterable[MongoDocument], labels: list[str], value_field: str) -> dict[Labels, float]:
    """Rows to {label values: value}; duplicate label sets (which a unique index should prevent,
    but FerretDB's does not for a missing field) are added up so the exposition stays valid."""
    values: dict[Labels, float] = defaultdict(float)
    for row in rows:
        values[tuple(_label(row.get(label)) for label in labels)] += float(row.get(value_field) or 0)
    return values


def _queue_gauges(target: DatabaseTarget, timeout: float) -> list[Metric]:
    database = probe_database(target, timeout_seconds=timeout)
    job_rows = [
        {
            "queue": row.get("job_type"),
            "status": row.get("status"),
            "dataset_status": row.get("dataset_status", "normal"),
            "total": row.get("total"),
        }
        for row in job_selectors.job_metric_rows(database)
    ]
    worker_rows = job_selectors.worker_size_rows(database)
    drift = counts.latest_metric_drift(database)
    drift_gauges = (
        []
        if drift is None
        else [
            _gauge(
                "metric_rows_drift",
                "How far the metric rows are off a recount of the documents, summed either way (collect_counts)",
                ["collection"],
                {(name,): float(value) for name, value in drift.total_drift.items()},
            ),
            _gauge(
                "metric_rows_off",
                "How many metric rows are off a recount of the documents (collect_counts; recount_metrics repairs)",
                ["collection"],
                {(name,): float(value) for name, value in drift.rows_off.items()},
            ),
        ]
    )
    return [
        *drift_gauges,
        _gauge(
            "queue_jobs_total",
            "Number of jobs in the queue",
            ["queue", "status", "dataset_status"],
            _summed(job_rows, ["queue", "status", "dataset_status"], "total"),
        ),
        _gauge(
            "worker_size_jobs_count",
            "Number of jobs per worker size",
            ["worker_size"],
            _summed(worker_rows, ["worker_size"], "jobs_count"),
        ),
    ]


def _cache_gauges(target: DatabaseTarget, timeout: float) -> list[Metric]:
    database = probe_database(target, timeout_seconds=timeout)
    labels = ["kind", "http_status", "error_code"]
    rows = health.cache_metric_rows(database)
    return [
        _gauge(
            "responses_in_cache_total",
            "Number of cached responses in the cache",
            labels,
            _summed(rows, labels, "total"),
        )
    ]


def parquet_metadata_directory(config: AdminConfig) -> Path:
    """PARQUET_METADATA_STORAGE_DIRECTORY, or the temp dir when unset."""
    return config.parquet_metadata_storage_directory or Path(tempfile.gettempdir())


def _existing_ancestor(path: Path) -> Path:
    """The disk of a folder not created yet is the disk of its closest existing parent."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _disk_usage_gauge(directory: Path) -> GaugeMetricFamily:
    usage = shutil.disk_usage(_existing_ancestor(directory))
    # psutil's definition, which upstream reports: used over what a non-root user could use
    percent = round(usage.used / (usage.used + usage.free) * 100, 1) if usage.used + usage.free else 0.0
    values: dict[Labels, float] = {
        ("total",): usage.total,
        ("used",): usage.used,
        ("free",): usage.free,
        ("percent",): percent,
    }
    return _gauge(
        "parquet_metadata_disk_usage",
        "Usage of the disk where the parquet metadata are stored",
        ["type"],
        values,
    )


class SystemStateCollector:
    """The gauges of the whole system, computed at each scrape (never per worker)."""

    def collect(self) -> Iterator[Metric]:
        config: AdminConfig = settings.ADMIN
        timeout = probe_timeout_seconds(config)
        # one concurrent ping first: a dead server costs one probe timeout, not one per read
        answered = ping_databases(config)
        up: dict[Labels, float] = {}
        cache_target, queue_target = database_targets(config)
        for target, gauges in ((queue_target, _queue_gauges), (cache_target, _cache_gauges)):
            up[(target.name,)] = 0
            if not answered[target.name]:
                continue
            try:
                metrics = gauges(target, timeout)
            except PyMongoError as error:
                logger.warning("metrics: the %s database is unavailable: %s", target.name, type(error).__name__)
                continue
            up[(target.name,)] = 1
            yield from metrics
        yield _gauge("mongodb_up", "1 if the database answered the scrape, else 0", ["database"], up)
        yield _disk_usage_gauge(parquet_metadata_directory(config))


class _RequestMetrics:
    """The request metrics: summed over the workers' files in multiprocess mode, else this
    process's default registry."""

    def collect(self) -> Iterable[Metric]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return MultiProcessCollector(None).collect()  # type: ignore[no-untyped-call,no-any-return]
        return REGISTRY.collect()


def scrape() -> bytes:
    """The Prometheus text exposition of one scrape."""
    registry = CollectorRegistry()
    registry.register(_RequestMetrics())
    registry.register(SystemStateCollector())
    return generate_latest(registry)


@csrf_exempt
@json_safe_methods_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Open to all (no auth), like the healthchecks: Prometheus scrapes it without a token."""
    response = HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
