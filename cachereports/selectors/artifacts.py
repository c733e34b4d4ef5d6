"""The cache entries a worker reads around one job: its parents' results, the name lists, the config sizes."""

from __future__ import annotations

from collections.abc import Iterable

from foundation.database import mongo

DatasetArtifact = tuple[str, str | None, str | None]
"""(kind, config, split) of one dataset's artifact."""


def cache_entries_of_artifacts(*, dataset: str, artifacts: Iterable[DatasetArtifact]) -> list[mongo.MongoDocument]:
    """The entries of these artifacts of one dataset that exist, whole (content and details).

    One `find_one` per artifact on the unique index (kind, dataset, config, split): a point
    lookup on any engine (a `$in` on the kinds of the dataset is a range on MongoDB but a scan of
    the whole cache on the embedded engine, which uses its unique indexes only). From the
    primary: a worker decides from them what it writes next (an error to copy, the configs or
    splits of the children, the big-config bonus). A handful per job, whatever the cache's size.
    """
    entries = mongo.cache_database()[mongo.CACHED_RESPONSES]
    found = []
    for kind, config, split in dict.fromkeys(artifacts):
        entry = entries.find_one({"kind": kind, "dataset": dataset, "config": config, "split": split})
        if entry is not None:
            found.append(entry)
    return found
