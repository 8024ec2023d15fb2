"""The merchant's logistics world: warehouses, waybills, a stock ledger with reorders, freight, tracks.

``LogisticsSim`` is driven by the generator once per business day, in order:

    sim = LogisticsSim(seed, start, skus)          # skus: sku_id, product_id, shop_id, code, unit_cost_fen, weight_g
    sim.warehouses()                               # the warehouse master (drop of the first day)
    sim.assign(new_paid_lines)                     # -> order_id, warehouse_id, carrier, tracking_no
    frames = sim.day(day, shipped, returned)       # shipment, stock_snapshot, purchase_receipt,
                                                   # freight_invoice, logistics_track

Everything is vectorised (numpy / pandas group-bys) and deterministic: the warehouse set, tariffs and
supplier names come from a numpy Generator seeded with ``seed``; per-order choices (warehouse,
carrier) come from a keyed hash of the order ids, so they do not depend on how lines are batched.

Stock ledger per SKU × warehouse and day: ``closing = opening + inbound + return − outbound`` with
``outbound`` = the day's shipped quantities. A reorder policy (EWMA demand, reorder point =
demand × lead time + z·σ·√lead time, order up to a target cover) places purchase orders that arrive
``lead_time_days`` later as purchase receipts; when the day's outbound would take stock below zero an
emergency receipt arrives the same day, so closing stock is never negative.

Quirks (rates given by the generator from ``Behaviour``; 0 here by default):
- split shipments: ``split_rate`` of lines ship from a second warehouse on their own waybill, and
  ``rebalance_rate`` of orders from a warehouse other than the nearest;
- lost parcels and rejected deliveries (拒收): shipped lines flagged ``incident`` = ``lost`` / ``rejected``
  (with ``incident_time``) get track nodes 丢失 / 拒收 + 退回 instead of delivery; a rejected parcel comes
  back on a return waybill of its own (billed on the rejection day, ``original_tracking_no`` = the
  outbound waybill, no 3PL outbound row) and its units return to stock two days after the rejection;
  a lost one never returns (``incidents``: one row per waybill, the truth);
- 3PL stock counts (盘点): ``count_diff_rate`` of SKU × warehouse × days report a counted closing 1–3
  units off the movements (盘盈/盘亏); the next day opens from the count (``count_differences``).
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from douyin_etl.timeutil import day_bounds_unix

log = logging.getLogger(__name__)

CARRIERS: tuple[str, ...] = ("shunfeng", "zhongtong", "yuantong", "yunda", "jtexpress", "ems")
CARRIER_NAMES: dict[str, str] = {
    "shunfeng": "顺丰速运",
    "zhongtong": "中通快递",
    "yuantong": "圆通速递",
    "yunda": "韵达快递",
    "jtexpress": "极兔速递",
    "ems": "中国邮政EMS",
}
# Waybill number = prefix + 11 unique digits (SF/YT/JT + 13 digits; 中通 15 digits; 韵达/EMS 13 digits).
_TRACK_PREFIX = {
    "shunfeng": "SF14",
    "zhongtong": "7531",
    "yuantong": "YT68",
    "yunda": "43",
    "jtexpress": "JT03",
    "ems": "11",
}
# Tariff: fen for the first kg and per additional kg, by zone (0 same province, 1 same region,
# 2 other region, 3 remote), times a carrier factor.
_FIRST_KG_FEN = np.array([450, 550, 750, 1500])
_ADD_KG_FEN = np.array([100, 200, 350, 900])
_CARRIER_FACTOR = {"shunfeng": 2.4, "zhongtong": 1.0, "yuantong": 1.0, "yunda": 0.95, "jtexpress": 0.9, "ems": 1.7}
_TRANSIT_DAYS = np.array([1, 2, 3, 5])  # promised transit by zone
_PACKAGING_G = 80
DEFAULT_WEIGHT_G = 500

REGION_OF: dict[str, str] = {
    **dict.fromkeys(["上海", "江苏", "浙江", "安徽", "福建", "江西", "山东"], "华东"),
    **dict.fromkeys(["广东", "广西", "海南"], "华南"),
    **dict.fromkeys(["北京", "天津", "河北", "山西", "内蒙古"], "华北"),
    **dict.fromkeys(["河南", "湖北", "湖南"], "华中"),
    **dict.fromkeys(["重庆", "四川", "贵州", "云南", "西藏"], "西南"),
    **dict.fromkeys(["陕西", "甘肃", "青海", "宁夏", "新疆"], "西北"),
    **dict.fromkeys(["辽宁", "吉林", "黑龙江"], "东北"),
}
REMOTE = frozenset({"新疆", "西藏", "青海", "内蒙古", "宁夏", "甘肃", "海南"})
# Regions by proximity: where an order goes when its own region has no warehouse.
_NEAREST = {
    "华东": ["华东", "华中", "华北", "华南", "西南", "东北", "西北"],
    "华南": ["华南", "华中", "华东", "西南", "华北", "西北", "东北"],
    "华北": ["华北", "东北", "华东", "华中", "西北", "西南", "华南"],
    "华中": ["华中", "华东", "华南", "华北", "西南", "西北", "东北"],
    "西南": ["西南", "华中", "华南", "西北", "华东", "华北", "东北"],
    "西北": ["西北", "西南", "华北", "华中", "华东", "东北", "华南"],
    "东北": ["东北", "华北", "华东", "华中", "西北", "华南", "西南"],
}
# Candidate sites: province, city, region.
_SITES = [
    ("浙江", "杭州", "华东"),
    ("广东", "东莞", "华南"),
    ("天津", "天津", "华北"),
    ("四川", "成都", "西南"),
    ("湖北", "武汉", "华中"),
]
_TYPE_LABEL = {0: "自营仓", 1: "保税仓", 2: "云仓"}
_SUPPLIERS = [
    "义乌市恒达日用品厂",
    "广州市白云区美源化妆品有限公司",
    "东莞市华盛服饰有限公司",
    "深圳市智联电子科技有限公司",
    "杭州临平家纺有限公司",
    "佛山市顺德区厨具制造厂",
    "泉州市鞋业贸易有限公司",
    "苏州市吴江丝绸有限公司",
]

SHIPPED_COLUMNS = [
    "order_id",
    "parent_order_id",
    "shop_id",
    "sku_id",
    "item_num",
    "warehouse_id",
    "carrier",
    "tracking_no",
    "ship_time",
    "logistics_receipt_time",
    "exp_ship_time",
    "province",
]

# Reorder policy.
_Z = 1.65  # service level ~95 %
_EWMA_ALPHA = 2 / 29  # ~ a 28-day average
_COVER_DAYS = 21  # order up to demand × (lead time + cover)
_MIN_ORDER = 10
_LOCK_EXPIRY_DAYS = 5  # paid lines never shipped (refunded before shipping) stop locking stock


def province_key(p: object) -> str:
    """'广东省' / '广西壮族自治区' / '上海市' -> '广东' / '广西' / '上海' (unknown -> '')."""
    s = "" if p is None or (isinstance(p, float) and math.isnan(p)) else str(p)
    for short in REGION_OF:
        if s.startswith(short):
            return short
    return ""


def _hash_key(seed: int, salt: str) -> str:
    return hashlib.sha256(f"{seed}:{salt}".encode()).hexdigest()[:16]


def _uniform(values: pd.Series | np.ndarray, seed: int, salt: str) -> np.ndarray:
    """A deterministic uniform [0, 1) per value (keyed SipHash of the value's text)."""
    arr = np.asarray(pd.Series(values).astype(str).to_numpy(dtype=object))
    if len(arr) == 0:
        return np.zeros(0)
    h = pd.util.hash_array(arr, hash_key=_hash_key(seed, salt))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass
class _Pending:
    """Purchase orders placed and not yet received."""

    arrival: np.ndarray  # int day index
    sku: np.ndarray
    wh: np.ndarray
    qty: np.ndarray


class LogisticsSim:
    def __init__(
        self,
        seed: int,
        start: date,
        skus: pd.DataFrame,
        end: date | None = None,
        *,
        split_rate: float = 0.03,
        rebalance_rate: float = 0.10,
        count_diff_rate: float = 0.0,
    ) -> None:
        """``end``: the world's last business day; track nodes after it are not emitted (default: none cut)."""
        self.split_rate, self.rebalance_rate, self.count_diff_rate = split_rate, rebalance_rate, count_diff_rate
        self.incidents: list[dict] = []  # lost / rejected waybills (truth)
        self.count_differences: list[dict] = []  # 盘盈/盘亏 (truth)
        self._return_legs: list[tuple[int, dict]] = []  # (day index, return waybill) billed on that day
        self._returns_due: list[tuple[int, int, int, int]] = []  # (day index, sku, wh, qty) back in stock
        need = {"sku_id", "product_id"}
        if missing := need - set(skus.columns):
            raise ValueError(
                f"LogisticsSim: skus frame lacks columns {sorted(missing)}; "
                f"pass sku_id, product_id, shop_id, code, unit_cost_fen, weight_g"
            )
        self.seed = seed
        self.start = start
        self.end_unix = day_bounds_unix(end)[1] if end else None
        rng = np.random.default_rng([seed, 0x10915])
        skus = skus.reset_index(drop=True)
        self._skus = pd.DataFrame(
            {
                "sku_id": skus["sku_id"].astype(str),
                "product_id": skus["product_id"].astype(str),
                "unit_cost_fen": (skus["unit_cost_fen"] if "unit_cost_fen" in skus else pd.Series(0, index=skus.index))
                .fillna(0)
                .astype("int64"),
                "weight_g": (skus["weight_g"] if "weight_g" in skus else pd.Series(DEFAULT_WEIGHT_G, index=skus.index))
                .fillna(DEFAULT_WEIGHT_G)
                .astype("int64"),
            }
        )
        if self._skus["sku_id"].duplicated().any():
            raise ValueError("LogisticsSim: duplicate sku_id in skus")
        self._sku_index = pd.Index(self._skus["sku_id"])
        self._weight = self._skus["weight_g"].to_numpy()

        # Warehouses.
        n_wh = int(rng.integers(3, 5))
        sites = _SITES[:n_wh]
        types = [0] + [2] * (n_wh - 1)
        if n_wh == 4:
            types[3] = 1
        self._wh = pd.DataFrame(
            {
                "warehouse_id": [f"WH{i + 1:02d}" for i in range(n_wh)],
                "warehouse_name": [f"{city}{_TYPE_LABEL[t]}" for (_, city, _), t in zip(sites, types)],
                "province": [p for p, _, _ in sites],
                "city": [c for _, c, _ in sites],
                "warehouse_type": types,
                "lead_time_days": rng.integers(3, 15, n_wh).astype("int64"),
            }
        )
        self._wh_index = pd.Index(self._wh["warehouse_id"])
        self._wh_region = [r for _, _, r in sites]
        self._lead = self._wh["lead_time_days"].to_numpy()
        # Carrier mix per warehouse (2–3 carriers dominate) as cumulative weights.
        w = rng.dirichlet(np.full(len(CARRIERS), 0.6), size=n_wh)
        self._carrier_cum = np.cumsum(w, axis=1)
        self._carrier_cum[:, -1] = 1.0
        # Supplier per product.
        products = self._skus["product_id"].to_numpy()
        self._supplier = np.array(_SUPPLIERS, dtype=object)[
            (_uniform(products, seed, "supplier") * len(_SUPPLIERS)).astype(int)
        ]
        # Waybill numbering: an affine bijection mod 10^11 over a running sequence.
        self._waybill_seq = 0
        self._wb_a = 7_919_000_003
        self._wb_b = int(rng.integers(0, 10**11))
        # Ledger state.
        n_sku = len(self._skus)
        self._shape = (n_sku, n_wh)
        self._stock: np.ndarray | None = None  # closing of the last simulated day
        self._avg = np.zeros(self._shape)
        self._var = np.zeros(self._shape)
        self._pending = _Pending(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
        self._day_index = -1
        self._last_day: date | None = None
        self._base_stock = rng.integers(5, 60, self._shape)
        self._cover0 = rng.integers(1, 15, self._shape)  # initial days of cover beyond the lead time
        self._outstanding = pd.DataFrame(
            {
                "order_id": pd.Series(dtype=str),
                "sku": pd.Series(dtype="int64"),
                "wh": pd.Series(dtype="int64"),
                "qty": pd.Series(dtype="int64"),
                "age": pd.Series(dtype="int64"),
            }
        )
        self._recent_waybills: list[set[str]] = []  # invoiced in the last few days (no double invoice)

    # -- masters -------------------------------------------------------------------------------
    def warehouses(self) -> pd.DataFrame:
        """The warehouse master: warehouse_id, warehouse_name, province, city, warehouse_type, lead_time_days."""
        return self._wh.copy()

    def update_costs(self, costs: pd.DataFrame) -> None:
        """New unit costs (sku_id, unit_cost_fen) used by later purchase receipts."""
        idx = self._sku_index.get_indexer(costs["sku_id"].astype(str))
        ok = idx >= 0
        self._skus.loc[idx[ok], "unit_cost_fen"] = costs["unit_cost_fen"].to_numpy()[ok].astype("int64")

    # -- assignment ----------------------------------------------------------------------------
    def _sku_idx(self, sku_ids: pd.Series, what: str) -> np.ndarray:
        idx = self._sku_index.get_indexer(sku_ids.astype(str))
        if (idx < 0).any():
            bad = sku_ids.astype(str).to_numpy()[idx < 0][:5]
            raise ValueError(
                f"LogisticsSim.{what}: unknown sku_id(s) {list(bad)}; pass every SKU to LogisticsSim(skus=...)"
            )
        return idx

    def _wh_idx(self, wh_ids: pd.Series, what: str) -> np.ndarray:
        idx = self._wh_index.get_indexer(wh_ids.astype(str))
        if (idx < 0).any():
            bad = wh_ids.astype(str).to_numpy()[idx < 0][:5]
            raise ValueError(f"LogisticsSim.{what}: unknown warehouse_id(s) {list(bad)}; known: {list(self._wh_index)}")
        return idx

    def _home_warehouse(self, provinces: pd.Series) -> np.ndarray:
        """Nearest warehouse index per destination province (by region proximity)."""
        uniq = pd.unique(provinces.astype(str))
        home: dict[str, int] = {}
        for p in uniq:  # a few dozen distinct provinces
            region = REGION_OF.get(province_key(p), "华东")
            for r in _NEAREST[region]:
                if r in self._wh_region:
                    home[p] = self._wh_region.index(r)
                    break
        return provinces.astype(str).map(home).to_numpy(dtype=np.int64)

    def assign(self, lines: pd.DataFrame) -> pd.DataFrame:
        """Warehouse, carrier and waybill for new paid lines.

        ``lines``: order_id, parent_order_id, shop_id, sku_id, item_num, province (province optional).
        Returns order_id, warehouse_id, carrier, tracking_no (one waybill per parent order × warehouse).
        """
        cols = ["order_id", "warehouse_id", "carrier", "tracking_no"]
        if len(lines) == 0:
            return pd.DataFrame({c: pd.Series(dtype=str) for c in cols})
        lines = lines.reset_index(drop=True)
        sku = self._sku_idx(lines["sku_id"], "assign")
        parent = lines["parent_order_id"].astype(str)
        province = lines["province"] if "province" in lines else pd.Series("", index=lines.index)
        n_wh = self._shape[1]
        wh = self._home_warehouse(province)
        # 10 % of orders ship from another warehouse (stock balancing), 3 % of lines split off.
        u_order = _uniform(parent, self.seed, "rebalance")
        alt = (wh + 1 + (u_order * 1000).astype(np.int64) % (n_wh - 1)) % n_wh
        wh = np.where(u_order < self.rebalance_rate, alt, wh)
        u_line = _uniform(lines["order_id"], self.seed, "split")
        split = (wh + 1 + (u_line * 1000).astype(np.int64) % (n_wh - 1)) % n_wh
        wh = np.where(u_line < self.split_rate, split, wh)
        # One waybill per parent × warehouse: carrier by the warehouse's mix, number by sequence.
        pw = pd.DataFrame({"parent": parent, "wh": wh})
        keys = pw.drop_duplicates().sort_values(["parent", "wh"], kind="stable").reset_index(drop=True)
        u_car = _uniform(keys["parent"] + "|" + keys["wh"].astype(str), self.seed, "carrier")
        car = (u_car[:, None] > self._carrier_cum[keys["wh"].to_numpy()]).sum(axis=1)
        car = np.minimum(car, len(CARRIERS) - 1)
        seq = self._waybill_seq + np.arange(len(keys), dtype=np.int64)
        self._waybill_seq += len(keys)
        digits = (seq * self._wb_a + self._wb_b) % 10**11
        carriers = np.array(CARRIERS, dtype=object)[car]
        prefix = pd.Series(carriers).map(_TRACK_PREFIX)
        keys["carrier"] = carriers
        keys["tracking_no"] = prefix + pd.Series(digits).astype(str).str.zfill(11)
        out = pw.merge(keys, on=["parent", "wh"], how="left", validate="many_to_one")
        result = pd.DataFrame(
            {
                "order_id": lines["order_id"].astype(str),
                "warehouse_id": self._wh["warehouse_id"].to_numpy()[wh],
                "carrier": out["carrier"].to_numpy(),
                "tracking_no": out["tracking_no"].to_numpy(),
            }
        )
        # Paid, not yet shipped: locks stock until shipped (or expired).
        qty = lines["item_num"].astype("int64").to_numpy() if "item_num" in lines else np.ones(len(lines), np.int64)
        new = pd.DataFrame({"order_id": result["order_id"], "sku": sku, "wh": wh, "qty": qty, "age": 0})
        self._outstanding = pd.concat([self._outstanding, new], ignore_index=True) if len(self._outstanding) else new
        return result

    # -- the day -------------------------------------------------------------------------------
    def day(self, day: date, shipped: pd.DataFrame, returned: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
        """Logistics frames of business day ``day`` (call once per day, in order)."""
        if self._last_day is not None and day <= self._last_day:
            raise ValueError(f"LogisticsSim.day: days must increase (got {day} after {self._last_day})")
        if self._last_day is not None and day != self._last_day + timedelta(days=1):
            log.warning(
                "LogisticsSim.day: gap between %s and %s; the ledger treats it as one step", self._last_day, day
            )
        self._last_day = day
        self._day_index = (day - self.start).days
        shipped = self._shipped_frame(shipped)
        returned = returned if returned is not None else pd.DataFrame(columns=["sku_id", "warehouse_id", "quantity"])
        n_sku, n_wh = self._shape

        s_sku = self._sku_idx(shipped["sku_id"], "day(shipped)")
        s_wh = self._wh_idx(shipped["warehouse_id"], "day(shipped)")
        qty = shipped["item_num"].to_numpy(dtype=np.int64)
        outbound = (
            np.bincount(s_sku * n_wh + s_wh, weights=qty, minlength=n_sku * n_wh).astype(np.int64).reshape(self._shape)
        )
        ret = np.zeros(self._shape, dtype=np.int64)
        if len(returned):
            returned = returned.reset_index(drop=True)
            wh_col = returned["warehouse_id"] if "warehouse_id" in returned else pd.Series(None, index=returned.index)
            returned = returned.assign(
                warehouse_id=wh_col.where(wh_col.notna() & (wh_col.astype(str) != ""), self._wh["warehouse_id"].iloc[0])
            )
            r_sku = self._sku_idx(returned["sku_id"], "day(returned)")
            r_wh = self._wh_idx(returned["warehouse_id"], "day(returned)")
            ret = (
                np.bincount(
                    r_sku * n_wh + r_wh, weights=returned["quantity"].to_numpy(dtype=np.int64), minlength=n_sku * n_wh
                )
                .astype(np.int64)
                .reshape(self._shape)
            )

        due_back = [r for r in self._returns_due if r[0] <= self._day_index]
        self._returns_due = [r for r in self._returns_due if r[0] > self._day_index]
        for _, sk, w, q in due_back:  # rejected parcels back at the warehouse
            ret[sk, w] += q

        if self._stock is None:  # opening stock sized from the first day's demand
            self._stock = self._base_stock + np.ceil(outbound * (self._lead[None, :] + self._cover0)).astype(np.int64)
            self._avg = outbound.astype(float)
            self._var = outbound.astype(float)
        opening = self._stock
        # Receipts of purchase orders arriving today.
        p = self._pending
        due = p.arrival <= self._day_index
        regular = np.zeros(self._shape, dtype=np.int64)
        np.add.at(regular, (p.sku[due], p.wh[due]), p.qty[due])
        self._pending = _Pending(p.arrival[~due], p.sku[~due], p.wh[~due], p.qty[~due])
        # Emergency receipts where the day's outbound would take stock below zero.
        projected = opening + regular + ret - outbound
        emergency = np.where(projected < 0, -projected + np.ceil(self._avg * 3).astype(np.int64) + _MIN_ORDER, 0)
        inbound = regular + emergency
        closing = opening + inbound + ret - outbound
        assert (closing >= 0).all()
        closing = self._count(day, closing)
        self._stock = closing
        # Demand statistics and reorders.
        diff = outbound - self._avg
        self._avg = self._avg + _EWMA_ALPHA * diff
        self._var = (1 - _EWMA_ALPHA) * (self._var + _EWMA_ALPHA * diff * diff)
        self._reorder(closing)
        locked = self._locked(shipped, closing)

        frames = {
            "stock_snapshot": self._snapshot(day, opening, inbound, outbound, ret, closing, locked),
            "purchase_receipt": self._receipts(day, regular, emergency),
            "shipment": self._shipments(day, shipped),
        }
        self._plan_incidents(day, shipped)
        frames["freight_invoice"] = self._freight(day, shipped)
        frames["logistics_track"] = self._tracks(shipped)
        return frames

    # -- quirks ----------------------------------------------------------------------------------
    def _count(self, day: date, closing: np.ndarray) -> np.ndarray:
        """The 3PL's stock count: a few SKU × warehouse closings off the movements (盘盈/盘亏)."""
        if self.count_diff_rate <= 0:
            return closing
        u = _uniform(pd.Series(np.arange(closing.size)).astype(str) + f"|{day}", self.seed, "count")
        delta = np.where(u < self.count_diff_rate, np.where((u * 1e6).astype(np.int64) % 2 == 0, 1, -1), 0)
        delta = delta * (1 + (u * 1e7).astype(np.int64) % 3)
        counted = np.maximum(closing.ravel() + delta, 0).reshape(closing.shape)
        s, w = np.nonzero(counted != closing)
        for a, b in zip(s, w):
            self.count_differences.append(
                {
                    "stock_date": day.isoformat(),
                    "warehouse_id": str(self._wh["warehouse_id"].iloc[b]),
                    "sku_id": str(self._skus["sku_id"].iloc[a]),
                    "ledger_closing_qty": int(closing[a, b]),
                    "counted_qty": int(counted[a, b]),
                    "difference_qty": int(counted[a, b] - closing[a, b]),
                }
            )
        return counted

    def _plan_incidents(self, day: date, shipped: pd.DataFrame) -> None:
        """Lost and rejected waybills shipped today: the truth rows, return legs and stock returns."""
        if "incident" not in shipped or not (shipped["incident"] != "").any():
            return
        inc = shipped[shipped["incident"] != ""]
        for r in inc.itertuples():
            at = int(r.incident_time)
            d = int((at + 8 * 3600) // 86400 - (day_bounds_unix(self.start)[0] + 8 * 3600) // 86400)
            ret_no = ""
            if r.incident == "rejected":
                digits = (self._waybill_seq * self._wb_a + self._wb_b) % 10**11  # the next unused number
                self._waybill_seq += 1
                ret_no = _TRACK_PREFIX[r.carrier] + str(digits).zfill(11)
                self._return_legs.append(
                    (
                        d,
                        {
                            "tracking_no": ret_no,
                            "carrier": r.carrier,
                            "warehouse_id": r.warehouse_id,
                            "province": r.province,
                            "sku_id": r.sku_id,
                            "item_num": int(r.item_num),
                            "original_tracking_no": r.tracking_no,
                        },
                    )
                )
                sk = int(self._sku_idx(pd.Series([r.sku_id]), "incident")[0])
                w = int(self._wh_idx(pd.Series([r.warehouse_id]), "incident")[0])
                self._returns_due.append((d + 2, sk, w, int(r.item_num)))
            self.incidents.append(
                {
                    "tracking_no": r.tracking_no,
                    "kind": r.incident,
                    "sku_order_id": str(r.order_id),
                    "shop_id": str(r.shop_id),
                    "warehouse_id": str(r.warehouse_id),
                    "event_date": (self.start + timedelta(days=d)).isoformat(),
                    "return_tracking_no": ret_no,
                }
            )

    def _shipped_frame(self, shipped: pd.DataFrame | None) -> pd.DataFrame:
        if shipped is None or len(shipped) == 0:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype="int64" if c.endswith("_time") or c == "item_num" else str)
                    for c in SHIPPED_COLUMNS
                }
            )
        shipped = shipped.reset_index(drop=True).copy()
        if "incident" not in shipped:
            shipped["incident"], shipped["incident_time"] = "", 0
        for c in ("logistics_receipt_time", "exp_ship_time"):
            if c not in shipped:
                shipped[c] = 0
        if "province" not in shipped:
            shipped["province"] = ""
        missing = [c for c in SHIPPED_COLUMNS if c not in shipped]
        if missing:
            raise ValueError(f"LogisticsSim.day: shipped lines lack columns {missing}")
        for c in ("ship_time", "logistics_receipt_time", "exp_ship_time", "item_num"):
            shipped[c] = pd.to_numeric(shipped[c]).fillna(0).astype("int64")
        return shipped

    def _reorder(self, closing: np.ndarray) -> None:
        p = self._pending
        on_order = np.zeros(self._shape, dtype=np.int64)
        np.add.at(on_order, (p.sku, p.wh), p.qty)
        lead = self._lead[None, :].astype(float)
        sigma = np.sqrt(np.maximum(self._var, 0))
        rop = self._avg * lead + _Z * sigma * np.sqrt(lead) + 1
        position = closing + on_order
        need = position < rop
        target = self._avg * (lead + _COVER_DAYS) + _Z * sigma * np.sqrt(lead)
        qty = np.maximum(np.ceil(target - position), _MIN_ORDER).astype(np.int64)
        s, w = np.nonzero(need)
        if len(s):
            self._pending = _Pending(
                np.concatenate([p.arrival, self._day_index + self._lead[w]]),
                np.concatenate([p.sku, s]),
                np.concatenate([p.wh, w]),
                np.concatenate([p.qty, qty[s, w]]),
            )

    def _locked(self, shipped: pd.DataFrame, closing: np.ndarray) -> np.ndarray:
        o = self._outstanding
        if len(o):
            o = o[~o["order_id"].isin(shipped["order_id"].astype(str))].copy()
            o["age"] += 1
            o = o[o["age"] <= _LOCK_EXPIRY_DAYS]
            self._outstanding = o.reset_index(drop=True)
        locked = np.zeros(self._shape, dtype=np.int64)
        if len(self._outstanding):
            np.add.at(
                locked,
                (self._outstanding["sku"].to_numpy(), self._outstanding["wh"].to_numpy()),
                self._outstanding["qty"].to_numpy(),
            )
        return np.minimum(locked, closing)

    # -- frames ----------------------------------------------------------------------------------
    def _snapshot(self, day, opening, inbound, outbound, ret, closing, locked) -> pd.DataFrame:
        n_sku, n_wh = self._shape
        wh_ids = self._wh["warehouse_id"].to_numpy()
        w = np.repeat(np.arange(n_wh), n_sku)
        s = np.tile(np.arange(n_sku), n_wh)
        return pd.DataFrame(
            {
                "stock_date": [day] * (n_sku * n_wh),
                "warehouse_id": wh_ids[w],
                "sku_id": self._skus["sku_id"].to_numpy()[s],
                "opening_qty": opening[s, w],
                "inbound_qty": inbound[s, w],
                "outbound_qty": outbound[s, w],
                "return_qty": ret[s, w],
                "closing_qty": closing[s, w],
                "locked_qty": locked[s, w],
                "warehouse_code": wh_ids[w],
            }
        )

    def _receipts(self, day: date, regular: np.ndarray, emergency: np.ndarray) -> pd.DataFrame:
        rows = []
        for kind, m in (("regular", regular), ("emergency", emergency)):
            s, w = np.nonzero(m)
            rows.append(pd.DataFrame({"sku": s, "wh": w, "quantity": m[s, w], "emergency": kind == "emergency"}))
        r = pd.concat(rows, ignore_index=True)
        cols = [
            "receipt_id",
            "warehouse_id",
            "sku_id",
            "quantity",
            "receipt_time",
            "unit_cost_fen",
            "supplier",
            "warehouse_code",
        ]
        if len(r) == 0:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype="int64" if c in ("quantity", "receipt_time", "unit_cost_fen") else str)
                    for c in cols
                }
            )
        r["supplier"] = self._supplier[r["sku"].to_numpy()]
        r["warehouse_id"] = self._wh["warehouse_id"].to_numpy()[r["wh"].to_numpy()]
        r = r.sort_values(["warehouse_id", "emergency", "supplier", "sku"], kind="stable").reset_index(drop=True)
        # One receipt per warehouse × supplier × kind: emergency ones 07:00–12:45, regular ones 13:00–18:45.
        grp = r.groupby(["warehouse_id", "emergency", "supplier"], sort=False).ngroup().to_numpy()
        ymd = day.strftime("%Y%m%d")
        start, _ = day_bounds_unix(day)
        base = np.where(r["emergency"].to_numpy(), 7 * 3600, 13 * 3600)
        r["receipt_id"] = [f"RK{ymd}{g + 1:04d}" for g in grp]
        r["receipt_time"] = start + base + (grp % 24) * 900
        r["sku_id"] = self._skus["sku_id"].to_numpy()[r["sku"].to_numpy()]
        r["unit_cost_fen"] = self._skus["unit_cost_fen"].to_numpy()[r["sku"].to_numpy()]
        r["warehouse_code"] = r["warehouse_id"]
        return r[cols]

    def _zone(self, wh_idx: np.ndarray, province: pd.Series) -> np.ndarray:
        prov = province.astype(str)
        keys = prov.map({p: province_key(p) for p in pd.unique(prov)}).to_numpy(dtype=object)
        region = pd.Series(keys).map(REGION_OF).fillna("").to_numpy(dtype=object)
        wh_prov = self._wh["province"].to_numpy(dtype=object)[wh_idx]
        wh_reg = np.array(self._wh_region, dtype=object)[wh_idx]
        remote = pd.Series(keys).isin(REMOTE).to_numpy()
        return np.select([keys == wh_prov, region == wh_reg, remote], [0, 1, 3], default=2).astype(np.int64)

    def _shipments(self, day: date, shipped: pd.DataFrame) -> pd.DataFrame:
        cols = [
            "warehouse_id",
            "outbound_id",
            "shop_order_id",
            "sku_order_id",
            "sku_id",
            "quantity",
            "carrier",
            "tracking_no",
            "ship_time",
            "delivered_time",
            "promised_delivery_time",
            "warehouse_code",
        ]
        if len(shipped) == 0:
            return pd.DataFrame({c: pd.Series(dtype=str) for c in cols})
        wh = self._wh_idx(shipped["warehouse_id"], "day(shipped)")
        zone = self._zone(wh, shipped["province"])
        sh = shipped.assign(_wh=wh).sort_values(["warehouse_id", "parent_order_id", "order_id"], kind="stable")
        grp = sh.groupby(["warehouse_id", "parent_order_id"], sort=False).ngroup().to_numpy()
        ymd = day.strftime("%Y%m%d")
        anchor = np.where(
            shipped["exp_ship_time"].to_numpy() > 0,
            np.maximum(shipped["exp_ship_time"].to_numpy(), 0),
            shipped["ship_time"].to_numpy(),
        )
        promised = anchor + _TRANSIT_DAYS[zone] * 86400
        receipt = shipped["logistics_receipt_time"].to_numpy()
        out = pd.DataFrame(
            {
                "warehouse_id": shipped["warehouse_id"].astype(str),
                "shop_order_id": shipped["parent_order_id"].astype(str),
                "sku_order_id": shipped["order_id"].astype(str),
                "sku_id": shipped["sku_id"].astype(str),
                "quantity": shipped["item_num"].astype("int64"),
                "carrier": shipped["carrier"].astype(str),
                "tracking_no": shipped["tracking_no"].astype(str),
                "ship_time": shipped["ship_time"].astype("int64"),
                "delivered_time": pd.array(np.where(receipt > 0, receipt, 0), dtype="Int64"),
                "promised_delivery_time": promised.astype("int64"),
            }
        )
        out.loc[receipt <= 0, "delivered_time"] = pd.NA
        out = out.loc[sh.index].reset_index(drop=True)
        out.insert(1, "outbound_id", [f"CK{ymd}{w[2:]}{g + 1:06d}" for w, g in zip(out["warehouse_id"], grp)])
        out["warehouse_code"] = out["warehouse_id"]
        return out[cols]

    def _waybills(self, shipped: pd.DataFrame) -> pd.DataFrame:
        """One row per waybill shipped today: carrier, warehouse, destination, ship time, receipt, weight."""
        sku = self._sku_idx(shipped["sku_id"], "day(shipped)")
        g = shipped.assign(_w=self._weight[sku] * shipped["item_num"].to_numpy())
        if "incident" not in g:
            g = g.assign(incident="", incident_time=0)
        # the greatest incident text per waybill, as an integer code: pandas has no vectorised max over
        # strings and falls back to a Python loop per group (measured: 44 % of generating a day)
        kinds, code = np.unique(g["incident"].to_numpy(dtype=object).astype(str), return_inverse=True)
        kinds = np.array([str(k) for k in kinds], dtype=object)
        wb = (
            g.assign(_incident=code)
            .groupby("tracking_no", sort=True)
            .agg(
                carrier=("carrier", "first"),
                warehouse_id=("warehouse_id", "first"),
                province=("province", "first"),
                ship_time=("ship_time", "min"),
                receipt=("logistics_receipt_time", "max"),
                weight=("_w", "sum"),
                incident=("_incident", "max"),
                incident_time=("incident_time", "max"),
            )
            .reset_index()
        )
        wb["incident"] = pd.array(kinds[wb["incident"].to_numpy()], dtype=g["incident"].dtype)
        return wb

    def _freight(self, day: date, shipped: pd.DataFrame) -> pd.DataFrame:
        cols = [
            "tracking_no",
            "carrier",
            "carrier_name",
            "ship_date",
            "billed_weight_g",
            "freight_fen",
            "dest_province",
            "warehouse_id",
        ]
        legs = [leg for d, leg in self._return_legs if d <= self._day_index]
        self._return_legs = [(d, leg) for d, leg in self._return_legs if d > self._day_index]
        if len(shipped) == 0 and not legs:
            self._recent_waybills = (self._recent_waybills + [set()])[-7:]
            return pd.DataFrame({c: pd.Series(dtype=str) for c in [*cols, "original_tracking_no"]})
        if len(shipped) == 0:
            wb = pd.DataFrame(
                columns=["tracking_no", "carrier", "warehouse_id", "province", "ship_time", "receipt", "weight"]
            )
        else:
            wb = self._waybills(shipped)
        seen = set().union(*self._recent_waybills) if self._recent_waybills else set()
        if seen:
            again = wb["tracking_no"].isin(seen)
            if again.any():
                log.warning(
                    "%d waybill(s) shipped again on %s: invoiced once, on their first ship day", int(again.sum()), day
                )
                wb = wb[~again].reset_index(drop=True)
        self._recent_waybills = (self._recent_waybills + [set(wb["tracking_no"])])[-7:]
        wb["original_tracking_no"] = None
        if legs:  # return waybills of rejected parcels, billed on the rejection day
            lg = pd.DataFrame(legs)
            lg["weight"] = self._weight[self._sku_idx(lg["sku_id"], "freight")] * lg["item_num"].to_numpy()
            wb = pd.concat(
                [wb, lg[["tracking_no", "carrier", "warehouse_id", "province", "weight", "original_tracking_no"]]],
                ignore_index=True,
            )
        wh = self._wh_idx(wb["warehouse_id"], "freight")
        zone = self._zone(wh, wb["province"])
        billed = (np.ceil((wb["weight"].to_numpy(dtype=float) + _PACKAGING_G) / 100) * 100).astype(np.int64)
        factor = wb["carrier"].map(_CARRIER_FACTOR).fillna(1.0).to_numpy()
        first = np.round(_FIRST_KG_FEN[zone] * factor / 10) * 10
        add = np.round(_ADD_KG_FEN[zone] * factor / 10) * 10
        extra_kg = np.ceil(np.maximum(billed - 1000, 0) / 1000)
        freight = (first + add * extra_kg).astype(np.int64)
        prov = wb["province"].astype(str)
        return pd.DataFrame(
            {
                "tracking_no": wb["tracking_no"],
                "carrier": wb["carrier"],
                "carrier_name": wb["carrier"].map(CARRIER_NAMES).fillna(wb["carrier"]),
                "ship_date": [day] * len(wb),
                "billed_weight_g": billed,
                "freight_fen": freight,
                "dest_province": prov.where(prov != "", None),
                "warehouse_id": wb["warehouse_id"],
                "original_tracking_no": wb["original_tracking_no"],
            }
        )[[*cols, "original_tracking_no"]]

    def _tracks(self, shipped: pd.DataFrame) -> pd.DataFrame:
        cols = [
            "track_no",
            "express",
            "node_seq",
            "content",
            "timestamp",
            "state",
            "state_description",
            "site_name",
            "ship_time",
        ]
        if len(shipped) == 0:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c in ("node_seq", "timestamp", "ship_time") else str) for c in cols}
            )
        wb = self._waybills(shipped)
        wh = self._wh_idx(wb["warehouse_id"], "tracks")
        city = self._wh["city"].to_numpy(dtype=object)[wh]
        name = wb["carrier"].map(CARRIER_NAMES).fillna(wb["carrier"]).to_numpy(dtype=object)
        dest = wb["province"].astype(str).to_numpy(dtype=object)
        ship = wb["ship_time"].to_numpy()
        receipt = wb["receipt"].to_numpy()
        delivered = receipt > ship
        u = _uniform(wb["tracking_no"], self.seed, "track")
        transit = np.where(delivered, receipt, ship + 2 * 86400)
        t2 = ship + ((transit - ship) * (0.15 + 0.25 * u)).astype(np.int64)
        t3 = np.where(delivered, receipt - (3600 + (u * 4 * 3600).astype(np.int64)), 0)
        t3 = np.maximum(t3, t2 + 60)
        nodes = [
            (1, ship, np.ones(len(wb), bool), "1", "揽收", "【" + city + "】" + name + " 已揽收", city),
            (
                2,
                t2,
                np.ones(len(wb), bool),
                "2",
                "运输中",
                "【" + city + "】快件已发出，下一站【" + dest + "转运中心】",
                city,
            ),
            (3, t3, delivered, "3", "派送中", "【" + dest + "】快件正在派送中，请保持电话畅通", dest),
            (4, receipt, delivered, "4", "已签收", "【" + dest + "】快件已签收，感谢使用" + name, dest),
        ]
        parts = []
        for seq, ts, mask, state, desc, content, site in nodes:
            parts.append(
                pd.DataFrame(
                    {
                        "track_no": wb["tracking_no"].to_numpy()[mask],
                        "express": wb["carrier"].to_numpy()[mask],
                        "node_seq": seq,
                        "content": np.asarray(content, dtype=object)[mask],
                        "timestamp": np.asarray(ts, dtype=np.int64)[mask],
                        "state": state,
                        "state_description": desc,
                        "site_name": np.asarray(site, dtype=object)[mask],
                        "ship_time": ship[mask],
                    }
                )
            )
        inc = wb["incident"].to_numpy() != ""
        if inc.any():  # lost: 丢失; rejected: 拒收 then 退回 (the parcel goes back to the warehouse)
            at = np.maximum(wb["incident_time"].to_numpy(), t2 + 60)
            for seq, kind, off, state, desc, text in (
                (3, "lost", 0, "9", "丢失", "快件在运输途中丢失，请联系快递公司理赔"),
                (3, "rejected", -7200, "3", "派送中", "快件正在派送中，请保持电话畅通"),
                (4, "rejected", 0, "8", "拒收", "收件人拒收，快件将退回寄件人"),
                (5, "rejected", 3600, "10", "退回", "快件已退回，正在返回发货仓"),
            ):
                m = inc & (wb["incident"].to_numpy() == kind)
                parts.append(
                    pd.DataFrame(
                        {
                            "track_no": wb["tracking_no"].to_numpy()[m],
                            "express": wb["carrier"].to_numpy()[m],
                            "node_seq": seq,
                            "content": np.asarray("【" + dest + "】" + text, dtype=object)[m],
                            "timestamp": np.maximum(at + off, t2 + 30)[m].astype(np.int64),
                            "state": state,
                            "state_description": desc,
                            "site_name": dest[m],
                            "ship_time": ship[m],
                        }
                    )
                )
        t = pd.concat(parts, ignore_index=True)
        if self.end_unix is not None:
            t = t[t["timestamp"] < self.end_unix]
        t["node_seq"] = t["node_seq"].astype("int64")
        return t.sort_values(["track_no", "node_seq"], kind="stable").reset_index(drop=True)[cols]
