"""The activity page (/admin/activity) and the dashboard's sparklines: the queue and the work done over time.

Two commands whatever the window: the last activity sample of each interval of the window (one
aggregation on `_id`, `overview.activity.last_samples_by_interval`) and the cache entries
written in it (one aggregation through index `kind_updated`,
`cachereports.selectors.written.cache_entries_written`). The rows are
folded into slots (`overview.activity_series`), the slots into series with a link per point,
the series into SVG geometry (`overview.charts`), which the templates draw.

Where the points lead: a sample's numbers (the queue, the oldest waiting job, stale jobs,
blocked datasets) lead to the list they count, as it is now (the jobs of a past sample are
gone: the jobs page lists the pending ones); an interval's entries written lead to that
interval's breakdown by kind, status and error code on this page (`?interval=`), whose rows
lead to the cache list of that kind, status and code (which has no time filter: it lists every
such entry, the interval's among them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from cachereports.selectors import written as written_selectors
from foundation.auth.authentication import page_login_required
from foundation.core.words import plural
from foundation.database import mongo
from foundation.web.console import console_page, render_page
from foundation.web.parameters import ChoiceParameter, Parameter, Parameters, validated
from jobs.selectors import WORKER_SIZES
from overview import charts
from overview.activity import ActivitySample, last_samples_by_interval
from overview.activity_series import (
    DEFAULT_WINDOW,
    WINDOW_NAMES,
    WINDOWS,
    ActivitySlot,
    ActivityWindow,
    ErrorCodeCount,
    Timeline,
    busiest_kinds,
    slots_of,
    timeline,
    top_error_codes,
    window_named,
)

NO_SAMPLE = "no sample"


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None


@dataclass(frozen=True)
class NumbersRow:
    title: str
    """The interval, in words ("12:05-12:06 UTC")."""
    cells: list[Cell]


@dataclass(frozen=True)
class ChartPanel:
    """One chart of the page: its SVG geometry, its legend (the series) and its numbers, a row per interval."""

    id: str
    title: str
    chart: charts.Chart
    series: list[charts.Series]
    rows: list[NumbersRow]
    latest: str
    """In words, for the heading and the dashboard: the last sample's values, or the window's entries written."""
    trend: list[tuple[str, list[float | None]]]
    """What the dashboard's sparkline draws: each series, or their total (a stack of many job types)."""


@dataclass(frozen=True)
class Links:
    """The lists behind the points, built once per page."""

    jobs: str
    blocked: str
    cache: str
    activity: str
    window: ActivityWindow

    def query(self, base: str, **parameters: str | int) -> str:
        return f"{base}?{urlencode(parameters)}"

    def interval_of_slot(self, slot: ActivitySlot) -> str:
        """This page, at the breakdown of one interval's entries written."""
        return f"{self.query(self.activity, window=self.window.name, interval=iso(slot.start))}#interval"

    def cache_entries(self, *, kind: str, http_status: int, error_code: str | None) -> str:
        parameters: dict[str, str | int] = {"kind": kind, "http_status": http_status}
        if error_code is not None:
            parameters["error_code"] = error_code
        return self.query(self.cache, **parameters)


def links_of(window: ActivityWindow) -> Links:
    return Links(
        jobs=reverse("console-jobs"),
        blocked=reverse("console-blocked"),
        cache=reverse("console-cache"),
        activity=reverse("console-activity"),
        window=window,
    )


def iso(moment: datetime) -> str:
    """An interval's start in the page's URL: `2024-06-01T12:05:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_title(slot: ActivitySlot, window: ActivityWindow) -> str:
    return f"{slot.start:{window.title_format}}-{slot.end:%H:%M} UTC"


def x_labels(slots: Sequence[ActivitySlot], window: ActivityWindow) -> list[str | None]:
    return [
        f"{slot.start:{window.tick_format}}" if int(slot.start.timestamp()) % window.tick_seconds == 0 else None
        for slot in slots
    ]


def interval_words(seconds: int) -> str:
    """An interval's length: `1 minute`, `15 minutes`, `1 hour`, `90 seconds`."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            return plural(seconds // size, unit, f"{unit}s")
    return plural(seconds, "second", "seconds")


def jobs_words(value: float) -> str:
    return f"{charts.count_label(value)} job{'' if value == 1 else 's'}"


