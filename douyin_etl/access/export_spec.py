"""What finance can export: export name -> mart, business-date column, Chinese headers and labels.

Columns, types and descriptions come from the marts' yml (``catalog.load_catalog``); this file only
adds what the yml does not say. A new export is one ``ExportTable`` line (plus Chinese headers for
any column not yet in ``CHINESE_HEADERS``; a ``*_yuan`` column derived from a ``*_fen`` one takes the
fen header with 元 for 分, see ``chinese_header``). ``CHINESE_LABELS`` translates the codes of status-like
columns with ``--chinese-headers``; a code missing there is exported as it is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportTable:
    name: str  # what the user types in --tables, and the sheet/file name
    relation: str  # schema.table in the published warehouse
    date_column: str  # the business date the --period filter applies to
    sheet_title: str  # Chinese sheet label (workbook tab: "<name> <title>")
    order_by: tuple[str, ...]


EXPORT_TABLES: tuple[ExportTable, ...] = (
    ExportTable(
        "reconciliation",
        "finance.fin_order_reconciliation",
        "pay_date",
        "订单对账",
        ("shop_id", "pay_date", "sku_order_id"),
    ),
    ExportTable(
        "settlements",
        "finance.fin_settlement_lines",
        "settle_date",
        "结算明细",
        ("shop_id", "settle_date", "request_no"),
    ),
    ExportTable("fees", "finance.fin_fee_breakdown_daily", "settle_date", "费用汇总", ("shop_id", "settle_date")),
    ExportTable("pnl", "finance.fin_pnl_daily", "date_day", "日利润", ("shop_id", "date_day")),
)
DEFAULT_TABLES: tuple[str, ...] = tuple(t.name for t in EXPORT_TABLES)
FORMATS: tuple[str, ...] = ("xlsx", "csv", "parquet")

# column -> 中文 header (used with --chinese-headers and in the workbook's column sheet).
CHINESE_HEADERS: dict[str, str] = {
    # identifiers and dates
    "shop_id": "店铺ID",
    "shop_order_id": "订单号",
    "sku_order_id": "子订单号",
    "product_id": "商品ID",
    "product_name": "商品名称",
    "sku_id": "SKU ID",
    "request_no": "结算单号",
    "channel": "成交渠道",
    "pay_date": "支付日期",
    "confirm_receipt_date": "确认收货日期",
    "settle_due_date": "应结算日期",
    "first_settle_date": "首次结算日期",
    "as_of_date": "对账截止日",
    "settle_date": "结算日期",
    "settle_at": "结算时间",
    "date_day": "业务日期",
    "source_dt": "数据分区日期",
    # reconciliation
    "status": "对账状态",
    "reason": "差异原因",
    "pay_fen": "实付金额(分)",
    "refund_fen": "退款金额(分)",
    "refund_before_settle_fen": "结算前退款(分)",
    "refund_after_settle_fen": "结算后退款(分)",
    "promo_platform_fen": "平台补贴(分)",
    "promo_talent_fen": "达人补贴(分)",
    "platform_fee_rate_bp": "平台服务费率(基点)",
    "commission_rate_bp": "佣金率(基点)",
    "colonel_service_rate_bp": "招商服务费率(基点)",
    "expected_platform_fee_fen": "应收平台服务费(分)",
    "expected_commission_fen": "应收佣金(分)",
    "expected_colonel_fee_fen": "应收招商服务费(分)",
    "settled_platform_fee_fen": "实收平台服务费(分)",
    "settled_commission_fen": "实收佣金(分)",
    "settled_colonel_fee_fen": "实收招商服务费(分)",
    "expected_settle_fen": "应结算金额(分)",
    "expected_net_fen": "应结净额(分)",
    "settled_fen": "已结算金额(分)",
    "difference_fen": "差额(分)",
    "settlement_rows": "结算行数",
    "settle_rows": "已结算行数",
    "reversal_rows": "冲回行数",
    "pay_yuan": "实付金额(元)",
    "expected_net_yuan": "应结净额(元)",
    "settled_yuan": "已结算金额(元)",
    # settlement lines
    "trade_type": "结算类型",
    "trade_type_name": "结算类型名称",
    "settle_fen": "结算金额(分)",
    "total_income_fen": "收入合计(分)",
    "real_pay_fen": "用户实付(分)",
    "platform_coupon_fen": "平台补贴(分)",
    "author_coupon_fen": "达人补贴(分)",
    "pay_promotion_fen": "支付补贴(分)",
    "platform_service_fee_fen": "平台服务费(分)",
    "commission_fen": "佣金(分)",
    "channel_share_fee_fen": "渠道分成(分)",
    "colonel_service_fee_fen": "招商服务费(分)",
    "channel_promotion_fee_fen": "站外推广费(分)",
    "other_sharing_fen": "其他分成(分)",
    "total_outcome_fen": "支出合计(分)",
    "settle_yuan": "结算金额(元)",
    "total_income_yuan": "收入合计(元)",
    "total_outcome_yuan": "支出合计(元)",
    "is_matched_to_line": "匹配到订单",
    # fee breakdown
    "settled_lines": "结算行数",
    "reversed_lines": "冲回行数",
    "real_pay_yuan": "用户实付(元)",
    "refund_before_settle_yuan": "结算前退款(元)",
    "subsidies_yuan": "补贴合计(元)",
    "platform_service_fee_yuan": "平台服务费(元)",
    "commission_yuan": "佣金(元)",
    "colonel_service_fee_yuan": "招商服务费(元)",
    "channel_fee_yuan": "渠道费用(元)",
    "other_sharing_yuan": "其他分成(元)",
    "reversal_yuan": "结算后冲回(元)",
    "net_settlement_yuan": "结算净额(元)",
    "net_settlement_fen": "结算净额(分)",
    # P&L
    "gmv_yuan": "支付成交金额GMV(元)",
    "subsidy_yuan": "补贴(元)",
    "refund_yuan": "退款(元)",
    "net_revenue_yuan": "净收入(元)",
    "platform_fee_yuan": "平台服务费(元)",
    "colonel_fee_yuan": "招商服务费(元)",
    "ad_spend_yuan": "千川消耗(元)",
    "freight_yuan": "运费(元)",
    "cogs_yuan": "商品成本(元)",
    "contribution_margin_yuan": "贡献毛利(元)",
    "contribution_margin_fen": "贡献毛利(分)",
}


# column -> code -> 中文 label (--chinese-headers; docs/finance-guide.md explains each status and reason).
CHINESE_LABELS: dict[str, dict[str, str]] = {
    "status": {"settled": "已结算", "pending": "待结算", "refunded": "已退款", "discrepancy": "差异"},
    "reason": {
        "duplicate_settlement": "重复结算",
        "refund_not_reversed": "结算后退款未冲回",
        "fee_mismatch": "费用不符",
        "missing_settlement": "逾期未结算",
    },
    "trade_type_name": {"settled": "已结算", "reversed": "结算后退款冲回"},
    "channel": {"live": "直播", "video": "短视频", "card": "商品卡", "search": "搜索", "alliance": "精选联盟"},
}


def chinese_header(name: str) -> str:
    """The 中文 header of a column; a derived ``x_yuan`` takes ``x_fen``'s header with 元 for 分."""
    if name in CHINESE_HEADERS:
        return CHINESE_HEADERS[name]
    if name.endswith("_yuan") and (fen := CHINESE_HEADERS.get(name[: -len("_yuan")] + "_fen")):
        return fen.replace("(分)", "(元)")
    return name


def export_table(name: str) -> ExportTable:
    for t in EXPORT_TABLES:
        if t.name == name:
            return t
    raise KeyError(f"unknown export table {name!r}; choose from {', '.join(DEFAULT_TABLES)}")
