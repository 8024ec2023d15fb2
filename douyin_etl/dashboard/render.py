"""Server-side HTML for the dashboard: one page, inline CSS, inline SVG, plain GET filter form.

Tables are specs (``TableSpec`` of ``Column``) walked by one renderer; money is shown as yuan with
thousands separators (fen columns converted exactly through ``money.fen_to_yuan``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from douyin_etl.dashboard import charts
from douyin_etl.dashboard.data import Comparison, DashboardData, Filters
from douyin_etl.money import fen_to_yuan
from douyin_etl.timeutil import SHANGHAI

# ---------------------------------------------------------------- formatting


def fmt_yuan(v: Decimal | float | int | None) -> str:
    if v is None:
        return "–"
    d = Decimal(str(v)).quantize(Decimal("0.01"))
    return f"-¥{-d:,.2f}" if d < 0 else f"¥{d:,.2f}"


def fmt_fen(v: int | None) -> str:
    return "–" if v is None else fmt_yuan(fen_to_yuan(int(v)))


def fmt_int(v: int | None) -> str:
    return "–" if v is None else f"{int(v):,}"


def fmt_pct(v: float | None) -> str:
    return "–" if v is None else f"{float(v):.1%}"


def fmt_num(v: float | None) -> str:
    return "–" if v is None else f"{float(v):,.2f}"


def fmt_text(v: Any) -> str:
    return "–" if v is None else str(v)


FORMATS: dict[str, Callable[[Any], str]] = {
    "yuan": fmt_yuan,
    "fen": fmt_fen,
    "int": fmt_int,
    "pct": fmt_pct,
    "num": fmt_num,
    "text": fmt_text,
}
NUMERIC = {"yuan", "fen", "int", "pct", "num"}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    fmt: str = "text"


@dataclass(frozen=True)
class TableSpec:
    rows_key: str
    columns: tuple[Column, ...]
    empty: str = "所选期间无数据 · nothing in the period"


def C(key: str, zh: str, en: str, fmt: str = "text") -> Column:  # noqa: N802 - a short spec constructor
    return Column(key, zh, en, fmt)


TABLES: dict[str, TableSpec] = {
    "creators": TableSpec(
        "creators",
        (
            C("author_name", "达人", "creator"),
            C("author_id", "达人ID", "author id"),
            C("shop_id", "店铺", "shop"),
            C("orders", "订单数", "orders", "int"),
            C("gmv_yuan", "成交金额", "GMV", "yuan"),
            C("refund_rate", "退款率", "refund rate", "pct"),
            C("commission_yuan", "佣金", "commission", "yuan"),
            C("roi", "达人ROI", "ROI", "num"),
        ),
    ),
    "live": TableSpec(
        "live",
        (
            C("anchor_name", "主播", "anchor"),
            C("shop_id", "店铺", "shop"),
            C("sessions", "场次", "sessions", "int"),
            C("viewers", "观看人数", "viewers", "int"),
            C("watch_pv", "观看人次", "watch sessions", "int"),
            C("orders", "订单数", "orders", "int"),
            C("gmv_yuan", "成交金额", "GMV", "yuan"),
            C("gpm_yuan", "千次观看成交", "GPM", "yuan"),
        ),
    ),
    "alerts": TableSpec(
        "alerts",
        (
            C("alert_type", "预警类型", "alert"),
            C("shop_id", "店铺", "shop"),
            C("warehouse_id", "仓库", "warehouse"),
            C("product_name", "商品", "product"),
            C("sku_spec", "规格", "SKU spec"),
            C("sku_id", "SKU", "sku"),
            C("available_qty", "可用库存", "available", "int"),
            C("avg_daily_units", "日均销量", "units/day", "num"),
            C("days_of_cover", "可售天数", "days of cover", "num"),
            C("lead_time_days", "补货周期", "lead time (d)", "int"),
            C("last_sale_date", "最近动销", "last sale"),
        ),
        "无库存预警 · no inventory alerts",
    ),
    "replenishment": TableSpec(
        "replenishment",
        (
            C("shop_id", "店铺", "shop"),
            C("warehouse_id", "仓库", "warehouse"),
            C("product_name", "商品", "product"),
            C("sku_spec", "规格", "SKU spec"),
            C("sku_id", "SKU", "sku"),
            C("available_qty", "可用库存", "available", "int"),
            C("avg_daily_units", "日均销量", "units/day", "num"),
            C("reorder_point_units", "补货点", "reorder point", "num"),
            C("lead_time_days", "补货周期", "lead time (d)", "int"),
            C("suggested_order_qty", "建议补货量", "suggested qty", "int"),
        ),
        "无需补货 · nothing to reorder",
    ),
    "recon_status": TableSpec(
        "recon_status",
        (
            C("status", "对账状态", "status"),
            C("lines", "子订单数", "SKU orders", "int"),
            C("pay_fen", "实付金额", "paid", "fen"),
            C("over_fen", "多结算", "settled too much", "fen"),
            C("under_fen", "少结算", "settled too little", "fen"),
        ),
    ),
    "recon_reasons": TableSpec(
        "recon_reasons",
        (
            C("reason", "差异原因", "reason"),
            C("lines", "子订单数", "SKU orders", "int"),
            C("over_fen", "多结算", "settled too much", "fen"),
            C("under_fen", "少结算", "settled too little", "fen"),
        ),
        "无对账差异 · no discrepancies",
    ),
    "discrepancies": TableSpec(
        "discrepancies",
        (
            C("sku_order_id", "子订单号", "SKU order"),
            C("shop_id", "店铺", "shop"),
            C("product_name", "商品", "product"),
            C("pay_date", "支付日", "pay day"),
            C("reason", "原因", "reason"),
            C("pay_fen", "实付", "paid", "fen"),
            C("expected_net_fen", "应结算", "expected", "fen"),
            C("settled_fen", "已结算", "settled", "fen"),
            C("difference_fen", "差异", "difference", "fen"),
        ),
        "无对账差异 · no discrepancies",
    ),
    "pnl": TableSpec(
        "pnl",
        (
            C("date_day", "日期", "day"),
            C("gmv_yuan", "成交金额", "GMV", "yuan"),
            C("subsidy_yuan", "平台/达人补贴", "subsidies", "yuan"),
            C("refund_yuan", "退款", "refunds", "yuan"),
            C("net_revenue_yuan", "净收入", "net revenue", "yuan"),
            C("fees_yuan", "平台+招商服务费", "fees", "yuan"),
            C("commission_yuan", "佣金", "commission", "yuan"),
            C("ad_spend_yuan", "千川投放", "ad spend", "yuan"),
            C("freight_yuan", "运费", "freight", "yuan"),
            C("cogs_yuan", "商品成本", "COGS", "yuan"),
            C("contribution_margin_yuan", "贡献毛利", "contribution margin", "yuan"),
        ),
    ),
}

ALERT_LABELS = {
    "stockout_risk": "缺货风险 stock-out risk",
    "slow_mover": "滞销 slow mover",
    "overstock": "积压 overstock",
}
REASON_LABELS = {
    "duplicate_settlement": "重复结算 duplicate settlement",
    "missing_settlement": "缺失结算 missing settlement",
    "refund_not_reversed": "退款未冲回 refund not reversed",
    "fee_mismatch": "费用不符 fee mismatch",
}
STATUS_LABELS = {
    "settled": "已结算 settled",
    "pending": "待结算 pending",
    "refunded": "已退款 refunded",
    "discrepancy": "差异 discrepancy",
}


def csv_value(v: Any, fmt: str) -> str:
    """A cell as plain text for a CSV: exact decimals (fen shown as yuan), no ¥ or thousands separators."""
    if v is None:
        return ""
    if fmt == "fen":
        return str(fen_to_yuan(int(v)))
    return str(v)


def csv_link(name: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]], filters: Filters | None) -> str:
    """A download link holding the rows as CSV in a data: URI (UTF-8 with a BOM, so Excel reads Chinese).

    Offline by construction: the file is in the page; no request is made when it is downloaded.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"{c.zh} {c.en}" + (" (元 yuan)" if c.fmt == "fen" else "") for c in columns])
    for r in rows:
        writer.writerow([csv_value(r.get(c.key), c.fmt) for c in columns])
    scope = f"_{filters.shop or 'all'}_{filters.start}_{filters.end}" if filters else ""
    href = "data:text/csv;charset=utf-8," + quote("\ufeff" + out.getvalue(), safe="")
    return (
        f'<a class="csv" data-csv="{escape(name)}" download="{escape(name + scope)}.csv" href="{href}">'
        f"下载 CSV download</a>"
    )


