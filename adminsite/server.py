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
caller and without secrets.

With several workers, each binds a listening socket of its own on the port (SO_REUSEPORT,
`WorkerSockets`), so that the kernel spreads connections over them. The sockets are created
naming the protocol: uvicorn creates its own with `proto` 0, and asyncio then does not set
TCP_NODELAY on the connections it accepts (it checks `proto == IPPROTO_TCP`); on a keep-alive
connection Nagle's algorithm and the client's delayed ACK hold every answer after the first
for ~40 ms (48 ms a request instead of a few). `TcpConfig` does the same for uvicorn's one
socket (one worker, or a Unix socket).

A worker that stops (a crash, a restart by SIGHUP) closes its socket, and the connections
still waiting in that socket's own accept queue are reset; with one shared socket they waited
for another worker. A load balancer retries those (a reset before any byte of the answer).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path
from typing import Any

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
    """Uvicorn's configuration, binding a listening TCP socket that says it is TCP (see above)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


def reuse_port_socket(family: int, host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT (and named TCP, for TCP_NODELAY), not yet listening."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class WorkerSockets(list[socket.socket]):
    """The listening sockets handed to each worker: in the worker, one socket of its own.

    Uvicorn binds one socket and every worker accepts from it. asyncio accepts up to its backlog
    of waiting connections at each wake-up, so the worker that wakes first takes a whole burst:
    8 keep-alive connections opened together all went to one worker in 1 run of 3 here, which
    then served them alone on one core (1,267 requests/s against 2,265-2,984 when shared).
    Each worker instead binds its own socket on the same port with SO_REUSEPORT, and the kernel
    spreads new connections over them. The supervisor pickles this list into each (spawned)
    worker; unpickling binds there. The supervisor's socket, bound to claim the port (after a
    plain bind checked that nothing listens there), never listens, so it is never given a
    connection.
    """

    def __init__(self, family: int, host: str, port: int) -> None:
        super().__init__([reuse_port_socket(family, host, port)])
        self.address = (family, host, port)

    def __reduce__(self) -> tuple[Any, tuple[int, str, int]]:
        return (_listening_socket_of_this_worker, self.address)


def _listening_socket_of_this_worker(family: int, host: str, port: int) -> list[socket.socket]:
    try:
        return [reuse_port_socket(family, host, port)]
    except OSError as error:
        # uvicorn's supervisor stops on STARTUP_FAILURE (3) and restarts a worker that exits
        # otherwise: a bind that cannot succeed (out of file descriptors, say) must not loop
        logging.getLogger("uvicorn.error").error("worker cannot listen on %s:%d: %s", host, port, error)
        os._exit(3)


def _check_port_is_free(family: int, host: str, port: int) -> None:
    """Bind once without SO_REUSEPORT: OSError (address in use) when anything listens there.

    SO_REUSEPORT lets every socket of the same user that sets it share the port, so another
    server of ours still running (an orphaned worker, a second start) would quietly get half
    the connections instead of stopping this start-up.
    """
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def worker_sockets(config: uvicorn.Config) -> list[socket.socket]:
    """One SO_REUSEPORT socket per worker on a TCP host and port; else uvicorn's one shared socket."""
    if config.uds is not None or config.fd is not None or not hasattr(socket, "SO_REUSEPORT"):
        return [config.bind_socket()]
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    try:
        _check_port_is_free(family, config.host, config.port)
        sockets = WorkerSockets(family, config.host, config.port)
    except OSError as error:
        logging.getLogger("uvicorn.error").error(error)
        raise SystemExit(3) from error  # uvicorn's STARTUP_FAILURE
    # the port actually bound (port 0 asks the kernel for a free one): every worker binds that one
    sockets.address = (family, config.host, sockets[0].getsockname()[1])
    return sockets


def serve(config: uvicorn.Config) -> None:
    """`uvicorn.run` for an import string: one process, or a supervisor of `config.workers`."""
    server = uvicorn.Server(config)
    if config.workers > 1:
        Multiprocess(config, sockets=worker_sockets(config)).run()
    else:
        server.run()
        if not server.started:
            raise SystemExit(3)  # uvicorn's STARTUP_FAILURE


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
