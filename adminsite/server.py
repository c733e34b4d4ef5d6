"""Serve the console in production: uvicorn, ADMIN_UVICORN_NUM_WORKERS worker processes.

    python -m adminsite.server

Reads ADMIN_UVICORN_HOSTNAME (localhost), ADMIN_UVICORN_PORT (8000) and
ADMIN_UVICORN_NUM_WORKERS (2). Before any worker starts:

- the whole configuration is checked; a bad value stops start-up with one line naming the
  variable (exit status 1), instead of every worker dying and being restarted in a loop;
- PROMETHEUS_MULTIPROC_DIR, when set, is created and emptied of the metric files of a
  previous run (only prometheus_client's `*.db` files are removed), so the counters of dead
  processes are not added to the new ones.

Uvicorn's access log is off: `foundation.web.request_log` writes one line per request, with the
caller and without secrets. Each worker serves `adminsite.asgi:application`; with several, they
accept from the one listening socket uvicorn binds (`TcpConfig`, `serve`).
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from foundation.core.config import checked_config, stop_on_config_error

# prometheus_client's multiprocess files: counter_<pid>.db, histogram_<pid>.db, gauge_*_<pid>.db
_METRIC_FILE_PREFIXES = ("counter_", "gauge_", "histogram_", "summary_")


def prepare_multiprocess_directory(directory: Path) -> None:
    """Create the shared metrics folder, or remove the metric files a previous run left in it."""
    directory.mkdir(parents=True, exist_ok=True)
    for metric_file in directory.glob("*.db"):
        if metric_file.name.startswith(_METRIC_FILE_PREFIXES):
            metric_file.unlink(missing_ok=True)


class TcpConfig(uvicorn.Config):
    """Uvicorn's configuration, binding a listening TCP socket that says it is TCP.

    Works around uvicorn issue #3149 (https://github.com/Kludex/uvicorn/issues/3149): with
    several workers, `Config.bind_socket` creates the shared socket with `proto` 0, the
    connections accepted from it inherit that, and asyncio sets TCP_NODELAY only on a socket
    whose `proto` is IPPROTO_TCP. On a keep-alive connection, Nagle's algorithm and the
    client's delayed ACK then hold every answer after the first for ~40 ms (48 ms a request
    instead of a few). Delete this class and `serve` (call `uvicorn.run`) once it is fixed.
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


def serve(config: uvicorn.Config) -> None:
    """What `uvicorn.run` does with its own Config, for `TcpConfig` (uvicorn issue #3149, above).

    One process, or uvicorn's supervisor of `config.workers`, all accepting from the socket the
    configuration binds. A start-up that fails (the port is taken, say) exits with uvicorn's
    STARTUP_FAILURE, 3.
    """
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)


def main() -> None:
    config = checked_config(os.environ)
    if config.prometheus_multiproc_dir:
        try:
            prepare_multiprocess_directory(Path(config.prometheus_multiproc_dir))
        except OSError as error:
            stop_on_config_error(f"PROMETHEUS_MULTIPROC_DIR: {error}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")
    uvicorn_config = TcpConfig(
        "adminsite.asgi:application",
        host=config.uvicorn_hostname,
        port=config.uvicorn_port,
        workers=config.uvicorn_num_workers,
        log_level=config.log_level.lower(),
        access_log=False,
        lifespan="off",  # Django has no lifespan handlers
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve(uvicorn_config)


if __name__ == "__main__":
    main()
