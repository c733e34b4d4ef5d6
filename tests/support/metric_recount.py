"""A test oracle: the metric rows recounted from the documents, written from REFERENCE.md and the collectors' rules.

Independent of the service's code (no import of it): the cache entries counted by (kind,
http_status, error_code); every job by (type, status, "blocked" when its dataset is in
`datasetBlockages`, else "normal"); every job of a dataset that is not blocked with
0 < difficulty <= 100 by worker size (light <= 40 < medium <= 70 < heavy), the three sizes
always there. A row absent counts 0.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

Rows = dict[str, dict[tuple[Any, ...], int]]

CACHE_ROWS, JOB_ROWS, SIZE_ROWS = "cacheTotalMetric", "jobTotalMetric", "workerTypeJobCounts"


def _size(difficulty: float) -> str:
    return "light" if difficulty <= 40 else "medium" if difficulty <= 70 else "heavy"


def recounted_rows(cache_db: Any, queue_db: Any) -> Rows:
    cache: Counter[tuple[Any, ...]] = Counter(
        (entry.get("kind"), entry.get("http_status"), entry.get("error_code"))
        for entry in cache_db["cachedResponsesBlue"].find()
    )
    blocked = {blockage["dataset"] for blockage in queue_db["datasetBlockages"].find()}
    jobs: Counter[tuple[Any, ...]] = Counter()
    sizes: Counter[tuple[Any, ...]] = Counter({("light",): 0, ("medium",): 0, ("heavy",): 0})
    for job in queue_db["jobsBlue"].find():
        jobs[job.get("type"), job.get("status"), "blocked" if job["dataset"] in blocked else "normal"] += 1
        difficulty = job.get("difficulty")
        if job["dataset"] not in blocked and isinstance(difficulty, int | float) and 0 < difficulty <= 100:
            sizes[(_size(difficulty),)] += 1
    return {CACHE_ROWS: dict(cache), JOB_ROWS: dict(jobs), SIZE_ROWS: dict(sizes)}


def stored_rows(cache_db: Any, queue_db: Any) -> Rows:
    def read(collection: Any, fields: tuple[str, ...], value: str) -> dict[tuple[Any, ...], int]:
        rows: Counter[tuple[Any, ...]] = Counter()
        for row in collection.find():
            rows[tuple(row.get(name) for name in fields)] += row.get(value, 0)
        return dict(rows)

    return {
        CACHE_ROWS: read(cache_db[CACHE_ROWS], ("kind", "http_status", "error_code"), "total"),
        JOB_ROWS: read(queue_db[JOB_ROWS], ("job_type", "status", "dataset_status"), "total"),
        SIZE_ROWS: read(queue_db[SIZE_ROWS], ("worker_size",), "jobs_count"),
    }


def rows_off(cache_db: Any, queue_db: Any) -> dict[str, dict[tuple[Any, ...], tuple[int, int]]]:
    """The rows whose value differs from the recount: collection -> row -> (stored, recounted)."""
    stored, recounted = stored_rows(cache_db, queue_db), recounted_rows(cache_db, queue_db)
    off: dict[str, dict[tuple[Any, ...], tuple[int, int]]] = {}
    for name in (CACHE_ROWS, JOB_ROWS, SIZE_ROWS):
        for key in set(stored[name]) | set(recounted[name]):
            values = stored[name].get(key, 0), recounted[name].get(key, 0)
            if values[0] != values[1]:
                off.setdefault(name, {})[key] = values
    return off


def drift_figure(off: dict[str, dict[tuple[Any, ...], tuple[int, int]]]) -> tuple[int, int]:
    """(rows off, sum of how far off they are) of `rows_off`."""
    return (
        sum(len(rows) for rows in off.values()),
        sum(abs(stored - recounted) for rows in off.values() for stored, recounted in rows.values()),
    )


def write_recounted_rows(cache_db: Any, queue_db: Any) -> None:
    """Set the metric collections to the recount (how a test world starts: its rows exact)."""
    recounted = recounted_rows(cache_db, queue_db)
    cache_db[CACHE_ROWS].delete_many({})
    queue_db[JOB_ROWS].delete_many({})
    queue_db[SIZE_ROWS].delete_many({})

    def insert(collection: Any, fields: tuple[str, ...], value: str, rows: dict[tuple[Any, ...], int]) -> None:
        documents = [
            {**{name: part for name, part in zip(fields, key, strict=True) if part is not None}, value: total}
            for key, total in rows.items()
        ]
        if documents:
            collection.insert_many(documents)

    insert(cache_db[CACHE_ROWS], ("kind", "http_status", "error_code"), "total", recounted[CACHE_ROWS])
    insert(queue_db[JOB_ROWS], ("job_type", "status", "dataset_status"), "total", recounted[JOB_ROWS])
    insert(queue_db[SIZE_ROWS], ("worker_size",), "jobs_count", recounted[SIZE_ROWS])
