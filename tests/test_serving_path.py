"""What a request costs on its way through uvicorn and Django, before any view work.

- The listening socket that `python -m adminsite.server` shares between its workers must make
  asyncio set TCP_NODELAY on every accepted connection: without it, keep-alive requests wait
  ~40 ms each for the client's delayed ACK.
- The middleware chain and the view run in one thread, entered once from the event loop.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from multiprocessing.reduction import ForkingPickler
from typing import Any

from asgiref import sync

from adminsite.asgi import application
from adminsite.server import TcpConfig


async def nodelay_of_accepted_connection(listening: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=listening)
    _, client = await asyncio.open_connection(*listening.getsockname()[:2])
    try:
        return await asyncio.wait_for(accepted, timeout=10)
    finally:
        client.close()
        server.close()


def test_the_socket_shared_by_the_workers_gets_tcp_nodelay_on_accepted_connections() -> None:
    config = TcpConfig("adminsite.asgi:application", host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()
    # a worker receives the socket as multiprocessing hands it over to a spawned process
    in_worker: socket.socket = ForkingPickler.loads(ForkingPickler.dumps(listening))
    listening.close()
    assert in_worker.proto == socket.IPPROTO_TCP
    assert asyncio.run(nodelay_of_accepted_connection(in_worker)) == 1


async def get(path: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    status: list[int] = []
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        else:
            body.append(message.get("body", b""))

    await application(scope, receive, send)
    return status[0], b"".join(body)


def test_a_request_enters_a_thread_from_the_event_loop_once(monkeypatch: Any) -> None:
    entered: list[str] = []
    sync_to_async_call = sync.SyncToAsync.__call__
    async_to_sync_call = sync.AsyncToSync.__call__

    async def counted_sync_to_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await sync_to_async_call(self, *args, **kwargs)

    def counted_async_to_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered.append(f"back to the loop: {self.awaitable!r}")
        return async_to_sync_call(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted_sync_to_async)
    monkeypatch.setattr(sync.AsyncToSync, "__call__", counted_async_to_sync)

    assert asyncio.run(get("/healthcheck")) == (200, b"ok")
    # the request_started signal, the whole middleware chain and the view, in one call
    assert len(entered) == 1, entered
    assert entered == ["OneHopASGIHandler._respond"]
