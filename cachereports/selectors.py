"""Reads of the cache database. Every query of the cachereports app is built here.

Each function costs a constant number of database commands: one query or one aggregation,
whatever the number of processing steps or cache entries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId
from bson.errors import InvalidId
from django.conf import settings
from pymongo.database import Database
from pymongo.errors import OperationFailure

from adminsite.core.cursors import parse_cursor
from adminsite.core.errors import InvalidParameterError, NotFoundError
from adminsite.core.processing_graph import ProcessingStep, known_step, processing_graph
from adminsite.core.reused_values import ReusedValues
from adminsite.core.serialization import iso_datetime
from adminsite.database import mongo
from cachereports.filters import CacheEntryFilter
from cachereports.serializers import CacheReport, cache_report, cache_report_with_content

BUILDER_NAMES = ("parquet", "csv", "text", "imagefolder", "audiofolder", "json", "arrow", "webdataset")
"""The builder names counted one by one; every other builder (or none) counts as "other"."""

DATASET_INFO_KIND = "dataset-info"
CONFIG_INFO_KIND = "config-info"
"""The cache kind whose `content.dataset_info` gives the size of a config and of its splits."""
CONFIG_NAMES_KIND = "dataset-config-names"
"""Its `content.config_names[].config` lists the configs of a dataset."""
SPLIT_NAMES_KIND = "config-split-names"
"""Its `content.splits[].split` lists the splits of a config."""


@dataclass(frozen=True)
class CacheReportsPage:
    cache_reports: list[CacheReport]
    next_cursor: str


def cache_reports_page(*, kind: str, cursor: str, limit: int, with_content: bool) -> CacheReportsPage:
    """One page of the entries of a kind, by `_id` ascending (index kind, _id).

    `next_cursor` is the `_id` of the last entry when the page is full, else "".
    """
    known_step(kind)
    after = parse_cursor(cursor)
    query: dict[str, Any] = {"kind": kind}
    if after is not None:
        query["_id"] = {"$gt": after}
    projection = None if with_content else {"content": 0}
    cache_entries = list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find(query, projection)
        .sort("_id", 1)
        .limit(limit)
        .batch_size(limit)  # the whole page in the first batch (within the server's 16 MB)
    )
    serialize = cache_report_with_content if with_content else cache_report
    next_cursor = str(cache_entries[-1]["_id"]) if len(cache_entries) == limit else ""
    return CacheReportsPage([serialize(entry) for entry in cache_entries], next_cursor)


def cache_reports_of_dataset(*, dataset: str) -> dict[str, list[CacheReport]]:
    """The cache reports of one dataset by kind, every step listed (index dataset, kind, http_status).

    Within a kind, in `_id` order (the order they were written), as the other services list them.
    """
    by_kind: dict[str, list[CacheReport]] = {step.name: [] for step in processing_graph()}
    cache_entries = list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find({"dataset": dataset}, {"content": 0})
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
    cache_entries.sort(key=lambda entry: entry["_id"])  # in memory: the index gives (kind, http_status) order
    for entry in cache_entries:
        reports = by_kind.get(str(entry.get("kind")))
        if reports is not None:
            reports.append(cache_report(entry))
    return by_kind


def num_dataset_infos_by_builder_name() -> dict[str, int]:
    """Successful `dataset-info` entries counted by builder name, in one aggregation."""
    counts = {name: 0 for name in (*BUILDER_NAMES, "other")}
    groups = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].aggregate(
        [
            {"$match": {"kind": DATASET_INFO_KIND, "http_status": 200}},
            {"$group": {"_id": "$content.dataset_info.default.builder_name", "count": {"$sum": 1}}},
        ]
    )
    for group in groups:
        builder_name = group["_id"]
        key = builder_name if builder_name in BUILDER_NAMES else "other"
        counts[key] += int(group["count"])
    return counts


REUSE_SECONDS = 60
"""How old the console's counts that read many entries may get before they are counted again
(in the background: see `adminsite.core.reused_values`); the JSON routes count each time."""


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


# --- The browser console: cache health, the cache browser, one entry, one dataset ------------


@dataclass(frozen=True)
class KindHealth:
    kind: str
    total: int
    by_status: dict[int, int]


@dataclass(frozen=True)
class CacheHealth:
    """Cache entries by kind and HTTP status (from the metric rows).

    What errors dominate is `cache_errors`: the metric rows cannot tell a root error from a copy.
    """

    by_kind: list[KindHealth]
    statuses: list[int]
    total: int


def cache_metric_rows(database: Database[mongo.MongoDocument] | None = None) -> list[mongo.MongoDocument]:
    """The rows of `cacheTotalMetric` (kind, http_status, error_code?, total), sorted on their index.

    `database` lets the metrics scrape read through its short-timeout client; by default the
    reports' connection.
    """
    cache = database if database is not None else mongo.cache_database_for_reports()
    return list(
        cache[mongo.CACHE_TOTAL_METRIC]
        .find({}, {"_id": 0, "kind": 1, "http_status": 1, "error_code": 1, "total": 1})
        .sort([("kind", 1), ("http_status", 1), ("error_code", 1)])
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )


def cache_health() -> CacheHealth:
    """Entries by (kind, http_status, error_code), as the metric rows of `cacheTotalMetric` count them.

    The other services `$inc` a row for each entry they write or delete, and so do our deletes
    (services.delete_dataset_cache_entries): a few hundred rows that say what counting the entries
    would, without reading them. Counting the entries themselves, even from index (kind,
    http_status, error_code), walks millions of index keys on each page load. So: one small
    find, sorted on the unique index (kind, http_status, error_code) that backs it. The numbers
    are those of the Prometheus gauge `responses_in_cache_total`; they drift from the entries
    only if a writer crashed between its write and its `$inc`.

    Rows with total <= 0 (emptied groups, or a
    row decremented below zero) are left out; kinds not in the processing graph are kept.
    """
    rows = cache_metric_rows()
    by_kind: dict[str, dict[int, int]] = {step.name: {} for step in processing_graph()}
    for row in rows:
        total = row.get("total")
        if not isinstance(total, int | float) or total <= 0:
            continue
        count = int(total)
        kind, http_status = str(row.get("kind")), int(row.get("http_status") or 0)
        statuses = by_kind.setdefault(kind, {})
        statuses[http_status] = statuses.get(http_status, 0) + count
    return CacheHealth(
        by_kind=[
            KindHealth(kind, sum(statuses.values()), dict(sorted(statuses.items())))
            for kind, statuses in sorted(by_kind.items())
        ],
        statuses=sorted({status for statuses in by_kind.values() for status in statuses}),
        total=sum(error_count for statuses in by_kind.values() for error_count in statuses.values()),
    )


def _with_id(cache_entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with its `_id` as the string `id` (templates cannot read `_id`)."""
    return {**cache_entry, "id": str(cache_entry["_id"])}


