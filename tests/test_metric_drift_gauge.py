"""The collector measures how far the metric rows are off a recount, and /admin/metrics says so (issue 23).

`collect_counts` recounts the three metric collections as `recount_metrics --dry-run` does, at
most once an hour, into `adminCounts`; the scrape exposes it as `metric_rows_drift` and
`metric_rows_off` by collection, for an alert. Nothing is repaired by the measure.
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from overview.collector import Task, collect_once, count_metric_drift
from tests.support.write_helpers import A_DATE, upstream_cache_entry
from tests.test_observability import samples_of

DRIFT = Task("metric-row drift", count_metric_drift)


def test_the_drift_of_the_metric_rows_is_measured_and_scraped_without_repairing_them(
    client: Client, cache_db: Any
) -> None:
    cache_db["cachedResponsesBlue"].insert_many(
        [upstream_cache_entry(kind="dataset-info", dataset=f"org/{name}") for name in ("a", "b")]
    )
    row = {"kind": "dataset-info", "http_status": 200, "total": 5, "created_at": A_DATE}
    cache_db["cacheTotalMetric"].insert_one(row)  # 3 too many: the cache holds 2 such entries

    [outcome] = collect_once([DRIFT])
    assert (outcome.failed, outcome.line) == (False, "1 metric rows off a recount (total drift 3)")

    samples = samples_of(client.get("/admin/metrics").content)
    assert samples["metric_rows_drift"] == {
        (("collection", "cacheTotalMetric"),): 3.0,
        (("collection", "jobTotalMetric"),): 0.0,
        (("collection", "workerTypeJobCounts"),): 0.0,
    }
    assert samples["metric_rows_off"][(("collection", "cacheTotalMetric"),)] == 1.0
    assert cache_db["cacheTotalMetric"].find_one({"kind": "dataset-info"})["total"] == 5  # measured, not repaired


def test_the_recount_runs_once_an_hour_at_most(cache_db: Any) -> None:
    collect_once([DRIFT])
    [outcome] = collect_once([DRIFT])
    assert outcome.line.startswith("recounted 0 s ago")


def test_before_a_first_measure_the_scrape_has_no_drift_gauge(client: Client) -> None:
    assert "metric_rows_drift" not in samples_of(client.get("/admin/metrics").content)
