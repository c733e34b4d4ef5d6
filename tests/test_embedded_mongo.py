"""The embedded FerretDB of `make run`: served on loopback, and never left running behind."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from adminsite.demo.embedded_mongo import PROJECT_ROOT, answers_ping, free_port


def test_sigterm_stops_the_server_and_its_ferretdb(tmp_path: Path) -> None:
    port = free_port()
    serving = subprocess.Popen(
        [sys.executable, "-m", "adminsite.demo.embedded_mongo", "--data-dir", str(tmp_path), "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert serving.stdout is not None
    url = serving.stdout.readline().strip()  # printed once FerretDB answers
    assert url == f"mongodb://127.0.0.1:{port}/"
    assert answers_ping(url)
    serving.send_signal(signal.SIGTERM)
    serving.wait(timeout=20)
    assert not answers_ping(url), "FerretDB outlived the process that started it"