# Copied errors and their root (REFERENCE.md, "Copied errors and root causes")

ArtifactKey = tuple[str, str, str | None, str | None]
"""(kind, dataset, config, split) of an artifact: the unique key of its cache entry."""

_COPY_FIELDS = {
    field: 1
    for field in (
        "kind",
        "dataset",
        "config",
        "split",
        "http_status",
        "error_code",
        "details.copied_from_artifact",
        "details.cause_exception",
        "details.cause_message",
    )
}
_CAUSE_MESSAGE_CHARACTERS = 200


def _artifact_key(cache_entry: dict[str, Any]) -> ArtifactKey:
    return (
        str(cache_entry.get("kind")),
        str(cache_entry.get("dataset")),
        cache_entry.get("config"),
        cache_entry.get("split"),
    )


def copied_from_key(cache_entry: dict[str, Any] | None) -> ArtifactKey | None:
    """The artifact an error entry was copied from (`details.copied_from_artifact`), if it names one."""
    details = cache_entry.get("details") if cache_entry is not None else None
    parent = details.get("copied_from_artifact") if isinstance(details, dict) else None
    if not isinstance(parent, dict) or not isinstance(parent.get("kind"), str):
        return None
    if not isinstance(parent.get("dataset"), str):
        return None
    config, split = parent.get("config"), parent.get("split")
    return (
        parent["kind"],
        parent["dataset"],
        config if isinstance(config, str) else None,
        split if isinstance(split, str) else None,
    )