def entries_words(value: float) -> str:
    return f"{charts.count_label(value)} entr{'y' if value == 1 else 'ies'}"


def datasets_words(value: float) -> str:
    return f"{charts.count_label(value)} dataset{'' if value == 1 else 's'}"


@dataclass(frozen=True)
class SeriesSpec:
    """A series before it is drawn: its values by slot, where each point leads."""

    name: str
    label: str
    value: Callable[[ActivitySlot], float | None]
    href: Callable[[ActivitySlot], str]


def _panel(
    *,
    id: str,
    title: str,
    slots: Sequence[ActivitySlot],
    window: ActivityWindow,
    specs: Sequence[SeriesSpec],
    describe: Callable[[float], str],
    stacked: bool = False,
    scale: Callable[[float], charts.Scale] = charts.count_scale,
    cell_text: Callable[[float], str] = charts.count_label,
    trend_total: bool = False,
) -> ChartPanel:
    series = [
        charts.Series(
            name=spec.name,
            label=spec.label,
            values=[spec.value(slot) for slot in slots],
            hrefs=[spec.href(slot) for slot in slots],
        )
        for spec in specs
    ]
    titles = [slot_title(slot, window) for slot in slots]
    labels = x_labels(slots, window)
    if stacked:
        chart = charts.stacked_bar_chart(series=series, slot_titles=titles, x_labels=labels, describe=describe)
    else:
        chart = charts.line_chart(series=series, slot_titles=titles, x_labels=labels, describe=describe, scale=scale)
    return ChartPanel(
        id=id,
        title=title,
        chart=chart,
        series=series,
        rows=_numbers(series, titles, cell_text),
        latest=_window_total(series, describe, cell_text, trend_total) if stacked else _last_sample(series, cell_text),
        trend=[("total", _totals(series))] if trend_total else [(one.name, list(one.values)) for one in series],
    )


def _numbers(series: Sequence[charts.Series], titles: Sequence[str], text: Callable[[float], str]) -> list[NumbersRow]:
    """The table under a chart: a row per interval, a cell per series, linked as the point is (but for 0)."""

    def cell(one: charts.Series, index: int) -> Cell:
        value = one.values[index]
        if value is None:
            return Cell(NO_SAMPLE)
        return Cell(text(value), one.hrefs[index] if value else None)  # an empty list is not worth a link

    return [NumbersRow(title, [cell(one, index) for one in series]) for index, title in enumerate(titles)]


def _totals(series: Sequence[charts.Series]) -> list[float | None]:
    """A stack's height in each slot."""
    slots = len(series[0].values) if series else 0
    return [sum(one.values[index] or 0 for one in series) for index in range(slots)]


def _window_total(
    series: Sequence[charts.Series], describe: Callable[[float], str], text: Callable[[float], str], as_one: bool
) -> str:
    """A stack's values added over the window: in all (`as_one`), or by series."""
    totals = [sum(value or 0 for value in one.values) for one in series]
    if as_one:
        return f"{describe(sum(totals))} in the window"
    by_series = ", ".join(f"{one.label} {text(total)}" for one, total in zip(series, totals, strict=True))
    return f"{by_series} in the window"


def _last_sample(series: Sequence[charts.Series], text: Callable[[float], str]) -> str:
    """The values of the last slot that has a sample (the current interval may not have its own yet)."""
    slots = range(len(series[0].values) if series else 0)
    last = next((index for index in reversed(slots) if any(one.values[index] is not None for one in series)), None)
    if last is None:
        return NO_SAMPLE
    if len(series) == 1:
        return f"last sample: {text(series[0].values[last] or 0)}"
    return "last sample: " + ", ".join(f"{one.label} {text(one.values[last] or 0)}" for one in series)


def _sampled(read: Callable[[ActivitySample], float]) -> Callable[[ActivitySlot], float | None]:
    """A value of the slot's sample; None without one (a gap in the line, "no sample" in the table)."""
    return lambda slot: None if slot.sample is None else read(slot.sample)


def _jobs_of_status(status: str) -> Callable[[ActivitySlot], float | None]:
    return _sampled(lambda sample: sample.jobs_by_status[status])


def _waiting_of_size(size: str) -> Callable[[ActivitySlot], float | None]:
    return _sampled(lambda sample: sample.waiting_jobs_by_worker_size[size])


