"""What the metric rows should say, counted from the documents themselves: the check of every fleet test."""

from __future__ import annotations

from collections import Counter
from typing import Any

from jobs.constants import worker_size


def metric_rows(cache_db: Any, queue_db: Any) -> dict[str, Counter[Any]]:
    """The three metric collections as counters (rows at 0 left out, as absent rows)."""
    rows: dict[str, Counter[Any]] = {
        "jobTotalMetric": Counter(),
        "workerTypeJobCounts": Counter(),
        "cacheTotalMetric": Counter(),
    }
    for row in queue_db["jobTotalMetric"].find():
        rows["jobTotalMetric"][(row["job_type"], row["status"], row["dataset_status"])] += row["total"]
    for row in queue_db["workerTypeJobCounts"].find():
        rows["workerTypeJobCounts"][row["worker_size"]] += row["jobs_count"]
    for row in cache_db["cacheTotalMetric"].find():
        rows["cacheTotalMetric"][(row["kind"], row["http_status"], row.get("error_code"))] += row["total"]
    return {name: +counter for name, counter in rows.items()}


def recount(cache_db: Any, queue_db: Any) -> dict[str, Counter[Any]]:
    """Jobs by (type, status, "normal"), waiting jobs of unblocked datasets by size, entries by (kind, status, code)."""
    blocked = set(queue_db["datasetBlockages"].distinct("dataset"))
    counts: dict[str, Counter[Any]] = {
        "jobTotalMetric": Counter(),
        "workerTypeJobCounts": Counter(),
        "cacheTotalMetric": Counter(),
    }
    for job in queue_db["jobsBlue"].find():
        counts["jobTotalMetric"][(job["type"], job["status"], "normal")] += 1
        if job["status"] == "waiting" and job["dataset"] not in blocked:
            counts["workerTypeJobCounts"][worker_size(int(job["difficulty"]))] += 1
    for entry in cache_db["cachedResponsesBlue"].find():
        counts["cacheTotalMetric"][(entry["kind"], entry["http_status"], entry.get("error_code"))] += 1
    return counts


def duplicate_waiting_jobs(queue_db: Any) -> dict[str, int]:
    """The unicity_ids with more than one waiting job, and how many they have."""
    waiting = Counter(job["unicity_id"] for job in queue_db["jobsBlue"].find({"status": "waiting"}))
    return {key: count for key, count in waiting.items() if count > 1}
