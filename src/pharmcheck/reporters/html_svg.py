"""Inline SVG charts for the HTML report, drawn from counts (no script, no external library).

Labels are escaped; colours come from CSS classes (``v-<verdict>``), never from style
attributes, so the report's Content-Security-Policy needs no ``unsafe-inline``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

_CLASS_BAD = re.compile(r"[^a-z0-9_-]")


def css_class(name: str) -> str:
    return _CLASS_BAD.sub("", name.lower())[:30]


def hbar_chart(items: Sequence[tuple[str, int]], *, title: str, label_width: int = 150,
               classes: Sequence[str] | None = None, width: int = 460) -> str:
    """Horizontal bars, one per (label, value), with the value printed after the bar."""
    if not items:
        return f'<p class="empty">{escape(title)}: none</p>'
    row = 22
    top = max(v for _l, v in items) or 1
    span = width - label_width - 60
    height = row * len(items) + 6
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for n, (label, value) in enumerate(items):
        y = 3 + n * row
        w = max(1, round(span * value / top)) if value else 0
        cls = css_class(classes[n]) if classes else "bar"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" class="lbl">'
            f"{escape(label[:44])}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{w}" height="{row - 8}" class="bar {cls}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{label_width + w + 5}" y="{y + 15}" class="val">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(buckets: Sequence[int], *, title: str, width: int = 460, height: int = 170) -> str:
    """Vertical bars for score buckets 0-9 … 90-100."""
    top = max(buckets) if buckets and max(buckets) else 1
    n = len(buckets)
    left, bottom, plot_h = 30, 22, height - 40
    bw = (width - left - 6) / max(1, n)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}" class="axis"/>',
    ]
    for i, value in enumerate(buckets):
        h = round(plot_h * value / top)
        x = left + i * bw
        lo = i * 10
        label = f"{lo}-{lo + 9}" if i < n - 1 else f"{lo}-100"
        band = "low" if lo < 40 else "mid" if lo < 75 else "high"
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{height - bottom - h}" width="{bw - 4:.1f}" height="{h}" '
            f'class="bar s-{band}"><title>score {label}: {value}</title></rect>'
            f'<text x="{x + bw / 2:.1f}" y="{height - 6}" text-anchor="middle" class="tick">{lo}</text>'
        )
        if value:
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{height - bottom - h - 4}" text-anchor="middle" '
                f'class="val">{value}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
