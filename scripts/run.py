"""`make run`: serve the console, on an embedded mongo-java-server with demo data when no MongoDB is set.

With CACHE_MONGO_URL or QUEUE_MONGO_URL in the environment, those servers are used as they
are (no seeding). Otherwise mongo-java-server is started on a free 127.0.0.1 port and loads
what was saved in .data/mongo, indexes are ensured, demo data is written on first start, and
the server runs until interrupted; the engine saves its databases and stops on the way out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adminsite.demo.embedded_mongo import running_mongo, stop_on_sigterm  # noqa: E402


def manage(*arguments: str, environ: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *arguments], check=True, env=environ, cwd=ROOT)


def serve(environ: dict[str, str]) -> int:
    try:
        return subprocess.call([sys.executable, "-m", "adminsite.server"], env=environ, cwd=ROOT)
    except KeyboardInterrupt:
        return 0


def main() -> int:
    stop_on_sigterm()
    environ = dict(os.environ)
    # the workers share their request metrics there, so /admin/metrics counts all of them
    environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / ".data" / "prometheus"))
    if environ.get("CACHE_MONGO_URL") or environ.get("QUEUE_MONGO_URL"):
        return serve(environ)
    with running_mongo(ROOT / ".data" / "mongo") as server:
        print(f"embedded mongo-java-server on {server.url} (data in .data/mongo)", flush=True)
        environ["CACHE_MONGO_URL"] = environ["QUEUE_MONGO_URL"] = server.url
        manage("ensure_indexes", environ=environ)
        manage("seed_demo", "--if-empty", environ=environ)
        return serve(environ)


if __name__ == "__main__":
    sys.exit(main())
