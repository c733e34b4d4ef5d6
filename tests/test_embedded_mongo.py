"""The embedded mongo-java-server of `make run`: on loopback, never left running, data kept across restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from demo.embedded_mongo import (
    PROJECT_ROOT,
    SNAPSHOT_FOLDER_NAME,
    EmbeddedMongo,
    EmbeddedMongoError,
    answers_ping,
    free_port,
)


def test_sigterm_stops_the_server_and_its_engine(tmp_path: Path) -> None:
    port = free_port()
    serving = subprocess.Popen(
        [sys.executable, "-m", "demo.embedded_mongo", "--data-dir", str(tmp_path), "--port", str(port)],
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


def test_a_persistent_engine_keeps_documents_indexes_and_values_across_a_restart(tmp_path: Path) -> None:
    """`make run`'s engine: saved at the stop, loaded at the start; a unique index still refuses duplicates."""
    stored = {"_id": "one", "total": 1, "ratio": 1.0, "at": datetime(2024, 1, 2, 3, 4, 5, 6000), "none": None}
    with EmbeddedMongo(tmp_path) as server:
        client: MongoClient[dict[str, object]] = MongoClient(server.url)
        entries = client["kept"]["entries"]
        entries.create_index([("total", 1)], unique=True, name="total_unique")
        entries.insert_one(dict(stored))
        entries.insert_many([{"total": number} for number in range(2, 7002)])  # more than one insert batch
        client.close()
    with EmbeddedMongo(tmp_path) as server:
        client = MongoClient(server.url)
        entries = client["kept"]["entries"]
        assert entries.find_one({"_id": "one"}) == stored
        assert entries.count_documents({}) == 7001
        assert entries.index_information()["total_unique"]["unique"] is True
        with pytest.raises(DuplicateKeyError):
            entries.insert_one({"total": 1})
        client.close()


def test_a_stop_without_a_save_leaves_the_last_snapshot_whole(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path) as server:
        client: MongoClient[dict[str, object]] = MongoClient(server.url)
        client["kept"]["entries"].insert_one({"_id": "saved"})
        client.close()
    server = EmbeddedMongo(tmp_path)
    server.start()
    client = MongoClient(server.url)
    client["kept"]["entries"].insert_one({"_id": "lost"})
    client.close()
    server.stop(save=False)  # as after a SIGKILL of `make run`
    with EmbeddedMongo(tmp_path) as server:
        client = MongoClient(server.url)
        assert [entry["_id"] for entry in client["kept"]["entries"].find()] == ["saved"]
        client.close()


def test_the_memory_engine_keeps_nothing(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path, persistent=False) as server:
        client: MongoClient[dict[str, object]] = MongoClient(server.url)
        client["gone"]["entries"].insert_one({"_id": "one"})
        client.close()
    assert not (tmp_path / SNAPSHOT_FOLDER_NAME).exists()
    with EmbeddedMongo(tmp_path, persistent=False) as server:
        client = MongoClient(server.url)
        assert client["gone"]["entries"].find_one({"_id": "one"}) is None
        client.close()


def test_a_second_engine_on_a_taken_port_fails_instead_of_taking_the_first_for_its_own(tmp_path: Path) -> None:
    """The first engine answers pings on that port: only the launcher's own line tells them apart."""
    with EmbeddedMongo(tmp_path / "first", persistent=False) as first:
        second = EmbeddedMongo(tmp_path / "second", port=first.port, persistent=False)
        with pytest.raises(EmbeddedMongoError, match=f"did not start on port {first.port}"):
            second.start()
        assert second.process is not None and second.process.poll() is not None
        assert "cannot listen on 127.0.0.1" in second.log_path.read_text()
        assert answers_ping(first.url)


def test_a_save_cut_between_its_two_renames_loses_nothing(tmp_path: Path) -> None:
    """A crash after the last snapshot became `snapshot.previous` and before the new one took its place."""
    with EmbeddedMongo(tmp_path) as server:
        client: MongoClient[dict[str, object]] = MongoClient(server.url)
        client["kept"]["entries"].insert_one({"_id": "saved"})
        client.close()
    snapshot_folder = tmp_path / SNAPSHOT_FOLDER_NAME
    previous = tmp_path / f"{SNAPSHOT_FOLDER_NAME}.previous"
    snapshot_folder.rename(previous)  # what the first rename of the swap leaves
    (tmp_path / f"{SNAPSHOT_FOLDER_NAME}.partial").mkdir()  # and a new save, never finished
    with EmbeddedMongo(tmp_path) as server:
        client = MongoClient(server.url)
        assert [entry["_id"] for entry in client["kept"]["entries"].find()] == ["saved"]
        client["kept"]["entries"].insert_one({"_id": "added"})
        client.close()
    assert snapshot_folder.is_dir() and not previous.exists()  # the next save swapped in whole
    assert not (tmp_path / f"{SNAPSHOT_FOLDER_NAME}.partial").exists()
    with EmbeddedMongo(tmp_path) as server:
        client = MongoClient(server.url)
        assert sorted(str(entry["_id"]) for entry in client["kept"]["entries"].find()) == ["added", "saved"]
        client.close()
