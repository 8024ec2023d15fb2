"""Inline SVG charts (no JS, no external assets): daily bars with a line, stacked bars, a funnel.

Each chart is drawn in two frames: ``WIDE`` (desktop) and ``NARROW`` (a phone: fewer pixels of width
in the viewBox, so the same text is larger on screen); ``responsive`` wraps both and the page's CSS
shows one by the screen width.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

CHANNEL_COLOURS = {"live": "#fe2c55", "video": "#14b8c4", "alliance": "#7b61ff", "card": "#ff9f1a", "search": "#3c8dde"}
FALLBACK_COLOURS = ("#86909c", "#00b42a", "#f53f3f", "#722ed1", "#eb0aa4")
CHANNEL_LABELS = {
    "live": "直播 live",
    "video": "短视频 video",
    "alliance": "精选联盟 alliance",
    "card": "商品卡 card",
    "search": "搜索 search",
}


@dataclass(frozen=True)
class Frame:
    w: int
    h: int
    pad_l: int
    pad_r: int
    pad_t: int
    pad_b: int
    font: int  # axis and label font size, viewBox units
    labels: int  # at most this many day labels on the x axis


WIDE = Frame(1040, 260, 70, 16, 16, 40, 11, 10)
NARROW = Frame(360, 240, 50, 6, 14, 34, 11, 4)


def colour(channel: str, index: int = 0) -> str:
    return CHANNEL_COLOURS.get(channel, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])


def _num(v: Decimal | float | int | None) -> float:
    return float(v or 0)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(v))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _short(value: float) -> str:
    """An axis label: 12,500 -> 12.5k, 3,400,000 -> 3.4M (the narrow frame has little room)."""
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(value) >= div:
            return f"{value / div:,.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:,.0f}"


def _axis(top: float, fr: Frame, unit: str = "¥") -> list[str]:
    parts = []
    plot_h = fr.h - fr.pad_t - fr.pad_b
    for i in range(5):
        value = top * i / 4
        y = fr.pad_t + plot_h - plot_h * i / 4
        label = f"{value:,.0f}" if fr is WIDE else _short(value)
        parts.append(f'<line x1="{fr.pad_l}" x2="{fr.w - fr.pad_r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e6eb"/>')
        parts.append(
            f'<text x="{fr.pad_l - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="{fr.font}" fill="#86909c">'
            f"{unit}{label}</text>"
        )
    return parts


def _x_labels(days: Sequence[date], slot: float, fr: Frame) -> list[str]:
    every = max(1, -(-len(days) // fr.labels))
    return [
        f'<text x="{fr.pad_l + slot * (i + 0.5):.1f}" y="{fr.h - fr.pad_b + 16}" text-anchor="middle" '
        f'font-size="{fr.font}" fill="#4e5969">{d.strftime("%m-%d")}</text>'
        for i, d in enumerate(days)
        if i % every == 0
    ]


def _svg(parts: list[str], label: str, fr: Frame, height: int | None = None) -> str:
    return (
        f'<svg role="img" aria-label="{escape(label)}" viewBox="0 0 {fr.w} {height or fr.h}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(parts) + "</svg>"
    )


def responsive(draw: Callable[[Frame], str]) -> str:
    """Both frames of a chart; CSS shows ``.chart-wide`` on wide screens and ``.chart-narrow`` on phones."""
    return f'<div class="chart-wide">{draw(WIDE)}</div><div class="chart-narrow">{draw(NARROW)}</div>'


def trend_chart(
    days: Sequence[date],
    bars: Sequence[Decimal],
    line: Sequence[Decimal],
    *,
    bar_label: str,
    line_label: str,
    fr: Frame = WIDE,
) -> str:
    """Bars (e.g. GMV) per day with a line (e.g. net sales) over them."""
    if not days:
        return '<p class="empty">所选期间无数据 · no data in the period</p>'
    top = _nice_max(max([_num(v) for v in bars] + [_num(v) for v in line] + [0]))
    plot_h, slot = fr.h - fr.pad_t - fr.pad_b, (fr.w - fr.pad_l - fr.pad_r) / len(days)
    parts = _axis(top, fr)
    base = fr.pad_t + plot_h
    for i, (d, v) in enumerate(zip(days, bars)):
        h = plot_h * max(_num(v), 0) / top
        parts.append(
            f'<rect x="{fr.pad_l + slot * i + slot * 0.15:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#fe2c55" opacity="0.8"><title>{d} {escape(bar_label)} '
            f"¥{_num(v):,.2f}</title></rect>"
        )
    points = " ".join(
        f"{fr.pad_l + slot * (i + 0.5):.1f},{base - plot_h * max(_num(v), 0) / top:.1f}" for i, v in enumerate(line)
    )
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1d2129" stroke-width="2"/>')
    parts += _x_labels(days, slot, fr)
    return _svg(parts, f"{bar_label} / {line_label}", fr)


def stacked_chart(days: Sequence[date], series: Mapping[str, Sequence[Decimal]], fr: Frame = WIDE) -> str:
    """One stacked bar per day, one segment per series (channel), shares of the day's total."""
    if not days:
        return '<p class="empty">所选期间无数据 · no data in the period</p>'
    plot_h, slot = fr.h - fr.pad_t - fr.pad_b, (fr.w - fr.pad_l - fr.pad_r) / len(days)
    parts = _axis(100, fr, unit="")
    parts.append(
        f'<text x="{fr.pad_l - 4}" y="{fr.pad_t - 4}" text-anchor="end" font-size="{fr.font}" fill="#86909c">%</text>'
    )
    base = fr.pad_t + plot_h
    for i, d in enumerate(days):
        total = sum(_num(values[i]) for values in series.values())
        y = float(base)
        for j, (name, values) in enumerate(series.items()):
            share = _num(values[i]) / total if total > 0 else 0.0
            h = plot_h * share
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{fr.pad_l + slot * i + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{colour(name, j)}"><title>{d} {escape(name)} '
                f"¥{_num(values[i]):,.2f} ({share:.1%})</title></rect>"
            )
    parts += _x_labels(days, slot, fr)
    return _svg(parts, "channel mix", fr)


