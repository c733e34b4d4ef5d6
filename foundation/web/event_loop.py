"""Views served on the event loop itself, without the hop to a thread every other request takes.

Only for a view that does no I/O and little work (the liveness probe): on the loop it costs a
third less, and it still answers while every thread of the pool waits on a slow MongoDB, so a
busy pod is not killed for being busy. A view that reads a database must never be marked: it
would stop every other request of the worker while it waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RoutePattern

View = TypeVar("View", bound=Callable[..., Any])

_MARK = "answers_on_the_event_loop"


def answers_on_the_event_loop(view: View) -> View:
    """Mark a view as one the ASGI handler may call on the event loop (no I/O, no waiting)."""
    setattr(view, _MARK, True)
    return view


def paths_answered_on_the_event_loop(resolver: URLResolver) -> frozenset[str]:
    """The request paths (`/healthcheck`) whose route leads to a marked view.

    Only top-level routes without parameters: the handler looks a path up as it is, before
    Django resolves it.
    """
    paths = set()
    for pattern in resolver.url_patterns:
        if not isinstance(pattern, URLPattern) or not getattr(pattern.callback, _MARK, False):
            continue
        route = pattern.pattern
        if isinstance(route, RoutePattern) and not route.converters:
            paths.add("/" + str(route))
    return frozenset(paths)
