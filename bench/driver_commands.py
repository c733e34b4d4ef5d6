"""The database commands a bench's calls send, counted by pymongo's command monitoring.

`COMMANDS` is registered once, at import: import this module before the first MongoClient
is made (every bench does, at its top), so that every client reports to it.
"""

from __future__ import annotations

from collections import Counter

from pymongo import monitoring


class CommandCounter(monitoring.CommandListener):
    """The commands sent and the driver's time spent on them (microseconds), since the last clear.

    The driver's time is its own duration of each command: sending, the server's work,
    receiving and decoding the documents (the "bare query time" of the benches).
    """

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.micros = 0

    def clear(self) -> None:
        self.commands.clear()
        self.micros = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.micros += event.duration_micros

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.micros += event.duration_micros


COMMANDS = CommandCounter()
monitoring.register(COMMANDS)
