"""The embedded MongoDB-compatible server: FerretDB 1.24 with its SQLite backend.

Used by `make run` when no MongoDB URL is configured, and by the test suite. It listens on a
free 127.0.0.1 port only, with telemetry disabled, and is stopped with SIGTERM (then SIGKILL
if it does not stop in time). The binary is built by `scripts/build_ferretdb.sh`.

    python -m adminsite.demo.embedded_mongo --data-dir .data/ferretdb   # prints the URL, serves
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FERRETDB_BINARY = Path(os.environ.get("FERRETDB_BINARY", PROJECT_ROOT / ".tools" / "bin" / "ferretdb"))
START_TIMEOUT_SECONDS = 30.0


class EmbeddedMongoError(Exception):
    """FerretDB is missing, or did not start."""


def stop_process(process: subprocess.Popen[bytes], *, grace_seconds: float) -> None:
    """SIGTERM, so the process can close its files; SIGKILL if it is still there after the grace."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers_ping(url: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=200, connectTimeoutMS=200)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


class EmbeddedFerretDB:
    """One FerretDB process storing its databases as SQLite files under `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None, binary: Path = FERRETDB_BINARY) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> str:
        if not self.binary.exists():
            raise EmbeddedMongoError(f"FerretDB is not built at {self.binary}: run scripts/build_ferretdb.sh")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "ferretdb.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "--handler=sqlite",
                f"--sqlite-url=file:{self.data_dir.resolve()}/",
                f"--listen-addr=127.0.0.1:{self.port}",
                "--debug-addr=-",
                "--telemetry=disable",
                f"--state-dir={self.data_dir.resolve()}",
                "--log-level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self._wait_until_ready()
        return self.url

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EmbeddedMongoError(
                    f"FerretDB exited with {self.process.returncode}; see {self.data_dir}/ferretdb.log"
                )
            if answers_ping(self.url):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedMongoError(f"FerretDB did not answer within {START_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_seconds=10)

    def __enter__(self) -> EmbeddedFerretDB:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_ferretdb(data_dir: Path, *, port: int | None = None) -> Iterator[EmbeddedFerretDB]:
    with EmbeddedFerretDB(data_dir, port=port) as server:
        yield server


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that `with` blocks stop FerretDB instead of orphaning it."""

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_cleanly)


def main() -> None:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description="Serve FerretDB (SQLite) on 127.0.0.1 until interrupted.")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / ".data" / "ferretdb")
    parser.add_argument("--port", type=int, default=None)
    arguments = parser.parse_args()
    with running_ferretdb(arguments.data_dir, port=arguments.port) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            assert server.process is not None
            server.process.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
