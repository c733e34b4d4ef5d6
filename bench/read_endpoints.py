"""Time the read routes on a big world in the embedded FerretDB (`make bench`).

    python bench/read_endpoints.py                      # 100k cache entries, 10k jobs
    python bench/read_endpoints.py --cache-entries 1000000 --jobs 100000   # slow on FerretDB
    CACHE_MONGO_URL=mongodb://... python bench/read_endpoints.py        # an empty MongoDB instead

The world is written by `seed_world` (the code of `manage.py seed_demo`) into fresh databases,
the indexes are ensured, then each route is called through the Django test client and timed;
the database commands of each call are counted (the round trips).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from pymongo import monitoring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COUNTER = CommandCounter()
monitoring.register(COUNTER)


def run(arguments: argparse.Namespace, mongo_url: str) -> None:
    import dataclasses

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from adminsite.database import mongo
    from adminsite.database.indexes import ensure_all_indexes
    from adminsite.demo.world import seed_world

    suffix = str(int(time.time()))
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN,
        cache_mongo_url=mongo_url,
        queue_mongo_url=mongo_url,
        cache_mongo_database=f"bench_cache_{suffix}",
        queue_mongo_database=f"bench_queue_{suffix}",
        max_age=0,
    )
    ensure_all_indexes()

    def progress(what: str, done: int, total: int) -> None:
        print(f"\r  {what}: {done:,}/{total:,}", end="\n" if done >= total else "", flush=True)

    started = time.monotonic()
    summary = seed_world(
        datasets=None,
        cache_entries=arguments.cache_entries,
        jobs=arguments.jobs,
        seed=arguments.seed,
        progress=progress,
    )
    print(
        f"seeded {summary.datasets:,} datasets, {summary.cache_entries:,} cache entries, {summary.jobs:,} jobs "
        f"in {time.monotonic() - started:.1f}s"
    )

    cache = mongo.cache_database()["cachedResponsesBlue"]
    busiest = next(
        cache.aggregate([{"$group": {"_id": "$dataset", "n": {"$sum": 1}}}, {"$sort": {"n": -1}}, {"$limit": 1}])
    )
    middle = cache.find({"kind": "split-first-rows"}, {"_id": 1}).sort("_id", 1).skip(summary.cache_entries // 60)
    middle_cursor = str(next(middle)["_id"])
    routes = [
        ("dataset-status (busiest dataset)", f"/admin/dataset-status?dataset={busiest['_id']}"),
        ("dataset-status (unknown dataset)", "/admin/dataset-status?dataset=nobody/nothing"),
        ("num-dataset-infos-by-builder-name", "/admin/num-dataset-infos-by-builder-name"),
        ("cache-reports, first page", "/admin/cache-reports/split-first-rows"),
        ("cache-reports, page deep in the kind", f"/admin/cache-reports/split-first-rows?cursor={middle_cursor}"),
        ("cache-reports-with-content, first page", "/admin/cache-reports-with-content/split-first-rows"),
        ("blocked-datasets", "/admin/blocked-datasets"),
        ("pending-jobs (whole queue)", "/admin/pending-jobs"),
    ]
    client = Client()
    print(f"\n{'route':<42} {'ms/request (median)':>20} {'min':>8} {'max':>8} {'commands':>10}  bytes")
    for name, url in routes:
        durations = []
        commands: Counter[str] = Counter()
        size = 0
        for _ in range(arguments.repeat):
            COUNTER.commands.clear()
            begin = time.perf_counter()
            response = client.get(url)
            durations.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:200])
            commands = Counter(COUNTER.commands)
            size = len(response.content)
        detail = ", ".join(f"{count} {command}" for command, count in sorted(commands.items()))
        print(
            f"{name:<42} {statistics.median(durations):>20.1f} {min(durations):>8.1f} {max(durations):>8.1f}"
            f" {sum(commands.values()):>10}  {size:,}  ({detail})"
        )
    if not arguments.keep:
        mongo.client_for(mongo_url).drop_database(settings.ADMIN.cache_mongo_database)
        mongo.client_for(mongo_url).drop_database(settings.ADMIN.queue_mongo_database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-entries", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--big", action="store_true", help="1,000,000 cache entries and 100,000 jobs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="calls per route")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    arguments = parser.parse_args()
    if arguments.big:
        arguments.cache_entries, arguments.jobs = 1_000_000, 100_000
    mongo_url = os.environ.get("CACHE_MONGO_URL")
    if mongo_url:
        run(arguments, mongo_url)
        return
    from adminsite.demo.embedded_mongo import EmbeddedMongo

    with (
        tempfile.TemporaryDirectory(prefix="bench-mongo-") as data_dir,
        EmbeddedMongo(Path(data_dir), persistent=False) as server,
    ):
        print(f"embedded mongo-java-server (memory) on {server.url}")
        run(arguments, server.url)


if __name__ == "__main__":
    main()