def render_table(
    spec: TableSpec,
    rows: Sequence[dict[str, Any]],
    *,
    total: dict[str, Any] | None = None,
    filters: Filters | None = None,
) -> str:
    if not rows:
        return f'<p class="empty">{escape(spec.empty)}</p>'
    head = "".join(
        f'<th class="{"n" if c.fmt in NUMERIC else ""}">{escape(c.zh)}<br><small>{escape(c.en)}</small></th>'
        for c in spec.columns
    )

    def cells(row: dict[str, Any], tag: str = "td") -> str:
        out = []
        for c in spec.columns:
            value = FORMATS[c.fmt](row.get(c.key)) if c.key in row else ""
            if c.key == "alert_type":
                value = ALERT_LABELS.get(row[c.key], value)
            elif c.key == "status":
                value = STATUS_LABELS.get(row[c.key], value)
            elif c.key == "reason":
                value = REASON_LABELS.get(row[c.key], value)
            out.append(f'<{tag} class="{"n" if c.fmt in NUMERIC else ""}" data-col="{c.key}">{escape(value)}</{tag}>')
        return "".join(out)

    body = "".join(f"<tr>{cells(r)}</tr>" for r in rows)
    foot = f'<tfoot><tr class="total">{cells(total, "th")}</tr></tfoot>' if total else ""
    return (
        f'<div class="scroll"><table data-table="{spec.rows_key}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody>{foot}</table></div>"
        f'<p class="dl">{csv_link(spec.rows_key, spec.columns, rows, filters)}</p>'
    )


