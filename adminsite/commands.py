"""`AdminCommand`: the base of every management command of ours.

An operator (or a script) running a command against production needs one clear line and an
exit status, never a 40-line driver traceback: MongoDB unreachable becomes "The database is
unavailable (cache database at mongodb://host:port): ..." (the URL without its credentials)
and an AdminError that escapes a command becomes "ErrorCode: message", both with status 1.

While a command runs, the `adminsite.writes` log lines are silenced below WARNING: the command
already prints a line per item (and they would collide with its progress bar). `-v 2` keeps
them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pymongo.errors import ConnectionFailure

from adminsite.config import AdminConfig
from adminsite.errors import AdminError

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

    @property
    def raw_stderr(self) -> TextIO:
        """The stream under Django's stderr wrapper, which would style every write as an ERROR."""
        return cast(TextIO, self.stderr._out)

    def execute(self, *args: Any, **options: Any) -> str | None:
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
