"""Series of numbers turned into SVG geometry: line charts, stacked bars and sparklines, in plain numbers.

The activity page and the dashboard draw their charts as server-rendered SVG: a template
writes the paths, rectangles and labels computed here, with the colors of the stylesheet's
variables (light and dark schemes), a `<title>` on each point and a link from it. No
JavaScript and no charting library: a few hundred points a chart are a page of SVG text,
readable without scripts, and allowed by the CSP as it is.

Everything here is a pure function of its arguments (no database, no clock, no Django): a
chart is a number of slots (the intervals of a window, oldest first) and one or more series
with a value per slot, None where there is no value (the line breaks there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from foundation.core.words import duration

COUNT_STEPS: tuple[float, ...] = (1, 2, 5)
"""Steps between two value ticks, times a power of ten: 1, 2, 5, 10, 20, 50..."""

DURATION_STEPS: tuple[tuple[float, str], ...] = (
    (1, "s"),
    (5, "s"),
    (15, "s"),
    (30, "s"),
    (60, "m"),
    (300, "m"),
    (900, "m"),
    (1800, "m"),
    (3600, "h"),
    (3 * 3600, "h"),
    (6 * 3600, "h"),
    (12 * 3600, "h"),
    (86400, "d"),
    (2 * 86400, "d"),
    (3 * 86400, "d"),
    (7 * 86400, "d"),
    (14 * 86400, "d"),
    (28 * 86400, "d"),
)
"""Steps between two duration ticks, in seconds, each with the unit of its labels."""
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
VALUE_TICKS = 4
"""A value axis has at most this many steps above zero."""


@dataclass(frozen=True)
class Frame:
    """A chart's drawing: its size (the SVG viewBox) and the margins around the plot (axis labels)."""

    width: int = 720
    height: int = 190
    left: int = 56
    right: int = 12
    top: int = 10
    bottom: int = 24

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    @property
    def plot_right(self) -> float:
        return self.width - self.right


@dataclass(frozen=True)
class Series:
    """What a chart draws of one series: a value per slot, where its points lead, what they are called."""

    name: str
    """Names the series in CSS (`series-<name>`: its color in both schemes) and in ids."""
    label: str
    values: Sequence[float | None]
    hrefs: Sequence[str]
    """The list behind each point (one per slot)."""


@dataclass(frozen=True)
class Tick:
    position: float
    """x of a time tick, y of a value tick."""
    label: str


@dataclass(frozen=True)
class Scale:
    """The value axis: from 0 to `top`, labelled at `ticks` (values and their labels)."""

    top: float
    ticks: list[tuple[float, str]]


@dataclass(frozen=True)
class PlacedPoint:
    x: float
    y: float
    title: str
    href: str


@dataclass(frozen=True)
class Line:
    name: str
    label: str
    path: str
    """The SVG path (`d`): a move at the first point after each gap, a line to each next point."""
    points: list[PlacedPoint]


@dataclass(frozen=True)
class Bar:
    """One series' part of one slot's stacked bar."""

    name: str
    x: float
    y: float
    width: float
    height: float
    title: str
    href: str


@dataclass(frozen=True)
class Chart:
    frame: Frame
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    lines: list[Line]
    bars: list[Bar]
    point_radius: float
    is_empty: bool
    """No series has a value above 0 in any slot."""


@dataclass(frozen=True)
class SparkLine:
    name: str
    path: str
    """The line (`d`); "" when no slot has a value."""
    last_x: float | None
    last_y: float | None
    """The last slot's point (marked), when it has a value."""


@dataclass(frozen=True)
class Sparkline:
    """A few small lines on one scale, no axis: the trend of a chart, in a tile."""

    width: int
    height: int
    lines: list[SparkLine]


def _rounded(number: float) -> float:
    """Coordinates to a tenth of a unit: short SVG text, and the same text for the same chart."""
    return round(number, 1) + 0.0  # + 0.0: never "-0.0"


def count_label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def count_scale(maximum: float) -> Scale:
    """From 0 to the first tick at or above `maximum`, in at most VALUE_TICKS steps of 1, 2 or 5 x 10^k
    (never less than 1: counts are whole)."""
    if maximum <= 0:
        return Scale(top=1, ticks=[(0, "0"), (1, "1")])
    raw_step = maximum / VALUE_TICKS
    power = 10 ** math.floor(math.log10(raw_step))
    step = max(1.0, next(base * power for base in (*COUNT_STEPS, 10) if base * power >= raw_step))
    steps = math.ceil(maximum / step - 1e-9)
    return Scale(top=steps * step, ticks=[(index * step, count_label(index * step)) for index in range(steps + 1)])


def duration_label(seconds: float) -> str:
    """A duration in its two largest units (`2h 5m`, `45s`), as the pages say ages."""
    return duration(seconds)


def duration_scale(maximum_seconds: float) -> Scale:
    """From 0 to the first tick at or above the maximum, in at most VALUE_TICKS steps of a round duration."""
    if maximum_seconds <= 0:
        return Scale(top=60, ticks=[(0, "0"), (60, "1m")])
    step, unit = next(
        ((size, unit) for size, unit in DURATION_STEPS if size * VALUE_TICKS >= maximum_seconds), DURATION_STEPS[-1]
    )
    steps = math.ceil(maximum_seconds / step - 1e-9)
    ticks = [
        (index * step, f"{index * step / _UNIT_SECONDS[unit]:g}{unit}" if index else "0") for index in range(steps + 1)
    ]
    return Scale(top=steps * step, ticks=ticks)


