"""What the repair commands share: the actor of the audit log, a progress bar, the summary."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Protocol

from adminsite.identity import HubIdentity

PROGRESS_BAR_WIDTH = 30


def command_actor() -> HubIdentity:
    """`command:<OS user>`: who ran a management command, as the audit log records it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return HubIdentity(name=f"command:{user}")


def progress_bar(*, done: int, total: int) -> str:
    filled = PROGRESS_BAR_WIDTH * done // total if total else PROGRESS_BAR_WIDTH
    return f"\r[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}] {done}/{total}"


@dataclass
class Summary:
    """Counts of the outcomes of a command, printed at the end."""

    done: list[str] = field(default_factory=list)
    not_supported: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def line(self, *, dry_run: bool = False) -> str:
        prefix = "dry run, nothing changed. " if dry_run else ""
        return f"{prefix}done: {len(self.done)}, not supported: {len(self.not_supported)}, failed: {len(self.failed)}"


class Stream(Protocol):
    def write(self, msg: str, style_func: None = None, ending: str | None = None) -> None: ...

    def flush(self) -> None: ...


class ProgressBar:
    """A bar on `stream` (stderr), drawn only when there is more than one item."""

    def __init__(self, *, stream: Stream, total: int) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.visible = total > 1

    def advance(self) -> None:
        self.done += 1
        if self.visible:
            ending = "\n" if self.done == self.total else ""
            self.stream.write(progress_bar(done=self.done, total=self.total), ending=ending)
            self.stream.flush()
