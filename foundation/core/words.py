"""Numbers in words, as pages, messages and command output say them."""

from __future__ import annotations


def plural(count: int, singular: str, plural: str) -> str:
    """`1 cache entry`, `3 cache entries`."""
    return f"{count} {singular if count == 1 else plural}"
