"""The query audit: every query the console sends, checked against the indexes of REFERENCE.md.

The embedded engine ignores non-unique indexes, so no test can see a collection scan by its
time. Instead the suite records the *shape* of every command our code sends (pymongo's command
monitoring: find, aggregate, count, distinct, update, delete, findAndModify) and checks each
shape with MongoDB's own rules for choosing an index:
- an index serves a query when its leading fields are the query's equality fields (in any
  order), then the sort fields in the index's order (or all reversed), then at most one range
  field;
- a sort that no index serves is allowed only on a bounded input (a `$limit` before it);
- `$or` and `$in` are served branch by branch (`$in` counts as equality);
- an equality on `_id` is always served (the `_id` index);
- our own small collections are exempt, each with its reason (`EXEMPT_COLLECTIONS`).

Only commands whose caller is project code are recorded (the call stack names the function):
what a test sends to arrange or check documents is not the console's query.

Two phases (`make unit`): the suite runs with `QUERY_AUDIT_DIR` set, and each process writes
the shapes it saw there; then `pytest -m query_audit` checks them (tests/test_query_audit.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pymongo import monitoring

from foundation.database import mongo
from foundation.database.indexes import CACHE_INDEXES, QUEUE_INDEXES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_NOT_OURS = ("tests", "bench", ".venv", ".tools")

EXEMPT_COLLECTIONS: dict[str, str] = {
    mongo.CACHE_TOTAL_METRIC: "one row per (kind, http_status, error_code): a few hundred rows, read whole",
    mongo.JOB_TOTAL_METRIC: "one row per (job type, status): under a hundred rows, read whole",
    mongo.WORKER_TYPE_JOB_COUNTS: "three rows (light, medium, heavy), read whole",
    mongo.ADMIN_ACTIONS: "ours: the audit log, read newest first by `_id` only",
    mongo.ADMIN_SESSIONS: "ours: browser sessions, read and written by `_id` only",
    "adminCounts": "ours: the collector's latest counts, a handful of documents",
    "adminActivitySamples": "ours: one sample a minute for 14 days (20k documents), read by `_id` range",
    "system.indexes": "the server's own",
}
"""Collections whose queries need no index, and why."""

WORKERS_OWN_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    mongo.LOCKS: [],
    mongo.PAST_JOBS: [[("dataset", 1)], [("finished_at", 1)]],
    mongo.DATASET_BLOCKAGES: [],
}
"""Indexes the workers create on their own collections (we create nothing there): `locks` is read
by `_id` only; `pastJobs` is indexed by dataset and expired on `finished_at`."""


def declared_indexes() -> dict[str, list[list[tuple[str, int]]]]:
    """Every index of REFERENCE.md (ours, as `ensure_indexes` declares them, and the workers')."""
    indexes: dict[str, list[list[tuple[str, int]]]] = {}
    for spec in [*CACHE_INDEXES, *QUEUE_INDEXES]:
        indexes.setdefault(spec.collection, []).append(list(spec.keys))
    for collection, keys in WORKERS_OWN_INDEXES.items():
        indexes.setdefault(collection, []).extend(keys)
    return indexes


# --- shapes -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Branch:
    """One branch of a query (a `$or` gives one per clause): which fields it pins, and how."""

    equality: frozenset[str]
    ranges: frozenset[str]


@dataclasses.dataclass(frozen=True)
class QueryShape:
    """What decides whether an index serves a command: the fields, never their values."""

    collection: str
    command: str
    branches: tuple[Branch, ...]
    sort: tuple[tuple[str, int], ...] = ()
    bounded: bool = False
    """A `$limit` (or `limit`) applies before the sort: an unserved sort then sorts few documents."""
    caller: str = ""

    def describe(self) -> str:
        def branch_text(branch: Branch) -> str:
            parts = [
                *(f"{field}=" for field in sorted(branch.equality)),
                *(f"{field}~" for field in sorted(branch.ranges)),
            ]
            return "{" + ", ".join(parts) + "}"

        text = f"{self.command} {self.collection} " + " | ".join(branch_text(b) for b in self.branches)
        if self.sort:
            text += " sort " + ",".join(f"{field}:{direction}" for field, direction in self.sort)
        return text + (f" (from {self.caller})" if self.caller else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "command": self.command,
            "branches": [{"equality": sorted(b.equality), "ranges": sorted(b.ranges)} for b in self.branches],
            "sort": [list(item) for item in self.sort],
            "bounded": self.bounded,
            "caller": self.caller,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QueryShape:
        return cls(
            collection=data["collection"],
            command=data["command"],
            branches=tuple(Branch(frozenset(b["equality"]), frozenset(b["ranges"])) for b in data["branches"]),
            sort=tuple((field, int(direction)) for field, direction in data["sort"]),
            bounded=bool(data["bounded"]),
            caller=data["caller"],
        )


_RANGE_OPERATORS = {"$gt", "$gte", "$lt", "$lte", "$ne", "$nin", "$regex", "$exists", "$not", "$type", "$elemMatch"}


def _field_kind(value: Any) -> str:
    """ "equality" for a value, `$eq` or `$in`; "range" for the other operators."""
    if isinstance(value, Mapping) and value and all(str(key).startswith("$") for key in value):
        operators = set(value)
        if operators <= {"$eq", "$in"}:
            return "equality"
        return "range"
    return "equality"


def branches_of(query: Mapping[str, Any]) -> list[Branch]:
    """The branches of a filter: its own fields, times each clause of a `$or` (and `$and` merged)."""
    equality: set[str] = set()
    ranges: set[str] = set()
    alternatives: list[list[Branch]] = []
    for field, value in query.items():
        if field == "$and":
            for clause in value:
                alternatives.append(branches_of(clause))
        elif field == "$or":
            alternatives.append([branch for clause in value for branch in branches_of(clause)])
        elif field.startswith("$"):
            continue  # $expr, $comment, $nor: no index bounds
        elif _field_kind(value) == "equality":
            equality.add(field)
        else:
            ranges.add(field)
    result = [Branch(frozenset(equality), frozenset(ranges))]
    for choices in alternatives:
        result = [
            Branch(base.equality | choice.equality, base.ranges | choice.ranges)
            for base in result
            for choice in choices
        ]
    return result


def _sort_of(sort: Mapping[str, Any] | None) -> tuple[tuple[str, int], ...]:
    if not sort:
        return ()
    return tuple((field, 1 if int(direction) >= 0 else -1) for field, direction in sort.items())


def shapes_of_command(name: str, command: Mapping[str, Any]) -> list[QueryShape]:
    """The query shapes of one command as pymongo sends it (empty for commands that query nothing)."""
    collection = command.get(name)
    if not isinstance(collection, str):
        return []
    if name == "find":
        return [
            QueryShape(
                collection,
                name,
                tuple(branches_of(command.get("filter") or {})),
                _sort_of(command.get("sort")),
                bounded=False,
            )
        ]
    if name == "aggregate":
        return [_aggregate_shape(collection, command.get("pipeline") or [])]
    if name in {"count", "distinct"}:
        return [QueryShape(collection, name, tuple(branches_of(command.get("query") or {})))]
    if name == "findAndModify":
        return [
            QueryShape(collection, name, tuple(branches_of(command.get("query") or {})), _sort_of(command.get("sort")))
        ]
    if name in {"update", "delete"}:
        key = "updates" if name == "update" else "deletes"
        return [QueryShape(collection, name, tuple(branches_of(item.get("q") or {}))) for item in command.get(key, [])]
    return []


def _aggregate_shape(collection: str, pipeline: Sequence[Mapping[str, Any]]) -> QueryShape:
    """An aggregation is served by its leading `$match` (and a `$sort` right after it)."""
    query: Mapping[str, Any] = {}
    sort: tuple[tuple[str, int], ...] = ()
    bounded = False
    stages = list(pipeline)
    if stages and "$match" in stages[0]:
        query = stages[0]["$match"]
        stages = stages[1:]
    for stage in stages:
        if "$limit" in stage:
            bounded = True
        elif "$sort" in stage:
            sort = _sort_of(stage["$sort"])
            break
        else:
            break
    return QueryShape(collection, "aggregate", tuple(branches_of(query)), sort, bounded=bounded)


# --- the rules ----------------------------------------------------------------------------------


def serves(index: Sequence[tuple[str, int]], branch: Branch, sort: Sequence[tuple[str, int]]) -> bool:
    """Whether the index serves the branch and its sort, by MongoDB's rules (see the module's doc)."""
    fields = [field for field, _ in index]
    if "_id" in branch.equality:
        return True
    leading = fields[: len(branch.equality)]
    if set(leading) != branch.equality:
        return False
    rest = list(index[len(branch.equality) :])
    wanted = [(field, direction) for field, direction in sort if field not in branch.equality]
    if wanted:
        head = rest[: len(wanted)]
        same = head == wanted
        reversed_all = head == [(field, -direction) for field, direction in wanted]
        if not (same or reversed_all):
            return False
        rest = rest[len(wanted) :]
    unserved_ranges = branch.ranges - {field for field, _ in wanted}
    if not unserved_ranges:
        return bool(branch.equality) or bool(wanted)
    return len(unserved_ranges) == 1 and bool(rest) and rest[0][0] in unserved_ranges


def serves_without_sort(index: Sequence[tuple[str, int]], branch: Branch) -> bool:
    return serves(index, branch, ())


@dataclasses.dataclass(frozen=True)
class Finding:
    shape: QueryShape
    closest: str

    def __str__(self) -> str:
        return f"no index serves {self.shape.describe()}; closest: {self.closest}"


def _closest(indexes: Iterable[Sequence[tuple[str, int]]], branch: Branch) -> str:
    """The index whose leading fields share most with the branch's fields (to say what is missing)."""
    wanted = branch.equality | branch.ranges

    def shared(index: Sequence[tuple[str, int]]) -> int:
        count = 0
        for field, _ in index:
            if field not in wanted:
                break
            count += 1
        return count

    ranked = sorted(indexes, key=shared, reverse=True)
    if not ranked:
        return "none declared on this collection"
    return "(" + ", ".join(field if direction > 0 else f"-{field}" for field, direction in ranked[0]) + ")"


def audit(
    shapes: Iterable[QueryShape], indexes: Mapping[str, Sequence[Sequence[tuple[str, int]]]] | None = None
) -> list[Finding]:
    """The shapes that no declared index serves (exempt collections left out)."""
    catalog = declared_indexes() if indexes is None else indexes
    findings: list[Finding] = []
    for shape in shapes:
        if shape.collection in EXEMPT_COLLECTIONS:
            continue
        candidates = list(catalog.get(shape.collection, []))
        for branch in shape.branches:
            sorted_ok = not shape.sort or shape.bounded or any(serves(i, branch, shape.sort) for i in candidates)
            found_ok = "_id" in branch.equality or any(serves_without_sort(i, branch) for i in candidates)
            if not (sorted_ok and found_ok):
                findings.append(Finding(shape, _closest(candidates, branch)))
                break
    return findings


# --- recording ----------------------------------------------------------------------------------


def _caller() -> str | None:
    """`module:function` of the innermost project frame, or None when a test or bench sent it."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(str(PROJECT_ROOT)) and "/site-packages/" not in filename:
            relative = Path(filename).relative_to(PROJECT_ROOT)
            if relative.parts[0] in _NOT_OURS:
                return None
            return f"{'.'.join(relative.with_suffix('').parts)}:{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


class QueryShapeRecorder(monitoring.CommandListener):
    """Keeps the distinct shapes of the commands our code sends (not the tests' own)."""

    def __init__(self) -> None:
        self.shapes: set[QueryShape] = set()
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        shapes = shapes_of_command(event.command_name, event.command)
        if not shapes:
            return
        caller = _caller()
        if caller is None:
            return
        with self._lock:
            self.shapes.update(dataclasses.replace(shape, caller=caller) for shape in shapes)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def save(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        ordered = sorted((shape.as_json() for shape in self.shapes), key=lambda item: json.dumps(item, sort_keys=True))
        (folder / f"shapes-{name}.json").write_text(json.dumps(ordered, indent=1))


def recorded_shapes(folder: Path) -> Iterator[QueryShape]:
    for path in sorted(folder.glob("shapes-*.json")):
        for item in json.loads(path.read_text()):
            yield QueryShape.from_json(item)


def audit_folder() -> Path | None:
    folder = os.environ.get("QUERY_AUDIT_DIR")
    return Path(folder) if folder else None
