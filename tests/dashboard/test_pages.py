"""The dashboard over a real published warehouse: every section, figures equal to the marts, filters.

The server runs in a thread on a free loopback port (``dashboard_url``); pages are fetched with httpx
and the figures read back from the HTML are compared with SQL on the same published file.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import threading
from datetime import timedelta
from decimal import Decimal

import duckdb
import httpx
import pytest

from douyin_etl.dashboard.server import make_server

pytestmark = pytest.mark.slow  # builds a dbt warehouse once per session (~25 s)

SECTIONS = ("kpis", "trend", "channels", "funnel", "creators", "live", "inventory", "reconciliation", "pnl")
ERROR_TEXT = ("panel failed", "Traceback", "dashboard failed", "Error:")


def get(url: str, **params) -> str:
    r = httpx.get(url + "/", params=params, timeout=30)
    assert r.status_code == 200, r.text[-500:]
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def money(text: str) -> Decimal:
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    return sign * Decimal(text.lstrip("-").lstrip("¥").replace(",", ""))


def kpi(page: str, key: str) -> str:
    m = re.search(rf'data-kpi="{key}">.*?<div class="kv[^"]*">(.*?)</div>', page)
    assert m, f"KPI {key} missing"
    return html.unescape(m.group(1))


def chip_count(page: str, attr: str, value: str) -> int:
    m = re.search(rf'data-{attr}="{value}">([^<]*)</span>', page)
    assert m, f"chip {attr}={value} missing"
    return int(html.unescape(m.group(1)).split()[-1].replace(",", ""))


def table(page: str, name: str) -> list[dict[str, str]]:
    m = re.search(rf'<table data-table="{name}">.*?<tbody>(.*?)</tbody>', page, re.S)
    if not m:
        return []
    return [
        {k: html.unescape(v) for k, v in re.findall(r'<td class="[^"]*" data-col="(\w+)">(.*?)</td>', row)}
        for row in re.findall(r"<tr>(.*?)</tr>", m.group(1))
    ]


def where(shop: str | None, start, end, col: str) -> str:
    shop_sql = f" AND shop_id = '{shop}'" if shop else ""
    return f"{col} BETWEEN DATE '{start}' AND DATE '{end}'{shop_sql}"


def expected_kpis(published, shop, start, end) -> dict[str, Decimal | int]:
    gmv, net, refund = published.query(
        f"SELECT sum(gmv_yuan), sum(net_sales_yuan), sum(refund_yuan) FROM sales.sales_daily "
        f"WHERE {where(shop, start, end, 'date_day')}"
    )[0]
    orders, buyers = published.query(
        f"SELECT count(*), count(DISTINCT buyer_key) FROM sales.fct_orders WHERE {where(shop, start, end, 'pay_date')}"
    )[0]
    (cm,) = published.query(
        f"SELECT sum(contribution_margin_yuan) FROM finance.fin_pnl_daily WHERE {where(shop, start, end, 'date_day')}"
    )[0]
    return {"gmv": gmv, "net_sales": net, "refund": refund, "orders": orders, "buyers": buyers, "cm": cm}


def assert_kpis(page: str, exp: dict) -> None:
    assert money(kpi(page, "gmv")) == exp["gmv"]
    assert money(kpi(page, "net_sales")) == exp["net_sales"]
    assert int(kpi(page, "orders").replace(",", "")) == exp["orders"]
    assert int(kpi(page, "buyers").replace(",", "")) == exp["buyers"]
    assert money(kpi(page, "aov")) == (exp["gmv"] / exp["buyers"]).quantize(Decimal("0.01"))
    assert kpi(page, "refund_rate") == f"{float(exp['refund'] / exp['gmv']):.1%}"
    assert money(kpi(page, "contribution_margin")) == exp["cm"]


def test_default_page_has_every_section_and_the_marts_figures(dashboard_url, published) -> None:
    page = get(dashboard_url)
    for key in SECTIONS:
        assert f'data-section="{key}"' in page, key
    for text in ERROR_TEXT:
        assert text not in page
    # 14 days of data < 30: the default period is all of it
    assert f'name="from" value="{published.first_day}"' in page and f'name="to" value="{published.last_day}"' in page
    exp = expected_kpis(published, None, published.first_day, published.last_day)
    assert exp["gmv"] > 0 and exp["orders"] > 0
    assert_kpis(page, exp)
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # no external assets


def test_shop_and_period_filters_change_the_figures(dashboard_url, published) -> None:
    start, end = published.first_day + timedelta(days=2), published.last_day - timedelta(days=3)
    totals = Decimal(0)
    for shop in ("1000001", "1000002"):
        page = get(dashboard_url, shop=shop, **{"from": str(start), "to": str(end)})
        exp = expected_kpis(published, shop, start, end)
        assert_kpis(page, exp)
        assert f'<option value="{shop}" selected>' in page
        totals += money(kpi(page, "gmv"))
    whole = get(dashboard_url, **{"from": str(start), "to": str(end)})
    assert money(kpi(whole, "gmv")) == totals  # the two shops add up to "all shops"
    assert money(kpi(whole, "gmv")) < money(kpi(get(dashboard_url), "gmv"))  # a shorter period, less GMV
    # pnl rows are the days of the period, newest first; the total row is the sum
    rows = table(whole, "pnl")
    assert [r["date_day"] for r in rows] == [str(end - timedelta(days=i)) for i in range((end - start).days + 1)]
    (cm,) = published.query(
        f"SELECT sum(contribution_margin_yuan) FROM finance.fin_pnl_daily WHERE {where(None, start, end, 'date_day')}"
    )[0]
    m = re.search(r'<tr class="total">.*?data-col="contribution_margin_yuan">(.*?)</th>', whole)
    assert m and money(html.unescape(m.group(1))) == cm == sum(money(r["contribution_margin_yuan"]) for r in rows)


def test_channel_mix_and_funnel_equal_the_marts(dashboard_url, published) -> None:
    page = get(dashboard_url, shop="1000001")
    expected = published.query(
        f"SELECT channel, sum(gmv_yuan) FROM sales.sales_daily WHERE "
        f"{where('1000001', published.first_day, published.last_day, 'date_day')} GROUP BY channel"
    )
    assert len(expected) >= 3
    for channel, gmv in expected:
        m = re.search(rf'data-channel="{channel}">[^<]*?(-?¥[\d,.]+)</span>', page)
        assert m and money(m.group(1)) == gmv, channel
    exposures, clicks, pays = published.query(
        f"SELECT sum(exposures), sum(clicks), sum(pays) FROM sales.sales_funnel_daily WHERE "
        f"{where('1000001', published.first_day, published.last_day, 'stat_date')}"
    )[0]
    assert f">{exposures:,}</text>" in page and f">{pays:,}</text>" in page
    m = re.search(r'data-rate="clicks">([^<]*)</span>', page)
    assert m and m.group(1).endswith(f"{clicks / exposures:.1%}")


def test_creator_leaderboard_and_live_sessions(dashboard_url, published) -> None:
    page = get(dashboard_url)
    rows = table(page, "creators")
    expected = published.query(
        "SELECT author_id, sum(gmv_yuan) AS g, sum(paid_orders), sum(net_commission_yuan) FROM performance.perf_creators "
        f"WHERE {where(None, published.first_day, published.last_day, 'pay_date')} "
        "GROUP BY shop_id, author_id ORDER BY g DESC, author_id LIMIT 10"
    )
    assert len(rows) == len(expected) > 0
    for row, (author, gmv, orders, commission) in zip(rows, expected):
        assert (row["author_id"], money(row["gmv_yuan"]), int(row["orders"]), money(row["commission_yuan"])) == (
            author,
            gmv,
            orders,
            commission,
        )
    live = table(page, "live")
    (n_anchors, gmv, viewers) = published.query(
        "SELECT count(DISTINCT (shop_id, anchor_id)), sum(gmv_yuan), sum(viewers) FROM performance.perf_live_sessions "
        f"WHERE {where(None, published.first_day, published.last_day, 'live_date')}"
    )[0]
    assert len(live) == n_anchors > 0
    assert sum(money(r["gmv_yuan"]) for r in live) == gmv
    assert sum(int(r["viewers"].replace(",", "")) for r in live) == viewers


def test_reconciliation_counts_and_discrepancies(dashboard_url, published) -> None:
    full = where(None, published.first_day, published.last_day, "pay_date")
    counts = dict(
        published.query(f"SELECT status, count(*) FROM finance.fin_order_reconciliation WHERE {full} GROUP BY 1")
    )
    assert counts.get("discrepancy", 0) > 0, "the test world should hold discrepancies"
    page = get(dashboard_url)
    for status in ("settled", "pending", "refunded", "discrepancy"):
        assert chip_count(page, "status", status) == counts.get(status, 0)
    rows = table(page, "discrepancies")
    expected = published.query(
        f"SELECT sku_order_id, reason, difference_fen FROM finance.fin_order_reconciliation "
        f"WHERE {full} AND status = 'discrepancy' ORDER BY abs(difference_fen) DESC, sku_order_id"
    )
    from douyin_etl.dashboard.render import REASON_LABELS

    assert [(r["sku_order_id"], r["reason"], money(r["difference_fen"])) for r in rows] == [
        (s, REASON_LABELS[reason], Decimal(d) / 100) for s, reason, d in expected
    ]
    # one shop: only its lines
    shop_counts = dict(
        published.query(
            f"SELECT status, count(*) FROM finance.fin_order_reconciliation WHERE {where('1000001', published.first_day, published.last_day, 'pay_date')} GROUP BY 1"
        )
    )
    shop_page = get(dashboard_url, shop="1000001")
    assert chip_count(shop_page, "status", "discrepancy") == shop_counts.get("discrepancy", 0) < counts["discrepancy"]
    assert all(r["shop_id"] == "1000001" for r in table(shop_page, "discrepancies"))


def test_inventory_alerts_and_replenishment(dashboard_url, published) -> None:
    page = get(dashboard_url)
    day = published.last_day
    by_type = dict(
        published.query(
            f"SELECT alert_type, count(*) FROM inventory.inv_alerts WHERE alert_date = DATE '{day}' GROUP BY 1"
        )
    )
    assert by_type
    for alert_type, n in by_type.items():
        assert chip_count(page, "alert", alert_type) == n
    alerts = table(page, "alerts")
    assert len(alerts) == min(30, sum(by_type.values()))
    (reorder,) = published.query(
        f"SELECT count(*) FROM inventory.inv_replenishment WHERE as_of_date = DATE '{day}' AND needs_reorder"
    )[0]
    repl = table(page, "replenishment")
    assert len(repl) == min(30, reorder)
    qty = [int(r["suggested_order_qty"].replace(",", "")) for r in repl]
    assert qty == sorted(qty, reverse=True) and all(q > 0 for q in qty)


def test_bad_filter_is_a_400_naming_the_parameter(dashboard_url) -> None:
    r = httpx.get(dashboard_url + "/", params={"to": "yesterday"})
    assert r.status_code == 400 and "parameter &#x27;to&#x27; must be a date as YYYY-MM-DD" in r.text
    r = httpx.get(dashboard_url + "/", params={"shop": "nope"})
    assert r.status_code == 400 and "unknown shop" in r.text


def test_reads_per_request_so_a_publish_shows_up(published, tmp_path) -> None:
    """Nothing -> published -> republished: each request opens, reads and closes the file."""
    path = tmp_path / "douyin.duckdb"
    server = make_server(0, warehouse=path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert httpx.get(url + "/").status_code == 503
        shutil.copyfile(published.warehouse, path)
        before = money(kpi(get(url), "gmv"))
        # the server holds no connection: a writer can open the file in this very process
        con = duckdb.connect(str(path))
        con.execute(
            f"UPDATE sales.sales_daily SET gmv_yuan = gmv_yuan + 1 WHERE date_day = DATE '{published.last_day}'"
        )
        (changed,) = con.execute(
            f"SELECT count(*) FROM sales.sales_daily WHERE date_day = DATE '{published.last_day}'"
        ).fetchone()
        con.close()
        assert changed > 0
        assert money(kpi(get(url), "gmv")) == before + changed
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (apt-get install -y chromium) - browser check skipped",
)
def test_headless_chromium_renders_the_figures(dashboard_url, published, chromium_cmd) -> None:
    exp = expected_kpis(published, "1000002", published.first_day, published.last_day)
    proc = subprocess.run(
        [
            *chromium_cmd,
            "--dump-dom",
            f"{dashboard_url}/?shop=1000002",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "抖店经营看板" in dom
    for key in SECTIONS:
        assert f'data-section="{key}"' in dom, key
    for text in ERROR_TEXT:
        assert text not in dom
    assert f"¥{exp['gmv']:,.2f}" in dom and f"¥{exp['cm']:,.2f}".replace("¥-", "-¥") in dom
    assert '<option value="1000002" selected="">' in dom


def test_concurrent_requests_each_read_their_own_connection(dashboard_url, published) -> None:
    from concurrent.futures import ThreadPoolExecutor

    shops = ["1000001", "1000002", "all"] * 3
    with ThreadPoolExecutor(6) as pool:
        pages = list(pool.map(lambda shop: get(dashboard_url, shop=shop), shops))
    for shop, page in zip(shops, pages):
        exp = expected_kpis(published, None if shop == "all" else shop, published.first_day, published.last_day)
        assert money(kpi(page, "gmv")) == exp["gmv"]
        assert "panel failed" not in page
