"""SECRET_KEY is the same in every worker process: ADMIN_SECRET_KEY, else one generated file."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from foundation.core.secret_key import stable_secret_key


def test_admin_secret_key_wins(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    assert stable_secret_key(environ={"ADMIN_SECRET_KEY": " configured-key "}, key_file=key_file) == "configured-key"
    assert not key_file.exists()


def test_without_it_a_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / ".data" / "secret_key"
    first = stable_secret_key(environ={}, key_file=key_file)
    assert len(first) == 64
    assert key_file.read_text() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stable_secret_key(environ={"ADMIN_SECRET_KEY": ""}, key_file=key_file) == first
    assert [path.name for path in key_file.parent.iterdir()] == ["secret_key"]  # no temporary file left


def test_workers_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    workers = 8
    barrier = threading.Barrier(workers)
    keys: list[str] = []

    def start_worker() -> None:
        barrier.wait()
        keys.append(stable_secret_key(environ={}, key_file=key_file))

    threads = [threading.Thread(target=start_worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(keys) == workers
    assert set(keys) == {key_file.read_text()}


def test_an_unwritable_place_falls_back_to_a_process_key_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    key = stable_secret_key(environ={}, key_file=not_a_directory / "secret_key")
    assert len(key) == 64
    assert "set ADMIN_SECRET_KEY" in capsys.readouterr().err
