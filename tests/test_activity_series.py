"""A window's slots (overview/activity_series.py): aligned intervals, the last sample of each, the entries written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cachereports.selectors.written import WrittenEntries
from overview.activity import ActivitySample
from overview.activity_series import (
    WINDOWS,
    ErrorCodeCount,
    KindCount,
    busiest_kinds,
    slots_of,
    timeline,
    top_error_codes,
    window_named,
)

NOW = datetime(2024, 6, 1, 12, 7, 30, tzinfo=UTC)
HOUR, DAY, WEEK = WINDOWS


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2024, 6, 1, hour, minute, second, tzinfo=UTC)


def sample(start: datetime, waiting: int) -> ActivitySample:
    return ActivitySample(
        interval_start=start,
        interval_seconds=60,
        taken_at=start + timedelta(seconds=2),
        jobs_by_status={"waiting": waiting, "started": 0},
        waiting_jobs_by_worker_size={"light": 0, "medium": 0, "heavy": 0},
    )


def test_a_window_ends_with_the_interval_that_holds_now() -> None:
    hour = timeline(HOUR, now=NOW, sample_seconds=60)
    assert len(hour.starts) == 60
    assert (hour.since, hour.starts[-1], hour.until) == (at(11, 8), at(12, 7), at(12, 8))
    day = timeline(DAY, now=NOW, sample_seconds=60)
    assert (len(day.starts), day.interval_seconds, day.starts[-1], day.until) == (96, 900, at(12, 0), at(12, 15))
    week = timeline(WEEK, now=NOW, sample_seconds=60)
    assert (len(week.starts), week.interval_seconds, week.since) == (
        168,
        3600,
        at(12, 0) - timedelta(days=7) + timedelta(hours=1),
    )


def test_an_interval_is_never_shorter_than_the_samples_interval() -> None:
    """Samples every 10 minutes: the last hour is 6 intervals of 10 minutes, each with its sample."""
    hour = timeline(HOUR, now=NOW, sample_seconds=600)
    assert (hour.interval_seconds, hour.starts) == (
        600,
        [at(11, 10), at(11, 20), at(11, 30), at(11, 40), at(11, 50), at(12, 0)],
    )
    assert timeline(DAY, now=NOW, sample_seconds=600).interval_seconds == 900


def test_a_slot_holds_its_last_sample_and_the_entries_written_in_it() -> None:
    day = timeline(DAY, now=NOW, sample_seconds=60)
    samples = [sample(at(11, 59), 9), sample(at(11, 46), 7), sample(at(11, 58), 8), sample(at(12, 7), 3)]
    written = [
        WrittenEntries(at(11, 45), "config-info", 200, None, 4),
        WrittenEntries(at(11, 45), "config-info", 500, "E", 1),
        WrittenEntries(at(11, 45), "dataset-info", 200, None, 6),
        WrittenEntries(at(12, 0), "dataset-info", 404, None, 2),
        WrittenEntries(at(9, 0) - timedelta(days=2), "dataset-info", 200, None, 5),  # out of the window
    ]
    slots = slots_of(day, samples=samples, written=written)
    assert len(slots) == 96
    quarter, last = slots[-2], slots[-1]
    assert (quarter.start, quarter.end) == (at(11, 45), at(12, 0))
    assert quarter.sample is not None and quarter.sample.jobs_by_status["waiting"] == 9  # 11:59, the last of three
    assert [(group.kind, group.count) for group in quarter.written] == [
        ("dataset-info", 6),
        ("config-info", 4),
        ("config-info", 1),
    ]
    assert (quarter.written_total, quarter.written_successes, quarter.written_errors) == (11, 10, 1)
    assert quarter.written_of_kind("config-info") == 5
    assert last.sample is not None and last.sample.jobs_by_status["waiting"] == 3
    assert (last.written_total, last.written_errors) == (2, 2)
    assert slots[0].sample is None and slots[0].written == [] and slots[0].oldest_waiting_seconds is None
    assert last.oldest_waiting_seconds == 0  # a sample that saw no waiting job: nothing waited

    assert busiest_kinds(slots) == ["dataset-info", "config-info"]
    assert busiest_kinds(slots, top=1) == ["dataset-info"]
    assert top_error_codes(slots) == [  # the most first; an error without a code is a group of its own
        ErrorCodeCount(None, 2, [KindCount("dataset-info", 404, 2)]),
        ErrorCodeCount("E", 1, [KindCount("config-info", 500, 1)]),
    ]


def test_an_unknown_window_name_is_the_last_hour() -> None:
    assert window_named("day") is DAY
    assert window_named(None) is HOUR
