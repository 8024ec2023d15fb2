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
    cols.update(
        {
            "account_trade_no": "'T' || lpad(i::VARCHAR, 8, '0')",
            "fund_flow": "i % 2",
            "account_amount": "100 + i",
            "account_bill_desc_tag": "3",
            "shop_id": "'1001'",
            "file_date": f"'{dt:%Y%m%d}'",
        }
    )
    return cols


def settlement_bill_columns(dt: date = DT, amount_fen: int = 9500) -> dict[str, str]:
    """A clean settlement_bill partition: one settled row per order line 'S<i>' of shop 1001, ``amount_fen`` each."""
    cols = {
        c: "0"
        for c in (
            "settle_amount",
            "total_income",
            "real_pay_amount",
            "refund_before_settle",
            "platform_coupon",
            "author_coupon",
            "zt_pay_promotion",
            "zr_pay_promotion",
            "platform_service_fee",
            "commission",
            "good_learn_channel_fee",
            "colonel_service_fee",
            "channel_promotion_fee",
            "other_sharing_amount",
            "total_outcome",
        )
    }
    cols.update(
        {
            "settle_time": f"TIMESTAMPTZ '{dt} 12:00:00+08'",
            "request_no": "'R' || i",
            "shop_order_id": "'P' || i",
            "order_id": "'S' || i",
            "product_id": "'G1'",
            "trade_type": "0",
            "shop_id": "'1001'",
            "file_date": f"'{dt:%Y%m%d}'",
            "other_sharing_desc": "NULL",
            "remark": "NULL",
            "real_pay_amount": str(amount_fen + 500),
            "total_income": str(amount_fen + 500),
            "platform_service_fee": "500",
            "total_outcome": "500",
            "settle_amount": str(amount_fen),
        }
    )
    return cols


def settlement_flow_columns(dt: date = DT, amount_fen: int = 9500) -> dict[str, str]:
    """The 动账明细 of ``settlement_bill_columns``: one 订单结算 credit (tag 3) per bill row, 30 s after it."""
    cols = fund_flow_columns(dt)
    cols.update(
        {
            "fund_flow": "0",
            "account_amount": str(amount_fen),
            "account_bill_desc_tag": "3",
            "order_id": "'S' || i",
            "shop_order_id": "'P' || i",
            "bill_time": f"TIMESTAMPTZ '{dt} 12:00:30+08'",
        }
    )
    return cols


def file_columns(entity: str, dt: date = DT, **overrides: str) -> dict[str, str]:
    """A partition of any file entity: typed defaults per column (SQL over row number ``i``) plus ``overrides``."""
    cols = {c: _default(c, t, dt) for c, t in SPECS[entity].landed_schema().items()}
    cols.update({"file_date": f"'{dt:%Y%m%d}'", **overrides})
    return cols


def order_line_columns(dt: date = DT) -> dict[str, str]:
    """Landed sku_order lines 'S<i>': paid on ``dt`` except S5 (never paid), 3 units each."""
    return {
        "order_id": "'S' || i",
        "parent_order_id": "'P' || i",
        "shop_id": "'1001'",
        "sku_id": "'K1'",
        "item_num": "3::BIGINT",
        "pay_amount": "9500::BIGINT",
        "update_time": f"epoch(TIMESTAMPTZ '{dt} 12:00:00+08')::BIGINT",
        "pay_time": f"CASE WHEN i = 5 THEN 0 ELSE epoch(TIMESTAMPTZ '{dt} 10:00:00+08') END::BIGINT",
    }
