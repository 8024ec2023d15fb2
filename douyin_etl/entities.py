"""The entities the pipeline moves: one registry, the same names from simulator to mart.

Each landed entity lives at ``<lake>/raw/<source>/<entity>/dt=YYYY-MM-DD/``. ``dt`` is the
Asia/Shanghai business day of ``partition_field`` (for snapshots: the day the snapshot was taken;
for files: the business day the file covers, i.e. its drop folder). Column lists, types and units
are in docs/sources.md (the contract between simulator, extractors and dbt staging).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["platform", "logistics", "finance"]
Kind = Literal["api", "file"]


@dataclass(frozen=True)
class Entity:
    name: str
    source: str  # doudian (Open API), backoffice (抖店/罗盘 downloads), wms (3PL), carrier, merchant
    family: Family  # which extract DAG lands it
    kind: Kind
    key: tuple[str, ...]  # grain of one landed row (after de-duplication)
    partition_field: str | None  # field whose business day is dt; None = snapshot / file day
    description: str

    @property
    def landing_dir(self) -> str:
        return f"raw/{self.source}/{self.name}"

    @property
    def asset_uri(self) -> str:
        """Airflow Asset URI of this entity's landing (the transform is triggered by these)."""
        return f"douyin://lake/raw/{self.source}/{self.name}"


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        # -- platform (Open API) ------------------------------------------------------------
        Entity(
            "shop_order",
            "doudian",
            "platform",
            "api",
            ("order_id",),
            "update_time",
            "Shop (parent) orders from order.searchList, nested fields kept as JSON text.",
        ),
        Entity(
            "sku_order",
            "doudian",
            "platform",
            "api",
            ("order_id",),
            "update_time",
            "SKU order lines (sku_order_list of order.searchList), one row per line.",
        ),
        Entity(
            "after_sale",
            "doudian",
            "platform",
            "api",
            ("aftersale_id",),
            "update_time",
            "After-sales (refunds, returns, exchanges) from afterSale.List.",
        ),
        Entity("product", "doudian", "platform", "api", ("product_id",), None, "Daily snapshot of product.listV2."),
        Entity("sku", "doudian", "platform", "api", ("id",), None, "Daily snapshot of sku.list (price in fen)."),
        Entity(
            "alliance_order",
            "doudian",
            "platform",
            "api",
            ("order_id",),
            "update_time",
            "精选联盟 commission orders from alliance.getOrderList.",
        ),
        Entity(
            "ad_report",
            "doudian",
            "platform",
            "api",
            ("advertiser_id", "stat_date", "marketing_goal"),
            "stat_date",
            "Qianchuan (巨量千川) daily advertiser report; yuan converted to fen at extraction.",
        ),
        # -- platform (back-office downloads: 罗盘 compass exports) -------------------------
        Entity(
            "creator",
            "backoffice",
            "platform",
            "file",
            ("shop_id", "author_id"),
            None,
            "达人 (creators) the shop works with: tier, followers, commission rate.",
        ),
        Entity(
            "live_session",
            "backoffice",
            "platform",
            "file",
            ("room_id",),
            "start_time",
            "Live sessions (直播场次): anchor, viewers, watch time.",
        ),
        Entity(
            "short_video",
            "backoffice",
            "platform",
            "file",
            ("video_id", "stat_date"),
            "stat_date",
            "Short videos, daily stats (plays, completions, likes, comments, shares).",
        ),
        Entity(
            "traffic_funnel",
            "backoffice",
            "platform",
            "file",
            ("shop_id", "stat_date", "product_id", "channel"),
            "stat_date",
            "Daily funnel per product × channel: exposure → click → add-to-cart → order → pay.",
        ),
        # -- logistics ----------------------------------------------------------------------
        Entity(
            "warehouse",
            "wms",
            "logistics",
            "file",
            ("warehouse_id",),
            None,
            "Warehouses (3PL master file): region, type, replenishment lead time.",
        ),
        Entity(
            "shipment",
            "wms",
            "logistics",
            "file",
            ("outbound_id", "sku_order_id"),
            "ship_time",
            "3PL outbound (发货明细): one row per shipped SKU order line.",
        ),
        Entity(
            "stock_snapshot",
            "wms",
            "logistics",
            "file",
            ("stock_date", "warehouse_id", "sku_id"),
            "stock_date",
            "3PL daily stock report (库存日报) per SKU × warehouse.",
        ),
        Entity(
            "purchase_receipt",
            "wms",
            "logistics",
            "file",
            ("receipt_id", "sku_id"),
            "receipt_time",
            "Warehouse inbound receipts (入库单) of purchased stock.",
        ),
        Entity(
            "logistics_track",
            "doudian",
            "logistics",
            "api",
            ("track_no", "node_seq"),
            "ship_time",
            "Tracking route nodes (logistics.trackNoRouteDetail) of the day's shipments.",
        ),
        # -- finance ------------------------------------------------------------------------
        Entity(
            "settlement_bill",
            "backoffice",
            "finance",
            "file",
            ("request_no",),
            "settle_time",
            "Settlement bill (结算账单): one row per settled (or reversed) SKU order.",
        ),
        Entity(
            "fund_flow",
            "backoffice",
            "finance",
            "file",
            ("account_trade_no",),
            "bill_time",
            "Fund-flow detail (动账明细): settlements, commissions, withdrawals, deductions.",
        ),
        Entity(
            "freight_invoice",
            "carrier",
            "finance",
            "file",
            ("tracking_no",),
            "ship_date",
            "Carrier freight invoices (运费账单), one row per waybill.",
        ),
        Entity(
            "product_cost",
            "merchant",
            "finance",
            "file",
            ("sku_id", "effective_date"),
            None,
            "Merchant product cost sheet (商品成本表): unit cost per SKU from an effective date.",
        ),
    ]
}


def by_family(family: Family) -> list[Entity]:
    return [e for e in ENTITIES.values() if e.family == family]


def get(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(sorted(ENTITIES))}") from None