def _written_of_kind(kind: str) -> Callable[[ActivitySlot], float | None]:
    return lambda slot: slot.written_of_kind(kind)


def _written_of_other_kinds(kinds: Sequence[str]) -> Callable[[ActivitySlot], float | None]:
    return lambda slot: slot.written_total - sum(slot.written_of_kind(kind) for kind in kinds)


def _to(href: str) -> Callable[[ActivitySlot], str]:
    return lambda slot: href


def _jobs_finished_specs(slots: Sequence[ActivitySlot], links: Links) -> list[SeriesSpec]:
    """The busiest job types of the window, each a series, and the others as one."""
    kinds = busiest_kinds(slots)
    specs = [
        SeriesSpec(f"kind-{rank}", kind, _written_of_kind(kind), links.interval_of_slot)
        for rank, kind in enumerate(kinds, start=1)
    ]
    if not kinds or any(slot.written_total > sum(slot.written_of_kind(kind) for kind in kinds) for slot in slots):
        label = "other job types" if kinds else "all job types"
        specs.append(SeriesSpec("other", label, _written_of_other_kinds(kinds), links.interval_of_slot))
    return specs


def activity_panels(slots: Sequence[ActivitySlot], links: Links) -> list[ChartPanel]:
    """The charts of the page, in its order; the dashboard draws the same series as sparklines."""
    window, jobs = links.window, links.jobs
    return [
        _panel(
            id="queue-by-status",
            title="Queue depth by status",
            slots=slots,
            window=window,
            describe=jobs_words,
            specs=[
                SeriesSpec(status, status, _jobs_of_status(status), _to(links.query(jobs, status=status)))
                for status in ("waiting", "started")
            ],
        ),
        _panel(
            id="waiting-by-worker-size",
            title="Waiting jobs by worker size",
            slots=slots,
            window=window,
            describe=jobs_words,
            specs=[
                SeriesSpec(
                    size, size, _waiting_of_size(size), _to(links.query(jobs, status="waiting", worker_size=size))
                )
                for size in WORKER_SIZES
            ],
        ),
        _panel(
            id="jobs-finished",
            title="Jobs finished per interval",
            slots=slots,
            window=window,
            describe=jobs_words,
            stacked=True,
            trend_total=True,
            specs=_jobs_finished_specs(slots, links),
        ),
        _panel(
            id="entries-written",
            title="Cache entries written per interval",
            slots=slots,
            window=window,
            describe=entries_words,
            stacked=True,
            specs=[
                SeriesSpec("ok", "successes", lambda slot: slot.written_successes, links.interval_of_slot),
                SeriesSpec("error", "errors", lambda slot: slot.written_errors, links.interval_of_slot),
            ],
        ),
        _panel(
            id="oldest-waiting",
            title="Age of the oldest waiting job",
            slots=slots,
            window=window,
            describe=charts.duration_label,
            scale=charts.duration_scale,
            cell_text=charts.duration_label,
            specs=[
                SeriesSpec(
                    "age",
                    "oldest waiting job",
                    lambda slot: slot.oldest_waiting_seconds,
                    _to(links.query(jobs, status="waiting", sort="created_at")),
                )
            ],
        ),
        _panel(
            id="stale-jobs",
            title="Stale jobs",
            slots=slots,
            window=window,
            describe=jobs_words,
            specs=[
                SeriesSpec("stale", "stale jobs", _sampled(lambda sample: sample.stale_jobs), _to(f"{jobs}?stale=1"))
            ],
        ),
        _panel(
            id="blocked-datasets",
            title="Blocked datasets",
            slots=slots,
            window=window,
            describe=datasets_words,
            specs=[
                SeriesSpec(
                    "blocked", "blocked datasets", _sampled(lambda sample: sample.blocked_datasets), _to(links.blocked)
                )
            ],
        ),
    ]


@dataclass(frozen=True)
class ErrorCodeRow:
    error_code: str | None
    count: int
    kinds: list[tuple[str, Cell]]
    """Each kind (with its status) that wrote the code, and its count linked to the cache list."""


