"""`make run`: serve the console, on an embedded mongo-java-server with demo data when no MongoDB is set.

With CACHE_MONGO_URL or QUEUE_MONGO_URL in the environment, those servers are used as they
are (no seeding). Otherwise mongo-java-server is started on a free 127.0.0.1 port and loads
what was saved in .data/mongo, indexes are ensured, demo data is written on first start, and
the server runs until interrupted; the engine saves its databases and stops on the way out.

The demo world of the first start has DEMO_CACHE_ENTRIES cache entries (default 100,000) and
DEMO_JOBS jobs (default 10,000): the size at which every page must answer within 300 ms
(bench/pages.py). Later starts load the saved world whatever these say; to seed another size,
remove .data/mongo first.

On the embedded engine and without COMMON_HF_ENDPOINT, a stand-in Hub of ours is served on
127.0.0.1 (`demo/stand_in_hub.py`): it knows the demo datasets, so force-refresh,
recreate and the backfill plan work offline. With COMMON_HF_ENDPOINT set, that Hub is used.

On the embedded engine, a fleet of stand-in workers (`demo/fleet/`, one process) takes the
demo's jobs as the dataset viewer's workers would, so that the queue drains and the cache
moves: DEMO_WORKERS sets it (`2,2,1` light, medium, heavy by default; a total such as `5`;
`0` for none), DEMO_FAILURE_RATE the share of jobs that fail (0.1). Unless
ADMIN_STALE_JOB_SECONDS is set, the demo's console calls a job stale after 30 s without a
heartbeat (300 by default), so that the workers that die show within a minute.
DEMO_DATA_DIR is where the engine saves the world (default .data/mongo; the bench uses a fresh one).

SIGTERM (make forwards it) or Ctrl-C stops the server (whose supervisor stops its workers),
then the fleet, then the engine: nothing is left running and the port is free.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.embedded_mongo import running_mongo, stop_on_sigterm, stop_process  # noqa: E402
from demo.fleet.process import FleetProcess, lower_stale_threshold, startup_line  # noqa: E402
from demo.fleet.settings import FleetSettingsError, fleet_settings_from  # noqa: E402
from demo.stand_in_hub import StandInHub, demo_world_revisions  # noqa: E402
from foundation.core.config import checked_config  # noqa: E402

DEMO_CACHE_ENTRIES = 100_000
DEMO_JOBS = 10_000


class DemoSizeError(Exception):
    """A demo size variable that is not a whole number."""


def demo_size(environ: dict[str, str], name: str, default: int) -> int:
    """The number in `name` (digits, `_` allowed), else `default`; DemoSizeError naming the variable."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    digits = value.replace("_", "")
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:  # not `²`, which isdigit() accepts
        raise DemoSizeError(f"{name}: expected a whole number of at least 1, got {value!r}")
    return int(digits)


def manage(*arguments: str, environ: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *arguments], check=True, env=environ, cwd=ROOT)


def serve(environ: dict[str, str]) -> int:
    """Run the server until it exits, or until this process is told to stop: then stop it first."""
    server = subprocess.Popen([sys.executable, "-m", "adminsite.server"], env=environ, cwd=ROOT)
    try:
        return server.wait()
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM (stop_on_sigterm)
        stop_process(server, grace_seconds=20)  # uvicorn's supervisor stops its workers on SIGTERM
        return 0


def demo_data_dir(environ: dict[str, str]) -> Path:
    """Where the embedded engine saves the demo world: DEMO_DATA_DIR, else .data/mongo."""
    given = environ.get("DEMO_DATA_DIR", "").strip()
    return Path(given) if given else ROOT / ".data" / "mongo"


def main() -> int:
    stop_on_sigterm()
    environ = dict(os.environ)
    # the workers share their request metrics there, so /admin/metrics counts all of them
    environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / ".data" / "prometheus"))
    if environ.get("CACHE_MONGO_URL") or environ.get("QUEUE_MONGO_URL"):
        return serve(environ)  # a real MongoDB: no demo world, no stand-in Hub, no stand-in workers
    try:
        cache_entries = demo_size(environ, "DEMO_CACHE_ENTRIES", DEMO_CACHE_ENTRIES)
        jobs = demo_size(environ, "DEMO_JOBS", DEMO_JOBS)
        fleet = fleet_settings_from(environ)
    except (DemoSizeError, FleetSettingsError) as error:
        print(error, file=sys.stderr)
        return 1
    data_dir = demo_data_dir(environ)
    with running_mongo(data_dir) as server:
        print(f"embedded mongo-java-server on {server.url} (data in {data_dir})", flush=True)
        environ["CACHE_MONGO_URL"] = environ["QUEUE_MONGO_URL"] = server.url
        manage("ensure_indexes", environ=environ)
        # on first start only: a world the size of the 300 ms target, or DEMO_CACHE_ENTRIES / DEMO_JOBS
        manage("seed_demo", "--if-empty", "--cache-entries", str(cache_entries), "--jobs", str(jobs), environ=environ)
        with ExitStack() as stack:
            if not environ.get("COMMON_HF_ENDPOINT"):
                config = checked_config(environ)
                revisions = demo_world_revisions(
                    server.url, cache_database=config.cache_mongo_database, queue_database=config.queue_mongo_database
                )
                hub = stack.enter_context(StandInHub(revisions, organization=config.hf_organization))
                print(
                    f"stand-in Hub on {hub.url} (loopback, ours: knows the demo datasets only; "
                    "set COMMON_HF_ENDPOINT to use a real Hub)",
                    flush=True,
                )
                environ["COMMON_HF_ENDPOINT"] = hub.url
            if fleet.workers.total:
                print(startup_line(fleet), flush=True)
                print(lower_stale_threshold(environ), flush=True)
                stack.enter_context(FleetProcess(fleet, environ=environ))
            else:
                print("stand-in workers: none (DEMO_WORKERS=0): the demo's queue stays as it is", flush=True)
            return serve(environ)


if __name__ == "__main__":
    sys.exit(main())
