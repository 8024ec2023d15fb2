"""Helpers of the quality-gate tests (imported by name: keep this file name unique under tests/)."""

from __future__ import annotations

from datetime import date

from douyin_etl.sources.files.specs import SPECS

DT = date(2026, 10, 3)


def _default(col: str, ctype: str, dt: date) -> str:
    if ctype in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return f"TIMESTAMPTZ '{dt} 09:00:00+08:00' + to_minutes(i % 600)"
    if ctype == "DATE":
        return f"DATE '{dt}'"
    if ctype in ("BIGINT", "INTEGER"):
        return "0"
    return f"'{col}-' || i"


def fund_flow_columns(dt: date = DT) -> dict[str, str]:
    """A clean fund_flow partition (SQL expression per column over row number ``i``)."""
    cols = {c: _default(c, t, dt) for c, t in SPECS["fund_flow"].landed_schema().items()}
    cols.update({
        "account_trade_no": "'T' || lpad(i::VARCHAR, 8, '0')",
        "fund_flow": "i % 2",
        "account_amount": "100 + i",
        "account_bill_desc_tag": "3",
        "shop_id": "'1001'",
        "file_date": f"'{dt:%Y%m%d}'",
    })
    return cols
