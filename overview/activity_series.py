"""The activity of a time window, interval by interval: the samples and the entries written, folded into slots.

A window (the last hour, 24 hours or 7 days) is cut into intervals aligned on multiples of
their length since the epoch, the last one holding now (it is still filling). Each interval
(a slot of the charts) gets:
- the last activity sample taken in it (`overview.activity`): the queue, the oldest waiting
  job, the stale jobs and the blocked datasets as they were then; None when no sample was
  taken (no collector ran): the charts leave a gap, the tables say so;
- the cache entries written in it (`cachereports.selectors.cache_entries_written`), by kind,
  HTTP status and error code.

Why the last sample and not, say, the largest: the numbers of one sample were read together,
so the waiting and started jobs of a slot add up to the queue of one moment.

Jobs finished per interval are the entries written per interval: each finished job writes its
entry (success or error) with `updated_at` = now. Neither the samples (a fall of the started
count nets starts against ends) nor `pastJobs` (only the jobs that ran 30 s or more, kept one
hour) can count them. The count misses an entry written again since (counted at its last
write) and a job that ended without writing (none in the workers' protocol).

Pure functions: the page reads the rows (two commands) and folds them here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cachereports.selectors.written import WrittenEntries
from overview.activity import ActivitySample, interval_start

TOP_KINDS = 4
"""The jobs-finished chart stacks this many job types (the busiest of the window) and the rest as one."""
TOP_ERROR_CODES = 10


@dataclass(frozen=True)
class ActivityWindow:
    name: str
    """As the page's URL says it: `?window=hour`."""
    title: str
    seconds: int
    interval_seconds: int
    """The length of a slot, unless samples are taken less often (then a slot is a sample interval)."""
    tick_seconds: int
    """A time label on the axis at each multiple of this."""
    tick_format: str
    title_format: str
    """How a slot's start is named in titles and tables (its end follows, as %H:%M)."""


WINDOWS: tuple[ActivityWindow, ...] = (
    ActivityWindow("hour", "Last hour", 3600, 60, 600, "%H:%M", "%H:%M"),
    ActivityWindow("day", "Last 24 hours", 86400, 900, 3 * 3600, "%H:%M", "%b %d %H:%M"),
    ActivityWindow("week", "Last 7 days", 7 * 86400, 3600, 86400, "%b %d", "%b %d %H:%M"),
)
WINDOW_NAMES = tuple(window.name for window in WINDOWS)
DEFAULT_WINDOW = WINDOWS[0]


def window_named(name: str | None) -> ActivityWindow:
    return next((window for window in WINDOWS if window.name == name), DEFAULT_WINDOW)


@dataclass(frozen=True)
class Timeline:
    """The slots of a window that ends with the interval holding now."""

    window: ActivityWindow
    interval_seconds: int
    starts: list[datetime]

    @property
    def since(self) -> datetime:
        return self.starts[0]

    @property
    def until(self) -> datetime:
        return self.starts[-1] + timedelta(seconds=self.interval_seconds)


def timeline(window: ActivityWindow, *, now: datetime, sample_seconds: int) -> Timeline:
    """The window's slots, oldest first: each at least one sample interval long, so each can hold a sample."""
    length = max(window.interval_seconds, sample_seconds)
    count = math.ceil(window.seconds / length)
    last = interval_start(now, length)
    return Timeline(window, length, [last - timedelta(seconds=length * (count - 1 - index)) for index in range(count)])


@dataclass(frozen=True)
class ActivitySlot:
    start: datetime
    end: datetime
    sample: ActivitySample | None
    written: list[WrittenEntries] = field(default_factory=list)
    """The entries written in the interval, by kind, status and code, the most first."""

    @property
    def written_total(self) -> int:
        return sum(group.count for group in self.written)

    @property
    def written_successes(self) -> int:
        """Entries written with a status below 400 (the workers write 200 for a success)."""
        return sum(group.count for group in self.written if group.http_status < 400)

    @property
    def written_errors(self) -> int:
        return self.written_total - self.written_successes

    def written_of_kind(self, kind: str) -> int:
        return sum(group.count for group in self.written if group.kind == kind)

    @property
    def oldest_waiting_seconds(self) -> float | None:
        """None without a sample; 0 when the sample saw no waiting job (nothing waited)."""
        if self.sample is None:
            return None
        return self.sample.oldest_waiting_seconds or 0.0


def slots_of(
    timeline: Timeline, *, samples: Sequence[ActivitySample], written: Sequence[WrittenEntries]
) -> list[ActivitySlot]:
    """Each slot with the last sample taken in it and the entries written in it (rows outside the window: left out)."""
    length = timedelta(seconds=timeline.interval_seconds)
    index_of = {start: index for index, start in enumerate(timeline.starts)}

    def slot_index(moment: datetime) -> int | None:
        return index_of.get(interval_start(moment, timeline.interval_seconds))

    last_sample: dict[int, ActivitySample] = {}
    for sample in sorted(samples, key=lambda sample: sample.interval_start):
        index = slot_index(sample.interval_start)
        if index is not None:
            last_sample[index] = sample
    written_in: dict[int, list[WrittenEntries]] = {}
    for group in written:
        index = slot_index(group.interval_start)
        if index is not None:
            written_in.setdefault(index, []).append(group)
    return [
        ActivitySlot(
            start=start,
            end=start + length,
            sample=last_sample.get(index),
            written=sorted(
                written_in.get(index, []),
                key=lambda group: (-group.count, group.kind, group.http_status, group.error_code or ""),
            ),
        )
        for index, start in enumerate(timeline.starts)
    ]


def busiest_kinds(slots: Sequence[ActivitySlot], *, top: int = TOP_KINDS) -> list[str]:
    """The job types with the most entries written in the window, the most first (ties by name)."""
    totals: dict[str, int] = {}
    for slot in slots:
        for group in slot.written:
            totals[group.kind] = totals.get(group.kind, 0) + group.count
    return [kind for kind, _ in sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:top]]


@dataclass(frozen=True)
class KindCount:
    kind: str
    http_status: int
    count: int


@dataclass(frozen=True)
class ErrorCodeCount:
    """One error code's entries written in the window, in all and by kind and status (the most first)."""

    error_code: str | None
    count: int
    by_kind: list[KindCount]


def top_error_codes(slots: Sequence[ActivitySlot], *, top: int = TOP_ERROR_CODES) -> list[ErrorCodeCount]:
    """The error codes of the error entries (status 400 or more) written in the window, the most first."""
    by_code: dict[str | None, dict[tuple[str, int], int]] = {}
    for slot in slots:
        for group in slot.written:
            if group.http_status >= 400:
                kinds = by_code.setdefault(group.error_code, {})
                key = (group.kind, group.http_status)
                kinds[key] = kinds.get(key, 0) + group.count
    codes = [
        ErrorCodeCount(
            error_code=code,
            count=sum(kinds.values()),
            by_kind=[
                KindCount(kind, status, count)
                for (kind, status), count in sorted(kinds.items(), key=lambda item: (-item[1], item[0]))
            ],
        )
        for code, kinds in by_code.items()
    ]
    return sorted(codes, key=lambda code: (-code.count, code.error_code or ""))[:top]
