"""The embedded mongo-java-server of `make run`: on loopback, never left running, data kept across restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from pymongo import MongoClient

from adminsite.demo.embedded_mongo import DATA_FILE_NAME, PROJECT_ROOT, EmbeddedMongo, answers_ping, free_port


def test_sigterm_stops_the_server_and_its_engine(tmp_path: Path) -> None:
    port = free_port()
    serving = subprocess.Popen(
        [sys.executable, "-m", "adminsite.demo.embedded_mongo", "--data-dir", str(tmp_path), "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert serving.stdout is not None
    url = serving.stdout.readline().strip()  # printed once the engine answers
    assert url == f"mongodb://127.0.0.1:{port}/"
    assert answers_ping(url)
    serving.send_signal(signal.SIGTERM)
    serving.wait(timeout=20)
    assert not answers_ping(url), "mongo-java-server outlived the process that started it"


def test_the_h2_file_keeps_the_data_across_a_restart(tmp_path: Path) -> None:
    """`make run` stops the engine with SIGTERM; the JVM's shutdown hook closes the H2 file."""
    with EmbeddedMongo(tmp_path) as server:
        client: MongoClient[dict[str, object]] = MongoClient(server.url)
        client["kept"]["entries"].insert_one({"_id": "one", "total": 1})
        client.close()
    assert (tmp_path / DATA_FILE_NAME).exists()
    with EmbeddedMongo(tmp_path) as server:
        client = MongoClient(server.url)
        assert client["kept"]["entries"].find_one({"_id": "one"}) == {"_id": "one", "total": 1}
        client.close()


def test_the_memory_backend_keeps_nothing(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path, persistent=False) as server:
        client: MongoClient[dict[str, object]] = MongoClient(server.url)
        client["gone"]["entries"].insert_one({"_id": "one"})
        client.close()
    assert not (tmp_path / DATA_FILE_NAME).exists()
    with EmbeddedMongo(tmp_path, persistent=False) as server:
        client = MongoClient(server.url)
        assert client["gone"]["entries"].find_one({"_id": "one"}) is None
        client.close()
