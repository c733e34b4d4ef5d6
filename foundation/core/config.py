"""Configuration read from the environment, once, into typed values.

Every variable of REFERENCE.md ("Configuration") is parsed here and nowhere else. A bad value
raises `ConfigError` whose message names the variable, so start-up stops with one readable
line instead of failing later in the middle of a request.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from pymongo.errors import ConfigurationError, InvalidURI
from pymongo.uri_parser import parse_uri

from foundation.core.dataset_names import BlockedDatasetPatterns
from foundation.core.processing_graph import ProcessingGraphError, processing_graph


class ConfigError(Exception):
    """A configuration variable has a value the service cannot run with."""


@dataclass(frozen=True, kw_only=True)
class AdminConfig:
    """The settings of the whole service (REFERENCE.md gives the meaning and default of each)."""

    hf_organization: str | None
    cache_reports_num_results: int
    cache_reports_with_content_num_results: int
    audit_log_num_results: int
    hf_timeout_seconds: float
    hf_whoami_path: str
    max_age: int
    auth_cache_seconds: int
    session_reverify_seconds: int
    uvicorn_hostname: str
    uvicorn_num_workers: int
    uvicorn_port: int
    prometheus_multiproc_dir: str | None
    hf_endpoint: str
    hf_token: str | None
    blocked_datasets: BlockedDatasetPatterns
    cache_mongo_url: str
    cache_mongo_database: str
    queue_mongo_url: str
    queue_mongo_database: str
    mongo_timeout_seconds: float
    log_level: str
    assets_storage_root: Path
    cached_assets_storage_root: Path
    parquet_metadata_storage_directory: Path | None
    stale_job_seconds: int
    """A started job whose last heartbeat (or `terminated_at`) is older than this is stale (ours; REFERENCE.md)."""
    activity_sample_seconds: int
    """The interval of the activity samples `collect_counts` takes: one sample per interval (ours)."""
    activity_retention_days: int
    """How long an activity sample is kept before its TTL index drops it (ours)."""
    allowed_hosts: tuple[str, ...]
    """The host names a request may be addressed to (Django's ALLOWED_HOSTS): ADMIN_ALLOWED_HOSTS,
    else the names the server is configured with (`default_allowed_hosts`)."""
    csrf_trusted_origins: tuple[str, ...]
    """Origins other than the request's own from which a browser may write (Django's CSRF_TRUSTED_ORIGINS),
    e.g. `https://admin.example.org` when a proxy in front terminates TLS."""


MIN_ACTIVITY_SAMPLE_SECONDS = 10
MAX_ACTIVITY_SAMPLE_SECONDS = 3600
"""Samples between every 10 s (a week of them is 60k documents to draw) and every hour (the
activity page's shortest chart covers an hour: it needs more than one point)."""
MAX_ACTIVITY_RETENTION_DAYS = 3650
"""Ten years: a TTL of more than that is a typo (MongoDB caps `expireAfterSeconds` near 68 years)."""

_LOG_LEVELS = tuple(logging.getLevelNamesMapping())
"""The names the logging module knows: CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, DEBUG, NOTSET."""
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
"""ASCII digits only (`int()` would also take `1_000` or non-ASCII digits), and not 5,000 of them."""
_MONGO_SCHEMES = ("mongodb", "mongodb+srv")
_MONGO_DATABASE_NAME = re.compile(r'[^/\\. "$\x00]{1,63}')
"""MongoDB forbids `/\\. "$` and NUL in a database name, and names of 64 bytes or more."""


def _without_credentials(message: str, url: str) -> str:
    """A driver's message about a URL, with the user and password of the URL masked."""
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    if "@" in authority:
        for secret in authority.rsplit("@", 1)[0].split(":"):
            if secret:
                message = message.replace(secret, "***")
    return message or "unparsable"


class _Reader:
    """Reads one variable at a time and turns a bad value into a `ConfigError`."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def string(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def optional_string(self, name: str) -> str | None:
        return self.raw(name)

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if _INTEGER.fullmatch(value) is None:
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        number = int(value)
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigError(f"{name}: expected an integer {bound}, got {value!r}")
        return number

    def positive_number(self, name: str, default: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name}: expected a number of seconds, got {value!r}") from None
        if not number > 0 or number == float("inf"):
            raise ConfigError(f"{name}: expected a positive number of seconds, got {value!r}")
        return number

    def url(self, name: str, default: str, *, schemes: tuple[str, ...]) -> str:
        value = self.string(name, default)
        if not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
            raise ConfigError(f"{name}: expected a URL starting with {' or '.join(schemes)}://, got {value!r}")
        return value.rstrip("/") if schemes[0].startswith("http") else value

    def mongo_url(self, name: str, default: str) -> str:
        """A MongoDB connection string; the value is never echoed, as it may hold a password."""
        value = self.string(name, default)
        if not value.startswith(tuple(f"{scheme}://" for scheme in _MONGO_SCHEMES)):
            raise ConfigError(f"{name}: expected a URL starting with mongodb:// or mongodb+srv://")
        if value.startswith("mongodb://"):  # a +srv URL would need a DNS look-up to be checked
            try:
                parse_uri(value)
            except (InvalidURI, ConfigurationError, ValueError) as error:
                message = _without_credentials(str(error).splitlines()[0] if str(error) else "", value)
                raise ConfigError(f"{name}: expected a valid MongoDB connection string ({message})") from None
        return value

    def mongo_database(self, name: str, default: str) -> str:
        value = self.string(name, default)
        if _MONGO_DATABASE_NAME.fullmatch(value) is None or len(value.encode()) > 63:
            raise ConfigError(
                f'{name}: expected a MongoDB database name (at most 63 bytes, none of /\\. "$), got {value!r}'
            )
        return value

    def log_level(self, name: str, default: str) -> str:
        value = self.string(name, default).upper()
        if value not in _LOG_LEVELS:
            raise ConfigError(f"{name}: expected one of {', '.join(_LOG_LEVELS)}, got {value!r}")
        return value

    def path(self, name: str, default: str) -> Path:
        return Path(self.string(name, default))

    def optional_path(self, name: str) -> Path | None:
        value = self.raw(name)
        return Path(value) if value is not None else None

    def names(self, name: str) -> tuple[str, ...] | None:
        """A comma list (blank items skipped); None when unset."""
        value = self.raw(name)
        if value is None:
            return None
        return tuple(item.strip() for item in value.split(",") if item.strip())

    def origins(self, name: str) -> tuple[str, ...]:
        origins = self.names(name) or ()
        for origin in origins:
            if _ORIGIN.fullmatch(origin) is None:
                raise ConfigError(f"{name}: expected origins such as https://admin.example.org, got {origin!r}")
        return origins


_ORIGIN = re.compile(r"https?://[^/\s?#]+")
"""`scheme://host[:port]`, as a browser sends it in `Origin` (Django allows a `*.` subdomain wildcard)."""
_ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 (names to recognise, not to bind)
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def default_allowed_hosts(hostname: str) -> tuple[str, ...]:
    """The names a request may carry in `Host` when ADMIN_ALLOWED_HOSTS is unset.

    The server's configured name and the loopback names. A server listening on every interface
    has no name of its own in the configuration: then the machine's name and addresses (what a
    probe inside a cluster sends); the public name behind a load balancer must be configured.
    A name outside the list is refused (400) before any view: a page of another site that
    resolves its own name to this server (DNS rebinding) cannot reach it.
    """
    if hostname in _ALL_INTERFACES:
        names = [*_LOOPBACK_NAMES, *_machine_names()]
    else:
        names = [f"[{hostname}]" if ":" in hostname else hostname, *_LOOPBACK_NAMES]
    return tuple(dict.fromkeys(names))


def _machine_names() -> list[str]:
    name = socket.gethostname()
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        addresses = set()
    return [name, *sorted(f"[{address}]" if ":" in address else address for address in addresses)]


def load_config(environ: Mapping[str, str]) -> AdminConfig:
    """Parse every variable of REFERENCE.md; raise `ConfigError` naming the first bad one."""
    read = _Reader(environ)
    whoami_path = read.string("ADMIN_HF_WHOAMI_PATH", "/api/whoami-v2")
    if not whoami_path.startswith("/"):
        raise ConfigError(f"ADMIN_HF_WHOAMI_PATH: expected a path starting with '/', got {whoami_path!r}")
    try:
        blocked = BlockedDatasetPatterns.parse(read.string("COMMON_BLOCKED_DATASETS", ""))
    except ValueError as error:
        raise ConfigError(
            f"COMMON_BLOCKED_DATASETS: expected a comma list of dataset names or namespace/<pattern>, but {error}"
        ) from None
    hostname = read.string("ADMIN_UVICORN_HOSTNAME", "localhost")
    allowed_hosts = read.names("ADMIN_ALLOWED_HOSTS")
    return AdminConfig(
        hf_organization=read.optional_string("ADMIN_HF_ORGANIZATION"),
        cache_reports_num_results=read.integer("ADMIN_CACHE_REPORTS_NUM_RESULTS", 100, minimum=1),
        cache_reports_with_content_num_results=read.integer(
            "ADMIN_CACHE_REPORTS_WITH_CONTENT_NUM_RESULTS", 100, minimum=1
        ),
        audit_log_num_results=read.integer("ADMIN_AUDIT_LOG_NUM_RESULTS", 100, minimum=1),
        hf_timeout_seconds=read.positive_number("ADMIN_HF_TIMEOUT_SECONDS", 0.2),
        hf_whoami_path=whoami_path,
        max_age=read.integer("ADMIN_MAX_AGE", 10),
        auth_cache_seconds=read.integer("ADMIN_AUTH_CACHE_SECONDS", 10),
        session_reverify_seconds=read.integer("ADMIN_SESSION_REVERIFY_SECONDS", 600, minimum=1),
        uvicorn_hostname=hostname,
        uvicorn_num_workers=read.integer("ADMIN_UVICORN_NUM_WORKERS", 2, minimum=1),
        uvicorn_port=read.integer("ADMIN_UVICORN_PORT", 8000, minimum=0, maximum=65535),
        prometheus_multiproc_dir=read.optional_string("PROMETHEUS_MULTIPROC_DIR"),
        hf_endpoint=read.url("COMMON_HF_ENDPOINT", "https://huggingface.co", schemes=("http", "https")),
        hf_token=read.optional_string("COMMON_HF_TOKEN"),
        blocked_datasets=blocked,
        cache_mongo_url=read.mongo_url("CACHE_MONGO_URL", "mongodb://localhost:27017"),
        cache_mongo_database=read.mongo_database("CACHE_MONGO_DATABASE", "dataset_viewer_cache"),
        queue_mongo_url=read.mongo_url("QUEUE_MONGO_URL", "mongodb://localhost:27017"),
        queue_mongo_database=read.mongo_database("QUEUE_MONGO_DATABASE", "dataset_viewer_queue"),
        mongo_timeout_seconds=read.positive_number("ADMIN_MONGO_TIMEOUT_SECONDS", 5.0),
        log_level=read.log_level("LOG_LEVEL", "INFO"),
        assets_storage_root=read.path("ASSETS_STORAGE_ROOT", "/storage/assets"),
        cached_assets_storage_root=read.path("CACHED_ASSETS_STORAGE_ROOT", "/storage/cached-assets"),
        parquet_metadata_storage_directory=read.optional_path("PARQUET_METADATA_STORAGE_DIRECTORY"),
        stale_job_seconds=read.integer("ADMIN_STALE_JOB_SECONDS", 300, minimum=1),
        activity_sample_seconds=read.integer(
            "ADMIN_ACTIVITY_SAMPLE_SECONDS",
            60,
            minimum=MIN_ACTIVITY_SAMPLE_SECONDS,
            maximum=MAX_ACTIVITY_SAMPLE_SECONDS,
        ),
        activity_retention_days=read.integer(
            "ADMIN_ACTIVITY_RETENTION_DAYS", 14, minimum=1, maximum=MAX_ACTIVITY_RETENTION_DAYS
        ),
        allowed_hosts=allowed_hosts if allowed_hosts else default_allowed_hosts(hostname),
        csrf_trusted_origins=read.origins("ADMIN_CSRF_TRUSTED_ORIGINS"),
    )


def checked_config(environ: Mapping[str, str]) -> AdminConfig:
    """The configuration and the processing graph, checked; a bad one stops start-up in one line.

    Called by the settings (every process: uvicorn workers, commands) and by the server before
    it spawns workers, so a bad value is one line on stderr and exit status 1, not a traceback
    and workers restarted in a loop.
    """
    try:
        config = load_config(environ)
        processing_graph()
    except (ConfigError, ProcessingGraphError) as error:
        stop_on_config_error(str(error))
    return config


def stop_on_config_error(message: str) -> NoReturn:
    sys.stderr.write(f"configuration error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(1)
