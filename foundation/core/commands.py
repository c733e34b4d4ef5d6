"""`AdminCommand`, the base of every management command of ours, and what commands share.

The audit log's actor of a command (`command_actor`), its end-of-run `Summary` and the one
`ProgressBar` of our commands are here too.

An operator (or a script) running a command against production needs one clear line and an
exit status, never a 40-line driver traceback: MongoDB unreachable becomes "The database is
unavailable (cache database at mongodb://host:port): ..." (the URL without its credentials)
and an AdminError that escapes a command becomes "ErrorCode: message", both with status 1.

While a command runs, the `adminsite.writes` log lines are silenced below WARNING: the command
already prints a line per item (and they would collide with its progress bar). `-v 2` keeps
them.
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pymongo.errors import ConnectionFailure

from foundation.core.config import AdminConfig
from foundation.core.errors import AdminError
from foundation.core.identity import HubIdentity

DEFAULT_MONGO_PORT = 27017
WRITE_LOGGER = "adminsite.writes"


def _hosts(url: str) -> list[str]:
    """The `host:port` of each server of a connection string (no user, no password)."""
    authority = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    hosts = authority.rsplit("@", 1)[-1]
    return [host for host in hosts.split(",") if host]


def _with_port(host: str) -> str:
    return host if ":" in host.rsplit("]", 1)[-1] else f"{host}:{DEFAULT_MONGO_PORT}"


def public_url(url: str) -> str:
    """A connection string as it may be shown: scheme and servers only (no credentials, no options)."""
    scheme = url.split("://", 1)[0] if "://" in url else "mongodb"
    return f"{scheme}://{','.join(_hosts(url))}"


def unavailable_databases(error: ConnectionFailure, config: AdminConfig) -> str:
    """Which database did not answer, e.g. `cache database at mongodb://db:27017`.

    pymongo's message names the servers it tried (`host:port`); the databases whose servers it
    names are the ones shown, else both.
    """
    databases = {"cache": config.cache_mongo_url, "queue": config.queue_mongo_url}
    message = str(error)
    named = [name for name, url in databases.items() if any(_with_port(host) in message for host in _hosts(url))]
    shown = named or list(databases)
    urls = {public_url(databases[name]) for name in shown}
    if len(shown) == 2 and len(urls) == 1:
        return f"cache and queue databases at {urls.pop()}"
    return ", ".join(f"{name} database at {public_url(databases[name])}" for name in shown)


@contextmanager
def _quiet_write_log(*, verbosity: int) -> Iterator[None]:
    """`adminsite.writes` at WARNING for the command's duration, unless -v 2 or more."""
    logger = logging.getLogger(WRITE_LOGGER)
    level = logger.level
    if verbosity < 2:
        logger.setLevel(max(logging.WARNING, level))
    try:
        yield
    finally:
        logger.setLevel(level)


class AdminCommand(BaseCommand):
    """A BaseCommand whose database outages and domain errors end in one line and status 1."""

    unavailable_outcome = "nothing was changed."
    """Said after "The database is unavailable (...):"; a command that may have written part of
    its work before the outage says so instead."""

    raw_stderr: TextIO = sys.stderr
    """The command's stderr stream itself (the `stderr` option of `call_command`, else the
    process's): Django's wrapper around it would style every write as an ERROR."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        self.raw_stderr = options.get("stderr") or sys.stderr
        with _quiet_write_log(verbosity=int(options.get("verbosity", 1))):
            try:
                return super().execute(*args, **options)
            except ConnectionFailure as error:
                where = unavailable_databases(error, settings.ADMIN)
                raise CommandError(
                    f"The database is unavailable ({where}): {self.unavailable_outcome}", returncode=1
                ) from None
            except AdminError as error:
                raise CommandError(f"{error.error_code}: {error.message}", returncode=1) from None


DatasetOutcome = tuple[bool, str]
"""What a per-dataset step says: whether the dataset is supported, and its line of output."""


def run_per_dataset(
    command: AdminCommand, datasets: list[str], step: Callable[[str], DatasetOutcome], *, dry_run: bool
) -> Summary:
    """Run `step` on each dataset: one line each, a progress bar, a summary line, the outcomes counted.

    An AdminError or an unexpected error fails that dataset only; a database outage fails it and
    stops the run, the rest listed as not attempted (they would fail the same way).
    """
    summary = Summary()
    progress = ProgressBar(out=command.stdout, bar_stream=command.raw_stderr, total=len(datasets))
    for index, dataset in enumerate(datasets):
        try:
            supported, line = step(dataset)
        except AdminError as error:
            summary.failed.append(dataset)
            progress.write_line(f"{dataset}: failed ({error.error_code}): {error.message}")
        except ConnectionFailure as error:
            summary.failed.append(dataset)
            summary.not_attempted += datasets[index + 1 :]
            where = unavailable_databases(error, settings.ADMIN)
            progress.write_line(f"{dataset}: failed: the database is unavailable ({where}); stopping")
            break
        except Exception as error:
            summary.failed.append(dataset)
            progress.write_line(f"{dataset}: failed (unexpected {type(error).__name__})")
        else:
            (summary.done if supported else summary.not_supported).append(dataset)
            progress.write_line(f"{dataset}: {line}")
        progress.advance()
    progress.write_line(summary.line(dry_run=dry_run))
    return summary


def command_actor() -> HubIdentity:
    """`command:<OS user>`: who ran a management command, as the audit log records it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return HubIdentity(name=f"command:{user}")