@dataclass(frozen=True)
class ArtifactLink:
    """An artifact named by a copy, and its cache entry as found now (None: no such entry)."""

    key: ArtifactKey
    cache_entry: dict[str, Any] | None

    @property
    def label(self) -> str:
        kind, _dataset, config, split = self.key
        return " / ".join(part for part in (kind, config, split) if part is not None)

    @property
    def id(self) -> str:
        return str(self.cache_entry["_id"]) if self.cache_entry is not None else ""

    @property
    def http_status(self) -> Any:
        return self.cache_entry.get("http_status") if self.cache_entry is not None else None

    @property
    def is_error(self) -> bool:
        status = self.http_status
        return isinstance(status, int | float) and status >= 400

    @property
    def cause(self) -> str:
        """`ErrorCode (CauseException: cause message)`, as much of it as the entry has."""
        if self.cache_entry is None:
            return ""
        details = self.cache_entry.get("details")
        details = details if isinstance(details, dict) else {}
        exception, message = details.get("cause_exception"), details.get("cause_message")
        code = str(self.cache_entry.get("error_code") or self.http_status)
        if not exception:
            return code
        if not message:
            return f"{code} ({exception})"
        return f"{code} ({exception}: {str(message)[:_CAUSE_MESSAGE_CHARACTERS]})"


@dataclass(frozen=True)
class CopiedFrom:
    """Where a copied error comes from: its parent, and the root error the chain reaches.

    `root` is None when the chain does not end in a root error: an entry on the way is missing,
    no longer an error (since fixed) or loops back.
    """

    parent: ArtifactLink
    root: ArtifactLink | None


def _found_artifacts(keys: set[ArtifactKey]) -> dict[ArtifactKey, dict[str, Any]]:
    """The entries of these artifacts: one find on the unique index (kind, dataset, config, split)."""
    conditions = [
        {"kind": kind, "dataset": dataset, "config": config, "split": split}
        for kind, dataset, config, split in sorted(keys, key=str)
    ]
    found = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].find({"$or": conditions}, _COPY_FIELDS)
    return {_artifact_key(entry): entry for entry in found}


def _origin(parent_key: ArtifactKey, known: dict[ArtifactKey, dict[str, Any] | None]) -> CopiedFrom:
    parent = ArtifactLink(parent_key, known.get(parent_key))
    link, seen = parent, {parent_key}
    while link.is_error:
        next_key = copied_from_key(link.cache_entry)
        if next_key is None:
            return CopiedFrom(parent, link)
        if next_key in seen or next_key not in known:
            break
        seen.add(next_key)
        link = ArtifactLink(next_key, known[next_key])
    return CopiedFrom(parent, None)


def copied_errors_origins(cache_entries: list[dict[str, Any]]) -> dict[str, CopiedFrom]:
    """For each copied error among these entries (by string `_id`): its parent and its root error.

    The chains are followed level by level, every entry of a level in one find: as many finds
    as the longest chain has copies above the page (at most the depth of the processing graph,
    2 or 3 in practice), whatever the number of entries. A chain that loops stops.
    """
    known: dict[ArtifactKey, dict[str, Any] | None] = {_artifact_key(entry): entry for entry in cache_entries}
    wanted = {key for key in map(copied_from_key, cache_entries) if key is not None} - known.keys()
    for _level in range(len(processing_graph())):
        if not wanted:
            break
        found = _found_artifacts(wanted)
        known |= {key: found.get(key) for key in wanted}
        wanted = {key for key in map(copied_from_key, found.values()) if key is not None} - known.keys()
    origins = {}
    for entry in cache_entries:
        parent_key = copied_from_key(entry)
        if parent_key is not None and ArtifactLink(_artifact_key(entry), entry).is_error:
            origins[str(entry["_id"])] = _origin(parent_key, known)
    return origins


@dataclass(frozen=True)
class CacheEntriesPage:
    """Entries by `_id` ascending; each cursor is "" when there is no page that way.

    `total` is how many entries the filter matches in all; a copied error's entry has its
    `CopiedFrom` under the key `copied`.
    """

    cache_entries: list[dict[str, Any]]
    next_cursor: str
    previous_cursor: str
    total: int