# ---------------------------------------------------------------- sections


def _section(key: str, zh: str, en: str, body: str, error: str | None = None, note: str = "") -> str:
    err = f'<p class="panel-error">该板块加载失败 · panel failed: {escape(error)}</p>' if error else ""
    note_html = f'<p class="muted">{note}</p>' if note else ""
    return (
        f'<section id="{key}" data-section="{key}"><h2>{escape(zh)} <small>{escape(en)}</small></h2>'
        f"{note_html}{err}{body}</section>"
    )


KPIS = (
    ("gmv", "gmv_yuan", "成交金额", "GMV", "yuan"),
    ("net_sales", "net_sales_yuan", "净成交", "net sales", "yuan"),
    ("orders", "orders", "支付订单数", "orders", "int"),
    ("buyers", "buyers", "成交人数", "buyers", "int"),
    ("aov", "aov_yuan", "客单价", "AOV", "yuan"),
    ("refund_rate", "refund_rate", "退款率", "refund rate", "pct"),
    ("contribution_margin", "contribution_margin_yuan", "贡献毛利", "contribution margin", "yuan"),
)


CMP_LABELS = {"prev": ("环比", "vs previous period"), "yoy": ("同比", "vs same days last year")}


def change(now: Any, before: Any, fmt: str) -> str:
    """The change from ``before`` to ``now``: relative for amounts and counts, percentage points for rates."""
    if now is None or before is None:
        return ""
    if fmt == "pct":
        return f"{(float(now) - float(before)) * 100:+.1f} pp"
    if float(before) == 0:
        return ""
    return f"{(float(now) - float(before)) / abs(float(before)):+.1%}"


LOWER_IS_BETTER = {"refund_rate"}  # a rising refund rate is shown as bad news


def _cmp_line(cmp: Comparison, col: str, fmt: str, now: Any) -> str:
    zh = CMP_LABELS[cmp.key][0]
    if cmp.row is None:
        return f'<div class="cmp" data-cmp="{cmp.key}">{zh} <span class="nodata">无数据 no data</span></div>'
    before = cmp.row.get(col)
    delta = change(now, before, fmt)
    better = delta.startswith("+") != (col in LOWER_IS_BETTER)
    cls = " up" if better else " down"
    delta_html = f' <span class="delta{cls}">{escape(delta)}</span>' if delta else ""
    return (
        f'<div class="cmp" data-cmp="{cmp.key}">{zh} <span class="cv">{escape(FORMATS[fmt](before))}</span>'
        f"{delta_html}</div>"
    )


