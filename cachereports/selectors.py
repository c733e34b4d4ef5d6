"""Reads of the cache database. Every query of the cachereports app is built here.

Each function costs a constant number of database commands: one query or one aggregation,
whatever the number of processing steps or cache entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.database import Database

from adminsite import mongo
from adminsite.cursors import parse_cursor
from adminsite.errors import InvalidParameterError, NotFoundError
from adminsite.processing_graph import ProcessingStep, processing_graph
from cachereports.serializers import CacheReport, cache_report, cache_report_with_content
from jobs.selectors import is_dataset_blocked, pending_jobs_of_dataset

BUILDER_NAMES = ("parquet", "csv", "text", "imagefolder", "audiofolder", "json", "arrow", "webdataset")
"""The builder names counted one by one; every other builder (or none) counts as "other"."""

DATASET_INFO_KIND = "dataset-info"


@dataclass(frozen=True)
class CacheReportsPage:
    cache_reports: list[CacheReport]
    next_cursor: str


def step_or_404(name: str) -> ProcessingStep:
    """The processing step named by a URL (kind or job type); unknown ones are not found."""
    step = processing_graph().get(name)
    if step is None:
        raise NotFoundError(f"Unknown processing step '{name}'")
    return step


def cache_reports_page(*, kind: str, cursor: str, limit: int, with_content: bool) -> CacheReportsPage:
    """One page of the entries of a kind, by `_id` ascending (index kind, _id).

    `next_cursor` is the `_id` of the last entry when the page is full, else "".
    """
    step_or_404(kind)
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
    """The cache reports of one dataset by kind, every step listed (index dataset, kind, http_status)."""
    by_kind: dict[str, list[CacheReport]] = {step.name: [] for step in processing_graph()}
    cache_entries = (
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find({"dataset": dataset}, {"content": 0})
        .batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
    )
    for entry in cache_entries:
        reports = by_kind.get(str(entry.get("kind")))
        if reports is not None:
            reports.append(cache_report(entry))
    for reports in by_kind.values():
        reports.sort(key=lambda report: (report["config"] or "", report["split"] or ""))
    return by_kind


def dataset_status(*, dataset: str) -> dict[str, dict[str, list[Any]]]:
    """Cache reports and pending jobs of a dataset for every step: two queries in all."""
    reports = cache_reports_of_dataset(dataset=dataset)
    jobs = pending_jobs_of_dataset(dataset=dataset)
    return {
        step.name: {
            "cached_responses": reports[step.name],
            "jobs": [*jobs[step.name]["waiting"], *jobs[step.name]["started"]],
        }
        for step in processing_graph()
    }


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


# --- The browser console: cache health, the cache browser, one entry, one dataset ------------

_TOP_ERRORS = 10
"""How many (kind, status, error code) groups the dashboard lists, the most frequent first."""


@dataclass(frozen=True)
class KindHealth:
    kind: str
    total: int
    by_status: dict[int, int]


@dataclass(frozen=True)
class ErrorCount:
    kind: str
    http_status: int
    error_code: str
    count: int


@dataclass(frozen=True)
class CacheHealth:
    """Cache entries by kind and HTTP status, and the most frequent error codes (from the metric rows)."""

    by_kind: list[KindHealth]
    statuses: list[int]
    top_errors: list[ErrorCount]
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
    (services.decrement_cache_metric): a few hundred rows that say what counting the entries
    would, without reading them. Counting the entries themselves, even from index (kind,
    http_status, error_code), walks millions of index keys on each page load. So: one small
    find, sorted on the unique index (kind, http_status, error_code) that backs it. The numbers
    are those of the Prometheus gauge `responses_in_cache_total`; they drift from the entries
    only if a writer crashed between its write and its `$inc`.

    A missing (or null) error_code is no error code; rows with total <= 0 (emptied groups, or a
    row decremented below zero) are left out; kinds not in the processing graph are kept.
    """
    rows = cache_metric_rows()
    by_kind: dict[str, dict[int, int]] = {step.name: {} for step in processing_graph()}
    by_error: dict[tuple[str, int, str], int] = {}
    for row in rows:
        total = row.get("total")
        if not isinstance(total, int | float) or total <= 0:
            continue
        count = int(total)
        kind, http_status, error_code = str(row.get("kind")), int(row.get("http_status") or 0), row.get("error_code")
        statuses = by_kind.setdefault(kind, {})
        statuses[http_status] = statuses.get(http_status, 0) + count
        if error_code is not None:
            key = (kind, http_status, str(error_code))
            by_error[key] = by_error.get(key, 0) + count
    errors = [
        ErrorCount(kind, http_status, error_code, count) for (kind, http_status, error_code), count in by_error.items()
    ]
    errors.sort(key=lambda error: (-error.count, error.kind, error.error_code))
    return CacheHealth(
        by_kind=[
            KindHealth(kind, sum(statuses.values()), dict(sorted(statuses.items())))
            for kind, statuses in sorted(by_kind.items())
        ],
        statuses=sorted({status for statuses in by_kind.values() for status in statuses}),
        top_errors=errors[:_TOP_ERRORS],
        total=sum(error_count for statuses in by_kind.values() for error_count in statuses.values()),
    )


