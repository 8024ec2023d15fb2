"""Every file format we ingest, *described*: name pattern, Chinese headers, canonical names, types.

One home for these facts: the simulator writes drops from these specs and the ingester reads
them back with the same specs. Adding a file format is a new ``FileSpec`` here, not a new loop.

Column types (``ctype``):
- ``id``        string id; a leading apostrophe/tab (Excel protection) is stripped
- ``str``       free text
- ``int``       integer (thousands separators allowed)
- ``fen``       yuan with ≤ 2 decimals -> integer fen (exact decimal arithmetic)
- ``ts``        local time (``YYYY-MM-DD HH:MM:SS``, ``YYYY/MM/DD HH:MM`` …) as Asia/Shanghai -> TIMESTAMPTZ
- ``date``      ``YYYY-MM-DD`` / ``YYYY/MM/DD`` / ``YYYYMMDD`` -> DATE
- ``bp``        a percentage ("20%", "20.5%") -> integer basis points
- ``grams``     kilograms with ≤ 3 decimals -> integer grams
- ``enum``      a mapping from the file's words to canonical values (``values``)

Delivery (``cadence``): which files a business day's folder must hold, checked before anything lands
(``expected.py``; a missing file is a *missing source*, never an empty partition):

- ``daily_per_shop``       one file per shop of ``config.doudian_shop_ids()`` every day
- ``daily_per_warehouse``  one file per warehouse of the latest warehouse list (仓库列表) every day
- ``daily``                at least one file every day
- ``on_change``            master data, sent once and again only when it changes: some file on or
                           before the day (the day's folder, the lake, or an earlier folder)
- ``sporadic``             sent when there is something to send (none is fine)

``empty_ok``: a header-only file (no data rows) is a legitimate "nothing today" for this source and
lands zero rows; elsewhere it is an error naming the file (an export that went wrong).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

CType = Literal["id", "str", "int", "fen", "ts", "date", "bp", "grams", "enum"]
Cadence = Literal["daily_per_shop", "daily_per_warehouse", "daily", "on_change", "sporadic"]

# DuckDB type of each ctype once landed.
LANDED_TYPE: dict[str, str] = {
    "id": "VARCHAR",
    "str": "VARCHAR",
    "int": "BIGINT",
    "fen": "BIGINT",
    "ts": "TIMESTAMPTZ",
    "date": "DATE",
    "bp": "INTEGER",
    "grams": "BIGINT",
    "enum": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    header: str  # the Chinese header as it appears in the file
    name: str  # canonical name (the platform's own word where one exists)
    ctype: CType
    required: bool = True  # a file missing a required column fails its task
    nullable: bool = False  # an empty cell is allowed
    values: dict[str, str | int] = field(default_factory=dict)  # for enum
    aliases: tuple[str, ...] = ()  # other headers seen for the same column (renames)


@dataclass(frozen=True)
class FileSpec:
    entity: str  # entity name in douyin_etl.entities
    pattern: str  # regex on the file name; named groups become columns (shop_id, warehouse_id, …)
    columns: tuple[Column, ...]
    formats: tuple[str, ...] = ("csv", "xlsx")
    description: str = ""
    cadence: Cadence = "sporadic"  # which files a day must hold (module docstring)
    empty_ok: bool = False  # a header-only file is a legitimate "nothing today"

    def match(self, filename: str) -> re.Match[str] | None:
        return re.fullmatch(self.pattern, filename)

    def file_name(self, groups: dict[str, str], ext: str) -> str:
        """The file name with the pattern's named groups filled in (``ext``: csv or xlsx)."""
        template = self.pattern.replace(_EXT, "." + ext)
        name = _GROUP_RE.sub(lambda m: groups[m.group("name")], template).replace("\\.", ".")
        if not self.match(name):
            raise ValueError(f"{self.entity}: file name {name!r} built from {groups} does not match {self.pattern!r}")
        return name

    def display_name(self, groups: dict[str, str]) -> str:
        """A name for messages: the groups filled in, ``*`` for the others, every allowed extension
        (``发货明细_WH01_20261005.csv``, ``结算账单_1001_20261005.csv|xlsx``, ``运费账单_*_20261005.xlsx``)."""
        filled = {g: groups.get(g, "*") for g in self.file_columns}
        stem = _GROUP_RE.sub(lambda m: filled[m.group("name")], self.pattern.replace(_EXT, "")).replace("\\.", ".")
        return f"{stem}.{'|'.join(self.formats)}"

    @property
    def by_header(self) -> dict[str, Column]:
        out: dict[str, Column] = {}
        for c in self.columns:
            out[c.header] = c
            for a in c.aliases:
                out[a] = c
        return out

    @property
    def file_columns(self) -> list[str]:
        """Canonical names taken from the file name (named groups of ``pattern``)."""
        return list(re.compile(self.pattern).groupindex)

    def landed_schema(self) -> dict[str, str]:
        """Column -> DuckDB type of the landed Parquet (before the ``_`` metadata columns)."""
        schema = {
            c.name: (
                "INTEGER"
                if c.ctype == "enum" and all(isinstance(v, int) for v in c.values.values())
                else LANDED_TYPE[c.ctype]
            )
            for c in self.columns
        }
        for g in self.file_columns:
            schema.setdefault(g, "VARCHAR")
        return schema


