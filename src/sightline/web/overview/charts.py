"""Server-rendered SVG charts: each chart is computed here into plain shapes (rectangles,
polylines, dots, axis ticks) that `overview/_chart.html` writes as SVG elements with
attributes only (the CSP forbids inline styles). Every chart also carries its numbers as a
table, for screen readers and for anyone who wants the figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sightline.traces.filters import Granularity

WIDTH = 640
HEIGHT = 200
LEFT = 64  # room for the y-axis labels
RIGHT = 12
TOP = 12
BOTTOM = 28  # room for the x-axis labels
X_LABELS = 6
Y_TICKS = 4

Format = Callable[[float], str]
STEP = {
    Granularity.hour: timedelta(hours=1),
    Granularity.day: timedelta(days=1),
    Granularity.week: timedelta(days=7),
}


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[float | None]  # one per bucket; None: no data in that bucket


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(slots=True)
class Chart:
    key: str
    title: str
    description: str
    kind: str  # "bars" or "lines"
    labels: list[str]  # one per bucket (the table's first column)
    series: list[Series]
    fmt: Format
    rects: list[Rect] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (css, "x,y x,y ...")
    dots: list[Dot] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values if v is not None)

    def cells(self, index: int) -> list[str]:
        return [
            "—" if s.values[index] is None else self.fmt(s.values[index] or 0.0)
            for s in self.series
        ]


def bucket_starts(start: datetime, end: datetime, granularity: Granularity) -> list[datetime]:
    """Every bucket of the window, so a quiet hour shows as zero rather than vanishing."""
    starts = []
    at = start
    while at < end:
        starts.append(at)
        at += STEP[granularity]
    return starts


def bucket_label(at: datetime, granularity: Granularity) -> str:
    return at.strftime("%m-%d %H:00" if granularity is Granularity.hour else "%Y-%m-%d")


def _nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × a power of ten at or above the value."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


def _nice_max(value: float, integer: bool) -> float:
    """An axis maximum whose Y_TICKS ticks fall on round values (whole ones for counts)."""
    step = _nice_step(value / Y_TICKS)
    return Y_TICKS * (float(max(1, math.ceil(step))) if integer else step)


def _layout(
    chart: Chart, y_max: float | None, integer: bool
) -> tuple[float, Callable[[float], float]]:
    values = [v for s in chart.series for v in s.values if v is not None]
    top = y_max if y_max is not None else _nice_max(max(values, default=0.0), integer)
    span = chart.plot_bottom - chart.plot_top

    def y_of(value: float) -> float:
        return round(chart.plot_bottom - span * min(value, top) / top, 2)

    chart.y_ticks = [
        Tick(y_of(top * i / Y_TICKS), chart.fmt(top * i / Y_TICKS)) for i in range(Y_TICKS + 1)
    ]
    count = len(chart.labels)
    slot = (chart.plot_right - chart.left) / max(count, 1)
    every = max(1, -(-count // X_LABELS))
    chart.x_ticks = [
        Tick(round(chart.left + slot * (i + 0.5), 2), chart.labels[i])
        for i in range(0, count, every)
    ]
    return slot, y_of


def bar_chart(
    key: str,
    title: str,
    description: str,
    labels: list[str],
    series: list[Series],
    fmt: Format,
    *,
    integer: bool = False,
) -> Chart:
    """Bars side by side per bucket, one colour per series."""
    chart = Chart(key, title, description, "bars", labels, series, fmt)
    slot, y_of = _layout(chart, None, integer)
    width = slot * 0.8 / max(len(series), 1)
    for s_index, s in enumerate(series):
        for i, value in enumerate(s.values):
            if not value:
                continue
            x = chart.left + slot * i + slot * 0.1 + width * s_index
            y = y_of(value)
            chart.rects.append(
                Rect(round(x, 2), y, round(max(width - 1, 1), 2), round(chart.plot_bottom - y, 2),
                     f"series-{s_index}", f"{labels[i]}: {s.label} {fmt(value)}")
            )  # fmt: skip
    return chart


def line_chart(
    key: str,
    title: str,
    description: str,
    labels: list[str],
    series: list[Series],
    fmt: Format,
    *,
    y_max: float | None = None,
) -> Chart:
    """A line per series, broken where a bucket has no data, with a dot on every value."""
    chart = Chart(key, title, description, "lines", labels, series, fmt)
    slot, y_of = _layout(chart, y_max, integer=False)
    for s_index, s in enumerate(series):
        css = f"series-{s_index}"
        run: list[str] = []
        for i, value in enumerate(s.values):
            if value is None:
                if len(run) > 1:
                    chart.lines.append((css, " ".join(run)))
                run = []
                continue
            x = round(chart.left + slot * (i + 0.5), 2)
            y = y_of(value)
            run.append(f"{x},{y}")
            chart.dots.append(Dot(x, y, css, f"{labels[i]}: {s.label} {fmt(value)}"))
        if len(run) > 1:
            chart.lines.append((css, " ".join(run)))
    return chart
