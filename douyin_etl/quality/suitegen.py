"""Generate the landing suites ``expectations/landing/<entity>.json`` from a compact spec.

The JSON files are the reviewed artefact (GX 1.x ExpectationSuite JSON, diffable in code review);
this module is how they are (re)written: ``python -m douyin_etl.quality.suitegen``. Edit ``RULES``
below (or a JSON file by hand) to change a check. File entities take their columns and DuckDB types
from ``douyin_etl.sources.files.specs`` (the one home of file formats); API entities list theirs here.

Every expectation carries ``meta.severity`` (``error`` blocks the run, ``warning`` is reported) and
``meta.batch``: ``schema`` (a one-row frame column -> DuckDB type), or ``rows`` (the partition's rows,
chunked, sorted by the entity key). Suite ``meta.derived_columns`` are SQL expressions the gate
computes per row before validation (``{dt}`` = the row's partition day, a DATE expression).

Plausibility (issue: an absurd amount must never publish):

- **Hard caps** (``Rules.caps``, fen): no single amount of that column beyond ``±cap`` — a value no
  real shop row reaches (a yuan/fen slip, a typo, a forged row). Merged into the ``>= 0`` check of the
  column where there is one; ``Rules.cond_caps`` caps a column only on rows of some kinds (fund-flow
  movements of orders, not withdrawals). Errors: they block and name the file row.
- **Bounds learned from history** (``Rules.history``): suite ``meta.history`` tells the gate to
  compare each amount with the ``percentile`` of the same column (per ``group_by`` value) in the
  entity's partitions landed before the run's first day (at most ``window_days`` back), once that
  history holds ``min_rows`` values over ``min_days`` days (a fresh lake is not judged). The gate
  computes ``_history_ratio__<column>`` = |value| ÷ that percentile; the expectations warn above
  ``history_warn_ratio`` and block above ``history_error_ratio`` (``meta.parameters``; env
  ``DOUYIN_GATE_HISTORY_WARN_RATIO`` / ``DOUYIN_GATE_HISTORY_ERROR_RATIO`` override).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from douyin_etl import config
from douyin_etl.entities import ENTITIES
from douyin_etl.sources.doudian.endpoints import LANDED_SCHEMAS
from douyin_etl.sources.files.specs import SPECS

log = logging.getLogger(__name__)

INT = ["BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"]
ID = ["VARCHAR"]
TEXT = ["VARCHAR"]
DATE = ["DATE"]
TSTZ = ["TIMESTAMP WITH TIME ZONE"]
DOUBLE = ["DOUBLE", "FLOAT", "DECIMAL", *INT]


# DuckDB's DESCRIBE spells some types differently from the DDL alias used in specs.py.
_DESCRIBED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def _accepted(landed_type: str) -> list[str]:
    """Types accepted for a column landed as ``landed_type``: any integer width for an integer (a code
    or an amount in fen stays exact in any of them), otherwise exactly the landed type (a DOUBLE or
    DECIMAL where fen are expected means yuan were not converted)."""
    return INT if landed_type in INT else [landed_type]


@dataclass
class Rules:
    columns: dict[str, list[str]] = field(default_factory=dict)  # API entities: column -> accepted DuckDB types
    not_null: list[str] = field(default_factory=list)
    enums: dict[str, tuple[list[Any], str]] = field(default_factory=dict)  # column -> (values, severity)
    min0: list[str] = field(default_factory=list)  # money / counts that must be >= 0
    min1: list[str] = field(default_factory=list)  # quantities that must be >= 1
    equal0: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # derived -> (SQL, severity, description)
    tolerance: dict[str, int] = field(default_factory=dict)  # equal0 derived -> |value| allowed (0 when absent)
    day_severity: str = "error"  # event time inside the partition's business day
    day_offset_min: int = 0  # event day this many days before the partition's day still belongs to it
    caps: dict[str, int] = field(default_factory=dict)  # column -> hard cap in fen: |value| <= cap (error)
    cond_caps: dict[str, tuple[str, str, int, str]] = field(
        default_factory=dict
    )  # derived -> (column, SQL condition, cap, rows)
    history: dict[str, list[str]] = field(default_factory=dict)  # column -> group_by columns of the learned bound
    notes: str = ""


def _api(names: str, types: list[str]) -> dict[str, list[str]]:
    return {n.strip(): types for n in names.split(",") if n.strip()}


# Hard caps (fen). No real Douyin shop row reaches them; a value beyond is a unit slip or garbage.
LINE_CAP = 100_000_000  # ¥1,000,000.00: one order, order line, refund, settlement row, price, cost, freight
AD_DAY_CAP = 10_000_000_000  # ¥100,000,000.00: one advertiser × goal × day of Qianchuan spend / attributed GMV
ACCOUNT_CAP = 100_000_000_000  # ¥1,000,000,000.00: one fund-flow movement of any kind (withdrawals included)
ORDER_FLOW_TAGS = "2, 3, 20"  # fund-flow tags of order money: settlement, reversal, shipping insurance

# Learned bounds: history percentile, minimum history, and the default ratios (suite meta/parameters).
HISTORY = {"percentile": 0.99, "min_rows": 200, "min_days": 7, "window_days": 90}
HISTORY_PARAMETERS = {"history_warn_ratio": 10.0, "history_error_ratio": 100.0}


def _caps(columns: str | list[str], cap: int) -> dict[str, int]:
    names = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else columns
    return {c: cap for c in names if c}


_ORDER_MONEY = "order_amount, pay_amount, post_amount, promotion_amount, promotion_shop_amount, promotion_platform_amount, promotion_talent_amount"
_LINE_MONEY = "origin_amount, sum_amount, pay_amount, promotion_amount, promotion_shop_amount, promotion_platform_amount, promotion_talent_amount"

RULES: dict[str, Rules] = {
    "shop_order": Rules(
        columns={
            **_api("order_id, shop_id, doudian_open_id", ID),
            **_api("order_status, create_time, pay_time, update_time, " + _ORDER_MONEY, INT),
        },
        not_null=["shop_id", "order_status", "create_time", "update_time", "pay_amount"],
        enums={"order_status": ([1, 105, 2, 101, 3, 4, 5], "warning")},
        min0=[c.strip() for c in _ORDER_MONEY.split(",")] + ["pay_time"],
        caps=_caps(_ORDER_MONEY, LINE_CAP),
        history={"pay_amount": []},
        equal0={
            "_promotion_split_diff_fen": (
                "promotion_amount - (promotion_shop_amount + promotion_platform_amount + promotion_talent_amount)",
                "error",
                "promotion_amount = shop + platform + talent funded promotions (fen)",
            )
        },
    ),
    "sku_order": Rules(
        columns={
            **_api("order_id, parent_order_id, shop_id, product_id, sku_id", ID),
            **_api("item_num, order_status, create_time, pay_time, update_time, c_biz, " + _LINE_MONEY, INT),
        },
        not_null=[
            "parent_order_id",
            "shop_id",
            "product_id",
            "sku_id",
            "item_num",
            "pay_amount",
            "origin_amount",
            "update_time",
        ],
        enums={"c_biz": ([2, 8], "warning")},
        min0=[c.strip() for c in _LINE_MONEY.split(",")] + ["pay_time"],
        min1=["item_num"],
        caps=_caps(_LINE_MONEY, LINE_CAP),
        history={"pay_amount": []},
        equal0={
            "_pay_identity_diff_fen": (
                "pay_amount - (origin_amount - promotion_amount)",
                "error",
                "pay_amount = origin_amount - promotion_amount (fen)",
            )
        },
        day_severity="warning",
        notes="sku_order is partitioned by its PARENT order's update_time, so a line's own update_time may "
        "fall on an earlier day: the day check only warns.",
    ),
    "after_sale": Rules(
        columns={
            **_api("aftersale_id, related_id, shop_id", ID),
            **_api(
                "aftersale_type, aftersale_status, refund_status, apply_time, update_time, refund_time, refund_amount",
                INT,
            ),
        },
        not_null=["related_id", "aftersale_type", "aftersale_status", "refund_status", "update_time", "refund_amount"],
        enums={
            "aftersale_type": ([0, 1, 2, 3, 6, 7], "error"),
            "aftersale_status": ([6, 7, 11, 12, 27, 28], "warning"),
            "refund_status": ([1, 2, 3, 4, 5], "warning"),
        },
        min0=["refund_amount", "refund_time"],
        caps=_caps("refund_amount", LINE_CAP),
        history={"refund_amount": []},
    ),
    "product": Rules(
        columns={**_api("product_id, shop_id", ID), **_api("status, market_price, discount_price", INT)},
        not_null=["shop_id"],
        min0=["market_price", "discount_price"],
        caps=_caps("market_price, discount_price", LINE_CAP),
    ),
    "sku": Rules(
        columns={**_api("id, product_id, shop_id", ID), **_api("price, stock_num", INT)},
        not_null=["product_id", "price"],
        min0=["price", "stock_num"],
        caps=_caps("price", LINE_CAP),
    ),
    "alliance_order": Rules(
        columns={
            **_api("order_id, shop_id, product_id, author_id", ID),
            **_api("total_pay_amount, commission_rate_bp, estimated_comission, real_comission, update_time", INT),
        },
        not_null=["shop_id", "total_pay_amount", "commission_rate_bp", "update_time"],
        min0=["total_pay_amount", "commission_rate_bp", "estimated_comission", "real_comission"],
        caps=_caps("total_pay_amount, estimated_comission, real_comission", LINE_CAP),
        history={"total_pay_amount": []},
    ),
    "ad_report": Rules(
        columns={
            **_api("advertiser_id, shop_id, marketing_goal", ID),
            "stat_date": DATE,
            **_api("stat_cost, show_cnt, click_cnt, pay_order_count, pay_order_amount", INT),
        },
        not_null=["shop_id", "stat_cost"],
        enums={"marketing_goal": (["LIVE_PROM_GOODS", "VIDEO_PROM_GOODS"], "error")},
        min0=["stat_cost", "show_cnt", "click_cnt", "pay_order_count", "pay_order_amount"],
        day_offset_min=-1,  # Qianchuan restates day D in the next day's report (the newest landing wins)
        caps=_caps("stat_cost, pay_order_amount", AD_DAY_CAP),
        history={"stat_cost": ["marketing_goal"]},
    ),
    "logistics_track": Rules(
        columns={**_api("track_no, express", ID), **_api("node_seq, timestamp, ship_time", INT)},
        not_null=["timestamp", "ship_time"],
        min0=["node_seq"],
    ),
    # -- files: columns and types come from specs.py; these add the semantics ---------------
    "settlement_bill": Rules(
        enums={"trade_type": ([0, 1], "error")},
        min0=["real_pay_amount", "platform_service_fee", "commission", "colonel_service_fee", "total_outcome"],
        caps=_caps(
            "settle_amount, total_income, real_pay_amount, platform_service_fee, commission, "
            "colonel_service_fee, total_outcome",
            LINE_CAP,
        ),
        history={"settle_amount": ["trade_type"]},
        equal0={
            "_settle_identity_diff_fen": (
                "CASE WHEN trade_type = 0 THEN total_income - total_outcome - settle_amount ELSE 0 END",
                "error",
                "settled rows: settle_amount = total_income - total_outcome (fen)",
            ),
            "_income_identity_diff_fen": (
                "total_income - (real_pay_amount - refund_before_settle + platform_coupon + author_coupon"
                " + zt_pay_promotion + zr_pay_promotion)",
                "error",
                "total_income = real_pay - refund_before_settle + platform/author/zt/zr subsidies (fen)",
            ),
            "_outcome_identity_diff_fen": (
                "total_outcome - (platform_service_fee + commission + good_learn_channel_fee + colonel_service_fee"
                " + channel_promotion_fee + other_sharing_amount)",
                "error",
                "total_outcome = sum of the six fees (fen)",
            ),
            "_reversal_sign_violation": (
                "CASE WHEN trade_type = 1 AND settle_amount > 0 THEN 1 ELSE 0 END",
                "error",
                "a reversal (结算后退款) never has a positive settle_amount",
            ),
        },
    ),
    "fund_flow": Rules(
        enums={
            "fund_flow": ([0, 1], "error"),
            "account_bill_desc_tag": ([1, 2, 3, 11, 20, 30, 31, 40, 41, 42], "warning"),
        },
        min0=["account_amount"],
        caps=_caps("account_amount", ACCOUNT_CAP),
        cond_caps={
            "_order_flow_amount_fen": (
                "account_amount",
                f"account_bill_desc_tag IN ({ORDER_FLOW_TAGS})",
                LINE_CAP,
                "order settlements, reversals and shipping insurance (tags " + ORDER_FLOW_TAGS + ")",
            )
        },
        history={"account_amount": ["account_bill_desc_tag"]},
    ),
    "freight_invoice": Rules(
        min0=["freight_fen"], min1=["billed_weight_g"], caps=_caps("freight_fen", LINE_CAP), history={"freight_fen": []}
    ),
    "product_cost": Rules(min0=["unit_cost_fen"], caps=_caps("unit_cost_fen", LINE_CAP), history={"unit_cost_fen": []}),
    "creator": Rules(enums={"tier": (["head", "mid", "long_tail"], "error")}, min0=["followers", "commission_rate_bp"]),
    "live_session": Rules(
        min0=["watch_pv", "viewers", "avg_watch_seconds", "new_followers", "comments"],
        equal0={
            "_session_ends_before_start": (
                "CASE WHEN end_time < start_time THEN 1 ELSE 0 END",
                "warning",
                "a live session ends after it starts",
            )
        },
    ),
    "short_video": Rules(
        min0=["plays", "completed_plays", "likes", "comments", "shares"],
        equal0={
            "_completed_over_plays": (
                "CASE WHEN completed_plays > plays THEN 1 ELSE 0 END",
                "warning",
                "completed plays <= plays",
            )
        },
    ),
    "traffic_funnel": Rules(
        enums={"channel": (["live", "video", "card", "search", "alliance"], "error")},
        min0=["exposures", "clicks", "add_to_carts", "orders", "pays"],
        equal0={
            "_funnel_not_monotone": (
                "CASE WHEN clicks > exposures OR pays > orders THEN 1 ELSE 0 END",
                "warning",
                "clicks <= exposures and pays <= orders",
            )
        },
    ),
    "warehouse": Rules(enums={"warehouse_type": ([0, 1, 2], "warning")}, min0=["lead_time_days"]),
    "shipment": Rules(
        enums={"carrier": (["shunfeng", "zhongtong", "yuantong", "yunda", "jtexpress", "ems"], "warning")},
        min1=["quantity"],
    ),
    "stock_snapshot": Rules(
        min0=["opening_qty", "inbound_qty", "outbound_qty", "return_qty", "closing_qty", "locked_qty"],
        equal0={
            "_stock_balance_diff": (
                "closing_qty - (opening_qty + inbound_qty + return_qty - outbound_qty)",
                "error",
                "closing = opening + inbound + return - outbound, within 10 units: the 3PL's stock count "
                "(盘盈/盘亏, inv_stock_daily.count_adjustment_qty) may differ from its movements",
            )
        },
        tolerance={"_stock_balance_diff": 10},
    ),
    "purchase_receipt": Rules(
        min0=["unit_cost_fen"], min1=["quantity"], caps=_caps("unit_cost_fen", LINE_CAP), history={"unit_cost_fen": []}
    ),
}


def _business_date_sql(column: str, types: list[str]) -> str:
    """SQL for the Asia/Shanghai business day of ``column`` (explicit zone at every cast)."""
    tz = config.BUSINESS_TZ
    if types == DATE or types == ["DATE"]:
        return f'"{column}"'
    if types == TSTZ or types == ["TIMESTAMP WITH TIME ZONE"]:
        return f"CAST(timezone('{tz}', \"{column}\") AS DATE)"
    return f"CAST(timezone('{tz}', to_timestamp(\"{column}\")) AS DATE)"


HISTORY_PREFIX = "_history_ratio__"  # derived column the gate computes per history column


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def _exp(type_: str, severity: str, batch: str, description: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": severity, "batch": batch, "description": description}}


def build_suite(entity_name: str) -> dict[str, Any]:
    entity = ENTITIES[entity_name]
    rules = RULES.get(entity_name, Rules())
    spec = SPECS.get(entity_name)
    if spec is not None:
        columns = {c: _accepted(_DESCRIBED.get(t, t)) for c, t in spec.landed_schema().items()}
        required = [c.name for c in spec.columns if c.required and not c.nullable] + spec.file_columns
        required_cols = [c.name for c in spec.columns if c.required] + spec.file_columns
    elif entity_name in LANDED_SCHEMAS:  # the extractor's landed types: the one home of API columns
        columns = {c: _accepted(t) for c, t in LANDED_SCHEMAS[entity_name].items()}
        required = list(rules.not_null)
        required_cols = list(columns)
    else:
        columns = rules.columns
        required = list(rules.not_null)
        required_cols = list(columns)
    key = list(entity.key)
    exps: list[dict[str, Any]] = []
    exps.append(
        _exp(
            "expect_table_columns_to_match_set",
            "error",
            "schema",
            "every required column is present (extra columns are allowed)",
            column_set=sorted(set(required_cols) | set(key)),
            exact_match=False,
        )
    )
    for col, types in columns.items():
        if col in required_cols or col in key:
            exps.append(
                _exp(
                    "expect_column_values_to_be_in_set",
                    "error",
                    "schema",
                    f"{col} lands as {' or '.join(types[:2])}{'…' if len(types) > 2 else ''}",
                    column=col,
                    value_set=types,
                )
            )
    exps.append(
        _exp(
            "expect_table_row_count_to_be_between",
            "error",
            "rows",
            "row count of the partition (observed)",
            min_value=0,
        )
    )
    for col in key:
        exps.append(
            _exp("expect_column_values_to_not_be_null", "error", "rows", f"key column {col} is set", column=col)
        )
    if len(key) == 1:
        exps.append(_exp("expect_column_values_to_be_unique", "error", "rows", f"one row per {key[0]}", column=key[0]))
    else:
        exps.append(
            _exp(
                "expect_compound_columns_to_be_unique",
                "error",
                "rows",
                f"one row per {' × '.join(key)}",
                column_list=key,
            )
        )
    for col in dict.fromkeys(c for c in required if c not in key):
        exps.append(_exp("expect_column_values_to_not_be_null", "error", "rows", f"{col} is required", column=col))
    for col, (values, severity) in rules.enums.items():
        exps.append(
            _exp(
                "expect_column_values_to_be_in_set",
                severity,
                "rows",
                f"{col} is a known code",
                column=col,
                value_set=values,
            )
        )
    for col in rules.min0:
        if col in rules.caps:
            exps.append(
                _exp(
                    "expect_column_values_to_be_between",
                    "error",
                    "rows",
                    f"{col} >= 0 and <= {_yuan(rules.caps[col])} (hard cap)",
                    column=col,
                    min_value=0,
                    max_value=rules.caps[col],
                )
            )
        else:
            exps.append(
                _exp("expect_column_values_to_be_between", "error", "rows", f"{col} >= 0", column=col, min_value=0)
            )
    for col in rules.min1:
        exps.append(_exp("expect_column_values_to_be_between", "error", "rows", f"{col} >= 1", column=col, min_value=1))
    for col, cap in rules.caps.items():
        if col not in rules.min0:
            exps.append(
                _exp(
                    "expect_column_values_to_be_between",
                    "error",
                    "rows",
                    f"|{col}| <= {_yuan(cap)} (hard cap)",
                    column=col,
                    min_value=-cap,
                    max_value=cap,
                )
            )
    derived: dict[str, str] = {}
    for name, (col, condition, cap, rows) in rules.cond_caps.items():
        derived[name] = f'CASE WHEN {condition} THEN "{col}" END'
        exp = _exp(
            "expect_column_values_to_be_between",
            "error",
            "rows",
            f"{col} of {rows} <= {_yuan(cap)} (hard cap)",
            column=name,
            min_value=-cap,
            max_value=cap,
        )
        exp["meta"]["value_column"] = col
        exps.append(exp)
    for col in rules.history:
        name = f"{HISTORY_PREFIX}{col}"
        for severity, param in (("warning", "history_warn_ratio"), ("error", "history_error_ratio")):
            exp = _exp(
                "expect_column_values_to_be_between",
                severity,
                "rows",
                f"|{col}| <= {param} × p{round(HISTORY['percentile'] * 100)} of earlier partitions "
                "(learned bound; not judged without enough history)",
                column=name,
                max_value={"$PARAMETER": param},
            )
            exp["meta"]["value_column"] = col
            exps.append(exp)
    for name, (sql, severity, description) in rules.equal0.items():
        derived[name] = sql
        tol = rules.tolerance.get(name, 0)
        exps.append(
            _exp(
                "expect_column_values_to_be_between",
                severity,
                "rows",
                description,
                column=name,
                min_value=-tol,
                max_value=tol,
            )
        )
    if entity.partition_field:
        types = columns.get(entity.partition_field, INT)
        derived["_partition_day_offset"] = (
            f"date_diff('day', {{dt}}, {_business_date_sql(entity.partition_field, types)})"
        )
        exps.append(
            _exp(
                "expect_column_values_to_be_between",
                rules.day_severity,
                "rows",
                f"{entity.partition_field} falls on the partition's business day ({config.BUSINESS_TZ})"
                + (f" or up to {-rules.day_offset_min} day(s) before it (restated)" if rules.day_offset_min else ""),
                column="_partition_day_offset",
                min_value=rules.day_offset_min,
                max_value=0,
            )
        )
    return {
        "name": f"landing.{entity_name}",
        "expectations": exps,
        "meta": {
            "entity": entity_name,
            "source": entity.source,
            "key": key,
            "derived_columns": derived,
            **(
                {"history": {**HISTORY, "columns": rules.history}, "parameters": dict(HISTORY_PARAMETERS)}
                if rules.history
                else {}
            ),
            "generated_by": "douyin_etl.quality.suitegen",
            "notes": rules.notes or entity.description,
        },
        "notes": None,
    }


def write_all(out_dir: Path | None = None) -> list[Path]:
    out_dir = out_dir or config.EXPECTATIONS_DIR / "landing"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ENTITIES:
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(build_suite(name), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for p in write_all():
        log.info("wrote %s", p)
