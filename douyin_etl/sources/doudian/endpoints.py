"""Every Open API endpoint the pipeline (and the mock) speaks, *described*.

One spec per endpoint: path and HTTP method, paging style, where the list sits in ``data``, the
record key and version field (for de-duplication across pages), the time-window parameters and the
longest window the endpoint accepts, and how a record becomes landed rows (``flatten``) with the
landed DuckDB column types (``LANDED_SCHEMAS``; columns exactly as docs/sources.md).

Generic code walks these specs: the client's pagers (``client.py``), the extractor (``extract.py``)
and the mock's window/paging checks (``douyin_sim.mock_api``). A new endpoint is a new spec here.

Window limits (the mock enforces them, the client splits windows to them):
order.searchList 90 days, by update_time (``update_time_start/end``) or create_time
(``create_time_start/end``); afterSale.List 90 days, by update_time (``update_start_time/end_time``) or
apply_time (``start_time/end_time``, end exclusive); both at most 50,000 records deep per window
(page × size, ``max_depth``: the client halves a deeper window); alliance.getOrderList 12 h
(update_time), order.getSettleBillDetailV3 7 days (settle_time), order.getShopAccountItem 7 days
(bill_time), Qianchuan report 30 days (stat date). Windows are inclusive at both ends, to the
second (the client sends ``[start, next_start − 1]``), unless ``end_inclusive`` is False.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from douyin_etl.money import yuan_to_fen
from douyin_etl.timeutil import SHANGHAI

Paging = Literal["page", "cursor", "single"]
WindowFormat = Literal["unix", "datetime", "date"]

# -- landed column types (DuckDB) -------------------------------------------------------------
V, B, I, D, DT = "VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "DATE"


def _schema(spec: str) -> dict[str, str]:
    """'a:V b:B' -> {'a': 'VARCHAR', 'b': 'BIGINT'} (compact, keeps column order)."""
    types = {"V": V, "B": B, "I": I, "D": D, "DT": DT}
    out: dict[str, str] = {}
    for item in spec.split():
        name, t = item.rsplit(":", 1)
        out[name] = types[t]
    return out


LANDED_SCHEMAS: dict[str, dict[str, str]] = {
    "shop_order": _schema(
        "order_id:V shop_id:V order_status:I main_status:I create_time:B pay_time:B update_time:B "
        "finish_time:B ship_time:B exp_ship_time:B b_type:I pay_type:I trade_type:I order_amount:B "
        "pay_amount:B post_amount:B promotion_amount:B promotion_shop_amount:B promotion_platform_amount:B "
        "promotion_talent_amount:B modify_amount:B post_insurance_amount:B tax_amount:B doudian_open_id:V "
        "encrypt_post_tel:V encrypt_post_receiver:V mask_post_receiver:V mask_post_tel:V post_addr:V "
        "logistics_info:V"
    ),
    "sku_order": _schema(
        "order_id:V parent_order_id:V shop_id:V product_id:V product_name:V sku_id:V out_sku_id:V code:V "
        "spec:V item_num:I origin_amount:B sum_amount:B pay_amount:B post_amount:B promotion_amount:B "
        "promotion_shop_amount:B promotion_platform_amount:B promotion_talent_amount:B first_cid:B "
        "second_cid:B order_status:I create_time:B pay_time:B finish_time:B update_time:B ship_time:B "
        "exp_ship_time:B logistics_receipt_time:B confirm_receipt_time:B author_id:V author_name:V "
        "room_id_str:V video_id:V content_id:V theme_type:I c_biz:I ad_env_type:V send_pay:I trade_type:I "
        "inventory_list:V after_sale_info:V"
    ),
    "after_sale": _schema(
        "aftersale_id:V related_id:V shop_order_id:V shop_id:V aftersale_type:I aftersale_status:I "
        "refund_status:I refund_type:I apply_time:B create_time:B update_time:B status_deadline:B "
        "refund_time:B refund_amount:B refund_post_amount:B refund_tax_amount:B return_promotion_amount:B "
        "aftersale_num:I return_logistics_code:V return_logistics_company_name:V got_pkg:I "
        "arbitrate_status:I reason_second_labels:V order_info:V"
    ),
    "product": _schema(
        "product_id:V shop_id:V name:V status:I check_status:I market_price:B discount_price:B first_cid:B "
        "second_cid:B first_cid_cname:V second_cid_cname:V create_time:B update_time:B outer_product_id:V "
        "cos_ratio:B"
    ),
    "sku": _schema(
        "id:V product_id:V shop_id:V price:B stock_num:B prehold_stock_num:B prom_stock_num:B code:V "
        "spec_detail_name1:V spec_detail_name2:V spec_detail_name3:V sku_type:I"
    ),
    "alliance_order": _schema(
        "order_id:V shop_id:V product_id:V author_id:V author_account:V short_id:V total_pay_amount:B "
        "commission_rate_bp:I colonel_service_rate_bp:I estimated_comission:B real_comission:B "
        "order_status:V alliance_biz_type:I create_time:B update_time:B settle_time:B"
    ),
    "ad_report": _schema(
        "advertiser_id:V shop_id:V stat_date:DT marketing_goal:V stat_cost:B show_cnt:B click_cnt:B "
        "pay_order_count:B pay_order_amount:B create_order_amount:B dy_follow:B total_play:B "
        "play_over_rate:D"
    ),
    "logistics_track": _schema(
        "track_no:V express:V node_seq:I content:V timestamp:B state:V state_description:V site_name:V ship_time:B"
    ),
}
SOURCE_REF = "_source_ref"  # per-row lineage: method, shop, window, page (never credentials)

# Columns the platform returns as nested JSON; the world stores them as JSON text.
JSON_FIELDS = frozenset(
    {
        "post_addr",
        "logistics_info",
        "spec",
        "inventory_list",
        "after_sale_info",
        "reason_second_labels",
        "order_info",
        "stock_num_map",
        "prehold_stock_map",
        "sku_order_list",
        "related_order_info",
    }
)
QIANCHUAN_MONEY = ("stat_cost", "pay_order_amount", "create_order_amount")
QIANCHUAN_GOALS = ("LIVE_PROM_GOODS", "VIDEO_PROM_GOODS")


def json_text(value: Any) -> str | None:
    """Nested value -> JSON text the same way everywhere (sorted keys, UTF-8 kept)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def landed_row(entity: str, record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Project ``record`` (+ ``extra``) onto the entity's landed columns; nested values -> JSON text."""
    merged = {**record, **extra}
    row = {}
    for col, typ in LANDED_SCHEMAS[entity].items():
        value = merged.get(col)
        if isinstance(value, (dict, list)):
            value = json_text(value)
        elif isinstance(value, Decimal):
            value = float(value) if typ == D else int(value)
        row[col] = value
    if SOURCE_REF in merged:
        row[SOURCE_REF] = merged[SOURCE_REF]
    return row


# -- windows --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    start_param: str
    end_param: str
    fmt: WindowFormat
    max_span: timedelta
    field: str  # record field the window filters on (the entity's partition field)
    end_inclusive: bool = True  # False: the gateway reads end_param as exclusive (afterSale start_time/end_time)

    def encode(self, start: datetime, end_incl: datetime) -> dict[str, Any]:
        """Request params for the inclusive window [start, end_incl] (aware datetimes)."""
        end = encode_instant(end_incl, self.fmt)
        if not self.end_inclusive and isinstance(end, int):
            end += 1
        return {self.start_param: encode_instant(start, self.fmt), self.end_param: end}

    def given(self, params: dict[str, Any]) -> bool:
        return params.get(self.start_param) not in (None, "") or params.get(self.end_param) not in (None, "")

    def decode(self, params: dict[str, Any]) -> tuple[int, int]:
        """(start, end) unix seconds, inclusive, from request params; ValueError when missing/bad."""
        if self.start_param not in params or self.end_param not in params:
            raise ValueError(f"{self.start_param} and {self.end_param} are required")
        start = decode_instant(params[self.start_param], self.fmt, end=False)
        end = decode_instant(params[self.end_param], self.fmt, end=True)
        if not self.end_inclusive:
            end -= 1
        if end < start:
            raise ValueError(f"{self.end_param} is before {self.start_param}")
        if end - start >= self.max_span.total_seconds():
            raise ValueError(f"time window longer than {self.max_span} (split it)")
        return start, end


def encode_instant(t: datetime, fmt: WindowFormat) -> Any:
    local = t.astimezone(SHANGHAI)
    if fmt == "unix":
        return int(t.timestamp())
    if fmt == "datetime":
        return local.strftime("%Y-%m-%d %H:%M:%S")
    return local.date().isoformat()


def decode_instant(value: Any, fmt: WindowFormat, *, end: bool) -> int:
    if fmt == "unix":
        return int(value)
    if fmt == "datetime":
        return int(datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI).timestamp())
    d = date.fromisoformat(str(value))
    start = int(datetime(d.year, d.month, d.day, tzinfo=SHANGHAI).timestamp())
    return start + 86399 if end else start


