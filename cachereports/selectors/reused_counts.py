"""The costly counts of the dashboard, reused for a minute and counted again in the background."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from cachereports.rows import CacheErrors
from cachereports.selectors.builder_names import num_dataset_infos_by_builder_name
from cachereports.selectors.error_groups import cache_errors
from foundation.core.reused_values import ReusedValues
from foundation.database import mongo

REUSE_SECONDS = 60
"""How old the console's counts that read many entries may get before they are counted again
(in the background: see `foundation.core.reused_values`); the JSON routes count each time."""


@dataclass(frozen=True)
class BuilderNameCounts:
    counts: dict[str, int]
    counted_at: datetime


_reused_counts: ReusedValues[Any] = ReusedValues(max_age_seconds=REUSE_SECONDS)
"""The builder-name counts and the root-error groups of this process, by name and databases."""


def _reuse_key(name: str) -> tuple[str, str, str]:
    return (name, settings.ADMIN.cache_mongo_url, settings.ADMIN.cache_mongo_database)


def _counted_builder_names() -> BuilderNameCounts:
    return BuilderNameCounts(num_dataset_infos_by_builder_name(), mongo.utc_now())


def _counted_root_errors() -> CacheErrors:
    return dataclasses.replace(cache_errors(kind=None), counted_at=mongo.utc_now())


def recent_builder_name_counts() -> BuilderNameCounts | None:
    """The counts this process made, without a query (counted again behind if old); None if there are none yet."""
    recent: BuilderNameCounts | None = _reused_counts.peek(
        _reuse_key("builder-names"), _counted_builder_names, name="builder-name counts"
    )
    return recent


def builder_name_counts() -> BuilderNameCounts:
    """The builder-name counts of the console, counted again (one aggregation) at most once a minute.

    That aggregation reads every successful `dataset-info` entry: seconds on a big cache, so
    the dashboard never runs it (it shows `recent_builder_name_counts` or loads this apart),
    and once counted, older counts are served while they are counted again in the background.
    """
    counts: BuilderNameCounts = _reused_counts.get(
        _reuse_key("builder-names"), _counted_builder_names, name="builder-name counts"
    )
    return counts


def warm_up() -> None:
    """Start counting, in the background, what the dashboard reuses (the served app, at worker start).

    So that no request pays for the first count: a load that comes before it ends waits for it
    instead of counting a second time.
    """
    _reused_counts.warm(_reuse_key("cache-errors"), _counted_root_errors, name="root-error groups")
    _reused_counts.warm(_reuse_key("builder-names"), _counted_builder_names, name="builder-name counts")


WARM_UP_AT_WORKER_START = True
"""Whether `warm_up_at_worker_start` warms up; the test suite turns it off (tests/conftest.py), so
that a test importing the served app counts nothing it did not ask for."""


def warm_up_at_worker_start() -> None:
    """`warm_up`, called once by the served app as a worker imports it (`adminsite/asgi.py`).

    Not from a management command or a shell: only the worker that serves pages warms up.
    """
    if WARM_UP_AT_WORKER_START:
        warm_up()


def wait_for_reused_counts(timeout_seconds: float | None = None) -> bool:
    """Wait until no count of the console is being made in the background (tests); False on timeout."""
    return _reused_counts.wait_for_refreshes(timeout_seconds)


def forget_reused_counts() -> None:
    """Forget every count reused by this process (tests)."""
    _reused_counts.forget()


def cache_errors_reused() -> CacheErrors:
    """`cache_errors` of every kind, for the dashboard: counted at most once a minute per process.

    It reads every error entry of the cache (on FerretDB, one find of them all): too much for
    each load of a page that refreshes itself every 15 s. Once counted, older groups are served
    while they are counted again in the background (`counted_at` says when they were counted).
    /admin/errors counts afresh.
    """
    groups: CacheErrors = _reused_counts.get(_reuse_key("cache-errors"), _counted_root_errors, name="root-error groups")
    return groups
