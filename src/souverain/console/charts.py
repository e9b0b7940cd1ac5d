"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched.

Each chart has a title and a description for screen readers (``role="img"``), every bar or
point its value in a ``<title>`` (shown on hover), and meaning never rests on colour alone:
points are named in text, the Pareto front is drawn as a dashed line and listed in words. The
pages put the same numbers in a table next to each chart. Styling is by class (the console's
stylesheet): the pages' Content-Security-Policy forbids inline styles.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(width: int, height: int, title: str, desc: str, css: str) -> tuple[str, str]:
    uid = "chart-" + hashlib.sha1(f"{title}|{desc}".encode()).hexdigest()[:10]
    head = (
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
    )
    return head, "</svg>"


def bar_chart(
    title: str,
    points: Sequence[tuple[str, float | None]],
    fmt: Callable[[float], str],
    *,
    width: int = 480,
    height: int = 180,
) -> Markup:
    """Vertical bars, one per (label, value); ``None`` values are drawn as gaps."""
    left, right, top, bottom = 64, 12, 14, 34
    values = [v for _, v in points if v is not None]
    peak = max(values, default=0.0) or 1.0
    shown = [v for v in values if v]
    desc = (
        f"{len(points)} periods from {points[0][0]} to {points[-1][0]}; highest {fmt(max(values))}"
        if points and shown
        else "no data in this period"
    )
    head, tail = _open(width, height, title, desc, "bars")
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [head]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}"/>'
            f'<text class="tick" x="{left - 6}" y="{_n(y + 4)}" text-anchor="end">'
            f"{escape(fmt(peak * frac))}</text>"
        )
    step = plot_w / max(len(points), 1)
    bar_w = max(step * 0.75, 1.0)
    for i, (label, value) in enumerate(points):
        if value is None:
            continue
        h = plot_h * (value / peak)
        x = left + i * step + (step - bar_w) / 2
        parts.append(
            f'<rect class="bar" x="{_n(x)}" y="{_n(top + plot_h - h)}" width="{_n(bar_w)}" '
            f'height="{_n(max(h, 0.0))}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
        )
    if points:
        picks = sorted({0, len(points) // 2, len(points) - 1})
        for i in picks:
            x = left + i * step + step / 2
            anchor = (
                "start" if i == 0 and len(points) > 1 else ("end" if i == picks[-1] else "middle")
            )
            if len(points) == 1:
                anchor = "middle"
            parts.append(
                f'<text class="tick" x="{_n(x)}" y="{height - 12}" text-anchor="{anchor}">'
                f"{escape(points[i][0])}</text>"
            )
    if not shown:
        parts.append(
            f'<text class="empty" x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle">'
            "no data in this period</text>"
        )
    parts.append(tail)
    return Markup("".join(parts))


def share_bar(title: str, shares: Sequence[tuple[str, float]]) -> Markup:
    """One horizontal bar split into parts (fractions summing to 1), laid out in percent so
    that it spans any width without scaling its text. A part wide enough carries its name and
    share in text; the page lists all of them next to it."""
    uid = "chart-" + hashlib.sha1(f"{title}|{shares}".encode()).hexdigest()[:10]
    desc = "; ".join(f"{name}: {share:.0%}" for name, share in shares) or "no rows"
    parts = [
        f'<svg class="chart shares" width="100%" height="30" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
    ]
    x = 0.0
    for i, (name, share) in enumerate(shares):
        w = 100 * share
        parts.append(
            f'<rect class="part part{i % 4}" x="{x:.2f}%" y="0" width="{w:.2f}%" height="30">'
            f"<title>{escape(name)}: {share:.1%}</title></rect>"
        )
        if w >= 18:
            parts.append(
                f'<text class="in-part in-part{i % 4}" x="{x + 0.8:.2f}%" y="20">'
                f"{escape(name)} {share:.0%}</text>"
            )
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    x: float
    quality: float
    ci: tuple[float | None, float | None] = (None, None)


def scatter(
    title: str,
    points: Sequence[Point],
    x_label: str,
    front: Sequence[str],
    *,
    width: int = 640,
    height: int = 320,
) -> Markup:
    """Quality (0..1, up) against a cost-like metric (lower is better, right): each backend a
    named point with its 95 % interval, the Pareto front joined by a dashed line. A log scale
    when the values span more than 50x."""
    left, right, top, bottom = 52, 140, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    on_front = [p for p in points if p.name in front]
    desc = (
        f"{len(points)} backend(s); Pareto front: {', '.join(p.name for p in on_front) or 'none'}"
        if points
        else "not measured"
    )
    head, tail = _open(width, height, title, desc, "scatter")
    parts = [head]
    xs = [p.x for p in points]
    lo, hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    log = lo > 0 and hi / lo > 50

    def tx(v: float) -> float:
        return math.log10(v) if log else v

    a, b = tx(lo), tx(hi)
    if a == b:  # one value: centre it (from 0 when linear and positive)
        a, b = (0.0, 2 * a) if not log and a > 0 else (a - 1, b + 1)
    pad = (b - a) * 0.08
    a, b = a - pad, b + pad
    if not log and a < 0 <= lo:
        a = 0.0

    def X(v: float) -> float:
        return left + (tx(v) - a) / (b - a) * plot_w

    def Y(q: float) -> float:
        return top + (1 - q) * plot_h

    for i in range(5):
        q = i / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{_n(Y(q))}" y2="{_n(Y(q))}"/>'
            f'<text class="tick" x="{left - 6}" y="{_n(Y(q) + 4)}" text-anchor="end">{q:.2f}</text>'
        )
    for i in range(5):
        t = a + (b - a) * i / 4
        v = 10**t if log else t
        parts.append(
            f'<text class="tick" x="{_n(left + plot_w * i / 4)}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{escape(f"{v:.3g}")}</text>'
        )
    parts.append(
        f'<text class="axis" x="{left}" y="{height - 6}">{escape(x_label)} '
        f"(lower is better){' — log scale' if log else ''} →</text>"
        f'<text class="axis" x="14" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">quality →</text>'
    )
    if not points:
        parts.append(
            f'<text class="empty" x="{left + plot_w / 2}" y="{top + plot_h / 2}" '
            'text-anchor="middle">not measured</text>'
        )
    line = sorted(on_front, key=lambda p: p.x)
    if len(line) > 1:
        path = " ".join(f"{_n(X(p.x))},{_n(Y(p.quality))}" for p in line)
        parts.append(f'<polyline class="front" points="{path}"/>')
    for p in points:
        x, y = X(p.x), Y(p.quality)
        low, high = p.ci
        if low is not None and high is not None:
            parts.append(
                f'<line class="ci" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(Y(high))}" y2="{_n(Y(low))}"/>'
            )
        css = "point on-front" if p.name in front else "point"
        marker = "◆ " if p.name in front else ""
        parts.append(
            f'<circle class="{css}" cx="{_n(x)}" cy="{_n(y)}" r="5">'
            f"<title>{escape(p.name)}: quality {p.quality:.3g}, {escape(x_label)} {p.x:.3g}"
            f"</title></circle>"
            f'<text class="label" x="{_n(x + 8)}" y="{_n(y + 4)}">{escape(marker + p.name)}</text>'
        )
    parts.append(tail)
    return Markup("".join(parts))