def split_window(start: datetime, end_excl: datetime, max_span: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end_excl) cut into consecutive pieces no longer than ``max_span`` (half-open)."""
    out = []
    t = start
    while t < end_excl:
        nxt = min(t + max_span, end_excl)
        out.append((t, nxt))
        t = nxt
    return out


# -- endpoint specs ---------------------------------------------------------------------------
Flatten = Callable[[dict[str, Any], dict[str, Any]], dict[str, list[dict[str, Any]]]]


@dataclass(frozen=True)
class Endpoint:
    method: str  # gateway method name, e.g. order.searchList
    paging: Paging
    list_field: str = ""  # where the records sit in data ('a.b' for nested)
    key: tuple[str, ...] = ()  # record identity across pages (on the *record* as returned)
    version_field: str | None = None  # newer value wins when a record repeats
    window: Window | None = None  # the window the extractor uses (incremental days)
    max_size: int = 100
    size_param: str = "size"
    page_param: str = "page"
    first_page: int = 0
    total_field: str | None = "total"  # page paging: total records (or None)
    has_more_field: str | None = None  # page paging: explicit has_more flag
    total_page_field: str | None = None  # page paging: total pages ('page_info.total_page')
    cursor_param: str = "start_index"
    next_cursor_field: str = "next_start_index"
    is_end_field: str = "is_end"
    http: Literal["POST", "GET"] = "POST"
    flatten: Flatten | None = None  # record + context -> {entity: [landed rows]}
    mutable_field: str | None = None  # the field the mock's 'mutate' fault changes
    extra_params: dict[str, Any] = field(default_factory=dict)
    alt_windows: tuple[Window, ...] = ()  # other windows the gateway accepts (create / apply time)
    max_depth: int | None = None  # page × size limit per query: a deeper window must be narrowed

    @property
    def windows(self) -> tuple[Window, ...]:
        return ((self.window,) if self.window else ()) + self.alt_windows

    def window_on(self, field_name: str) -> Window:
        """The window filtering on ``field_name`` (e.g. create_time); KeyError naming the choices."""
        for w in self.windows:
            if w.field == field_name:
                return w
        raise KeyError(f"{self.method} has no {field_name} window; choose one of {[w.field for w in self.windows]}")

    @property
    def path(self) -> str:
        p = "/" + self.method.replace(".", "/")
        return p + "/" if self.http == "GET" else p

    def record_key(self, record: dict[str, Any]) -> tuple:
        return tuple(dig(record, k) for k in self.key)

    def record_version(self, record: dict[str, Any]) -> Any:
        return dig(record, self.version_field) if self.version_field else None


def dig(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


# -- flatteners: one record -> landed rows ---------------------------------------------------
def _flatten_order(rec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    ref = ctx.get(SOURCE_REF)
    shop_id = rec.get("shop_id") or ctx.get("shop_id")
    parent = landed_row("shop_order", rec, shop_id=shop_id, **{SOURCE_REF: ref})
    lines = [
        landed_row(
            "sku_order",
            line,
            shop_id=shop_id,
            parent_order_id=line.get("parent_order_id") or rec.get("order_id"),
            **{SOURCE_REF: ref},
        )
        for line in rec.get("sku_order_list") or []
    ]
    return {"shop_order": [parent], "sku_order": lines}


def _flatten_after_sale(rec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    info = dict(rec.get("aftersale_info") or {})
    order_info = rec.get("order_info") or {}
    return {
        "after_sale": [
            landed_row(
                "after_sale",
                info,
                shop_order_id=info.get("shop_order_id") or order_info.get("shop_order_id"),
                shop_id=info.get("shop_id") or ctx.get("shop_id"),
                order_info=order_info,
                **{SOURCE_REF: ctx.get(SOURCE_REF)},
            )
        ]
    }


def _flatten_order_detail(rec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """order.orderDetail's ``data`` ({shop_order_detail: order}) -> the same rows as an order.searchList record."""
    return _flatten_order(rec.get("shop_order_detail") or {}, ctx)


