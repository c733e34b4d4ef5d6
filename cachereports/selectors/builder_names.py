"""Counts of successful `dataset-info` entries by builder name (one aggregation)."""

from __future__ import annotations

from cachereports.constants import BUILDER_NAMES, DATASET_INFO_KIND
from foundation.database import mongo


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
