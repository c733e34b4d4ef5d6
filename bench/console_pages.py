"""Time every HTML page of the console on a big world: ours, the bare queries, and the template.

    python bench/console_pages.py                   # 100k cache entries, 10k jobs
    python bench/console_pages.py --repeat 9

Like `bench/read_endpoints.py` (which times the JSON routes and four of these pages): the world
of `seed_world` in fresh databases, each page called through the Django test client (median of
`--repeat` calls after a warm-up), next to the driver's own duration of the database commands
it sent (the bare queries), and the time spent rendering its template (`render_to_string`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


from bench.driver_commands import COMMANDS  # noqa: E402 (after ROOT is on the path; before any client)

TEMPLATE_SECONDS: list[float] = []


def time_templates() -> None:
    """Count the time of every `render_to_string` (what `django.shortcuts.render` calls)."""
    from django.template import loader

    render_to_string = loader.render_to_string

    def timed(*args: Any, **kwargs: Any) -> str:
        begin = time.perf_counter()
        try:
            return render_to_string(*args, **kwargs)
        finally:
            TEMPLATE_SECONDS.append(time.perf_counter() - begin)

    loader.render_to_string = timed  # type: ignore[assignment]


def run(arguments: argparse.Namespace, mongo_url: str) -> None:

    import django

    django.setup()
    from django.test import Client

    from bench.bench_world import busiest_dataset, seed_bench_world
    from foundation.database import mongo

    seed_bench_world(
        mongo_url=mongo_url,
        prefix="bench",
        cache_entries=arguments.cache_entries,
        jobs=arguments.jobs,
        seed=arguments.seed,
    )
    cache = mongo.cache_database()[mongo.CACHED_RESPONSES]
    busiest = busiest_dataset()
    entry = cache.find_one({"dataset": busiest, "http_status": {"$ne": 200}}) or cache.find_one({"dataset": busiest})
    assert entry is not None
    from django.core.management import call_command

    call_command("collect_counts", verbosity=0)  # the dashboard's counts, as the collector writes them
    time_templates()
    pages = [
        ("dashboard", "/admin/"),
        ("dataset (busiest)", f"/admin/dataset?dataset={busiest}"),
        ("dataset (busiest, errors only)", f"/admin/dataset?dataset={busiest}&errors=1"),
        ("dataset (unknown)", "/admin/dataset?dataset=nobody/nothing"),
        ("cache, first page", "/admin/cache?kind=split-first-rows"),
        ("cache entry", f"/admin/cache/{entry['_id']}"),
        ("errors", "/admin/errors"),
        ("blocked", "/admin/blocked"),
        ("jobs", "/admin/jobs"),
        ("bulk refresh (preview)", "/admin/bulk?kind=split-first-rows&http_status=500"),
        ("builder names", "/admin/builder-names"),
        ("graph", "/admin/graph"),
        ("recreate", f"/admin/dataset/recreate?dataset={busiest}"),
        ("audit", "/admin/audit"),
    ]
    client = Client()
    print(f"\n{'page':<32} {'ours ms':>8} {'bare ms':>8} {'ratio':>6} {'template':>9} {'commands':>9}  bytes")
    for name, url in pages:
        durations: list[float] = []
        bare: list[float] = []
        templates: list[float] = []
        client.get(url)  # warm-up: imports, templates, connections
        size, commands = 0, 0
        for _ in range(arguments.repeat):
            COMMANDS.clear()
            TEMPLATE_SECONDS.clear()
            begin = time.perf_counter()
            response = client.get(url)
            durations.append((time.perf_counter() - begin) * 1000)
            bare.append(COMMANDS.micros / 1000)
            templates.append(sum(TEMPLATE_SECONDS) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            size, commands = len(response.content), sum(COMMANDS.commands.values())
        ours, floor, template = (statistics.median(values) for values in (durations, bare, templates))
        ratio = f"{ours / floor:.2f}" if floor > 0 else "-"
        print(f"{name:<32} {ours:>8.1f} {floor:>8.1f} {ratio:>6} {template:>9.1f} {commands:>9}  {size:,}")
    if not arguments.keep:
        from bench.bench_world import drop_bench_world

        drop_bench_world(mongo_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-entries", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="calls per page")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    arguments = parser.parse_args()
    from demo.embedded_mongo import configured_or_embedded_mongo

    with configured_or_embedded_mongo(os.environ) as mongo_url:
        run(arguments, mongo_url)


if __name__ == "__main__":
    main()
