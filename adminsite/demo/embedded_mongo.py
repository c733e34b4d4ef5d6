"""The embedded MongoDB-protocol server: mongo-java-server, in memory or in one H2 MVStore file.

Used by `make run` when no MongoDB URL is configured (H2 file: the demo data survives a
restart), by the test suite (memory: nothing to write, nothing to clean) and by the bench.
Why this engine and not FerretDB: the README's "Embedded engine" section (atomic updates and
upserts under concurrency, pages under 300 ms at 100k entries). It listens on a free
127.0.0.1 port only and is stopped with SIGTERM (then SIGKILL if it does not stop in time);
the JVM's shutdown hook closes the H2 file. The jars and the launcher (`tools/mongo-java-server/`)
are installed into `.tools/mongo-java-server/` by `scripts/install_mongo_java_server.sh`.

    python -m adminsite.demo.embedded_mongo --data-dir .data/mongo   # prints the URL, serves
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
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
ENGINE_HOME = Path(os.environ.get("MONGO_JAVA_SERVER_HOME", PROJECT_ROOT / ".tools" / "mongo-java-server"))
"""Where the install script put `lib/` (the jars Maven fetched) and `classes/` (our launcher)."""
DATA_FILE_NAME = "mongo.mv.db"
START_TIMEOUT_SECONDS = 60.0
JAVA_OPTIONS = ("-XX:+UseSerialGC", "-Xss512k", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
"""One GC thread, small stacks (the machine has 2 cores shared with the console and its tests),
the engine's warnings and errors only in its log. More (a heap limit, say) through the JVM's
own JAVA_TOOL_OPTIONS."""


class EmbeddedMongoError(Exception):
    """The engine is not installed, or did not start."""


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


def java_command(*, home: Path = ENGINE_HOME) -> list[str]:
    """`java -cp <jars>:<launcher> EmbeddedMongo`, or EmbeddedMongoError naming the install step."""
    java = shutil.which("java")
    if java is None:
        raise EmbeddedMongoError("java is not installed (`make engine` installs Debian's default-jdk-headless)")
    if not (home / "classes" / "EmbeddedMongo.class").exists():
        raise EmbeddedMongoError(f"mongo-java-server is not installed in {home}: run `make engine`")
    class_path = os.pathsep.join([str(home / "lib" / "*"), str(home / "classes")])
    return [java, *JAVA_OPTIONS, "-cp", class_path, "EmbeddedMongo"]


class EmbeddedMongo:
    """One mongo-java-server process; its log (and with `persistent`, its H2 file) under `data_dir`.

    `persistent=False` serves from memory: what the tests want (fast, gone at the stop).
    """

    def __init__(
        self, data_dir: Path, *, port: int | None = None, persistent: bool = True, home: Path = ENGINE_HOME
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persistent = persistent
        self.home = home
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mongo-java-server.log"

    def start(self) -> str:
        command = [*java_command(home=self.home), "--port", str(self.port)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.persistent:
            command += ["--data-file", str((self.data_dir / DATA_FILE_NAME).resolve())]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_until_ready()
        return self.url

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EmbeddedMongoError(
                    f"mongo-java-server exited with {self.process.returncode}; see {self.log_path}"
                )
            if answers_ping(self.url):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedMongoError(f"mongo-java-server did not answer within {START_TIMEOUT_SECONDS:g}s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_seconds=10)

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_mongo(data_dir: Path, *, port: int | None = None, persistent: bool = True) -> Iterator[EmbeddedMongo]:
    with EmbeddedMongo(data_dir, port=port, persistent=persistent) as server:
        yield server


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that `with` blocks stop the engine instead of orphaning it."""

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_cleanly)


def main() -> None:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description="Serve mongo-java-server on 127.0.0.1 until interrupted.")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / ".data" / "mongo")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--memory", action="store_true", help="serve from memory (nothing kept at the stop)")
    arguments = parser.parse_args()
    with running_mongo(arguments.data_dir, port=arguments.port, persistent=not arguments.memory) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            assert server.process is not None
            server.process.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