def cache_entries_page(
    *,
    kind: str,
    http_status: int | None,
    error_code: str | None,
    after: str,
    before: str,
    limit: int,
    cause_exception: str | None = None,
    root_errors_only: bool = False,
    without_cause_exception: bool = False,
) -> CacheEntriesPage:
    """One page of the entries of a kind, filtered, forward (`after`) or backward (`before`).

    One query of limit + 1 entries (the extra one tells whether a page lies beyond), backed
    by (kind, _id) or (kind, http_status, _id), and with an error code by (kind, http_status,
    error_code): equality on kind and error_code (and http_status when given; every status
    otherwise, a few index seeks) reads only the entries of that error, then keeps the
    limit + 1 first by _id (a top-k sort, small in memory). Its cost follows the number of
    entries with that error. Walking (kind, _id) instead would read entries of every code
    and drop the others: for a rare code, the whole kind (millions of entries) for one page.
    For a very common code the planner may still prefer walking (kind, http_status, _id),
    which then stops after one page: both are indexes of REFERENCE.md, so no hint is forced.
    `cause_exception` and `root_errors_only` (the links of the error triage page) add equality on
    details.cause_exception and details.copied_from_artifact: index (details.cause_exception,
    error_code, details.copied_from_artifact), or (error_code, kind, details.copied_from_artifact).
    """
    known_step(kind)
    after_id, before_id = parse_cursor(after), parse_cursor(before)
    query: dict[str, Any] = {"kind": kind}
    if http_status is not None:
        query["http_status"] = http_status
    if error_code is not None:
        query["error_code"] = error_code
    if cause_exception is not None:
        query["details.cause_exception"] = cause_exception
    elif without_cause_exception:
        query["details.cause_exception"] = None
    if root_errors_only:
        query["details.copied_from_artifact"] = None
        query.setdefault("http_status", {"$gte": 400})
    count_query = dict(query)
    backward = before_id is not None
    if backward:
        query["_id"] = {"$lt": before_id}
    elif after_id is not None:
        query["_id"] = {"$gt": after_id}
    responses = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
    found = list(responses.find(query, {"content": 0}).sort("_id", -1 if backward else 1).limit(limit + 1))
    total = responses.count_documents(count_query)
    more = len(found) > limit
    origins = copied_errors_origins(found[:limit])
    cache_entries = [_with_id(entry) | {"copied": origins.get(str(entry["_id"]))} for entry in found[:limit]]
    if backward:
        cache_entries.reverse()
        next_cursor = cache_entries[-1]["id"] if cache_entries else ""
        previous_cursor = cache_entries[0]["id"] if more else ""
    else:
        next_cursor = cache_entries[-1]["id"] if more else ""
        previous_cursor = cache_entries[0]["id"] if after_id is not None and cache_entries else ""
    return CacheEntriesPage(cache_entries, next_cursor, previous_cursor, total)


@dataclass(frozen=True)
class CacheEntryDetail:
    """One entry with its content, and how it compares to the current version of its step."""

    cache_entry: dict[str, Any]
    step: ProcessingStep | None
    copied: CopiedFrom | None = None
    """Its parent and root error, when it is a copied error."""

    @property
    def is_outdated(self) -> bool:
        """Computed by a job runner older than the step's current one (or of unknown version)."""
        version = self.cache_entry.get("job_runner_version")
        return self.step is not None and (not isinstance(version, int) or version < self.step.job_runner_version)


def cache_entry_detail(*, entry_id: str) -> CacheEntryDetail:
    """One cache entry by `_id`, content included; 422 for an id that is not an ObjectId."""
    try:
        object_id = ObjectId(entry_id)
    except (InvalidId, TypeError):
        raise InvalidParameterError("The cache entry id is not valid.") from None
    cache_entry = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].find_one({"_id": object_id})
    if cache_entry is None:
        raise NotFoundError(f"No cache entry with id {entry_id}.")
    step = processing_graph().get(str(cache_entry.get("kind")))
    return CacheEntryDetail(_with_id(cache_entry), step, copied_errors_origins([cache_entry]).get(str(object_id)))


def count_cache_entries_of_dataset(*, dataset: str) -> int:
    """How many cache entries a dataset has (what a recreate would delete; index dataset, kind, http_status)."""
    return mongo.cache_database()[mongo.CACHED_RESPONSES].count_documents({"dataset": dataset})


_DATASET_PAGE_FIELDS = {
    field: 1
    for field in (
        "kind",
        "dataset",
        "config",
        "split",
        "http_status",
        "error_code",
        "details",
        "updated_at",
        "job_runner_version",
        "dataset_git_revision",
        "progress",
        "failed_runs",
        "content.config_names",
        "content.splits",
        "content.dataset_info.dataset_size",
        "content.dataset_info.splits",
    )
}
"""The report fields, plus only the parts of the content that list configs and splits (the two
name lists) and give the size of a config and of its splits (`config-info`, for the backfill's
bonus difficulty)."""