def error_code_rows(codes: Sequence[ErrorCodeCount], links: Links) -> list[ErrorCodeRow]:
    return [
        ErrorCodeRow(
            error_code=code.error_code,
            count=code.count,
            kinds=[
                (
                    f"{kind.kind} ({kind.http_status})",
                    Cell(
                        charts.count_label(kind.count),
                        links.cache_entries(kind=kind.kind, http_status=kind.http_status, error_code=code.error_code),
                    ),
                )
                for kind in code.by_kind
            ],
        )
        for code in codes
    ]


@dataclass(frozen=True)
class Activity:
    """A window's slots and what the page and the dashboard draw of them."""

    timeline: Timeline
    slots: list[ActivitySlot]
    samples: int
    last_taken_at: datetime | None
    panels: list[ChartPanel]
    links: Links


def read_activity(window: ActivityWindow, *, now: datetime) -> Activity:
    """The two reads of a window (samples, entries written) folded into its slots and charts."""
    line = timeline(window, now=now, sample_seconds=settings.ADMIN.activity_sample_seconds)
    sampled = last_samples_by_interval(since=line.since, until=line.until, interval_seconds=line.interval_seconds)
    written = written_selectors.cache_entries_written(
        since=line.since, until=line.until, interval_seconds=line.interval_seconds
    )
    samples = [interval.last for interval in sampled]
    slots = slots_of(line, samples=samples, written=written)
    links = links_of(window)
    return Activity(
        timeline=line,
        slots=slots,
        samples=sum(interval.count for interval in sampled),
        last_taken_at=samples[-1].taken_at if samples else None,
        panels=activity_panels(slots, links),
        links=links,
    )


class IntervalStartParameter(Parameter):
    """The start of one interval of the window, in UTC (`2024-06-01T12:05:00Z`, the link of a bar); blank is None."""

    default_error_messages: ClassVar[dict[str, Any]] = {
        "invalid": "Parameter 'interval' must be the start of an interval in UTC, as 2024-06-01T12:05:00Z"
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=None, **kwargs)

    def parse(self, text: str) -> datetime:
        try:
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            self.fail("invalid")


class ActivityPageParameters(Parameters):
    """GET /admin/activity?window=hour|day|week&interval="""

    window = ChoiceParameter(choices=WINDOW_NAMES, default=DEFAULT_WINDOW.name)
    interval = IntervalStartParameter()


@page_login_required
@console_page
def activity_page(request: HttpRequest) -> HttpResponse:
    """GET /admin/activity?window=hour|day|week&interval=: charts of the window; two commands whatever the window.

    `interval` (the start of one of the window's intervals, the link of a bar) adds the
    breakdown of that interval's entries written by kind, status and error code.
    """
    parameters = validated(ActivityPageParameters, request.GET.dict())
    window, interval = window_named(parameters["window"]), parameters["interval"]
    activity = read_activity(window, now=mongo.utc_now())
    chosen = next((slot for slot in activity.slots if slot.start == interval), None)
    return render_page(
        request,
        "pages/activity.html",
        {
            "window": window,
            "windows": WINDOWS,
            "activity": activity,
            "error_codes": error_code_rows(top_error_codes(activity.slots), activity.links),
            "interval": interval,
            "interval_slot": chosen,
            "interval_title": slot_title(chosen, window) if chosen else "",
            "sample_seconds": settings.ADMIN.activity_sample_seconds,
            "interval_words": interval_words(activity.timeline.interval_seconds),
        },
    )


# --- the dashboard's sparklines: the same series over the last hour -------------------------

SPARKLINE_WINDOW = WINDOWS[0]


@dataclass(frozen=True)
class SparklineTile:
    id: str
    title: str
    latest: str
    href: str
    """The chart on the activity page."""
    sparkline: charts.Sparkline


@dataclass(frozen=True)
class DashboardActivity:
    tiles: list[SparklineTile]
    samples: int
    href: str


def dashboard_activity(*, now: datetime) -> DashboardActivity:
    """The charts of the last hour as sparklines, each leading to its chart: the page's two commands."""
    activity = read_activity(SPARKLINE_WINDOW, now=now)
    page = activity.links.query(activity.links.activity, window=SPARKLINE_WINDOW.name)
    return DashboardActivity(
        tiles=[
            SparklineTile(
                id=panel.id,
                title=panel.title,
                latest=panel.latest,
                href=f"{page}#{panel.id}",
                sparkline=charts.sparkline(panel.trend),
            )
            for panel in activity.panels
        ],
        samples=activity.samples,
        href=page,
    )
