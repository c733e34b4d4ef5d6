"""The world every bench measures: written by `seed_world` (`manage.py seed_demo`'s code) into
fresh databases of its own, indexes first, with a progress line; and its busiest dataset.

Shared by `bench/read_endpoints.py`, `bench/pages.py`, `bench/console_pages.py` and
`bench/engine_routes.py`. Call after `django.setup()`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from demo.world import WorldSummary


def seed_bench_world(
    *, mongo_url: str, prefix: str, cache_entries: int, jobs: int, seed: int, **config: Any
) -> WorldSummary:
    """Point the settings at new databases `<prefix>_cache_<time>`/`<prefix>_queue_<time>` and write the world.

    `config` overrides other fields of the console's configuration (`max_age=0`, say).
    """
    from django.conf import settings

    from demo.world import seed_world
    from foundation.database.indexes import ensure_all_indexes

    suffix = str(int(time.time()))
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN,
        cache_mongo_url=mongo_url,
        queue_mongo_url=mongo_url,
        cache_mongo_database=f"{prefix}_cache_{suffix}",
        queue_mongo_database=f"{prefix}_queue_{suffix}",
        **config,
    )
    ensure_all_indexes()

    def progress(what: str, done: int, total: int) -> None:
        print(f"\r  {what}: {done:,}/{total:,}", end="\n" if done >= total else "", flush=True)

    started = time.monotonic()
    summary = seed_world(datasets=None, cache_entries=cache_entries, jobs=jobs, seed=seed, progress=progress)
    print(
        f"seeded {summary.datasets:,} datasets, {summary.cache_entries:,} cache entries, {summary.jobs:,} jobs "
        f"in {time.monotonic() - started:.1f}s"
    )
    return summary


def busiest_dataset() -> str:
    """The dataset with the most cache entries (one aggregation over the cache)."""
    from foundation.database import mongo

    cache = mongo.cache_database()[mongo.CACHED_RESPONSES]
    counts = cache.aggregate([{"$group": {"_id": "$dataset", "n": {"$sum": 1}}}, {"$sort": {"n": -1}}, {"$limit": 1}])
    return str(next(counts)["_id"])


def drop_bench_world(mongo_url: str) -> None:
    """Drop the two databases `seed_bench_world` pointed the settings at (unless a bench keeps them)."""
    from django.conf import settings

    from foundation.database import mongo

    client = mongo.client_for(mongo_url)
    client.drop_database(settings.ADMIN.cache_mongo_database)
    client.drop_database(settings.ADMIN.queue_mongo_database)
