"""Charts drawn on the server as inline SVG: no JavaScript library, nothing fetched from the internet."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from project.console.colours import FALLBACK

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 48, 22, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bucket:
    """One time slot of a stacked bar chart: counts per series and the line's value (None: no data)."""

    start: dt.datetime
    counts: Mapping[str, int]
    line: float | None = None


@dataclass(frozen=True)
class Point:
    at: dt.datetime
    value: float
    series: str
    label: str = ""


def nice_max(value: float) -> float:
    """The axis top: four equal steps of 1, 2 or 5 x 10^n, reaching value (at least 4)."""
    step = max(value, 4) / 4
    magnitude = 10 ** math.floor(math.log10(step))
    return 4 * next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= step)


def _n(value: float) -> str:
    """A coordinate, formatted before format_html (which turns its arguments into strings)."""
    return f"{value:.1f}"


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _when(at: dt.datetime, pattern: str) -> str:
    return timezone.localtime(at).strftime(pattern) if timezone.is_aware(at) else at.strftime(pattern)


def _frame(left_max: float, right_max: float | None, left_unit: str, right_unit: str) -> list[SafeString]:
    parts = []
    for i in range(5):
        y = _n(TOP + PLOT_H * i / 4)
        parts.append(format_html('<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>', LEFT, WIDTH - RIGHT, y, y))
        label_y = _n(TOP + PLOT_H * i / 4 + 4)
        parts.append(format_html('<text x="{}" y="{}" class="axis" text-anchor="end">{}</text>',
                                 LEFT - 4, label_y, _short(left_max * (4 - i) / 4)))  # fmt: skip
        if right_max is not None:
            parts.append(format_html('<text x="{}" y="{}" class="axis">{}</text>',
                                     WIDTH - RIGHT + 4, label_y, _short(right_max * (4 - i) / 4)))  # fmt: skip
    parts.append(format_html('<text x="2" y="{}" class="axis">{}</text>', TOP - 4, left_unit))
    if right_max is not None:
        parts.append(format_html('<text x="{}" y="{}" class="axis">{}</text>', WIDTH - RIGHT + 4, TOP - 4, right_unit))
    return parts


def _svg(title: str, parts: list[SafeString]) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>{}</svg>",
        WIDTH, HEIGHT, title, title, format_html_join("", "{}", ((part,) for part in parts)),
    )  # fmt: skip


def stacked_bars(
    buckets: Sequence[Bucket], colours: Mapping[str, str], *, title: str, unit: str, line_unit: str
) -> SafeString:
    """Bars stacked by series per bucket, and a line (e.g. latency) on the right-hand axis."""
    left_max = nice_max(max((sum(b.counts.values()) for b in buckets), default=0))
    right_max = nice_max(max((b.line for b in buckets if b.line is not None), default=0))
    parts = _frame(left_max, right_max, unit, line_unit)
    slot = PLOT_W / max(1, len(buckets))
    points = []
    for i, bucket in enumerate(buckets):
        x, y = LEFT + i * slot, TOP + PLOT_H
        for series, count in sorted(bucket.counts.items()):
            if not count:
                continue
            h = PLOT_H * count / left_max
            y -= h
            parts.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-series="{}"><title>{}: {} {}</title></rect>',
                _n(x + 1), _n(y), _n(max(1.0, slot - 2)), _n(h), colours.get(series, FALLBACK), series,
                _when(bucket.start, "%H:%M"), count, series,
            ))  # fmt: skip
        if bucket.line is not None:
            points.append((_n(x + slot / 2), _n(TOP + PLOT_H - PLOT_H * bucket.line / right_max)))
        if i % max(1, len(buckets) // 8) == 0:
            parts.append(format_html('<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>',
                                     _n(x + slot / 2), HEIGHT - 8, _when(bucket.start, "%H:%M")))  # fmt: skip
    if points:
        parts.append(format_html('<polyline points="{}" class="line"/>', " ".join(f"{x},{y}" for x, y in points)))
        parts.append(format_html_join("", '<circle cx="{}" cy="{}" r="2.5" class="line-dot"/>', points))
    return _svg(title, parts)


def scatter(
    points: Sequence[Point], colours: Mapping[str, str], *, start: dt.datetime, end: dt.datetime, title: str, unit: str
) -> SafeString:
    """One dot per event over a time window, coloured by series (e.g. each check's latency by outcome)."""
    top = nice_max(max((p.value for p in points), default=0))
    parts = _frame(top, None, unit, "")
    span = max(1.0, (end - start).total_seconds())
    for i in range(7):
        parts.append(format_html('<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>',
                                 _n(LEFT + PLOT_W * i / 6), HEIGHT - 8,
                                 _when(start + (end - start) * i / 6, "%m-%d %H:%M")))  # fmt: skip
    for p in points:
        x = LEFT + PLOT_W * (p.at - start).total_seconds() / span
        y = TOP + PLOT_H - PLOT_H * p.value / top
        parts.append(format_html(
            '<circle cx="{}" cy="{}" r="3.5" fill="{}" data-series="{}"><title>{} {} {}</title></circle>',
            _n(x), _n(y), colours.get(p.series, FALLBACK), p.series, _when(p.at, "%Y-%m-%d %H:%M:%S"), p.series,
            p.label,
        ))  # fmt: skip
    return _svg(title, parts)