def funnel_chart(steps: Sequence[tuple[str, int]], fr: Frame = WIDE) -> str:
    """Horizontal bars, widths on a square-root scale (exposures dwarf pays), counts and step rates.

    The narrow frame drops the step rates (the chips under the chart carry them) to keep the text large.
    """
    first = max((v for _, v in steps), default=0)
    wide = fr is WIDE
    row_h, font = 38, 13 if wide else fr.font + 1
    label_x, bar_x, bar_w, value_x = (190, 200, 620, 840) if wide else (104, 110, 170, 286)
    height = row_h * len(steps) + 8
    parts = []
    for i, (label, value) in enumerate(steps):
        width = bar_w * (value / first) ** 0.5 if first > 0 else 0
        y = 4 + i * row_h
        x = bar_x + (bar_w - width) / 2
        parts.append(
            f'<text x="{label_x}" y="{y + 21}" text-anchor="end" font-size="{font}" fill="#1d2129">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{max(width, 2):.1f}" height="{row_h - 8}" rx="3" '
            f'fill="#fe2c55" opacity="{1 - i * 0.13:.2f}"/>'
        )
        parts.append(f'<text x="{value_x}" y="{y + 21}" font-size="{font}" fill="#1d2129">{value:,}</text>')
        if i and wide:
            prev = steps[i - 1][1]
            rate = f"{value / prev:.1%}" if prev else "–"
            parts.append(f'<text x="950" y="{y + 21}" font-size="12" fill="#86909c">↓ {rate}</text>')
    return _svg(parts, "funnel", fr, height)


def legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<span class="lg"><i style="background:{colour(n, j)}"></i>{escape(CHANNEL_LABELS.get(n, n))}</span>'
        for j, n in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'
