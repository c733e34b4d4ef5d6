"""The embedded MongoDB-protocol server: mongo-java-server's memory backend, saved across restarts.

Used by `make run` when no MongoDB URL is configured (`persistent`: the databases are saved to
a folder at the stop and loaded at the start, see `demo.snapshot`), by the test suite
(nothing kept) and by the bench. Why this engine and not FerretDB: the README's "Embedded
engine" section (atomic updates and upserts under concurrency, pages well under 300 ms at 100k
entries). It listens on a free 127.0.0.1 port only and is stopped with SIGTERM (then SIGKILL if
it does not stop in time). The jars and our launcher (`tools/mongo-java-server/`) are installed
into `.tools/mongo-java-server/` by `make engine` (scripts/install_mongo_java_server.sh).

    python -m demo.embedded_mongo --data-dir .data/mongo   # prints the URL, serves
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from demo import parent_death, snapshot

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENGINE_HOME = Path(os.environ.get("MONGO_JAVA_SERVER_HOME", PROJECT_ROOT / ".tools" / "mongo-java-server"))
"""Where the install script put `lib/` (the jars Maven fetched) and `classes/` (our launcher)."""
SNAPSHOT_FOLDER_NAME = "snapshot"
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
    """One mongo-java-server process; its log (and with `persistent`, the saved databases) under `data_dir`.

    `persistent=False` keeps nothing: what the tests want (nothing to load, nothing to save).
    `dies_with_parent`: the engine gets SIGTERM when the process that started it dies, even by
    SIGKILL (`demo.parent_death`; start it from the main thread then).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        persistent: bool = True,
        home: Path = ENGINE_HOME,
        dies_with_parent: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persistent = persistent
        self.home = home
        self.dies_with_parent = dies_with_parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mongo-java-server.log"

    @property
    def snapshot_folder(self) -> Path:
        return self.data_dir / SNAPSHOT_FOLDER_NAME

    def start(self) -> str:
        command = [*java_command(home=self.home), "--port", str(self.port)]
        if self.dies_with_parent:
            command = parent_death.command_dying_with_parent(command)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        self._wait_until_ready()
        if self.persistent:
            try:
                snapshot.load(self.url, self.snapshot_folder)
            except BaseException:
                self.stop(save=False)  # never save over the snapshot what failed to load from it
                raise
        return self.url

    def _wait_until_ready(self) -> None:
        """Until the launcher says "listening on PORT" (its only stdout line), then until a ping answers.

        Waiting for that line, not only for a ping, tells this process from another one that
        still holds the port (a previous engine that is saving and stopping): that one would
        answer the ping while ours exits with "cannot listen".
        """
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = self.process.stdout.readline().decode(errors="replace").strip() if ready else ""
        if line != f"listening on {self.port}":
            self.stop(save=False)
            raise EmbeddedMongoError(
                f"mongo-java-server did not start on port {self.port} ({line or 'no answer'}); see {self.log_path}"
            )
        while time.monotonic() < deadline:
            if answers_ping(self.url):
                return
            time.sleep(0.05)
        self.stop(save=False)
        raise EmbeddedMongoError(f"mongo-java-server did not answer within {START_TIMEOUT_SECONDS:g}s")

    def stop(self, *, save: bool = True) -> None:
        """Save the databases (when persistent and still running), then stop the process."""
        if self.process is None:
            return
        try:
            if save and self.persistent and self.process.poll() is None:
                snapshot.save(self.url, self.snapshot_folder)
        finally:
            stop_process(self.process, grace_seconds=10)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_mongo(
    data_dir: Path, *, port: int | None = None, persistent: bool = True, dies_with_parent: bool = False
) -> Iterator[EmbeddedMongo]:
    with EmbeddedMongo(data_dir, port=port, persistent=persistent, dies_with_parent=dies_with_parent) as server:
        yield server


@contextlib.contextmanager
def configured_or_embedded_mongo(environ: Mapping[str, str]) -> Iterator[str]:
    """The URL of `CACHE_MONGO_URL` when set, else of a throwaway in-memory engine (the benchmarks)."""
    configured = environ.get("CACHE_MONGO_URL")
    if configured:
        yield configured
        return
    with (
        tempfile.TemporaryDirectory(prefix="bench-mongo-") as data_dir,
        EmbeddedMongo(Path(data_dir), persistent=False) as server,
    ):
        print(f"embedded mongo-java-server (memory) on {server.url}", flush=True)
        yield server.url


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
    parser.add_argument("--memory", action="store_true", help="keep nothing: no load at the start, no save at the stop")
    arguments = parser.parse_args()
    with running_mongo(arguments.data_dir, port=arguments.port, persistent=not arguments.memory) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            assert server.process is not None
            server.process.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
