"""Numbers in words, as pages, messages and command output say them; any value as one printable line."""

from __future__ import annotations

import re


def plural(count: int, singular: str, plural: str) -> str:
    """`1 cache entry`, `3 cache entries`."""
    return f"{count} {singular if count == 1 else plural}"


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""C0 and C1 controls (CR, LF, ESC, NEL...) and the Unicode line and paragraph separators."""


def printable(value: object) -> str:
    """`str(value)` with its control characters escaped (`\\n`, `\\x1b`): a value is never two lines."""
    return _CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), str(value))