def C(header: str, name: str, ctype: CType = "str", **kw) -> Column:  # noqa: N802 - terse table rows
    return Column(header, name, ctype, **kw)


_DAY = r"(?P<file_date>\d{8})"
_EXT = r"\.(?:csv|xlsx)"
_GROUP_RE = re.compile(r"\(\?P<(?P<name>\w+)>[^()]*\)")

SPECS: dict[str, FileSpec] = {
    s.entity: s
    for s in [
        FileSpec(
            "settlement_bill",
            rf"结算账单_(?P<shop_id>\d+)_{_DAY}{_EXT}",
            (
                C("结算时间", "settle_time", "ts"),
                C("结算单号", "request_no", "id"),
                C("订单号", "shop_order_id", "id"),
                C("子订单号", "order_id", "id"),
                C("商品ID", "product_id", "id"),
                C("交易类型", "trade_type", "enum", values={"已结算": 0, "结算后退款": 1}),
                C("结算金额", "settle_amount", "fen"),
                C("收入合计", "total_income", "fen"),
                C("用户实付", "real_pay_amount", "fen"),
                C("退款金额", "refund_before_settle", "fen"),
                C("平台补贴", "platform_coupon", "fen"),
                C("达人补贴", "author_coupon", "fen"),
                C("抖音支付补贴", "zt_pay_promotion", "fen"),
                C("抖音月付营销补贴", "zr_pay_promotion", "fen"),
                C("平台服务费", "platform_service_fee", "fen"),
                C("佣金", "commission", "fen"),
                C("渠道分成", "good_learn_channel_fee", "fen"),
                C("招商服务费", "colonel_service_fee", "fen"),
                C("直播间站外推广", "channel_promotion_fee", "fen"),
                C("其他分成", "other_sharing_amount", "fen"),
                C("其他分成说明", "other_sharing_desc", "str", required=False, nullable=True),
                C("支出合计", "total_outcome", "fen"),
                C("备注", "remark", "str", required=False, nullable=True),
            ),
            description="结算账单: one row per settled or reversed SKU order",
            cadence="daily_per_shop",
            empty_ok=True,
        ),
        FileSpec(
            "fund_flow",
            rf"动账明细_(?P<shop_id>\d+)_{_DAY}{_EXT}",
            (
                C("动账时间", "bill_time", "ts"),
                C("动帐流水号", "account_trade_no", "id", aliases=("动账流水号",)),
                C("动账方向", "fund_flow", "enum", values={"入账": 0, "出账": 1}),
                C("动账金额", "account_amount", "fen"),
                C("动账账户", "account_type", "str"),
                C("动账场景", "account_bill_desc", "str"),
                C("计费类型", "account_bill_desc_tag", "int"),
                C("子订单号", "order_id", "id", nullable=True),
                C("订单号", "shop_order_id", "id", nullable=True),
                C("订单实付应结", "pay_amount", "fen", nullable=True),
                C("运费实付", "post_amount", "fen", nullable=True),
                C("实际平台补贴", "promotion_amount", "fen", nullable=True),
                C("订单退款", "refund_amount", "fen", nullable=True),
                C("平台服务费", "platform_service_fee", "fen", nullable=True),
                C("佣金", "commission", "fen", nullable=True),
                C("招商服务费", "colonel_service_fee", "fen", nullable=True),
                C("站外推广费", "channel_fee", "fen", nullable=True),
                C("备注", "remark", "str", required=False, nullable=True),
            ),
            description="动账明细: every movement of the shop's account",
            cadence="daily_per_shop",
            empty_ok=True,
        ),
        FileSpec(
            "freight_invoice",
            rf"运费账单_(?P<carrier>[a-z]+)_{_DAY}{_EXT}",
            (
                C("运单号", "tracking_no", "id"),
                C("快递公司", "carrier_name", "str"),
                C("发货日期", "ship_date", "date"),
                C("计费重量(kg)", "billed_weight_g", "grams"),
                C("运费(元)", "freight_fen", "fen"),
                C("目的省", "dest_province", "str", nullable=True),
                C("仓库编码", "warehouse_id", "id"),
                # a return waybill (拒收 parcel going back) names the outbound waybill it returns
                C("原运单号", "original_tracking_no", "id", required=False, nullable=True),
            ),
            formats=("xlsx",),
            description="运费账单: carrier freight per waybill",
            cadence="sporadic",
            empty_ok=False,
        ),
        FileSpec(
            "product_cost",
            rf"商品成本表_{_DAY}{_EXT}",
            (
                C("商品ID", "product_id", "id"),
                C("SKU ID", "sku_id", "id"),
                C("商家编码", "code", "str", nullable=True),
                C("成本价(元)", "unit_cost_fen", "fen"),
                C("生效日期", "effective_date", "date"),
            ),
            formats=("xlsx",),
            description="商品成本表: unit cost per SKU from an effective date",
            cadence="on_change",
            empty_ok=False,
        ),
        FileSpec(
            "creator",
            rf"达人合作_(?P<shop_id>\d+)_{_DAY}{_EXT}",
            (
                C("达人ID", "author_id", "id"),
                C("达人昵称", "author_name", "str"),
                C("粉丝数", "followers", "int"),
                C("达人层级", "tier", "enum", values={"头部": "head", "腰部": "mid", "尾部": "long_tail"}),
                C("佣金率", "commission_rate_bp", "bp"),
                C("合作开始日期", "since_date", "date"),
            ),
            formats=("csv",),
            description="达人合作: creators the shop works with",
            cadence="sporadic",
            empty_ok=False,
        ),
        FileSpec(
            "live_session",
            rf"直播场次_(?P<shop_id>\d+)_{_DAY}{_EXT}",
            (
                C("直播间ID", "room_id", "id"),
                C("主播ID", "anchor_id", "id"),
                C("主播昵称", "anchor_name", "str"),
                C("开播时间", "start_time", "ts"),
                C("下播时间", "end_time", "ts"),
                C("观看人次", "watch_pv", "int"),
                C("观看人数", "viewers", "int"),
                C("人均观看时长(秒)", "avg_watch_seconds", "int"),
                C("新增粉丝", "new_followers", "int"),
                C("评论次数", "comments", "int"),
            ),
            formats=("csv",),
            description="直播场次: live sessions (罗盘 export)",
            cadence="daily_per_shop",
            empty_ok=True,
        ),
        FileSpec(
            "short_video",
            rf"短视频数据_(?P<shop_id>\d+)_{_DAY}{_EXT}",
            (
                C("日期", "stat_date", "date"),
                C("视频ID", "video_id", "id"),
                C("达人ID", "author_id", "id", nullable=True),
                C("发布时间", "publish_time", "ts"),
                C("播放量", "plays", "int"),
                C("完播次数", "completed_plays", "int"),
                C("点赞", "likes", "int"),
                C("评论", "comments", "int"),
                C("分享", "shares", "int"),
            ),
            formats=("csv",),
            description="短视频数据: daily video stats (罗盘 export)",
            cadence="daily_per_shop",
            empty_ok=True,
        ),
        FileSpec(
            "traffic_funnel",
            rf"商品流量_(?P<shop_id>\d+)_{_DAY}{_EXT}",
            (
                C("日期", "stat_date", "date"),
                C("商品ID", "product_id", "id"),
                C(
                    "渠道",
                    "channel",
                    "enum",
                    values={
                        "直播": "live",
                        "短视频": "video",
                        "商品卡": "card",
                        "搜索": "search",
                        "精选联盟": "alliance",
                    },
                ),
                C("曝光次数", "exposures", "int"),
                C("点击次数", "clicks", "int"),
                C("加购次数", "add_to_carts", "int"),
                C("下单数", "orders", "int"),
                C("支付数", "pays", "int"),
            ),
            formats=("csv",),
            description="商品流量: daily funnel per product × channel (罗盘 export)",
            cadence="daily_per_shop",
            empty_ok=True,
        ),
        FileSpec(
            "warehouse",
            rf"仓库列表_{_DAY}{_EXT}",
            (
                C("仓库编码", "warehouse_id", "id"),
                C("仓库名称", "warehouse_name", "str"),
                C("省", "province", "str"),
                C("市", "city", "str"),
                C("仓库类型", "warehouse_type", "int"),
                C("补货周期(天)", "lead_time_days", "int"),
            ),
            formats=("csv",),
            description="仓库列表: warehouses",
            cadence="on_change",
            empty_ok=False,
        ),
        FileSpec(
            "shipment",
            rf"发货明细_(?P<warehouse_code>[A-Z0-9]+)_{_DAY}{_EXT}",
            (
                C("仓库编码", "warehouse_id", "id"),
                C("出库单号", "outbound_id", "id"),
                C("订单号", "shop_order_id", "id"),
                C("子订单号", "sku_order_id", "id"),
                C("商品编码", "sku_id", "id"),
                C("数量", "quantity", "int"),
                C("快递公司", "carrier", "str"),
                C("运单号", "tracking_no", "id"),
                C("出库时间", "ship_time", "ts"),
                C("签收时间", "delivered_time", "ts", nullable=True),
                C("承诺送达时间", "promised_delivery_time", "ts"),
            ),
            formats=("csv",),
            description="发货明细: 3PL outbound per SKU order line",
            cadence="daily_per_warehouse",
            empty_ok=True,
        ),
        FileSpec(
            "stock_snapshot",
            rf"库存日报_(?P<warehouse_code>[A-Z0-9]+)_{_DAY}{_EXT}",
            (
                C("日期", "stock_date", "date"),
                C("仓库编码", "warehouse_id", "id"),
                C("商品编码", "sku_id", "id"),
                C("期初库存", "opening_qty", "int"),
                C("入库", "inbound_qty", "int"),
                C("出库", "outbound_qty", "int"),
                C("退货入库", "return_qty", "int"),
                C("期末库存", "closing_qty", "int"),
                C("锁定库存", "locked_qty", "int"),
            ),
            formats=("xlsx",),
            description="库存日报: 3PL daily stock per SKU × warehouse",
            cadence="daily_per_warehouse",
            empty_ok=False,
        ),
        FileSpec(
            "purchase_receipt",
            rf"入库单_(?P<warehouse_code>[A-Z0-9]+)_{_DAY}{_EXT}",
            (
                C("入库单号", "receipt_id", "id"),
                C("仓库编码", "warehouse_id", "id"),
                C("商品编码", "sku_id", "id"),
                C("入库数量", "quantity", "int"),
                C("入库时间", "receipt_time", "ts"),
                C("采购单价(元)", "unit_cost_fen", "fen"),
                C("供应商", "supplier", "str"),
            ),
            formats=("csv",),
            description="入库单: purchase receipts into a warehouse",
            cadence="sporadic",
            empty_ok=False,
        ),
    ]
}


def spec_for_file(filename: str) -> FileSpec | None:
    """The spec whose pattern matches ``filename`` (a bare name, no folder), or None."""
    for spec in SPECS.values():
        if spec.match(filename):
            return spec
    return None
