"""The merchant's slowly changing world: shops, products, SKUs, prices, costs, accounts, creators.

Arrays are numpy, one element per SKU / author, so the daily order generator can index them.
Categories and the platform's starting fee rates come from ``fees.PLATFORM_RATES_BP`` (the simulated
platform's own table; the merchant's seed ``platform_fee_rates.csv`` is only an expectation, never read here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from douyin_sim.simulator.fees import PLATFORM_RATES_BP

# Second categories per first category (id offset, names) and a typical unit price range (fen).
_SECOND: dict[int, tuple[list[str], tuple[int, int], tuple[int, int]]] = {
    # first_cid: (second names, price range fen, weight range g)
    20000: (["女装", "男装", "内衣", "鞋靴"], (3900, 29900), (150, 900)),
    20001: (["护肤", "彩妆", "洗护"], (2900, 39900), (50, 600)),
    20002: (["零食", "茶饮", "生鲜", "粮油"], (990, 12900), (200, 3000)),
    20003: (["收纳", "厨具", "清洁"], (1500, 15900), (200, 2500)),
    20004: (["手机配件", "小家电", "耳机"], (4900, 69900), (100, 4000)),
    20005: (["奶粉", "玩具", "宠物食品"], (2900, 45900), (200, 5000)),
}
_ADJ = ["经典", "轻奢", "爆款", "新款", "加厚", "便携", "大容量", "高端", "家用", "限定"]
_SPEC1 = ["标准", "升级", "礼盒", "尝鲜"]
_SPEC2 = ["红色", "黑色", "白色", "蓝色", "灰色"]
PROVINCES = np.array(
    [
        "广东省",
        "浙江省",
        "江苏省",
        "上海市",
        "北京市",
        "四川省",
        "山东省",
        "湖北省",
        "河南省",
        "福建省",
        "湖南省",
        "陕西省",
    ]
)
PROVINCE_CITIES = np.array(
    [
        "广州市",
        "杭州市",
        "南京市",
        "上海市",
        "北京市",
        "成都市",
        "济南市",
        "武汉市",
        "郑州市",
        "福州市",
        "长沙市",
        "西安市",
    ]
)
PROVINCE_W = np.array([16, 13, 12, 8, 7, 8, 8, 6, 7, 6, 5, 4], dtype=float)
TIERS = np.array(["head", "mid", "long_tail"])
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_NICK = ["小", "大", "阿", "甜", "酷", "乐", "美", "好物", "种草", "日常"]

# Id bases: every id is a decimal string of an int64 (19 digits where Douyin uses 19).
SHOP_BASE = 1_000_001
PRODUCT_BASE = 3_650_000_000_000_000_000
SKU_BASE = 1_720_000_000_000_000_000
AUTHOR_BASE = 70_000_000_000_000
ROOM_BASE = 7_300_000_000_000_000_000
VIDEO_BASE = 7_290_000_000_000_000_000
ORDER_BASE = 6_920_000_000_000_000_000  # shop orders: BASE + seq*16; lines: parent + 1..4
AFTERSALE_OFFSET = 200_000_000_000_000_000
ADVERTISER_BASE = 1_780_000_000_000_000


@dataclass
class Catalog:
    start: date
    shop_ids: np.ndarray  # int64
    shop_names: list[str]
    fee_rates: dict[int, tuple[str, int]]
    # products
    p_shop: np.ndarray
    p_id: np.ndarray
    p_name: list[str]
    p_first_cid: np.ndarray
    p_second_cid: np.ndarray
    p_second_name: list[str]
    p_create: np.ndarray
    # skus
    s_product: np.ndarray  # index into products
    s_shop: np.ndarray
    s_id: np.ndarray
    s_code: list[str]
    s_spec1: list[str]
    s_spec2: list[str]
    s_weight_g: np.ndarray
    s_price: np.ndarray  # current price fen (mutated day by day)
    s_cost: np.ndarray  # current unit cost fen
    s_popularity: np.ndarray  # relative weight within the shop
    s_price_changed: np.ndarray  # unix s of the last change (product update_time)
    # authors: the shops' own accounts and creators (达人)
    a_shop: list[int] = field(default_factory=list)
    a_id: list[int] = field(default_factory=list)
    a_name: list[str] = field(default_factory=list)
    a_is_creator: list[bool] = field(default_factory=list)
    a_tier: list[str] = field(default_factory=list)
    a_followers: list[int] = field(default_factory=list)
    a_commission_bp: list[int] = field(default_factory=list)
    a_since: list[date] = field(default_factory=list)

    @property
    def n_shops(self) -> int:
        return len(self.shop_ids)

    def platform_rate_bp(self, first_cid: np.ndarray) -> np.ndarray:
        lookup = {cid: bp for cid, (_, bp) in self.fee_rates.items()}
        return (
            np.array([lookup[int(c)] for c in first_cid], dtype=np.int64) if len(first_cid) else np.zeros(0, np.int64)
        )

    def add_author(self, rng: np.random.Generator, shop: int, creator: bool, since: date) -> int:
        idx = len(self.a_id)
        self.a_shop.append(shop)
        self.a_id.append(AUTHOR_BASE + idx * 7919 + shop)
        self.a_is_creator.append(creator)
        name = _SURNAMES[int(rng.integers(len(_SURNAMES)))] + _NICK[int(rng.integers(len(_NICK)))] + f"{idx:03d}"
        if creator:
            tier = str(TIERS[int(rng.choice(3, p=[0.1, 0.3, 0.6]))])
            followers = {
                "head": int(rng.integers(1_000_000, 30_000_000)),
                "mid": int(rng.integers(100_000, 1_000_000)),
                "long_tail": int(rng.integers(2_000, 100_000)),
            }[tier]
            commission = {"head": [2000, 2500, 3000], "mid": [1500, 2000, 2050], "long_tail": [1000, 1500, 2000]}[tier]
            self.a_name.append(name)
            self.a_tier.append(tier)
            self.a_followers.append(followers)
            self.a_commission_bp.append(int(rng.choice(commission)))
        else:
            self.a_name.append(self.shop_names[shop] + "官方账号")
            self.a_tier.append("own")
            self.a_followers.append(int(rng.integers(50_000, 800_000)))
            self.a_commission_bp.append(0)
        self.a_since.append(since)
        return idx

    def authors_of(self, shop: int, creator: bool) -> np.ndarray:
        return np.array(
            [i for i, (s, c) in enumerate(zip(self.a_shop, self.a_is_creator)) if s == shop and c == creator],
            dtype=np.int64,
        )


def build_catalog(rng: np.random.Generator, start: date, shops: int, orders_per_day: int) -> Catalog:
    """Shops with products and SKUs across every fee-rate category, own accounts and first creators."""
    from douyin_etl.timeutil import day_bounds_unix

    fee_rates = dict(PLATFORM_RATES_BP)
    cids = np.array(sorted(fee_rates), dtype=np.int64)
    per_shop_orders = max(1, orders_per_day // max(1, shops))
    n_products = int(np.clip(12 + 2 * np.sqrt(per_shop_orders), 12, 400))
    shop_ids = np.arange(shops, dtype=np.int64) + SHOP_BASE
    shop_names = [f"{_SURNAMES[i % len(_SURNAMES)]}氏优选{i + 1}号店" for i in range(shops)]
    t0 = day_bounds_unix(start)[0]
    p_shop: list[int] = []
    p_first, p_second, p_second_name, p_name, p_create = [], [], [], [], []
    s_product, s_spec1, s_spec2, s_price, s_weight, s_code, s_pop = [], [], [], [], [], [], []
    for shop in range(shops):
        # every category appears in every shop (a shop's main category gets more products)
        main = cids[shop % len(cids)]
        firsts = np.concatenate([cids, rng.choice(cids, n_products - len(cids), p=_main_weights(cids, main))])
        for k, first in enumerate(firsts):
            seconds, (lo, hi), (wlo, whi) = _SECOND[int(first)]
            j = int(rng.integers(len(seconds)))
            pidx = len(p_shop)
            p_shop.append(shop)
            p_first.append(int(first))
            p_second.append(int(first) * 100 + j + 1)
            p_second_name.append(seconds[j])
            p_name.append(f"{_ADJ[int(rng.integers(len(_ADJ)))]}{seconds[j]}{k + 1:03d}")
            p_create.append(t0 - int(rng.integers(30, 400)) * 86400 + int(rng.integers(0, 86400)))
            base = int(np.exp(rng.uniform(np.log(lo), np.log(hi))) // 10 * 10)
            popularity = float(rng.pareto(1.2) + 0.2)
            n_skus = int(rng.choice([1, 2, 3, 4], p=[0.35, 0.3, 0.2, 0.15]))
            weight = int(rng.integers(wlo, whi))
            for s in range(n_skus):
                s_product.append(pidx)
                s_spec1.append(_SPEC1[s % len(_SPEC1)])
                s_spec2.append(_SPEC2[int(rng.integers(len(_SPEC2)))])
                s_price.append(max(100, int(base * (1 + 0.25 * s)) // 10 * 10 - 10))
                s_weight.append(weight + 80 * s)
                s_code.append(f"S{shop + 1:02d}P{k + 1:04d}-{s + 1}")
                s_pop.append(popularity * (0.6**s))
    p_shop_a = np.array(p_shop, dtype=np.int64)
    s_product_a = np.array(s_product, dtype=np.int64)
    s_price_a = np.array(s_price, dtype=np.int64)
    cost = (s_price_a * rng.uniform(0.32, 0.62, len(s_price_a))).astype(np.int64) // 10 * 10
    p_local = np.zeros(len(p_shop), dtype=np.int64)
    s_local = np.zeros(len(s_product), dtype=np.int64)
    for shop in range(shops):
        p_local[p_shop_a == shop] = np.arange(int((p_shop_a == shop).sum()))
        m = p_shop_a[s_product_a] == shop
        s_local[m] = np.arange(int(m.sum()))
    cat = Catalog(
        start=start,
        shop_ids=shop_ids,
        shop_names=shop_names,
        fee_rates=fee_rates,
        p_shop=p_shop_a,
        p_id=PRODUCT_BASE + p_shop_a * 1_000_000 + p_local,
        p_name=p_name,
        p_first_cid=np.array(p_first, dtype=np.int64),
        p_second_cid=np.array(p_second, dtype=np.int64),
        p_second_name=p_second_name,
        p_create=np.array(p_create, dtype=np.int64),
        s_product=s_product_a,
        s_shop=p_shop_a[s_product_a],
        s_id=SKU_BASE + p_shop_a[s_product_a] * 10_000_000 + s_local,
        s_code=s_code,
        s_spec1=s_spec1,
        s_spec2=s_spec2,
        s_weight_g=np.array(s_weight, dtype=np.int64),
        s_price=s_price_a,
        s_cost=np.maximum(cost, 50),
        s_popularity=np.array(s_pop),
        s_price_changed=np.array(p_create, dtype=np.int64)[s_product_a],
    )
    for shop in range(shops):
        for _ in range(2):
            cat.add_author(rng, shop, creator=False, since=start)
        for _ in range(6 + min(20, per_shop_orders // 200)):
            cat.add_author(rng, shop, creator=True, since=start - timedelta(days=int(rng.integers(10, 400))))
    return cat


def _main_weights(cids: np.ndarray, main: int) -> np.ndarray:
    w = np.where(cids == main, 4.0, 1.0)
    return w / w.sum()


def final_frames(c: Catalog, last_stock: pd.DataFrame | None = None) -> dict[str, tuple[pd.DataFrame, str]]:
    """Final state of ``product``, ``sku`` and ``sku_stock`` (name -> (frame, sort key)); stock from the
    last 3PL stock snapshot (closing quantity per SKU × warehouse) when there is one."""

    def s(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.int64).astype(str)

    stock = np.zeros(len(c.s_id), np.int64)
    stock_map: list[dict[str, int]] = [{} for _ in range(len(c.s_id))]
    if last_stock is not None and len(last_stock):
        pos = {int(x): k for k, x in enumerate(c.s_id)}
        for sku, wh, qty in zip(last_stock["sku_id"], last_stock["warehouse_id"], last_stock["closing_qty"]):
            k = pos.get(int(sku))
            if k is not None:
                stock[k] += int(qty)
                stock_map[k][str(wh)] = int(qty)
    first_names = {cid: name for cid, (name, _) in c.fee_rates.items()}
    prod_update = np.zeros(len(c.p_id), np.int64)
    np.maximum.at(prod_update, c.s_product, c.s_price_changed)
    pmin = np.full(len(c.p_id), np.iinfo(np.int64).max)
    np.minimum.at(pmin, c.s_product, c.s_price)
    pmax = np.zeros(len(c.p_id), np.int64)
    np.maximum.at(pmax, c.s_product, c.s_price)
    product = pd.DataFrame(
        {
            "product_id": s(c.p_id),
            "shop_id": s(c.shop_ids[c.p_shop]),
            "name": c.p_name,
            "status": 0,
            "check_status": 3,
            "market_price": (pmax * 13 // 10) // 100 * 100,
            "discount_price": pmin,
            "first_cid": c.p_first_cid,
            "second_cid": c.p_second_cid,
            "first_cid_cname": [first_names[int(x)] for x in c.p_first_cid],
            "second_cid_cname": c.p_second_name,
            "create_time": c.p_create,
            "update_time": np.maximum(prod_update, c.p_create),
            "outer_product_id": [f"P{int(x) % 10_000_000:07d}" for x in c.p_id],
            "cos_ratio": 2000,
        }
    )
    sku = pd.DataFrame(
        {
            "id": s(c.s_id),
            "product_id": s(c.p_id[c.s_product]),
            "shop_id": s(c.shop_ids[c.s_shop]),
            "price": c.s_price,
            "stock_num": stock,
            "prehold_stock_num": 0,
            "prom_stock_num": 0,
            "code": c.s_code,
            "spec_detail_name1": c.s_spec1,
            "spec_detail_name2": c.s_spec2,
            "spec_detail_name3": "",
            "sku_type": 0,
        }
    )
    sku_stock = pd.DataFrame(
        {
            "sku_id": s(c.s_id),
            "shop_id": s(c.shop_ids[c.s_shop]),
            "code": c.s_code,
            "stock_num": stock,
            "prehold_stock_num": 0,
            "stock_num_map": [json.dumps(m, sort_keys=True) for m in stock_map],
            "prehold_stock_map": "{}",
            "normal_stock_num": stock,
            "channel_stock_num": 0,
        }
    )
    return {"product": (product, "product_id"), "sku": (sku, "id"), "sku_stock": (sku_stock, "sku_id")}