def section_kpis(data: DashboardData) -> str:
    row = (data.rows.get("kpis") or [{}])[0]
    cards = "".join(
        f'<div class="kpi" data-kpi="{key}"><div class="kl">{zh}<small>{en}</small></div>'
        f'<div class="kv{" neg" if (row.get(col) or 0) < 0 else ""}">{escape(FORMATS[fmt](row.get(col)))}</div>'
        + "".join(_cmp_line(c, col, fmt, row.get(col)) for c in data.comparisons)
        + "</div>"
        for key, col, zh, en, fmt in KPIS
    )
    periods = " · ".join(
        f"{CMP_LABELS[c.key][0]} {CMP_LABELS[c.key][1]}: {c.filters.start} → {c.filters.end}"
        + ("" if c.row is not None else " (不在已发布数据内 not in the published data)")
        for c in data.comparisons
    )
    note = escape(
        "退款按退款成功日；退款率 = 退款 ÷ GMV · refunds dated by refund day; refund rate = refunds ÷ GMV"
    ) + (f"<br>{escape(periods)} · 退款率的变化为百分点 rate changes in percentage points" if periods else "")
    return _section(
        "kpis", "核心指标", "key figures", f'<div class="kpis">{cards}</div>', data.errors.get("kpis"), note
    )


def _days(f: Filters) -> list[date]:
    return [f.start + timedelta(days=i) for i in range((f.end - f.start).days + 1)]


DAILY_CHANNEL_COLUMNS = (
    C("date_day", "日期", "day"),
    C("channel", "渠道", "channel"),
    C("gmv_yuan", "成交金额", "GMV", "yuan"),
    C("net_sales_yuan", "净成交", "net sales", "yuan"),
)


def section_trend(data: DashboardData) -> str:
    rows = data.rows.get("daily_channel", [])
    days = _days(data.filters)
    gmv = {d: Decimal(0) for d in days}
    net = {d: Decimal(0) for d in days}
    channels: dict[str, dict[date, Decimal]] = {}
    for r in rows:
        gmv[r["date_day"]] = gmv.get(r["date_day"], Decimal(0)) + (r["gmv_yuan"] or 0)
        net[r["date_day"]] = net.get(r["date_day"], Decimal(0)) + (r["net_sales_yuan"] or 0)
        channels.setdefault(r["channel"], {})[r["date_day"]] = r["gmv_yuan"] or Decimal(0)
    if not rows:
        days = []
    trend = charts.responsive(
        lambda fr: charts.trend_chart(
            days, [gmv[d] for d in days], [net[d] for d in days], bar_label="GMV", line_label="net sales", fr=fr
        )
    )
    if rows:
        trend += f'<p class="dl">{csv_link("daily_channel", DAILY_CHANNEL_COLUMNS, rows, data.filters)}</p>'
    legend = (
        '<div class="legend"><span class="lg"><i style="background:#fe2c55"></i>成交金额 GMV</span>'
        '<span class="lg"><i style="background:#1d2129;height:3px"></i>净成交 net sales</span></div>'
    )
    order = sorted(channels, key=lambda c: -sum(channels[c].values()))
    series = {c: [channels[c].get(d, Decimal(0)) for d in days] for c in order}
    totals = "".join(
        f'<span class="chip" data-channel="{escape(c)}">{escape(charts.CHANNEL_LABELS.get(c, c))} '
        f"{fmt_yuan(sum(channels[c].values()))}</span>"
        for c in order
    )
    err = data.errors.get("daily_channel")
    return _section("trend", "每日成交趋势", "daily GMV trend", legend + trend, err) + _section(
        "channels",
        "渠道构成",
        "channel mix (share of daily GMV)",
        charts.legend(order)
        + charts.responsive(lambda fr: charts.stacked_chart(days, series, fr))
        + f'<div class="chips">{totals}</div>',
        err,
    )


FUNNEL_STEPS = (
    ("exposures", "曝光 exposure"),
    ("clicks", "点击 click"),
    ("add_to_carts", "加购 cart"),
    ("orders", "下单 order"),
    ("pays", "支付 pay"),
)


def section_funnel(data: DashboardData) -> str:
    row = (data.rows.get("funnel") or [{}])[0]
    steps = [(label, int(row.get(key) or 0)) for key, label in FUNNEL_STEPS]
    rates = []
    for (key, label), (_, value), (_, prev) in zip(FUNNEL_STEPS[1:], steps[1:], steps[:-1]):
        rates.append(
            f'<span class="chip" data-rate="{key}">{escape(label)} {fmt_pct(value / prev if prev else None)}</span>'
        )
    overall = fmt_pct(steps[-1][1] / steps[0][1] if steps[0][1] else None)
    body = (
        charts.responsive(lambda fr: charts.funnel_chart(steps, fr))
        if steps[0][1]
        else '<p class="empty">所选期间无罗盘数据 · no funnel data</p>'
    )
    body += f'<div class="chips">{"".join(rates)}<span class="chip" data-rate="overall">曝光→支付 exposure→pay {overall}</span></div>'
    return _section("funnel", "转化漏斗", "funnel (罗盘)", body, data.errors.get("funnel"))