PROGRESS_BAR_WIDTH = 30


def progress_bar(*, done: int, total: int, label: str = "") -> str:
    """`[#####.....] 5/10`, after the label if any (`     jobs [#####.....] 5,000/10,000`)."""
    filled = PROGRESS_BAR_WIDTH * done // total if total else PROGRESS_BAR_WIDTH
    bar = f"[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}] {done:,}/{total:,}"
    return f"{label:>13} {bar}" if label else bar


@dataclass
class Summary:
    """Counts of the outcomes of a command, printed at the end."""

    done: list[str] = field(default_factory=list)
    not_supported: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    """Left alone because the run stopped (the database became unavailable)."""

    def line(self, *, dry_run: bool = False) -> str:
        prefix = "dry run, nothing changed. " if dry_run else ""
        line = f"{prefix}done: {len(self.done)}, not supported: {len(self.not_supported)}, failed: {len(self.failed)}"
        return f"{line}, not attempted: {len(self.not_attempted)}" if self.not_attempted else line


class Stream(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


class ProgressBar:
    """The one progress bar of our commands, redrawn in place on `bar_stream` when it is a terminal.

    The bar is written to the raw stream (Django's stderr wrapper would style it as an error)
    and erased before every line a command prints through `write_line`, and by `clear`, so that
    no line is ever glued to it. Off a terminal (a log file, a pipe) nothing is drawn: the
    per-item lines already show the progress; a long command without such lines asks for
    `milestones`, a line per 10% off a terminal.
    """

    def __init__(self, *, out: Stream, bar_stream: Stream, total: int, milestones: bool = False) -> None:
        self.out = out
        self.bar_stream = bar_stream
        self.total = total
        self.done = 0
        self.label = ""
        self.interactive = bar_stream.isatty()
        self.milestones = milestones
        self.last_tenth: dict[str, int] = {}
        self.drawn = 0

    @property
    def visible(self) -> bool:
        return self.interactive and (self.total > 1 or self.milestones)

    def advance(self) -> None:
        self.show(done=self.done + 1, total=self.total, label=self.label)

    def show(self, *, done: int, total: int, label: str = "") -> None:
        """Draw `done` of `total` (a command of several phases gives each its label)."""
        self.done, self.total, self.label = done, total, label
        bar = progress_bar(done=done, total=total, label=label)
        if self.visible:
            self.bar_stream.write("\r" + bar)
            self.bar_stream.flush()
            self.drawn = len(bar)
        elif self.milestones and not self.interactive:
            tenth = 10 * done // total if total else 10
            if tenth > self.last_tenth.get(label, -1):
                self.last_tenth[label] = tenth
                self.bar_stream.write(bar + "\n")
                self.bar_stream.flush()

    def clear(self) -> None:
        """Erase the bar, leaving the cursor at the start of its line."""
        if self.drawn:
            self.bar_stream.write("\r" + " " * self.drawn + "\r")
            self.bar_stream.flush()
            self.drawn = 0

    def write_line(self, text: str) -> None:
        """Print one line of the command's output (on `out`), the bar erased first."""
        self.clear()
        self.out.write(text + "\n")
        self.out.flush()
