"""The cache entries a worker reads around one job: its parents' results, the name lists, the config sizes."""

from __future__ import annotations

from collections.abc import Sequence

from foundation.database import mongo


def cache_entries_of_kinds(*, dataset: str, kinds: Sequence[str]) -> list[mongo.MongoDocument]:
    """Every entry of these kinds of one dataset, whole (content and details): one find on (dataset, kind, ...).

    From the primary: a worker decides from them what it writes next (an error to copy, the
    configs or splits of the children, the big-config bonus).
    """
    if not kinds:
        return []
    return list(
        mongo.cache_database()[mongo.CACHED_RESPONSES]
        .find({"dataset": dataset, "kind": {"$in": sorted(set(kinds))}})
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