def slot_center(frame: Frame, slots: int, index: int) -> float:
    return frame.left + (index + 0.5) * frame.plot_width / slots


def value_y(frame: Frame, scale: Scale, value: float) -> float:
    return frame.plot_bottom - frame.plot_height * min(value, scale.top) / scale.top


def _y_ticks(frame: Frame, scale: Scale) -> list[Tick]:
    return [Tick(_rounded(value_y(frame, scale, value)), label) for value, label in scale.ticks]


def time_ticks(frame: Frame, slot_labels: Sequence[str | None]) -> list[Tick]:
    """A tick at the left edge of each slot that has a label (the caller labels every n-th slot)."""
    slots = len(slot_labels)
    return [
        Tick(_rounded(frame.left + index * frame.plot_width / slots), label)
        for index, label in enumerate(slot_labels)
        if label is not None and slots
    ]


def _maximum(series: Sequence[Series]) -> float:
    return max((value for one in series for value in one.values if value is not None), default=0.0)


def line_chart(
    *,
    series: Sequence[Series],
    slot_titles: Sequence[str],
    x_labels: Sequence[str | None],
    describe: Callable[[float], str],
    scale: Callable[[float], Scale] = count_scale,
    frame: Frame | None = None,
) -> Chart:
    """Each series as a line through its slots' values (broken where a slot has none), with a point per value.

    `slot_titles` name the slots in the points' titles ("12:05 UTC"), `x_labels` label the time
    axis (None: no tick at that slot), `describe` says a value in words ("1,234 jobs").
    """
    frame = frame or Frame()
    slots = len(slot_titles)
    value_scale = scale(_maximum(series))
    lines = []
    for one in series:
        points, commands, drawing = [], [], False
        for index, value in enumerate(one.values):
            if value is None:
                drawing = False
                continue
            x, y = _rounded(slot_center(frame, slots, index)), _rounded(value_y(frame, value_scale, value))
            commands.append(f"{'L' if drawing else 'M'}{x:g},{y:g}")
            drawing = True
            points.append(PlacedPoint(x, y, f"{slot_titles[index]} · {one.label}: {describe(value)}", one.hrefs[index]))
        lines.append(Line(one.name, one.label, " ".join(commands), points))
    return Chart(
        frame=frame,
        y_ticks=_y_ticks(frame, value_scale),
        x_ticks=time_ticks(frame, x_labels),
        lines=lines,
        bars=[],
        point_radius=_rounded(min(3.0, max(1.5, frame.plot_width / max(slots, 1) / 3))),
        is_empty=_maximum(series) <= 0,
    )


def stacked_bar_chart(
    *,
    series: Sequence[Series],
    slot_titles: Sequence[str],
    x_labels: Sequence[str | None],
    describe: Callable[[float], str],
    frame: Frame | None = None,
) -> Chart:
    """A bar per slot, its series stacked bottom up in the order given; a series' value of 0 or None draws nothing."""
    frame = frame or Frame()
    slots = len(slot_titles)
    totals = [sum(one.values[index] or 0 for one in series) for index in range(slots)]
    value_scale = count_scale(max(totals, default=0))
    slot_width = frame.plot_width / max(slots, 1)
    gap = min(2.0, slot_width / 5)
    bars = []
    for index in range(slots):
        below = 0.0
        for one in series:
            value = one.values[index] or 0
            if value <= 0:
                continue
            top = value_y(frame, value_scale, below + value)
            bottom = value_y(frame, value_scale, below)
            bars.append(
                Bar(
                    name=one.name,
                    x=_rounded(frame.left + index * slot_width + gap / 2),
                    y=_rounded(top),
                    width=_rounded(slot_width - gap),
                    height=_rounded(max(bottom - top, 0.5)),
                    title=f"{slot_titles[index]} · {one.label}: {describe(value)}",
                    href=one.hrefs[index],
                )
            )
            below += value
    return Chart(
        frame=frame,
        y_ticks=_y_ticks(frame, value_scale),
        x_ticks=time_ticks(frame, x_labels),
        lines=[],
        bars=bars,
        point_radius=0,
        is_empty=max(totals, default=0) <= 0,
    )


def sparkline(
    series: Sequence[tuple[str, Sequence[float | None]]], *, width: int = 140, height: int = 32, margin: float = 3
) -> Sparkline:
    """Each (name, values) as a small line, all scaled from 0 to their common maximum (flat at the bottom when
    all are 0); the slots span the width whatever their number."""
    top = max((value for _, values in series for value in values if value is not None), default=0.0) or 1.0
    inner_width, inner_height = width - 2 * margin, height - 2 * margin
    lines = []
    for name, values in series:
        slots = len(values)

        def place(index: int, value: float, slots: int = slots) -> tuple[float, float]:
            x = margin + (inner_width * index / (slots - 1) if slots > 1 else inner_width / 2)
            return _rounded(x), _rounded(margin + inner_height * (1 - min(value, top) / top))

        commands, drawing = [], False
        for index, value in enumerate(values):
            if value is None:
                drawing = False
                continue
            x, y = place(index, value)
            commands.append(f"{'L' if drawing else 'M'}{x:g},{y:g}")
            drawing = True
        last = values[-1] if values else None
        last_x, last_y = place(slots - 1, last) if last is not None else (None, None)
        lines.append(SparkLine(name=name, path=" ".join(commands), last_x=last_x, last_y=last_y))
    return Sparkline(width=width, height=height, lines=lines)
