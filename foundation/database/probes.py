"""Is MongoDB answering? Quick probes for the readiness route and the metrics scrape.

A load balancer and Prometheus call these every few seconds and give up after about one
second, so they use their own clients with a short server-selection timeout
(`probe_timeout_seconds`) instead of the request clients of `foundation.database.mongo`, whose timeout
(ADMIN_MONGO_TIMEOUT_SECONDS) is sized for real queries. A probe never raises: it reports.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pymongo
from django.conf import settings
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from foundation.core.config import AdminConfig
from foundation.database import mongo
from foundation.database.mongo import MongoDocument

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 1.0
"""Upper bound of a probe's wait for a server (Kubernetes probes time out after 1 s by default)."""


def probe_timeout_seconds(config: AdminConfig) -> float:
    return min(PROBE_TIMEOUT_SECONDS, config.mongo_timeout_seconds)


def _probe_client(url: str, timeout_seconds: float) -> MongoClient[MongoDocument]:
    """The process's client for probes of this URL with this timeout (pymongo pools connections)."""
    return mongo.client_for(
        url,
        timeout_seconds=timeout_seconds,
        # reading the metric collections may take longer than finding a server
        operation_timeout_seconds=max(timeout_seconds, settings.ADMIN.mongo_timeout_seconds),
        appname=f"{mongo.APPNAME}-probe",
    )


@dataclass(frozen=True)
class DatabaseTarget:
    """One of the two databases of the service, as the probes address it."""

    name: str  # "cache" or "queue", as shown in answers and metric labels
    url: str
    database: str


def database_targets(config: AdminConfig) -> tuple[DatabaseTarget, DatabaseTarget]:
    return (
        DatabaseTarget(name="cache", url=config.cache_mongo_url, database=config.cache_mongo_database),
        DatabaseTarget(name="queue", url=config.queue_mongo_url, database=config.queue_mongo_database),
    )


def probe_database(target: DatabaseTarget, *, timeout_seconds: float) -> Database[MongoDocument]:
    """The target database through a short-timeout client (for the scrape's reads)."""
    return _probe_client(target.url, timeout_seconds)[target.database]


def _answers_ping(url: str, timeout_seconds: float) -> bool:
    try:
        with pymongo.timeout(timeout_seconds):  # the whole ping, a stalled connection included
            _probe_client(url, timeout_seconds).admin.command("ping")
    except PyMongoError:
        return False
    return True


def ping_databases(config: AdminConfig) -> dict[str, bool]:
    """`{"cache": answered, "queue": answered}`, in at most one probe timeout.

    Both servers are pinged at once (and only once when they share a URL), so a dead server
    costs one timeout, not two.
    """
    timeout = probe_timeout_seconds(config)
    targets = database_targets(config)
    urls = sorted({target.url for target in targets})
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        answered = dict(zip(urls, pool.map(lambda url: _answers_ping(url, timeout), urls), strict=True))
    verdicts = {target.name: answered[target.url] for target in targets}
    silent = [name for name, ok in verdicts.items() if not ok]
    if silent:
        logger.warning("MongoDB did not answer a ping within %ss: %s", timeout, ", ".join(silent))
    return verdicts
