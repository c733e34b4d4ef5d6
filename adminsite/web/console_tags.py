"""Template tags and filters of the console pages (`{% load console %}`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from adminsite.database import mongo

register = template.Library()

LARGE_JSON_CHARACTERS = 2000
"""Pretty-printed JSON longer than this is folded (<details>) on the entry page."""


STYLESHEET = "console.css"


@cache
def _stylesheet() -> str:
    return Path(settings.BASE_DIR, "static", STYLESHEET).read_text()


def inlined_stylesheet() -> str:
    """The text inside the page's `<style>`: the Content-Security-Policy allows it by its hash."""
    return _stylesheet()


@register.simple_tag
def console_stylesheet() -> SafeString:
    """static/console.css, inlined: no external asset, and nothing to serve under /static/."""
    return format_html("<style>{}</style>", mark_safe(_stylesheet()))  # noqa: S308 (our own file)


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@register.filter
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


@register.filter
def utc(value: object) -> str:
    """A date as `2024-01-31 12:00:00Z`; "" when missing."""
    moment = _as_datetime(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else ""


@register.filter
def age(value: object) -> str:
    """How long ago a date was, in its two largest units (`3d 4h`, `5m 2s`); "" when missing."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    return _duration(int((mongo.utc_now() - moment).total_seconds()))


@register.filter
def until(value: object) -> str:
    """How long until a date, as `age` says it (`5h 29m`; `0s` once past); "" when missing."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    return _duration(int((moment - mongo.utc_now()).total_seconds()))


def _duration(seconds: int) -> str:
    seconds = max(0, seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


@register.filter
def or_dash(value: object) -> object:
    """The value, or an em dash when it is None or absent (0 stays 0)."""
    return "—" if value is None or value == "" else value


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`mapping[key]` in a template (for dicts keyed by numbers or dashed names)."""
    return mapping.get(key) if hasattr(mapping, "get") else None