def _with_id(cache_entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with its `_id` as the string `id` (templates cannot read `_id`)."""
    return {**cache_entry, "id": str(cache_entry["_id"])}


@dataclass(frozen=True)
class CacheEntriesPage:
    """Entries by `_id` ascending; each cursor is "" when there is no page that way."""

    cache_entries: list[dict[str, Any]]
    next_cursor: str
    previous_cursor: str


def cache_entries_page(
    *,
    kind: str,
    http_status: int | None,
    error_code: str | None,
    after: str,
    before: str,
    limit: int,
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
    """
    step_or_404(kind)
    after_id, before_id = parse_cursor(after), parse_cursor(before)
    query: dict[str, Any] = {"kind": kind}
    if http_status is not None:
        query["http_status"] = http_status
    if error_code is not None:
        query["error_code"] = error_code
    backward = before_id is not None
    if backward:
        query["_id"] = {"$lt": before_id}
    elif after_id is not None:
        query["_id"] = {"$gt": after_id}
    found = list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES]
        .find(query, {"content": 0})
        .sort("_id", -1 if backward else 1)
        .limit(limit + 1)
    )
    more = len(found) > limit
    cache_entries = [_with_id(entry) for entry in found[:limit]]
    if backward:
        cache_entries.reverse()
        next_cursor = cache_entries[-1]["id"] if cache_entries else ""
        previous_cursor = cache_entries[0]["id"] if more else ""
    else:
        next_cursor = cache_entries[-1]["id"] if more else ""
        previous_cursor = cache_entries[0]["id"] if after_id is not None and cache_entries else ""
    return CacheEntriesPage(cache_entries, next_cursor, previous_cursor)


@dataclass(frozen=True)
class CacheEntryDetail:
    """One entry with its content, and how it compares to the current version of its step."""

    cache_entry: dict[str, Any]
    step: ProcessingStep | None

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
    return CacheEntryDetail(_with_id(cache_entry), processing_graph().get(str(cache_entry.get("kind"))))


# The dataset page

CONFIG_NAMES_KIND = "dataset-config-names"
SPLIT_NAMES_KIND = "config-split-names"

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
    )
}
"""The report fields, plus only the parts of the content that list configs and splits."""


@dataclass(frozen=True)
class StepRow:
    """One (step, config, split) of a dataset: its cache entry (None: missing) and pending jobs.

    A phase-2 action form (force-refresh) posts `step.name`, the dataset, `config`, `split`.
    """

    step: ProcessingStep
    dataset: str
    config: str | None
    split: str | None
    cache_entry: dict[str, Any] | None
    jobs: list[dict[str, Any]]
    outdated_reasons: list[str]

    @property
    def state(self) -> str:
        """missing, ok (HTTP 200) or error: the colour of the row."""
        if self.cache_entry is None:
            return "missing"
        return "ok" if self.cache_entry.get("http_status") == 200 else "error"


@dataclass(frozen=True)
class StepSection:
    step: ProcessingStep
    rows: list[StepRow]
    configs_without_splits: list[str]
    """For a split step: listed configs whose splits are not known yet (no config-split-names)."""


@dataclass(frozen=True)
class DatasetOverview:
    """Everything about one dataset, step by step in graph order."""

    dataset: str
    revision: str | None
    config_names: list[str]
    blocked: bool
    sections: list[StepSection]

    def count(self, state: str) -> int:
        return sum(1 for section in self.sections for row in section.rows if row.state == state)

    @property
    def num_ok(self) -> int:
        return self.count("ok")

    @property
    def num_errors(self) -> int:
        return self.count("error")

    @property
    def num_missing(self) -> int:
        return self.count("missing")

    @property
    def num_outdated(self) -> int:
        return sum(1 for section in self.sections for row in section.rows if row.outdated_reasons)

    @property
    def num_jobs(self) -> int:
        return sum(len(row.jobs) for section in self.sections for row in section.rows)

    @property
    def is_unknown(self) -> bool:
        """No cache entry and no pending job: not on the Hub, or never processed (not "all missing")."""
        return all(row.cache_entry is None and not row.jobs for section in self.sections for row in section.rows)


