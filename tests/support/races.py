"""Concurrency helpers of the race tests: threads released together, and a write run inside another's window.

`run_together` starts callers on a barrier (no sleep); `inside_window_of` runs an action in the
middle of an operation, at a chosen driver call, so that an interleaving that a race only
sometimes produces happens every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pymongo.collection import Collection

JOIN_SECONDS = 120


def run_together(*works: Callable[[], Any]) -> list[Any]:
    """Run each work in its own thread, all released at once by a barrier; their results (or errors, as values)."""
    start = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)

    def run(index: int) -> None:
        start.wait(timeout=JOIN_SECONDS)
        try:
            results[index] = works[index]()
        except BaseException as error:  # returned to the test, which says what it expects
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a caller hung"
    return results


@contextmanager
def inside_window_of(
    monkeypatch: pytest.MonkeyPatch, *, methods: tuple[str, ...], collection: str, action: Callable[[], Any]
) -> Iterator[list[Any]]:
    """Run `action` once, in this thread, just before its first call of one of `methods` on `collection`.

    Yields the list that receives the action's result: empty if the window never came.
    """
    owner = threading.current_thread()
    results: list[Any] = []
    armed = [True]

    def wrapped(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Collection[Any], *args: Any, **kwargs: Any) -> Any:
            if armed[0] and self.name == collection and threading.current_thread() is owner:
                armed[0] = False
                results.append(action())
            return real(self, *args, **kwargs)

        return wrapper

    for method in methods:
        monkeypatch.setattr(Collection, method, wrapped(getattr(Collection, method)))
    yield results
