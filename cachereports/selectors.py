"""Reads of the cache database. Every query of the cachereports app is built here.

Each function costs a constant number of database commands: one query or one aggregation,
whatever the number of processing steps or cache entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from adminsite import mongo
from adminsite.errors import InvalidParameterError, NotFoundError
from adminsite.processing_graph import ProcessingStep, processing_graph
from cachereports.serializers import CacheReport, cache_report, cache_report_with_content
from jobs.selectors import pending_jobs_of_dataset

BUILDER_NAMES = ("parquet", "csv", "text", "imagefolder", "audiofolder", "json", "arrow", "webdataset")
"""The builder names counted one by one; every other builder (or none) counts as "other"."""

DATASET_INFO_KIND = "dataset-info"


@dataclass(frozen=True)
class CacheReportsPage:
    cache_reports: list[CacheReport]
    next_cursor: str


def step_or_404(name: str) -> ProcessingStep:
    """The processing step named by a URL (kind or job type); unknown ones are not found."""
    step = processing_graph().get(name)
    if step is None:
        raise NotFoundError(f"Unknown processing step '{name}'")
    return step


def parse_cursor(cursor: str) -> ObjectId | None:
    """An empty cursor starts at the beginning; anything but an ObjectId string is invalid."""
    if not cursor:
        return None
    try:
        return ObjectId(cursor)
    except (InvalidId, TypeError):
        raise InvalidParameterError("Cursor is invalid.") from None


def cache_reports_page(*, kind: str, cursor: str, limit: int, with_content: bool) -> CacheReportsPage:
    """One page of the entries of a kind, by `_id` ascending (index kind, _id).

    `next_cursor` is the `_id` of the last entry when the page is full, else "".
    """
    step_or_404(kind)
    after = parse_cursor(cursor)
    query: dict[str, Any] = {"kind": kind}
    if after is not None:
        query["_id"] = {"$gt": after}
    projection = None if with_content else {"content": 0}
    cache_entries = list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find(query, projection)
        .sort("_id", 1)
        .limit(limit)
        .batch_size(limit)  # the whole page in the first batch (within the server's 16 MB)
    )
    serialize = cache_report_with_content if with_content else cache_report
    next_cursor = str(cache_entries[-1]["_id"]) if len(cache_entries) == limit else ""
    return CacheReportsPage([serialize(entry) for entry in cache_entries], next_cursor)


def cache_reports_of_dataset(*, dataset: str) -> dict[str, list[CacheReport]]:
    """The cache reports of one dataset by kind, every step listed (index dataset, kind, http_status)."""
    by_kind: dict[str, list[CacheReport]] = {step.name: [] for step in processing_graph()}
    cache_entries = (
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find({"dataset": dataset}, {"content": 0})
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
    for entry in cache_entries:
        reports = by_kind.get(str(entry.get("kind")))
        if reports is not None:
            reports.append(cache_report(entry))
    for reports in by_kind.values():
        reports.sort(key=lambda report: (report["config"] or "", report["split"] or ""))
    return by_kind


def dataset_status(*, dataset: str) -> dict[str, dict[str, list[Any]]]:
    """Cache reports and pending jobs of a dataset for every step: two queries in all."""
    reports = cache_reports_of_dataset(dataset=dataset)
    jobs = pending_jobs_of_dataset(dataset=dataset)
    return {
        step.name: {
            "cached_responses": reports[step.name],
            "jobs": [*jobs[step.name]["waiting"], *jobs[step.name]["started"]],
        }
        for step in processing_graph()
    }


def num_dataset_infos_by_builder_name() -> dict[str, int]:
    """Successful `dataset-info` entries counted by builder name, in one aggregation."""
    counts = {name: 0 for name in (*BUILDER_NAMES, "other")}
    groups = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].aggregate(
        [
            {"$match": {"kind": DATASET_INFO_KIND, "http_status": 200}},
            {"$group": {"_id": "$content.dataset_info.default.builder_name", "count": {"$sum": 1}}},
        ]
    )
    for group in groups:
        builder_name = group["_id"]
        key = builder_name if builder_name in BUILDER_NAMES else "other"
        counts[key] += int(group["count"])
    return counts