def cache_entries_of_dataset_page(*, dataset: str, primary: bool = False) -> list[dict[str, Any]]:
    """The entries of a dataset for its page and its backfill plan (index dataset, kind, http_status).

    Report fields, the name lists and the config sizes: one read whatever the number of
    configs and splits. A page may read a secondary; a write computed from them reads the primary.
    """
    cache = mongo.cache_database() if primary else mongo.cache_database_for_reports()
    found = cache[mongo.CACHED_RESPONSES].find({"dataset": dataset}, _DATASET_PAGE_FIELDS)
    return [_with_id(entry) for entry in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)]


def _num_bytes(content: object, split: str | None) -> int | None:
    """The config's size (`dataset_info.dataset_size`), or one split's, from a `config-info` content."""
    dataset_info = content.get("dataset_info") if isinstance(content, dict) else None
    if not isinstance(dataset_info, dict):
        return None
    if split is None:
        num_bytes = dataset_info.get("dataset_size")
    else:
        splits = dataset_info.get("splits")
        split_info = splits.get(split) if isinstance(splits, dict) else None
        num_bytes = split_info.get("num_bytes") if isinstance(split_info, dict) else None
    return num_bytes if isinstance(num_bytes, int) and not isinstance(num_bytes, bool) else None


_CONFIG_INFO_SIZES = {"content.dataset_info.dataset_size": 1, "content.dataset_info.splits": 1}


def config_num_bytes(*, dataset: str, config: str, split: str | None) -> int | None:
    """The size upstream reads for the bonus: the config's, or one split's, from its `config-info` entry."""
    entry = mongo.cache_database()[mongo.CACHED_RESPONSES].find_one(
        {"kind": CONFIG_INFO_KIND, "dataset": dataset, "config": config, "split": None}, _CONFIG_INFO_SIZES
    )
    return _num_bytes(entry.get("content") if entry else None, split)


@dataclass(frozen=True)
class ConfigSizes:
    """The `config-info` sizes of several datasets, read at once (the bonus of a batch of jobs)."""

    contents: dict[tuple[str, str], object]

    def num_bytes(self, *, dataset: str, config: str, split: str | None) -> int | None:
        return _num_bytes(self.contents.get((dataset, config)), split)


def config_sizes(*, datasets: list[str]) -> ConfigSizes:
    """One find of the `config-info` entries of these datasets (index kind, dataset, config, split)."""
    if not datasets:
        return ConfigSizes({})
    found = mongo.cache_database()[mongo.CACHED_RESPONSES].find(
        {"kind": CONFIG_INFO_KIND, "dataset": {"$in": datasets}},
        {"dataset": 1, "config": 1, **_CONFIG_INFO_SIZES},
    )
    return ConfigSizes(
        {
            (str(entry["dataset"]), str(entry["config"])): entry.get("content")
            for entry in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
            if isinstance(entry.get("config"), str)
        }
    )


# --- Bulk operations: the entries of a filter, by `_id` ---------------------------------------


def count_matching_entries(*, entry_filter: CacheEntryFilter) -> int:
    """How many entries the filter matches (counted on the index its equality fields select)."""
    return mongo.cache_database()[mongo.CACHED_RESPONSES].count_documents(entry_filter.query())


def count_matching_datasets(*, entry_filter: CacheEntryFilter) -> int:
    """How many distinct datasets the filter's entries belong to: one aggregation."""
    counted = list(
        mongo.cache_database()[mongo.CACHED_RESPONSES].aggregate(
            [{"$match": entry_filter.query()}, {"$group": {"_id": "$dataset"}}, {"$count": "datasets"}]
        )
    )
    return int(counted[0]["datasets"]) if counted else 0


