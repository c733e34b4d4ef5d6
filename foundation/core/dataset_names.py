"""Dataset names as the Hub names repos, and the block list of COMMON_BLOCKED_DATASETS.

A name is checked before it reaches the Hub, a query or a path on disk: an HTTP client may
normalise `..` in a URL path, so an unchecked name could reach the Hub as another repo, and a
folder name built from it could leave the storage roots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from foundation.core.errors import InvalidParameterError

MAX_PART_LENGTH = 96
"""The Hub's limit on the length of a namespace and of a repo name."""

_PART = re.compile(r"[A-Za-z0-9_.\-]+")
_WILDCARDS = ("*", "?", "[")


def is_valid_part(part: str) -> bool:
    """A namespace or repo name: letters, digits, `-`, `_`, `.`; not at the edges `-`/`.`; no `..`."""
    return (
        0 < len(part) <= MAX_PART_LENGTH
        and _PART.fullmatch(part) is not None
        and part[0] not in "-."
        and part[-1] not in "-."
        and ".." not in part
    )


def is_valid_dataset_name(name: str) -> bool:
    """`name` or `namespace/name`, each part a valid Hub repo name part."""
    parts = name.split("/")
    return len(parts) <= 2 and all(is_valid_part(part) for part in parts)


def check_dataset_name(dataset: str) -> None:
    """The guard of the operations that write: a name never checked as a parameter stops here.

    Every way in checks the name first (`foundation.web.parameters.DatasetNameParameter`); this
    keeps a caller that skipped it from reaching the Hub, a query or a path on disk.
    """
    if not is_valid_dataset_name(dataset):
        raise InvalidParameterError("Parameter 'dataset' is not a valid dataset name")


def namespace_of(dataset: str) -> str:
    """The part before the first `/` (the whole name if none), as the queue stores it."""
    return dataset.split("/", 1)[0]


@dataclass(frozen=True)
class BlockedDatasetPatterns:
    """The patterns of COMMON_BLOCKED_DATASETS: names, or `namespace/<glob>` with wildcards."""

    patterns: tuple[str, ...]

    @classmethod
    def parse(cls, value: str) -> BlockedDatasetPatterns:
        """Split the comma list; raise ValueError for a pattern that cannot match a dataset name."""
        patterns = tuple(pattern.strip() for pattern in value.split(",") if pattern.strip())
        for pattern in patterns:
            parts = pattern.split("/")
            if len(parts) > 2:
                raise ValueError(f"{pattern!r} has more than one '/'")
            if len(parts) == 2 and any(wildcard in parts[0] for wildcard in _WILDCARDS):
                raise ValueError(f"{pattern!r} has a wildcard in the namespace (allowed in the repo name only)")
            if len(parts) == 1 and any(wildcard in pattern for wildcard in _WILDCARDS):
                raise ValueError(f"{pattern!r} has a wildcard but no namespace")
        return cls(patterns)

    def matches(self, dataset: str) -> bool:
        return any(fnmatchcase(dataset, pattern) for pattern in self.patterns)
