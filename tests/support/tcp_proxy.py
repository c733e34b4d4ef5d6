"""A TCP proxy in front of the test MongoDB server that cuts or stalls connections: failing infrastructure, on demand.

The service is pointed at `proxy.url`; the proxy relays the MongoDB wire protocol message by
message (each framed by its length), so a fault can be placed exactly:
- `cut()`: every connection is closed and new ones are closed as soon as accepted (the server
  is gone) until `restore()`;
- `stall()`: connections stay open but no message moves, either way, until `resume()` or a cut;
- `fault_on(command, nth=..., mode=...)`: the nth command of that name on that collection
  triggers the fault. Modes: "cut_before" (the command never reaches the server), "cut_after"
  (the server applies it, its answer is dropped, then the cut: the ambiguous case, a write
  whose answer was lost), "stall" (the command is held, and everything after it). `fired` is
  set when the fault happens: a test waits on it (an Event, no sleep).
The test's own inspection goes straight to the server, not through the proxy.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import bson

OP_MSG = 2013
Mode = Literal["cut_before", "cut_after", "stall"]


def command_of(message: bytes) -> dict[str, Any] | None:
    """The command document of an OP_MSG (its body section), or None for another message."""
    if len(message) < 21 or struct.unpack_from("<i", message, 12)[0] != OP_MSG:
        return None
    position = 20
    while position < len(message):
        kind = message[position]
        size = struct.unpack_from("<i", message, position + 1)[0]
        if kind == 0:
            document: dict[str, Any] = bson.decode(message[position + 1 : position + 1 + size])
            return document
        position += 1 + size
    return None


def _read_message(sock: socket.socket) -> bytes | None:
    """One whole wire message (its 4-byte length included), or None when the connection ends."""
    header = _read_exactly(sock, 4)
    if header is None:
        return None
    body = _read_exactly(sock, struct.unpack("<i", header)[0] - 4)
    return None if body is None else header + body


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        try:
            chunk = sock.recv(min(size, 1 << 20))
        except OSError:
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


@dataclass
class _Fault:
    command: str
    collection: str | None
    nth: int
    mode: Mode
    seen: int = 0


@dataclass
class _Connection:
    client: socket.socket
    server: socket.socket
    drop_next_answer: bool = False

    def close(self) -> None:
        for sock in (self.client, self.server):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()


@dataclass
class MongoProxy:
    """Listens on 127.0.0.1 and relays to `upstream` (host, port) until `close()`."""

    upstream: tuple[str, int]
    fired: threading.Event = field(default_factory=threading.Event)
    commands: list[str] = field(default_factory=list)
    """`command collection` of every command relayed (what the service sent, in order)."""

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._refusing = False
        self._flowing = threading.Event()
        self._flowing.set()
        self._fault: _Fault | None = None
        threading.Thread(target=self._accept, name="mongo-proxy-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    # --- faults ---

    def cut(self) -> None:
        """Close every connection; refuse new ones until `restore()`."""
        self.fired.set()  # before any socket closes: the caller may see its error at once
        with self._lock:
            self._refusing = True
            connections, self._connections = self._connections, []
            self._flowing.set()  # a stalled relay wakes up to find its sockets closed
        for connection in connections:
            connection.close()

    def restore(self) -> None:
        with self._lock:
            self._refusing = False

    def stall(self) -> None:
        self._flowing.clear()
        self.fired.set()

    def resume(self) -> None:
        self._flowing.set()

    def fault_on(self, command: str, *, collection: str | None = None, nth: int = 1, mode: Mode) -> None:
        """Arm one fault: at the `nth` `command` (on `collection`), relayed from now on."""
        with self._lock:
            self._fault = _Fault(command=command, collection=collection, nth=nth, mode=mode)
            self.fired.clear()

    def close(self) -> None:
        with suppress(OSError):
            self._listener.close()
        self.cut()

    # --- relaying ---

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                with suppress(OSError):
                    client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            connection = _Connection(client=client, server=server)
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._to_server, args=(connection,), daemon=True).start()
            threading.Thread(target=self._to_client, args=(connection,), daemon=True).start()

    def _matches(self, message: bytes) -> Mode | None:
        """The fault this message triggers, if it is the armed one's nth command."""
        command = command_of(message)
        if command is None or not command:
            return None
        name = next(iter(command))
        target = command[name]
        self.commands.append(f"{name} {target}")
        with self._lock:
            fault = self._fault
            if fault is None or name != fault.command or (fault.collection is not None and target != fault.collection):
                return None
            fault.seen += 1
            if fault.seen != fault.nth:
                return None
            self._fault = None
            return fault.mode

    def _relaying(self) -> bool:
        """Wait while stalled; False once cut (a message held by a stall is then never relayed)."""
        self._flowing.wait()
        with self._lock:
            return not self._refusing

    def _to_server(self, connection: _Connection) -> None:
        while (message := _read_message(connection.client)) is not None:
            mode = self._matches(message)
            if mode == "cut_before":
                self.cut()
                return
            if mode == "stall":
                self.stall()
            if mode == "cut_after":
                connection.drop_next_answer = True
            if not self._relaying():
                break
            try:
                connection.server.sendall(message)
            except OSError:
                break
        connection.close()

    def _to_client(self, connection: _Connection) -> None:
        while (message := _read_message(connection.server)) is not None:
            if connection.drop_next_answer:
                self.cut()  # the server applied the command; its answer never arrives
                return
            if not self._relaying():
                break
            try:
                connection.client.sendall(message)
            except OSError:
                break
        connection.close()


@contextmanager
def mongo_proxy(upstream_url: str) -> Iterator[MongoProxy]:
    """A proxy in front of the server of `upstream_url` (`mongodb://host:port...`), closed at the end."""
    authority = upstream_url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split(",")[0]
    host, _, port = authority.rpartition(":")
    proxy = MongoProxy(upstream=(host, int(port)))
    try:
        yield proxy
    finally:
        proxy.close()