def _names(items: object, field: str) -> list[str]:
    """`config`/`split` names of a content list (dicts as the workers write them, or strings)."""
    if not isinstance(items, list):
        return []
    names = [item.get(field) if isinstance(item, dict) else item for item in items]
    return list(dict.fromkeys(name for name in names if isinstance(name, str)))


def _listed_names(entries: dict[tuple[str, str | None, str | None], dict[str, Any]]) -> dict[str | None, list[str]]:
    """Configs listed by dataset-config-names (key None), and the splits of each config."""
    listed: dict[str | None, list[str]] = {}
    for (kind, config, _split), entry in entries.items():
        content = entry.get("content") if entry.get("http_status") == 200 else None
        if not isinstance(content, dict):
            continue
        if kind == CONFIG_NAMES_KIND:
            listed[None] = _names(content.get("config_names"), "config")
        elif kind == SPLIT_NAMES_KIND and config is not None:
            listed[config] = _names(content.get("splits"), "split")
    return listed


def _outdated_reasons(step: ProcessingStep, entry: dict[str, Any] | None, revision: str | None) -> list[str]:
    if entry is None:
        return []
    reasons = []
    version = entry.get("job_runner_version")
    if not isinstance(version, int) or version < step.job_runner_version:
        reasons.append(f"job runner version {version} < {step.job_runner_version}")
    entry_revision = entry.get("dataset_git_revision")
    if revision is not None and entry_revision is not None and entry_revision != revision:
        reasons.append(f"revision {entry_revision} is not the dataset's {revision}")
    return reasons


def _row_keys(
    step: ProcessingStep, listed: dict[str | None, list[str]], present: list[tuple[str | None, str | None]]
) -> list[tuple[str | None, str | None]]:
    """The (config, split) rows a step should have, listed ones first, then any other present."""
    configs = listed.get(None, [])
    if step.input_type == "dataset":
        expected: list[tuple[str | None, str | None]] = [(None, None)]
    elif step.input_type == "config":
        expected = [(config, None) for config in configs]
    else:
        expected = [(config, split) for config in configs for split in listed.get(config, [])]
    extra = sorted(set(present) - set(expected), key=lambda key: (key[0] or "", key[1] or ""))
    return [*expected, *extra]


def dataset_overview(*, dataset: str) -> DatasetOverview:
    """The dataset page: its cache entries and pending jobs per step, with what is missing.

    Three commands whatever the number of steps, configs or splits: the dataset's entries
    (index dataset, kind, http_status), its pending jobs (index dataset, status) and its
    blockage (index dataset).
    """
    found = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].find({"dataset": dataset}, _DATASET_PAGE_FIELDS)
    entries = {(str(entry["kind"]), entry.get("config"), entry.get("split")): _with_id(entry) for entry in found}
    jobs_by_type = pending_jobs_of_dataset(dataset=dataset)
    listed = _listed_names(entries)
    root = entries.get((CONFIG_NAMES_KIND, None, None))
    revision = root.get("dataset_git_revision") if root is not None else None
    sections = []
    for step in processing_graph().in_graph_order():
        jobs: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
        for job in [*jobs_by_type[step.name]["started"], *jobs_by_type[step.name]["waiting"]]:
            jobs.setdefault((job["config"], job["split"]), []).append(job)
        present = [(config, split) for (kind, config, split) in entries if kind == step.name] + list(jobs)
        rows = []
        for config, split in _row_keys(step, listed, present):
            entry = entries.get((step.name, config, split))
            rows.append(
                StepRow(
                    step=step,
                    dataset=dataset,
                    config=config,
                    split=split,
                    cache_entry=entry,
                    jobs=jobs.get((config, split), []),
                    outdated_reasons=_outdated_reasons(step, entry, revision),
                )
            )
        unknown_splits = [config for config in listed.get(None, []) if config not in listed]
        sections.append(StepSection(step, rows, unknown_splits if step.input_type == "split" else []))
    return DatasetOverview(
        dataset=dataset,
        revision=revision if isinstance(revision, str) else None,
        config_names=listed.get(None, []),
        blocked=is_dataset_blocked(dataset=dataset),
        sections=sections,
    )


def count_cache_entries_of_dataset(*, dataset: str) -> int:
    """How many cache entries a dataset has (what a recreate would delete; index dataset, kind, http_status)."""
    return mongo.cache_database()[mongo.CACHED_RESPONSES].count_documents({"dataset": dataset})
