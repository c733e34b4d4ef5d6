"""A fresh `make run` for two minutes: does the demo move? Jobs finished per minute, the first stale job.

    python bench/demo_fleet.py                              # a 20k-entry world, 2k jobs
    python bench/demo_fleet.py --cache-entries 100000 --jobs 10000   # make run's default world

The default world is smaller than `make run`'s: seeding 100k entries takes 20 s on an idle
machine but a minute on a loaded one, which leaves the fleet less than a minute of the two.

Runs `make run` (as a user does, its set-up skipped: the bench runs in the virtualenv) with a
fresh, empty DEMO_DATA_DIR, so the world is seeded, the stand-in Hub and the stand-in workers
started, exactly as on a first start; its output goes to a log file. From the moment `make`
starts, the bench reads the databases every few seconds (its own client, on the engine's URL
from the log): the cache entries written since the start (one per finished job; an entry
written twice counts once), the stale jobs by the console's own condition
(`jobs.selectors.stale_condition`, at the threshold the demo set), split into the jobs the
fleet started and left (a worker that "died") and the started jobs of the seeded world, and
the datasets blocked since the start. Then SIGTERM to make, and the figures: per minute, and
the moments things first happened. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymongo import MongoClient  # noqa: E402

from demo.embedded_mongo import free_port  # noqa: E402
from demo.fleet.settings import DEMO_STALE_JOB_SECONDS  # noqa: E402
from jobs.selectors import stale_condition  # noqa: E402

POLL_SECONDS = 2.0


@dataclass
class Figures:
    fleet_started: float | None = None
    samples: list[tuple[float, int, int, int, int]] = field(default_factory=list)
    """(seconds since start, entries written, stale jobs the fleet left, stale seeded jobs, datasets blocked)."""

    def first(self, column: int) -> float | None:
        return next((sample[0] for sample in self.samples if sample[column] > 0), None)


def counts(
    client: MongoClient[dict[str, Any]], began: datetime, fleet_began: datetime | None
) -> tuple[int, int, int, int]:
    """(entries written since `began`, stale jobs the fleet left, stale seeded jobs, datasets blocked by the fleet)."""
    cache, queue = client["dataset_viewer_cache"], client["dataset_viewer_queue"]
    written = cache["cachedResponsesBlue"].count_documents({"updated_at": {"$gte": began}})
    stale = stale_condition(datetime.now(UTC) - timedelta(seconds=DEMO_STALE_JOB_SECONDS))
    seeded = queue["jobsBlue"].count_documents({**stale, "last_heartbeat": {"$lt": began}})
    if fleet_began is None:
        return written, 0, seeded, 0
    # a job the fleet started beat after the fleet began, or never beat at all (seeded ones all did before)
    by_fleet = queue["jobsBlue"].count_documents(
        {
            "$and": [
                stale,
                {
                    "$or": [
                        {"last_heartbeat": {"$gte": fleet_began}},
                        {"last_heartbeat": None, "started_at": {"$gte": fleet_began}},
                    ]
                },
            ]
        }
    )
    blocked = queue["datasetBlockages"].count_documents({"blocked_at": {"$gte": fleet_began}})
    return written, by_fleet, seeded, blocked


def run(arguments: argparse.Namespace, data_dir: Path, log: Path) -> Figures:
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("ADMIN_", "CACHE_", "QUEUE_"))}
    environ.pop("COMMON_HF_ENDPOINT", None)
    environ |= {
        "DEMO_DATA_DIR": str(data_dir),
        "DEMO_CACHE_ENTRIES": str(arguments.cache_entries),
        "DEMO_JOBS": str(arguments.jobs),
        "ADMIN_UVICORN_HOSTNAME": "127.0.0.1",
        "ADMIN_UVICORN_PORT": str(free_port()),
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir.parent / "prometheus"),
    }
    figures = Figures()
    began = datetime.now(UTC)
    start = time.monotonic()
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-o", "install", "-o", "engine", "run"],
            cwd=ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    client: MongoClient[dict[str, Any]] | None = None
    fleet_began: datetime | None = None
    try:
        while time.monotonic() - start < arguments.seconds:
            time.sleep(POLL_SECONDS)
            if make.poll() is not None:
                raise SystemExit(f"make run stopped:\n{log.read_text()}")
            text = log.read_text()
            if client is None and (found := re.search(r"embedded mongo-java-server on (\S+)", text)):
                client = MongoClient(found.group(1))
            if fleet_began is None and "stand-in workers running" in text:
                fleet_began = datetime.now(UTC) - timedelta(seconds=POLL_SECONDS)
                figures.fleet_started = time.monotonic() - start
            if client is not None and ("Demo world written" in text or "already hold data" in text):
                figures.samples.append((time.monotonic() - start, *counts(client, began, fleet_began)))
    finally:
        make.send_signal(signal.SIGTERM)  # as the tests stop it: make forwards it, run.py stops the rest in order
        make.wait(timeout=60)
        if client is not None:
            client.close()
    return figures


def report(figures: Figures, arguments: argparse.Namespace, log: Path) -> None:
    print(
        f"fresh make run, {arguments.cache_entries:,} cache entries and {arguments.jobs:,} jobs, {arguments.seconds} s"
    )
    fleet_started = figures.fleet_started
    print(f"  stand-in workers running at {fleet_started or float('nan'):.0f} s (the world seeded, the server started)")

    def written_by(moment: float) -> int:
        within = [sample for sample in figures.samples if sample[0] <= moment]
        return within[-1][1] if within else 0

    for minute in range(1, int(arguments.seconds // 60) + 1):
        written = written_by(minute * 60) - written_by((minute - 1) * 60)
        print(f"  minute {minute} of make run: {written} cache entries written by finished jobs")
    if fleet_started is not None:
        first = written_by(fleet_started + 60) - written_by(fleet_started)
        print(f"  the fleet's first 60 s: {first} cache entries written")
    for label, column in (
        ("a stale job the fleet left", 2),
        ("a stale seeded job", 3),
        ("a dataset the fleet blocked", 4),
    ):
        moment = figures.first(column)
        print(f"  {label}: " + (f"first at {moment:.0f} s" if moment is not None else "none"))
    if figures.samples:
        last = figures.samples[-1]
        print(f"  at the end: {last[1]} entries written; stale jobs: {last[2]} left by the fleet, {last[3]} seeded")
    for line in log.read_text().splitlines():
        if line.startswith(("stand-in workers, last", "stand-in worker ", "dataset ")):
            print(f"  the fleet said: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-entries", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2_000)
    parser.add_argument("--seconds", type=int, default=120)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-demo-fleet-") as folder:
        log = Path(folder) / "make-run.log"
        figures = run(arguments, Path(folder) / "mongo", log)
        report(figures, arguments, log)


if __name__ == "__main__":
    main()