def section_table(
    key: str, zh: str, en: str, data: DashboardData, note: str = "", total: dict[str, Any] | None = None
) -> str:
    spec = TABLES[key]
    return _section(
        key,
        zh,
        en,
        render_table(spec, data.rows.get(spec.rows_key, []), total=total, filters=data.filters),
        data.errors.get(spec.rows_key),
        note,
    )


def section_inventory(data: DashboardData) -> str:
    counts = data.rows.get("alert_counts", [])
    day = counts[0]["alert_date"] if counts else None
    chips = "".join(
        f'<span class="chip alert-{escape(r["alert_type"])}" data-alert="{escape(r["alert_type"])}">'
        f"{escape(ALERT_LABELS.get(r['alert_type'], r['alert_type']))} {fmt_int(r['alerts'])}</span>"
        for r in counts
    )
    n_alerts = sum(r["alerts"] for r in counts)
    shown = len(data.rows.get("alerts", []))
    alerts_note = (
        f"截至 as of {day} · 共 {n_alerts:,} 条，显示前 {shown} 条 (stock-out risk first)"
        if day
        else "所选期间无库存预警 · no alerts in the period"
    )
    repl = data.rows.get("replenishment", [])
    repl_total = repl[0]["total_rows"] if repl else 0
    repl_note = (
        f"截至 as of {repl[0]['as_of_date']} · 需补货 {repl_total:,} 个 SKU×仓 (showing {len(repl)})" if repl else ""
    )
    body = (
        f'<div class="chips">{chips}</div><p class="muted">{escape(alerts_note)}</p>'
        + render_table(TABLES["alerts"], data.rows.get("alerts", []), filters=data.filters)
        + f'<h3>补货建议 <small>replenishment</small></h3><p class="muted">{escape(repl_note)}</p>'
        + render_table(TABLES["replenishment"], repl, filters=data.filters)
    )
    err = data.errors.get("alerts") or data.errors.get("alert_counts") or data.errors.get("replenishment")
    return _section("inventory", "库存预警与补货", "inventory alerts and replenishment", body, err)


def section_reconciliation(data: DashboardData) -> str:
    status = data.rows.get("recon_status", [])
    as_of = status[0]["as_of_date"] if status else None
    counts = {r["status"]: r["lines"] for r in status}
    chips = "".join(
        f'<span class="chip status-{s}" data-status="{s}">{escape(STATUS_LABELS[s])} {fmt_int(counts.get(s, 0))}</span>'
        for s in STATUS_LABELS
    )
    note = f"按支付日筛选，对账截至 {as_of} · SKU orders paid in the period, status as of {as_of}" if as_of else ""
    disc = next((r for r in status if r["status"] == "discrepancy"), None)
    split = (
        f'<p class="split">差异金额不轧差 · never netted: '
        f'<span class="chip over" data-split="over">多结算 settled too much {fmt_fen(disc["over_fen"])}</span>'
        f'<span class="chip under" data-split="under">少结算 settled too little {fmt_fen(disc["under_fen"])}</span></p>'
        if disc
        else ""
    )
    body = (
        f'<div class="chips">{chips}</div>{split}'
        + render_table(TABLES["recon_status"], status, filters=data.filters)
        + "<h3>差异原因 <small>discrepancy reasons</small></h3>"
        + render_table(TABLES["recon_reasons"], data.rows.get("recon_reasons", []), filters=data.filters)
        + "<h3>差异明细 <small>discrepancies (largest first, top 50)</small></h3>"
        + render_table(TABLES["discrepancies"], data.rows.get("discrepancies", []), filters=data.filters)
    )
    err = data.errors.get("recon_status") or data.errors.get("recon_reasons") or data.errors.get("discrepancies")
    return _section("reconciliation", "结算对账", "settlement reconciliation", body, err, escape(note))