def matching_entries_after(
    *, entry_filter: CacheEntryFilter, after: ObjectId | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` matching entries after `after`, by `_id`: only the artifact's fields, never `content`.

    Read from the primary: a batch that follows a write must see it.
    """
    query = entry_filter.query()
    if after is not None:
        query["_id"] = {"$gt": after}
    return list(
        mongo.cache_database()[mongo.CACHED_RESPONSES]
        .find(query, {"kind": 1, "dataset": 1, "config": 1, "split": 1, "error_code": 1, "http_status": 1})
        .sort("_id", 1)
        .limit(limit)
        .batch_size(limit)
    )


# --- Error triage: root errors grouped by what broke -------------------------------------------

SAMPLE_DATASETS = 5
"""How many datasets a group of root errors names (the first by name)."""


@dataclass(frozen=True)
class ErrorGroup:
    """Root errors of one (kind, error_code, cause_exception): how many, how recent, where."""

    kind: str
    error_code: str | None
    cause_exception: str | None
    count: int
    latest_updated_at: datetime | None
    sample_datasets: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "error_code": self.error_code,
            "cause_exception": self.cause_exception,
            "count": self.count,
            "latest_updated_at": iso_datetime(self.latest_updated_at),
            "sample_datasets": self.sample_datasets,
        }

    def _filter(self) -> dict[str, str]:
        fields = {"kind": self.kind, "error_code": self.error_code, "cause_exception": self.cause_exception}
        return {name: value for name, value in fields.items() if value is not None}

    @property
    def cache_list_query(self) -> str:
        """The query of the cache list that shows exactly this group's entries."""
        without = {} if self.cause_exception is not None else {"no_exception": "1"}
        return urlencode({**self._filter(), **without, "root_only": "1"})

    @property
    def bulk_refresh_query(self) -> str:
        """The query of the bulk refresh page opened on this group (the same filter)."""
        without = {} if self.cause_exception is not None else {"without_cause_exception": "true"}
        return urlencode({**self._filter(), **without, "root_errors_only": "true"})


@dataclass(frozen=True)
class CacheErrors:
    """The root-error groups, the largest first, and how many error entries only copy another."""

    errors: list[ErrorGroup]
    copied: int
    counted_at: datetime | None = None
    """When the dashboard's reused groups were counted (`cache_errors_reused`); None when counted for this request."""

    def as_json(self) -> dict[str, Any]:
        return {"errors": [group.as_json() for group in self.errors], "copied": self.copied}


_ERROR_GROUP_KEY = {
    "kind": "$kind",
    "error_code": "$error_code",
    "cause_exception": "$details.cause_exception",
    # A copy always names its parent's kind: present for copies, absent for root errors.
    "copied_from": "$details.copied_from_artifact.kind",
}


def _error_match(kind: str | None) -> dict[str, Any]:
    """Error entries (of a kind): backed by index (http_status, error_code, kind, updated_at)."""
    match: dict[str, Any] = {"http_status": {"$gte": 400}}
    if kind is not None:
        match["kind"] = kind
    return match


@dataclass
class _GroupTally:
    count: int = 0
    latest_updated_at: datetime | None = None
    datasets: set[str] = field(default_factory=set)

    def add(self, *, count: int, latest_updated_at: object, datasets: list[object]) -> None:
        self.count += count
        if isinstance(latest_updated_at, datetime) and (
            self.latest_updated_at is None or latest_updated_at > self.latest_updated_at
        ):
            self.latest_updated_at = latest_updated_at
        self.datasets.update(str(dataset) for dataset in datasets if isinstance(dataset, str))


def _error_groups_aggregated(kind: str | None) -> list[dict[str, Any]]:
    """MongoDB: one `$group` with the count, the latest update and the distinct datasets of each group."""
    return list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].aggregate(
            [
                {"$match": _error_match(kind)},
                {
                    "$group": {
                        "_id": _ERROR_GROUP_KEY,
                        "count": {"$sum": 1},
                        "latest_updated_at": {"$max": "$updated_at"},
                        "datasets": {"$addToSet": "$dataset"},
                    }
                },
            ]
        )
    )


def _error_groups_read(kind: str | None) -> list[dict[str, Any]]:
    """FerretDB (no `$max` nor `$addToSet`): the same groups from the error entries' few fields.

    One find of the error entries, projected to the fields of the group key, the dataset and
    the date; the server refused the aggregation before reading anything.
    """
    projection = {
        "_id": 0,
        "kind": 1,
        "error_code": 1,
        "details.cause_exception": 1,
        "details.copied_from_artifact.kind": 1,
        "dataset": 1,
        "updated_at": 1,
    }
    found = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].find(_error_match(kind), projection)
    groups = []
    for entry in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE):
        found_details = entry.get("details")
        details: dict[str, Any] = found_details if isinstance(found_details, dict) else {}
        copied_from = details.get("copied_from_artifact")
        key = {
            "kind": entry.get("kind"),
            "error_code": entry.get("error_code"),
            "cause_exception": details.get("cause_exception"),
            "copied_from": copied_from.get("kind") if isinstance(copied_from, dict) else None,
        }
        groups.append(
            {"_id": key, "count": 1, "latest_updated_at": entry.get("updated_at"), "datasets": [entry.get("dataset")]}
        )
    return groups


def cache_errors(*, kind: str | None) -> CacheErrors:
    """Root errors (no `details.copied_from_artifact`) by (kind, error_code, cause_exception), largest first.

    One aggregation over the error entries (http_status >= 400, of `kind` when given), grouped
    with whether they copy another entry: the copies are only counted (`copied`), since
    repairing their root repairs them. Ties are broken by kind, error code, exception, so the
    order is stable. On FerretDB, which lacks `$max` and `$addToSet`, the same numbers come
    from one find of the error entries' group fields (see `_error_groups_read`).
    """
    if kind is not None:
        known_step(kind)
    try:
        rows = _error_groups_aggregated(kind)
    except OperationFailure as error:
        if error.code != mongo.NOT_IMPLEMENTED:
            raise
        rows = _error_groups_read(kind)
    tallies: dict[tuple[str, str | None, str | None], _GroupTally] = {}
    copied = 0
    for row in rows:
        key, count = row["_id"], int(row["count"])
        if key.get("copied_from") is not None:
            copied += count
            continue
        error_code, cause_exception = key.get("error_code"), key.get("cause_exception")
        group_key = (
            str(key.get("kind")),
            error_code if isinstance(error_code, str) else None,
            cause_exception if isinstance(cause_exception, str) else None,
        )
        tallies.setdefault(group_key, _GroupTally()).add(
            count=count, latest_updated_at=row.get("latest_updated_at"), datasets=list(row.get("datasets") or [])
        )
    groups = [
        ErrorGroup(
            kind=group_kind,
            error_code=error_code,
            cause_exception=cause_exception,
            count=tally.count,
            latest_updated_at=tally.latest_updated_at,
            sample_datasets=sorted(tally.datasets)[:SAMPLE_DATASETS],
        )
        for (group_kind, error_code, cause_exception), tally in tallies.items()
    ]
    groups.sort(key=lambda group: (-group.count, group.kind, group.error_code or "", group.cause_exception or ""))
    return CacheErrors(errors=groups, copied=copied)


def cache_errors_reused() -> CacheErrors:
    """`cache_errors` of every kind, for the dashboard: counted at most once a minute per process.

    It reads every error entry of the cache (on FerretDB, one find of them all): too much for
    each load of a page that refreshes itself every 15 s. Once counted, older groups are served
    while they are counted again in the background (`counted_at` says when they were counted).
    /admin/errors counts afresh.
    """
    groups: CacheErrors = _reused_counts.get(_reuse_key("cache-errors"), _counted_root_errors, name="root-error groups")
    return groups


def existing_entry_ids(*, ids: list[Any]) -> set[Any]:
    """Which of these cache entries are still there (by `_id`, on the primary: a write depends on it)."""
    if not ids:
        return set()
    found = mongo.cache_database()[mongo.CACHED_RESPONSES].find({"_id": {"$in": ids}}, {"_id": 1})
    return {entry["_id"] for entry in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)}


def cache_entries_by_metric_row() -> dict[tuple[tuple[str, Any], ...], int]:
    """Every cache entry counted by its `cacheTotalMetric` row, as the other services' collector counts them.

    Their cache-metrics collector groups the whole cache by (kind, http_status, error_code), a
    missing error_code being its own group (None). One aggregation (index (kind, http_status,
    error_code)), on the primary: the recount is compared with rows just read there.
    """
    groups = mongo.cache_database()[mongo.CACHED_RESPONSES].aggregate(
        [
            {
                "$group": {
                    "_id": {"kind": "$kind", "http_status": "$http_status", "error_code": "$error_code"},
                    "total": {"$sum": 1},
                }
            }
        ]
    )
    counts: dict[tuple[tuple[str, Any], ...], int] = {}
    for group in groups:
        fields = group["_id"]
        key = tuple((name, fields.get(name)) for name in ("kind", "http_status", "error_code"))
        counts[key] = counts.get(key, 0) + int(group["total"])
    return counts
