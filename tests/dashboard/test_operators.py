"""What operators asked of the dashboard (issue 16): comparisons, discrepancies by reason, product names,
Beijing publish time, a CSV of each table, and a page that works on a phone (headless Chromium).

Figures are compared with SQL over the same published warehouse; the browser checks measure the laid-out
page at 390 px (an iPhone's width) and save screenshots as test artefacts (``DOUYIN_TEST_ARTEFACTS`` if
set, else the test's temp dir; the path is printed).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from test_pages import expected_kpis, get, money, table, where

pytestmark = pytest.mark.slow

KPI_COLUMNS = {
    "gmv": "gmv",
    "net_sales": "net_sales",
    "orders": "orders",
    "buyers": "buyers",
    "contribution_margin": "cm",
}


def cmp_value(page: str, kpi: str, which: str) -> str:
    m = re.search(rf'data-kpi="{kpi}">.*?<div class="cmp" data-cmp="{which}">(.*?)</div>', page, re.S)
    assert m, f"{kpi}: no {which} comparison"
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1)))


def cmp_figure(page: str, kpi: str, which: str) -> str:
    m = re.search(rf'data-kpi="{kpi}">.*?data-cmp="{which}">[^<]*<span class="cv">(.*?)</span>', page, re.S)
    assert m, f"{kpi}: no {which} figure"
    return html.unescape(m.group(1))


def test_each_kpi_shows_the_previous_period_and_says_when_last_year_has_no_data(dashboard_url, published) -> None:
    end = published.last_day
    start = end - timedelta(days=6)  # 7 days; the 7 before them are published too
    page = get(dashboard_url, shop="1000001", **{"from": str(start), "to": str(end)})
    prev = expected_kpis(published, "1000001", start - timedelta(days=7), start - timedelta(days=1))
    now = expected_kpis(published, "1000001", start, end)
    assert prev["gmv"] > 0
    for kpi, key in KPI_COLUMNS.items():
        shown = cmp_figure(page, kpi, "prev")
        value = money(shown) if "¥" in shown else int(shown.replace(",", ""))
        assert value == prev[key], kpi
    delta = float((now["gmv"] - prev["gmv"]) / prev["gmv"])
    assert f"{delta:+.1%}" in cmp_value(page, "gmv", "prev")
    rate_pp = float(now["refund"] / now["gmv"] - prev["refund"] / prev["gmv"]) * 100
    assert f"{rate_pp:+.1f} pp" in cmp_value(page, "refund_rate", "prev")
    for kpi in KPI_COLUMNS:  # the world starts in 2026: nothing a year earlier
        assert "no data" in cmp_value(page, kpi, "yoy")
    assert f"{start - timedelta(days=7)} → {start - timedelta(days=1)}" in page
    # the whole published range has no complete previous period: no comparison, said plainly
    whole = get(dashboard_url)
    assert "no data" in cmp_value(whole, "gmv", "prev")


def test_discrepancies_are_split_by_reason_and_never_netted(dashboard_url, published) -> None:
    full = where(None, published.first_day, published.last_day, "pay_date")
    expected = {
        reason: (lines, Decimal(over) / 100, Decimal(under) / 100)
        for reason, lines, over, under in published.query(
            "SELECT reason, count(*), coalesce(sum(difference_fen) FILTER (WHERE difference_fen > 0), 0), "
            "coalesce(sum(difference_fen) FILTER (WHERE difference_fen < 0), 0) "
            f"FROM finance.fin_order_reconciliation WHERE {full} AND status = 'discrepancy' GROUP BY 1"
        )
    }
    assert any(over and under for _, over, under in expected.values()), "a reason with both signs shows netting"
    page = get(dashboard_url)
    rows = table(page, "recon_reasons")
    from douyin_etl.dashboard.render import REASON_LABELS

    got = {
        next(k for k, v in REASON_LABELS.items() if v == r["reason"]): (
            int(r["lines"]),
            money(r["over_fen"]),
            money(r["under_fen"]),
        )
        for r in rows
    }
    assert got == expected
    over = sum(v[1] for v in expected.values())
    under = sum(v[2] for v in expected.values())
    m_over = re.search(r'data-split="over">[^<]*?(-?¥[\d,.]+)</span>', page)
    m_under = re.search(r'data-split="under">[^<]*?(-?¥[\d,.]+)</span>', page)
    assert m_over and m_under and (money(m_over.group(1)), money(m_under.group(1))) == (over, under)
    status = {r["status"]: r for r in table(page, "recon_status")}
    disc = status["差异 discrepancy"]
    assert (money(disc["over_fen"]), money(disc["under_fen"])) == (over, under)
    assert "difference_fen" not in re.search(r'<table data-table="recon_status">.*?</table>', page, re.S).group(0)


def test_products_are_named_beside_their_ids(dashboard_url, published) -> None:
    page = get(dashboard_url)
    names = dict(published.query("SELECT product_id, product_name FROM sales.dim_products"))
    alerts = table(page, "alerts")
    assert alerts
    skus = {
        sku: name
        for sku, name in published.query(
            "SELECT a.sku_id, p.product_name FROM inventory.inv_alerts a "
            "JOIN sales.dim_products p USING (shop_id, product_id)"
        )
    }
    for r in alerts:
        assert r["product_name"] == skus[r["sku_id"]] and r["product_name"] in names.values()
    for r in table(page, "replenishment") + table(page, "discrepancies"):
        assert r["product_name"] in names.values()


def test_publish_time_is_beijing_time_and_labelled(dashboard_url, published) -> None:
    (at,) = published.query("SELECT max(published_at) FROM _meta.publish_log")[0]
    beijing = at.astimezone(ZoneInfo("Asia/Shanghai"))
    page = get(dashboard_url)
    m = re.search(r"<time data-published>(.*?)</time>", page)
    assert m and html.unescape(m.group(1)) == f"{beijing:%Y-%m-%d %H:%M:%S} 北京时间 (UTC+08:00)"
    if at.utcoffset() is not None and at.astimezone(ZoneInfo("UTC")).hour != beijing.hour:
        assert f"{at.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M:%S}" not in page  # no UTC time shown as is


def csv_of(page: str, name: str) -> list[list[str]]:
    m = re.search(
        rf'<a class="csv" data-csv="{name}" download="([^"]+)" href="data:text/csv;charset=utf-8,([^"]+)"', page
    )
    assert m, f"no CSV download for {name}"
    assert m.group(1).endswith(".csv")
    text = unquote(html.unescape(m.group(2)))
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with a BOM
    return list(csv.reader(io.StringIO(text[1:])))


def test_every_table_downloads_as_csv_with_the_same_figures(dashboard_url, published) -> None:
    page = get(dashboard_url)
    tables = re.findall(r'<table data-table="(\w+)">', page)
    assert len(tables) >= 8
    for name in tables:
        rows = csv_of(page, name)
        assert len(rows) - 1 == len(table(page, name)), name
    pnl = csv_of(page, "pnl")
    col = next(i for i, h in enumerate(pnl[0]) if h.startswith("贡献毛利"))
    (cm,) = published.query(
        f"SELECT sum(contribution_margin_yuan) FROM finance.fin_pnl_daily WHERE "
        f"{where(None, published.first_day, published.last_day, 'date_day')}"
    )[0]
    assert sum(Decimal(r[col]) for r in pnl[1:]) == cm
    reasons = csv_of(page, "recon_reasons")
    assert reasons[0] == [
        "差异原因 reason",
        "子订单数 SKU orders",
        "多结算 settled too much (元 yuan)",
        "少结算 settled too little (元 yuan)",
    ]
    (over,) = published.query(
        "SELECT sum(difference_fen) FROM finance.fin_order_reconciliation WHERE status = 'discrepancy' "
        f"AND difference_fen > 0 AND {where(None, published.first_day, published.last_day, 'pay_date')}"
    )[0]
    assert sum(Decimal(r[2]) for r in reasons[1:]) == Decimal(over) / 100
    daily = csv_of(page, "daily_channel")
    (gmv,) = published.query(
        f"SELECT sum(gmv_yuan) FROM sales.sales_daily WHERE {where(None, published.first_day, published.last_day, 'date_day')}"
    )[0]
    assert sum(Decimal(r[2]) for r in daily[1:]) == gmv


# ---------------------------------------------------------------- in a browser

PROBE = """<script>
(function () {
  var out = {innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
             bodyWidth: document.body.scrollWidth, anchors: [], charts: [], wideVisible: 0, csv: 0, tables: 0};
  document.querySelectorAll('nav.toc a').forEach(function (a) {
    var id = a.getAttribute('href').slice(1), el = document.getElementById(id);
    out.anchors.push({id: id, found: !!el, visible: !!(el && el.offsetHeight > 0)});
  });
  document.querySelectorAll('svg').forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    if (box.width === 0) return;
    var scale = box.width / svg.viewBox.baseVal.width, min = 99;
    svg.querySelectorAll('text').forEach(function (t) { min = Math.min(min, parseFloat(t.getAttribute('font-size')) * scale); });
    out.charts.push({label: svg.getAttribute('aria-label'), width: box.width, right: box.right, minFontPx: min});
  });
  document.querySelectorAll('.chart-wide').forEach(function (c) { if (c.offsetParent) out.wideVisible++; });
  out.csv = document.querySelectorAll('a.csv[download]').length;
  out.tables = document.querySelectorAll('table[data-table]').length;
  window.parent.postMessage(JSON.stringify(out), '*');
})();
</script>"""

# Headless Chromium will not make a window narrower than 500 px: the page is measured inside an iframe of
# the phone's width (its own viewport: media queries, innerWidth and scrollWidth are the iframe's), and the
# probe inside it posts what it measured to this host page, whose DOM Chromium dumps.
HOST = """<!doctype html><html><body style="margin:0">
<iframe src="{src}" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<script>window.addEventListener('message', function (e) {{
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = e.data; document.body.appendChild(pre);
}});</script></body></html>"""


def artefacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("DOUYIN_TEST_ARTEFACTS") or tmp_path) / "dashboard"
    out.mkdir(parents=True, exist_ok=True)
    return out


def chromium(cmd: list[str], *args: str) -> str:
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_on_a_phone_the_page_fits_the_screen_and_the_charts_are_readable(
    dashboard_url, published, tmp_path, chromium_cmd
) -> None:
    end = published.last_day
    page = get(dashboard_url, **{"from": str(end - timedelta(days=6)), "to": str(end)})
    probed = tmp_path / "probed.html"  # the served page plus a script that measures the laid-out page
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    out = artefacts(tmp_path)
    results = {}
    for width in (390, 1280):
        host = tmp_path / f"host-{width}.html"
        host.write_text(HOST.format(src=probed.as_uri(), width=width, height=844), encoding="utf-8")
        dom = chromium(
            chromium_cmd,
            f"--window-size={max(width, 500)},900",
            "--virtual-time-budget=5000",
            "--dump-dom",
            host.as_uri(),
        )
        m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
        assert m, "the probe did not run"
        results[width] = json.loads(html.unescape(m.group(1)))
        shot = out / f"dashboard-{width}px.png"
        tall = tmp_path / f"tall-{width}.html"
        tall.write_text(HOST.format(src=probed.as_uri(), width=width, height=6000), encoding="utf-8")
        chromium(
            chromium_cmd,
            f"--window-size={width if width >= 500 else 500},6000",
            "--virtual-time-budget=3000",
            f"--screenshot={shot}",
            tall.as_uri(),
        )
        assert shot.stat().st_size > 10_000
    print(f"dashboard screenshots: {out}")
    phone, desk = results[390], results[1280]
    assert phone["innerWidth"] == 390
    assert (
        phone["scrollWidth"] <= phone["innerWidth"] and phone["bodyWidth"] <= phone["innerWidth"]
    )  # no sideways scroll
    assert desk["scrollWidth"] <= desk["innerWidth"]
    assert [a["id"] for a in phone["anchors"]] == [
        "kpis",
        "trend",
        "channels",
        "funnel",
        "creators",
        "live",
        "inventory",
        "reconciliation",
        "pnl",
    ]
    assert all(a["found"] and a["visible"] for a in phone["anchors"]), phone["anchors"]
    assert phone["wideVisible"] == 0 and desk["wideVisible"] == 3  # the phone sees the narrow charts only
    assert len(phone["charts"]) == 3
    for chart in phone["charts"]:
        assert chart["right"] <= 390 and chart["minFontPx"] >= 9, chart  # inside the screen, text ≥ 9 px
    assert phone["csv"] == phone["tables"] + 1 and phone["tables"] >= 6  # each table, and the daily trend figures