def section_pnl(data: DashboardData) -> str:
    rows = data.rows.get("pnl", [])
    total: dict[str, Any] | None = None
    if rows:
        total = {c.key: sum((r[c.key] or 0) for r in rows) for c in TABLES["pnl"].columns if c.fmt == "yuan"}
        total["date_day"] = "合计 total"
    return section_table("pnl", "每日损益", "daily P&L (contribution margin)", data, total=total)


# ---------------------------------------------------------------- page

CSS = """
*{box-sizing:border-box}body{font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",
Segoe UI,Roboto,sans-serif;margin:0;background:#f2f3f5;color:#1d2129}
header{background:#161823;color:#fff;padding:14px 28px}header h1{margin:0;font-size:20px}
header h1 small,h2 small,h3 small{font-weight:400;color:#86909c;font-size:13px;margin-left:6px}
header .meta{color:#c9cdd4;font-size:12px;margin-top:4px}
main{max-width:1120px;margin:0 auto;padding:16px}
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end;background:#fff;padding:12px 16px;
border-radius:8px;margin-bottom:12px}form.filters label{font-size:12px;color:#4e5969;display:flex;flex-direction:column}
form.filters select,form.filters input{font-size:14px;padding:4px 6px;margin-top:2px}
form.filters button{background:#fe2c55;color:#fff;border:0;border-radius:4px;padding:7px 16px;font-size:14px}
.quick a{font-size:13px;margin-right:10px;color:#3c8dde}
section{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:12px}
h2{font-size:16px;margin:2px 0 10px}h3{font-size:14px;margin:14px 0 6px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.kpi{background:#f7f8fa;border-radius:6px;padding:10px 12px}.kl{font-size:12px;color:#4e5969}
.kl small{display:block;color:#86909c}.kv{font-size:20px;font-weight:600;margin-top:4px;white-space:nowrap}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{border-bottom:1px solid #e5e6eb;padding:5px 8px;text-align:left;white-space:nowrap}
th{background:#f7f8fa;font-weight:600}th small{font-weight:400;color:#86909c}.n{text-align:right}
tr.total th{background:#fff7e8}
.chips{margin:8px 0}.chip{display:inline-block;background:#f2f3f5;border-radius:12px;padding:3px 10px;
font-size:12.5px;margin:2px 6px 2px 0}.status-discrepancy,.alert-stockout_risk{background:#ffece8;color:#cb2634}
.legend{font-size:12px;color:#4e5969}.lg{margin-right:14px}.lg i{display:inline-block;width:10px;height:10px;
margin-right:4px;border-radius:2px;vertical-align:middle}
.kv.neg{color:#cb2634}
.muted{color:#86909c;font-size:12px;margin:4px 0}.empty{color:#86909c;font-size:13px}
.panel-error,.page-error{background:#ffece8;color:#cb2634;padding:8px 12px;border-radius:6px}
nav.toc{position:sticky;top:0;z-index:2;background:#161823;padding:6px 16px;white-space:nowrap;overflow-x:auto}
nav.toc a{color:#fff;text-decoration:none;font-size:13px;margin-right:14px;display:inline-block;padding:4px 0}
nav.toc small{color:#c9cdd4;font-size:11px;margin-left:3px}
section{scroll-margin-top:44px}header .meta,.muted{overflow-wrap:anywhere}
.cmp{font-size:11.5px;color:#4e5969;margin-top:3px}.cmp .cv{color:#1d2129}.nodata{color:#86909c}
.delta.up{color:#00a870}.delta.down{color:#cb2634}
.split .over{background:#fff7e8;color:#a15c00}.split .under{background:#ffece8;color:#cb2634}
.dl{margin:4px 0 0;font-size:12px}.dl a{color:#3c8dde}
.chart-narrow{display:none}
@media (max-width:640px){
header{padding:10px 12px}main{padding:8px}section{padding:10px 10px}
.chart-wide{display:none}.chart-narrow{display:block}
.kpis{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}.kv{font-size:17px}
form.filters{padding:10px}form.filters label{flex:1 1 40%}form.filters input,form.filters select{width:100%}
table{font-size:12px}
}
"""


def _page(title: str, header_meta: str, body: str, nav: str = "") -> str:
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><header><h1>抖店经营看板<small>Douyin shop dashboard · read-only</small>"
        f'</h1><div class="meta">{header_meta}</div></header>{nav}<main>{body}</main></body></html>'
    )