def _plain(entity: str) -> Flatten:
    def flatten(rec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        return {
            entity: [
                landed_row(
                    entity, rec, shop_id=rec.get("shop_id") or ctx.get("shop_id"), **{SOURCE_REF: ctx.get(SOURCE_REF)}
                )
            ]
        }

    return flatten


def _flatten_ad(rec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    row = dict(rec)
    for money in QIANCHUAN_MONEY:  # yuan decimals -> fen, exactly (the client parses floats as Decimal)
        if row.get(money) is not None:
            row[money] = yuan_to_fen(str(row[money]))
    stat = str(row.get("stat_datetime") or row.get("stat_date"))[:10]
    return {
        "ad_report": [
            landed_row(
                "ad_report",
                row,
                advertiser_id=str(row.get("advertiser_id") or ctx.get("advertiser_id")),
                shop_id=ctx.get("shop_id"),
                stat_date=date.fromisoformat(stat),
                marketing_goal=row.get("marketing_goal") or ctx.get("marketing_goal"),
                **{SOURCE_REF: ctx.get(SOURCE_REF)},
            )
        ]
    }


def _flatten_track(rec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rows = []
    for i, node in enumerate(rec.get("route_node_list") or []):
        rows.append(
            landed_row(
                "logistics_track",
                node,
                track_no=rec.get("track_no") or ctx.get("track_no"),
                express=rec.get("express") or ctx.get("express"),
                node_seq=node.get("node_seq", i),
                ship_time=ctx.get("ship_time"),
                **{SOURCE_REF: ctx.get(SOURCE_REF)},
            )
        )
    return {"logistics_track": rows}


DAY = timedelta(days=1)
QUERY_SPAN = timedelta(days=90)  # order and after-sale windows: the gateway serves at most 90 days
QUERY_DEPTH = 50_000  # order and after-sale queries: page x size at most 50,000 (narrow the window)
ENDPOINTS: dict[str, Endpoint] = {
    e.method: e
    for e in [
        Endpoint(
            "order.searchList",
            "page",
            "shop_order_list",
            ("order_id",),
            "update_time",
            Window("update_time_start", "update_time_end", "unix", QUERY_SPAN, "update_time"),
            flatten=_flatten_order,
            mutable_field="order_status",
            extra_params={"order_by": "update_time", "order_asc": True},
            alt_windows=(Window("create_time_start", "create_time_end", "unix", QUERY_SPAN, "create_time"),),
            max_depth=QUERY_DEPTH,
        ),
        Endpoint("order.orderDetail", "single", key=("shop_order_detail.order_id",), flatten=_flatten_order_detail),
        Endpoint(
            "afterSale.List",
            "page",
            "items",
            ("aftersale_info.aftersale_id",),
            "aftersale_info.update_time",
            Window("update_start_time", "update_end_time", "unix", QUERY_SPAN, "update_time"),
            total_field="total",
            has_more_field="has_more",
            flatten=_flatten_after_sale,
            mutable_field="aftersale_info.aftersale_status",
            # the gateway's advice: with an update-time window, order by update_time or rows are missed
            extra_params={"order_by": ["update_time asc"]},
            alt_windows=(Window("start_time", "end_time", "unix", QUERY_SPAN, "apply_time", end_inclusive=False),),
            max_depth=QUERY_DEPTH,
        ),
        Endpoint(
            "product.listV2",
            "page",
            "data",
            ("product_id",),
            "update_time",
            first_page=1,
            flatten=_plain("product"),
            mutable_field="status",
        ),
        Endpoint("sku.list", "page", "data", ("id",), None, flatten=_plain("sku"), mutable_field="stock_num"),
        Endpoint(
            "alliance.getOrderList",
            "cursor",
            "orders",
            ("order_id",),
            "update_time",
            Window("start_time", "end_time", "unix", timedelta(hours=12), "update_time"),
            cursor_param="cursor",
            next_cursor_field="cursor",
            is_end_field="is_end",
            flatten=_plain("alliance_order"),
            mutable_field="order_status",
            extra_params={"time_type": "update"},
        ),
        Endpoint(
            "order.getSettleBillDetailV3",
            "cursor",
            "data",
            ("request_no",),
            None,
            Window("start_time", "end_time", "datetime", timedelta(days=7), "settle_time"),
            mutable_field="remark",
            extra_params={"time_type": 0},
        ),
        Endpoint(
            "order.getShopAccountItem",
            "cursor",
            "data",
            ("account_trade_no",),
            None,
            Window("start_time", "end_time", "datetime", timedelta(days=7), "bill_time"),
            max_size=1000,
            mutable_field="remark",
            extra_params={"time_type": 0},
        ),
        Endpoint("sku.stockNum", "single"),
        Endpoint("logistics.trackNoRouteDetail", "single", flatten=_flatten_track),
        Endpoint(
            "qianchuan.report.advertiser.get",
            "page",
            "list",
            ("stat_datetime",),
            None,
            Window("start_date", "end_date", "date", timedelta(days=30), "stat_date"),
            size_param="page_size",
            first_page=1,
            total_field="page_info.total_number",
            total_page_field="page_info.total_page",
            http="GET",
            flatten=_flatten_ad,
            extra_params={"time_granularity": "TIME_GRANULARITY_DAILY"},
        ),
        Endpoint(
            "qianchuan.shop.advertiser.list",
            "page",
            "list",
            ("advertiser_id",),
            None,
            size_param="page_size",
            first_page=1,
            total_field="page_info.total_number",
            total_page_field="page_info.total_page",
            http="GET",
        ),
    ]
}

# Which endpoint lands which entity (shop_order and sku_order come from the same calls).
ENTITY_ENDPOINT: dict[str, str] = {
    "shop_order": "order.searchList",
    "sku_order": "order.searchList",
    "after_sale": "afterSale.List",
    "product": "product.listV2",
    "sku": "sku.list",
    "alliance_order": "alliance.getOrderList",
    "ad_report": "qianchuan.report.advertiser.get",
    "logistics_track": "logistics.trackNoRouteDetail",
}


def endpoint(method: str) -> Endpoint:
    try:
        return ENDPOINTS[method]
    except KeyError:
        raise KeyError(f"unknown Open API method {method!r}; known: {', '.join(sorted(ENDPOINTS))}") from None
