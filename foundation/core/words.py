"""Numbers in words, as pages, messages and command output say them; any value as one printable line."""

from __future__ import annotations

import re


def plural(count: int, singular: str, plural: str) -> str:
    """`1 cache entry`, `3 cache entries`."""
    return f"{count} {singular if count == 1 else plural}"


def duration(seconds: float) -> str:
    """A duration in its two largest units (`3d 4h`, `5m 2s`, `0s`); a negative one is `0s`."""
    remaining = max(0, int(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if remaining >= size or (unit == "s" and not parts):
            parts.append(f"{remaining // size}{unit}")
            remaining %= size
    return " ".join(parts[:2])


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""C0 and C1 controls (CR, LF, ESC, NEL...) and the Unicode line and paragraph separators."""


def printable(value: object) -> str:
    """`str(value)` with its control characters escaped (`\\n`, `\\x1b`): a value is never two lines."""
    return _CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), str(value))
