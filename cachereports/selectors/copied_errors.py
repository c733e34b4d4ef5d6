"""Copied errors: where a copied error comes from, and the root error behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cachereports.rows import CacheEntry, cache_entry_row
from foundation.core.processing_graph import processing_graph
from foundation.database import mongo

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


def copied_from_key(details: object) -> ArtifactKey | None:
    """The artifact an error entry was copied from (its `details.copied_from_artifact`), if it names one."""
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


def _copied_from(cache_entry: dict[str, Any]) -> ArtifactKey | None:
    return copied_from_key(cache_entry.get("details"))


@dataclass(frozen=True)
class ArtifactLink:
    """An artifact named by a copy, and its cache entry as found now (None: no such entry)."""

    key: ArtifactKey
    cache_entry: CacheEntry | None

    @property
    def label(self) -> str:
        kind, _dataset, config, split = self.key
        return " / ".join(part for part in (kind, config, split) if part is not None)

    @property
    def id(self) -> str:
        return self.cache_entry.id if self.cache_entry is not None else ""

    @property
    def http_status(self) -> Any:
        return self.cache_entry.http_status if self.cache_entry is not None else None

    @property
    def is_error(self) -> bool:
        status = self.http_status
        return isinstance(status, int | float) and status >= 400

    @property
    def cause(self) -> str:
        """`ErrorCode (CauseException: cause message)`, as much of it as the entry has."""
        if self.cache_entry is None:
            return ""
        details = self.cache_entry.details if isinstance(self.cache_entry.details, dict) else {}
        exception, message = details.get("cause_exception"), details.get("cause_message")
        code = str(self.cache_entry.error_code or self.http_status)
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
    """The entries of these artifacts: one find on the unique index (kind, dataset, config, split).

    Equality on each of the index's four fields with `$in` (a missing config or split is `None`,
    which matches a null or missing field), then only the wanted keys are kept here. On MongoDB
    the index bounds are the product of the four lists, each a point: the entries read are those
    of the page's datasets whose kind, config and split are all among the wanted ones, a few more
    than asked at most. A `$or` of one clause per artifact would be served too, but an engine
    without that index (the embedded one) answers it clause by clause, a pass over the cache
    for each.
    """
    found = mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].find(
        {
            field: {"$in": sorted({key[position] for key in keys}, key=_none_first)}
            for position, field in enumerate(("kind", "dataset", "config", "split"))
        },
        _COPY_FIELDS,
    )
    entries = (entry for entry in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE))
    return {key: entry for entry in entries if (key := _artifact_key(entry)) in keys}


def _none_first(value: str | None) -> tuple[bool, str]:
    return (value is not None, value or "")


def _link(key: ArtifactKey, cache_entry: dict[str, Any] | None) -> ArtifactLink:
    return ArtifactLink(key, cache_entry_row(cache_entry) if cache_entry is not None else None)


def _origin(parent_key: ArtifactKey, known: dict[ArtifactKey, dict[str, Any] | None]) -> CopiedFrom:
    parent = _link(parent_key, known.get(parent_key))
    link, seen = parent, {parent_key}
    while link.is_error:
        next_key = copied_from_key(link.cache_entry.details if link.cache_entry is not None else None)
        if next_key is None:
            return CopiedFrom(parent, link)
        if next_key in seen or next_key not in known:
            break
        seen.add(next_key)
        link = _link(next_key, known[next_key])
    return CopiedFrom(parent, None)


def copied_errors_origins(cache_entries: list[dict[str, Any]]) -> dict[str, CopiedFrom]:
    """For each copied error among these entries (by string `_id`): its parent and its root error.

    The chains are followed level by level, every entry of a level in one find: as many finds
    as the longest chain has copies above the page (at most the depth of the processing graph,
    2 or 3 in practice), whatever the number of entries. A chain that loops stops.
    """
    known: dict[ArtifactKey, dict[str, Any] | None] = {_artifact_key(entry): entry for entry in cache_entries}
    wanted = {key for key in map(_copied_from, cache_entries) if key is not None} - known.keys()
    for _level in range(len(processing_graph())):
        if not wanted:
            break
        found = _found_artifacts(wanted)
        known |= {key: found.get(key) for key in wanted}
        wanted = {key for key in map(_copied_from, found.values()) if key is not None} - known.keys()
    origins = {}
    for entry in cache_entries:
        parent_key = _copied_from(entry)
        if parent_key is not None and _link(_artifact_key(entry), entry).is_error:
            origins[str(entry["_id"])] = _origin(parent_key, known)
    return origins