def _filter_form(data: DashboardData) -> str:
    b, f = data.bounds, data.filters
    options = ['<option value="all">全部店铺 all shops</option>'] + [
        f'<option value="{escape(s)}"{" selected" if s == f.shop else ""}>{escape(s)}</option>' for s in b.shops
    ]
    lo = f' min="{b.first_day}"' if b.first_day else ""
    hi = f' max="{b.last_day}"' if b.last_day else ""
    quick = []
    if b.last_day:
        shop = {"shop": f.shop} if f.shop else {}
        for label, days in (("近7天 last 7 days", 7), ("近30天 last 30 days", 30)):
            start = max(b.last_day - timedelta(days=days - 1), b.first_day or b.last_day)
            quick.append(f'<a href="?{escape(urlencode({**shop, "from": start, "to": b.last_day}))}">{label}</a>')
        quick.append(
            f'<a href="?{escape(urlencode({**shop, "from": b.first_day, "to": b.last_day}))}">全部 all data</a>'
        )
    return (
        f'<form class="filters" method="get" action="/">'
        f'<label>店铺 shop<select name="shop" onchange="this.form.submit()">{"".join(options)}</select></label>'
        f'<label>开始 from<input type="date" name="from" value="{f.start}"{lo}{hi}></label>'
        f'<label>结束 to<input type="date" name="to" value="{f.end}"{lo}{hi}></label>'
        f'<button type="submit">查询 apply</button><span class="quick">{"".join(quick)}</span></form>'
    )


SECTIONS: tuple[Callable[[DashboardData], str], ...] = (
    section_kpis,
    section_trend,
    section_funnel,
    lambda d: section_table(
        "creators",
        "达人排行",
        "creator leaderboard (top 10 by GMV)",
        d,
        "ROI = 净成交 ÷ 净佣金 · net GMV ÷ net commission",
    ),
    lambda d: section_table(
        "live",
        "直播场次",
        "live sessions by anchor",
        d,
        "GPM = 成交金额 ÷ 观看人次 × 1000 · GMV per 1,000 watch sessions",
    ),
    section_inventory,
    section_reconciliation,
    section_pnl,
)


NAV = (
    ("kpis", "核心指标", "KPIs"),
    ("trend", "趋势", "trend"),
    ("channels", "渠道", "channels"),
    ("funnel", "漏斗", "funnel"),
    ("creators", "达人", "creators"),
    ("live", "直播", "live"),
    ("inventory", "库存", "inventory"),
    ("reconciliation", "对账", "reconciliation"),
    ("pnl", "损益", "P&L"),
)


def _nav() -> str:
    links = "".join(f'<a href="#{key}">{escape(zh)}<small>{escape(en)}</small></a>' for key, zh, en in NAV)
    return f'<nav class="toc" aria-label="sections 板块">{links}</nav>'


def fmt_published(at: datetime | None) -> str:
    """A publish instant in Beijing time, labelled: ``2026-03-15 10:22:01 北京时间 (UTC+08:00)``."""
    if at is None:
        return "–"
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} 北京时间 (UTC+08:00)"


def render_dashboard(data: DashboardData) -> str:
    b, f = data.bounds, data.filters
    shop = f.shop or "全部店铺 all shops"
    meta = (
        f"期间 period {f.start} → {f.end} · 店铺 shop {escape(shop)} · 数据范围 data {b.first_day} → {b.last_day}"
        + (
            f" · 发布 published <time data-published>{escape(fmt_published(b.published_at))}</time> "
            f"(run {escape(b.run_id)})"
            if b.run_id
            else ""
        )
        + " · 日期为北京时间 business days Asia/Shanghai"
    )
    body = _filter_form(data) + "".join(section(data) for section in SECTIONS)
    return _page(f"抖店经营看板 {f.start}~{f.end}", meta, body, _nav())


def render_message(title_zh: str, title_en: str, message: str, *, error: bool = False) -> str:
    """A page with one message: nothing published yet, or a bad filter."""
    cls = "page-error" if error else "empty"
    body = (
        f'<section data-section="message"><h2>{escape(title_zh)} <small>{escape(title_en)}</small></h2>'
        f'<p class="{cls}">{escape(message)}</p><p><a href="/">返回默认视图 · back to the default view</a></p></section>'
    )
    return _page(title_en, "", body)
