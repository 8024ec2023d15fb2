"""Dashboard pieces that need no warehouse: formatting, filters, the CLI entry, the empty-state page."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import duckdb
import httpx
import pytest

from douyin_etl.dashboard.data import Bounds, FilterError, parse_filters
from douyin_etl.dashboard.render import fmt_fen, fmt_pct, fmt_yuan
from douyin_etl.dashboard.server import make_server

BOUNDS = Bounds(("1000001", "1000002"), date(2026, 3, 1), date(2026, 5, 10))


def test_money_is_yuan_with_thousands_separators() -> None:
    assert fmt_yuan(Decimal("1234567.5")) == "¥1,234,567.50"
    assert fmt_yuan(Decimal("-342.05")) == "-¥342.05"
    assert fmt_yuan(None) == "–"
    assert fmt_fen(123456789) == "¥1,234,567.89"
    assert fmt_fen(-200) == "-¥2.00"
    assert fmt_pct(0.04932) == "4.9%"


def test_default_period_is_the_last_30_days_of_data() -> None:
    f = parse_filters({}, BOUNDS)
    assert (f.shop, f.start, f.end) == (None, date(2026, 4, 11), date(2026, 5, 10))
    short = Bounds(BOUNDS.shops, date(2026, 5, 1), date(2026, 5, 10))
    assert parse_filters({}, short).start == date(2026, 5, 1)  # never before the first day of data
    f = parse_filters({"shop": ["1000002"], "from": ["2026-03-02"], "to": ["2026-03-05"]}, BOUNDS)
    assert (f.shop, f.start, f.end) == ("1000002", date(2026, 3, 2), date(2026, 3, 5))
    assert parse_filters({"shop": ["all"]}, BOUNDS).shop is None


@pytest.mark.parametrize(
    "query, words",
    [
        ({"from": ["2026-13-01"]}, ["'from'", "YYYY-MM-DD", "2026-13-01"]),
        ({"shop": ["999"]}, ["unknown shop '999'", "1000001, 1000002"]),
        ({"from": ["2026-03-05"], "to": ["2026-03-01"]}, ["after"]),
    ],
)
def test_bad_filters_say_what_is_wrong(query: dict, words: list[str]) -> None:
    with pytest.raises(FilterError) as exc:
        parse_filters(query, BOUNDS)
    for word in words:
        assert word in str(exc.value)


def test_cli_has_a_dashboard_command() -> None:
    from douyin_etl.cli import _cmd_dashboard, build_parser

    args = build_parser().parse_args(["dashboard", "--port", "9123"])
    assert args.func is _cmd_dashboard and args.port == 9123
    assert build_parser().parse_args(["dashboard"]).port == 8501


def test_nothing_published_gives_a_clear_page(tmp_path) -> None:
    server = make_server(0, warehouse=tmp_path / "missing.duckdb")
    assert server.server_address[0] == "127.0.0.1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        r = httpx.get(url + "/")
        assert r.status_code == 503
        assert "nothing published yet" in r.text and "make demo" in r.text
        assert str(tmp_path / "missing.duckdb") in r.text
        assert httpx.get(url + "/healthz").text == "ok\n"
        assert httpx.get(url + "/etc/passwd").status_code == 404
        duckdb.connect(str(tmp_path / "missing.duckdb")).close()  # a warehouse file without marts
        r = httpx.get(url + "/")
        assert r.status_code == 503 and "holds no marts yet" in r.text and "make demo" in r.text
    finally:
        server.shutdown()
        server.server_close()
