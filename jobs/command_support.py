"""What the repair commands share: the actor of the audit log, a progress bar, the summary."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    """`[#####.....] 5/10`."""
    filled = PROGRESS_BAR_WIDTH * done // total if total else PROGRESS_BAR_WIDTH
    return f"[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}] {done}/{total}"


@dataclass
class Summary:
    """Counts of the outcomes of a command, printed at the end."""

    done: list[str] = field(default_factory=list)
    not_supported: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    """Left alone because the run stopped (the database became unavailable)."""

    def line(self, *, dry_run: bool = False) -> str:
        prefix = "dry run, nothing changed. " if dry_run else ""
        line = f"{prefix}done: {len(self.done)}, not supported: {len(self.not_supported)}, failed: {len(self.failed)}"
        return f"{line}, not attempted: {len(self.not_attempted)}" if self.not_attempted else line


class Stream(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


class ProgressBar:
    """A bar redrawn in place on `bar_stream`, only when it is a terminal and there is more than one item.

    The bar is written to the raw stream (Django's stderr wrapper would style it as an error)
    and erased before every line a command prints through `write_line`, and by `clear`, so that
    no line is ever glued to it. Off a terminal (a log file, a pipe) nothing is drawn: the
    per-item lines already show the progress.
    """

    def __init__(self, *, out: Stream, bar_stream: Stream, total: int) -> None:
        self.out = out
        self.bar_stream = bar_stream
        self.total = total
        self.done = 0
        self.visible = total > 1 and bar_stream.isatty()
        self.drawn = 0

    def advance(self) -> None:
        self.done += 1
        if self.visible:
            bar = progress_bar(done=self.done, total=self.total)
            self.bar_stream.write("\r" + bar)
            self.bar_stream.flush()
            self.drawn = len(bar)

    def clear(self) -> None:
        """Erase the bar, leaving the cursor at the start of its line."""
        if self.drawn:
            self.bar_stream.write("\r" + " " * self.drawn + "\r")
            self.bar_stream.flush()
            self.drawn = 0

    def write_line(self, text: str) -> None:
        """Print one line of the command's output (on `out`), the bar erased first."""
        self.clear()
        self.out.write(text + "\n")
        self.out.flush()
