"""Series turned into SVG geometry (overview/charts.py): scales, lines with gaps, stacked bars, sparklines."""

from __future__ import annotations

from collections.abc import Sequence

from overview.charts import (
    Bar,
    Frame,
    Series,
    Tick,
    count_scale,
    duration_label,
    duration_scale,
    line_chart,
    sparkline,
    stacked_bar_chart,
    time_ticks,
)

FRAME = Frame(width=500, height=120, left=50, right=10, top=10, bottom=10)
"""A plot of 440 x 100: x from 50 to 490, y from 110 (0) up to 10 (the scale's top)."""


def words(value: float) -> str:
    return f"{value:g} jobs"


def series(name: str, values: Sequence[float | None]) -> Series:
    return Series(name=name, label=name, values=values, hrefs=[f"/list/{name}/{index}" for index in range(len(values))])


def test_a_count_scale_rises_in_steps_of_1_2_or_5_to_the_first_tick_above_the_maximum() -> None:
    assert count_scale(0).ticks == [(0, "0"), (1, "1")]
    assert count_scale(1).ticks == [(0, "0"), (1, "1")]
    assert count_scale(3).ticks == [(0, "0"), (1, "1"), (2, "2"), (3, "3")]  # never a step below 1
    assert count_scale(7).ticks == [(0, "0"), (2, "2"), (4, "4"), (6, "6"), (8, "8")]
    assert count_scale(8).top == 8
    scale = count_scale(1234)
    assert (scale.top, [label for _, label in scale.ticks]) == (1500, ["0", "500", "1,000", "1,500"])
    assert count_scale(40_001).ticks[-1] == (60_000, "60,000")  # steps of 20,000


def test_a_duration_scale_rises_in_round_durations() -> None:
    assert duration_scale(0).ticks == [(0, "0"), (60, "1m")]
    assert duration_scale(100).ticks == [(0, "0"), (30, "30s"), (60, "60s"), (90, "90s"), (120, "120s")]
    assert duration_scale(5 * 3600 + 59 * 60).ticks == [(0, "0"), (3 * 3600, "3h"), (6 * 3600, "6h")]
    assert duration_scale(9 * 86400).ticks == [(0, "0"), (3 * 86400, "3d"), (6 * 86400, "6d"), (9 * 86400, "9d")]
    assert duration_label(6 * 3600 + 61) == "6h 1m"


def test_a_line_chart_breaks_its_line_where_a_slot_has_no_value() -> None:
    chart = line_chart(
        series=[series("waiting", [None, 4, 8, None, 2])],
        slot_titles=[f"slot {index}" for index in range(5)],
        x_labels=["12:00", None, None, None, "12:04"],
        describe=words,
        frame=FRAME,
    )
    (line,) = chart.lines
    # slots of 88 px, points at their centers; 8 is the scale's top (y 10), 0 its bottom (y 110)
    assert line.path == "M182,60 L270,10 M446,85"
    assert [(point.x, point.y) for point in line.points] == [(182, 60), (270, 10), (446, 85)]
    assert [point.title for point in line.points] == [
        "slot 1 · waiting: 4 jobs",
        "slot 2 · waiting: 8 jobs",
        "slot 4 · waiting: 2 jobs",
    ]
    assert [point.href for point in line.points] == ["/list/waiting/1", "/list/waiting/2", "/list/waiting/4"]
    assert chart.y_ticks == [Tick(110, "0"), Tick(85, "2"), Tick(60, "4"), Tick(35, "6"), Tick(10, "8")]
    assert chart.x_ticks == [Tick(50, "12:00"), Tick(402, "12:04")]  # at the left edge of their slot
    assert chart.bars == []
    assert not chart.is_empty


def test_a_chart_of_zeros_or_of_nothing_is_empty() -> None:
    nothing: list[list[float | None]] = [[0.0, 0.0], [None, None]]
    for values in nothing:
        chart = line_chart(
            series=[series("stale", values)], slot_titles=["a", "b"], x_labels=[None, None], describe=words
        )
        assert chart.is_empty
    zeros = line_chart(series=[series("stale", [0, 0])], slot_titles=["a", "b"], x_labels=[None, None], describe=words)
    assert zeros.lines[0].path.count("M") == 1  # a flat line at 0, drawn
    assert zeros.y_ticks[-1].label == "1"


def test_stacked_bars_put_each_series_on_the_one_below_in_the_order_given() -> None:
    chart = stacked_bar_chart(
        series=[series("ok", [1, 0, 3, None]), series("error", [1, 2, None, 0])],
        slot_titles=["a", "b", "c", "d"],
        x_labels=[None] * 4,
        describe=words,
        frame=FRAME,
    )
    # the tallest stack is 3: the scale's top (ticks 0, 1, 2, 3); slots of 110 px, 2 px apart
    assert chart.bars == [
        Bar("ok", 51, 76.7, 108, 33.3, "a · ok: 1 jobs", "/list/ok/0"),
        Bar("error", 51, 43.3, 108, 33.3, "a · error: 1 jobs", "/list/error/0"),
        Bar("error", 161, 43.3, 108, 66.7, "b · error: 2 jobs", "/list/error/1"),
        Bar("ok", 271, 10, 108, 100, "c · ok: 3 jobs", "/list/ok/2"),
    ]
    assert [tick.label for tick in chart.y_ticks] == ["0", "1", "2", "3"]
    assert chart.lines == []


def test_a_time_tick_sits_at_the_left_edge_of_its_slot() -> None:
    assert time_ticks(FRAME, [None, "a", None, None]) == [Tick(160, "a")]
    assert time_ticks(FRAME, []) == []


def test_sparklines_share_one_scale_and_mark_the_last_value() -> None:
    drawn = sparkline([("waiting", [0, None, 2, 4]), ("started", [1, 1, 1, None])], width=66, height=26, margin=3)
    waiting, started = drawn.lines
    # x from 3 to 63 in 3 steps of 20; y from 23 (0) to 3 (4, the maximum of both)
    assert waiting.path == "M3,23 M43,13 L63,3"
    assert (waiting.last_x, waiting.last_y) == (63, 3)
    assert started.path == "M3,18 L23,18 L43,18"
    assert (started.last_x, started.last_y) == (None, None)  # its last slot has no value
    flat = sparkline([("stale", [0, 0])], width=66, height=26, margin=3)
    assert flat.lines[0].path == "M3,23 L63,23"
    assert sparkline([("stale", [])]).lines[0].path == ""
