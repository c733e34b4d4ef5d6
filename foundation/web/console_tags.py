"""The filters and functions of the console templates (registered by `jinja_environment`).

Plain functions: `foundation.web.jinja_environment` makes them the Jinja filters and globals of
every page, and the security headers hash the inlined stylesheet with `inlined_stylesheet`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from markupsafe import Markup

from foundation.core.words import duration
from foundation.database import mongo

LARGE_JSON_CHARACTERS = 2000
"""Pretty-printed JSON longer than this is folded (<details>) on the entry page."""


STYLESHEET = "console.css"


@cache
def _stylesheet() -> str:
    return Path(settings.BASE_DIR, "static", STYLESHEET).read_text()


def inlined_stylesheet() -> str:
    """The text inside the page's `<style>`: the Content-Security-Policy allows it by its hash."""
    return _stylesheet()


def console_stylesheet() -> Markup:
    """static/console.css, inlined: no external asset, and nothing to serve under /static/."""
    return Markup(f"<style>{_stylesheet()}</style>")  # noqa: S704 (our own file)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def is_large(text: str) -> bool:
    return len(text) > LARGE_JSON_CHARACTERS


def _as_datetime(value: object) -> datetime | None:
    """A BSON date (aware, or naive UTC) or an ISO string of the job dicts, as an aware datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def utc(value: object) -> str:
    """A date as `2024-01-31 12:00:00Z`; "" when missing (isoformat: a third of strftime's time)."""
    moment = _as_datetime(value)
    return f"{moment.astimezone(UTC).isoformat(' ', 'seconds')[:19]}Z" if moment is not None else ""


def age(value: object) -> str:
    """How long ago a date was, in its two largest units (`3d 4h`, `5m 2s`); "" when missing."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    return duration(int((mongo.utc_now() - moment).total_seconds()))


def until(value: object) -> str:
    """How long until a date, as `age` says it (`5h 29m`; `0s` once past); "" when missing."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    return duration(int((moment - mongo.utc_now()).total_seconds()))


def or_dash(value: object) -> object:
    """The value, or an em dash when it is None, empty or absent (renders as nothing); 0 stays 0."""
    return "—" if value is None or str(value) == "" else value


def get_item(mapping: Any, key: Any) -> Any:
    """`mapping[key]` in a template (for dicts keyed by numbers or dashed names)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


def dom_id(prefix: str, *parts: object) -> str:
    """A stable HTML id for a thing named by several values (a step, a config, a split), whatever they hold.

    Names may hold spaces or quotes; a short digest of them does not, and stays the same from one
    render to the next, which is what lets a live swap keep an element (`hx-preserve`) by its id.
    """
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"
