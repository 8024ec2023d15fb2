"""Inline SVG charts (no JS, no external assets): daily bars with a line, stacked bars, a funnel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

W, H = 1040, 260
PAD_L, PAD_R, PAD_T, PAD_B = 70, 16, 16, 40


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


def _axis(top: float, unit: str = "¥") -> list[str]:
    parts = []
    plot_h = H - PAD_T - PAD_B
    for i in range(5):
        value = top * i / 4
        y = PAD_T + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e6eb"/>')
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#86909c">'
            f"{unit}{value:,.0f}</text>"
        )
    return parts


def _x_labels(days: Sequence[date], slot: float) -> list[str]:
    every = max(1, len(days) // 10)
    return [
        f'<text x="{PAD_L + slot * (i + 0.5):.1f}" y="{H - PAD_B + 16}" text-anchor="middle" font-size="11" '
        f'fill="#4e5969">{d.strftime("%m-%d")}</text>'
        for i, d in enumerate(days)
        if i % every == 0 or i == len(days) - 1
    ]


def _svg(parts: list[str], label: str, height: int = H) -> str:
    return (
        f'<svg role="img" aria-label="{escape(label)}" viewBox="0 0 {W} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(parts) + "</svg>"
    )


def trend_chart(
    days: Sequence[date], bars: Sequence[Decimal], line: Sequence[Decimal], *, bar_label: str, line_label: str
) -> str:
    """Bars (e.g. GMV) per day with a line (e.g. net sales) over them."""
    if not days:
        return '<p class="empty">所选期间无数据 · no data in the period</p>'
    top = _nice_max(max([_num(v) for v in bars] + [_num(v) for v in line] + [0]))
    plot_h, slot = H - PAD_T - PAD_B, (W - PAD_L - PAD_R) / len(days)
    parts = _axis(top)
    base = PAD_T + plot_h
    for i, (d, v) in enumerate(zip(days, bars)):
        h = plot_h * max(_num(v), 0) / top
        parts.append(
            f'<rect x="{PAD_L + slot * i + slot * 0.15:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#fe2c55" opacity="0.8"><title>{d} {escape(bar_label)} '
            f"¥{_num(v):,.2f}</title></rect>"
        )
    points = " ".join(
        f"{PAD_L + slot * (i + 0.5):.1f},{base - plot_h * max(_num(v), 0) / top:.1f}" for i, v in enumerate(line)
    )
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1d2129" stroke-width="2"/>')
    parts += _x_labels(days, slot)
    return _svg(parts, f"{bar_label} / {line_label}")


def stacked_chart(days: Sequence[date], series: Mapping[str, Sequence[Decimal]]) -> str:
    """One stacked bar per day, one segment per series (channel), shares of the day's total."""
    if not days:
        return '<p class="empty">所选期间无数据 · no data in the period</p>'
    plot_h, slot = H - PAD_T - PAD_B, (W - PAD_L - PAD_R) / len(days)
    parts = _axis(100, unit="")
    parts.append(f'<text x="{PAD_L - 6}" y="{PAD_T - 4}" text-anchor="end" font-size="11" fill="#86909c">%</text>')
    base = PAD_T + plot_h
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
                f'<rect x="{PAD_L + slot * i + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{colour(name, j)}"><title>{d} {escape(name)} '
                f"¥{_num(values[i]):,.2f} ({share:.1%})</title></rect>"
            )
    parts += _x_labels(days, slot)
    return _svg(parts, "channel mix")


def funnel_chart(steps: Sequence[tuple[str, int]]) -> str:
    """Horizontal bars, widths on a square-root scale (exposures dwarf pays), counts and step rates."""
    first = max((v for _, v in steps), default=0)
    row_h, height = 38, 38 * len(steps) + 8
    parts = []
    for i, (label, value) in enumerate(steps):
        width = 620 * (value / first) ** 0.5 if first > 0 else 0
        y = 4 + i * row_h
        x = 200 + (620 - width) / 2
        parts.append(
            f'<text x="190" y="{y + 21}" text-anchor="end" font-size="13" fill="#1d2129">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{max(width, 2):.1f}" height="{row_h - 8}" rx="3" '
            f'fill="#fe2c55" opacity="{1 - i * 0.13:.2f}"/>'
        )
        parts.append(f'<text x="840" y="{y + 21}" font-size="13" fill="#1d2129">{value:,}</text>')
        if i:
            prev = steps[i - 1][1]
            rate = f"{value / prev:.1%}" if prev else "–"
            parts.append(f'<text x="950" y="{y + 21}" font-size="12" fill="#86909c">↓ {rate}</text>')
    return _svg(parts, "funnel", height)


def legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<span class="lg"><i style="background:{colour(n, j)}"></i>{escape(CHANNEL_LABELS.get(n, n))}</span>'
        for j, n in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'
