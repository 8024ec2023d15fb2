"""``generate_world``: the day loop that streams a seeded merchant world to disk.

Per business day: catalogue changes → content (live sessions, videos) → the day's orders with their
whole (future) lifecycle → settlement and fund flows → Parquet of every platform entity (a file per
partition it touches, named after the creation day) → logistics of the day's shipments → the day's
file drops → truth accumulators. Memory holds the catalogue and the pending shipments/returns only;
the day's settlement and fund-flow drops are read back from the partitions already written.
The whole tree is written into a temporary sibling of ``out`` and renamed into place at the end.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from douyin_etl.sqlrow import one_row
from douyin_etl.timeutil import day_bounds_unix
from douyin_sim.simulator import platform_sql as q
from douyin_sim.simulator import reports
from douyin_sim.simulator.behaviour import DEFAULT, Behaviour
from douyin_sim.simulator.catalog import (
    ADVERTISER_BASE,
    PROVINCE_CITIES,
    PROVINCES,
    Catalog,
    build_catalog,
    final_frames,
)
from douyin_sim.simulator.content import ContentState
from douyin_sim.simulator.drop_writer import BACKGROUND_FROM_ORDERS_PER_DAY, DropWriter
from douyin_sim.simulator.fees import FeeSchedule, commission_bp, draw_campaigns
from douyin_sim.simulator.finance import (
    DEPOSIT_TAGS,
    GRACE_DAYS,
    ROUNDING_TOLERANCE_FEN,
    SETTLE_DELAY_DAYS,
    adjustment_flows,
    compensation_flows,
    concat_flows,
    day_no,
    deposit_plan,
    settle_day,
)
from douyin_sim.simulator.orders import D, DayOrders, H, generate_orders, order_rollup
from douyin_sim.simulator.sink import ParquetSink
from douyin_sim.simulator.truth import TruthBook

log = logging.getLogger(__name__)

SIMULATOR_VERSION = "2"
PLATFORM_ENTITIES = (
    "shop_order",
    "sku_order",
    "after_sale",
    "alliance_order",
    "ad_report",
    "settlement_bill",
    "fund_flow",
    "logistics_track",
    "product",
    "sku",
    "sku_stock",
)
_WEEKDAY = np.array([0.95, 0.93, 0.95, 0.98, 1.05, 1.12, 1.10])  # Monday .. Sunday


@dataclass
class WorldSummary:
    out: Path
    days: int
    shops: int
    rows: dict[str, int] = field(default_factory=dict)
    drop_files: int = 0
    drop_rows: int = 0
    bytes_on_disk: int = 0
    seconds: float = 0.0
    orders: int = 0

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        main = ", ".join(f"{k} {v:,}" for k, v in self.rows.items() if v)
        return (
            f"world {self.out}: {self.days} days × {self.shops} shops, {self.orders:,} shop orders in "
            f"{self.seconds:.1f} s ({self.orders_per_second:,.0f} orders/s), "
            f"{self.bytes_on_disk / 1e6:,.1f} MB ({self.bytes_on_disk / max(1, self.days) / 1e6:,.2f} MB/day)\n"
            f"  platform rows: {main}\n  drops: {self.drop_files:,} files, {self.drop_rows:,} rows"
        )


CARRIER_NAMES: dict[str, str] = {
    "shunfeng": "顺丰速运",
    "zhongtong": "中通快递",
    "yuantong": "圆通速递",
    "yunda": "韵达快递",
    "jtexpress": "极兔速递",
    "ems": "中国邮政EMS",
}


def _load_logistics():
    try:
        from douyin_sim.simulator.logistics import LogisticsSim

        return LogisticsSim
    except ImportError:  # H1b's module missing: no logistics frames, a minimal assignment
        log.warning("douyin_sim.simulator.logistics not importable: logistics frames skipped")
        return None


def _load_drops():
    try:
        from douyin_sim.simulator import drops

        return drops
    except ImportError:
        log.warning("douyin_sim.simulator.drops not importable: file drops skipped")
        return None


def _s(a: np.ndarray) -> np.ndarray:
    """int64 ids -> str array for pandas frames."""
    return np.asarray(a, dtype=np.int64).astype(str)


class World:
    """State of one generation run (catalogue, content, logistics, truth accumulators)."""

    def __init__(
        self,
        root: Path,
        seed: int,
        start: date,
        days: int,
        shops: int,
        orders_per_day: int,
        beh: Behaviour,
        background_writes: bool = False,
    ) -> None:
        self.root, self.seed, self.start, self.days, self.beh = root, seed, start, days, beh
        self.orders_per_day = orders_per_day
        self.last = start + timedelta(days=days - 1)
        self.now = day_bounds_unix(self.last)[1]
        self.start_no = int(day_no(np.int64(day_bounds_unix(start)[0])))
        self.last_no = self.start_no + days - 1
        self.cat: Catalog = build_catalog(np.random.default_rng([seed, 1]), start, shops, orders_per_day)
        # the platform's own fee schedule and creators' campaigns (never the merchant's seed)
        self.fees = FeeSchedule.build(start, days, beh.fee_rate_change_bp)
        creators = [k for k in range(len(self.cat.a_id)) if self.cat.a_is_creator[k]]
        self.campaigns = draw_campaigns(
            np.random.default_rng([seed, 6]),
            creators,
            self.cat.a_commission_bp,
            start,
            days,
            beh.commission_campaign_rate,
        )
        self.deposits = deposit_plan(np.random.default_rng([seed, 7]), shops, days) if beh.deposit_events else []
        self.fund_events: list[dict] = []  # truth/fund_events.csv: adjustments and deposit movements
        self.content = ContentState(self.cat, cross_midnight_rate=beh.live_cross_midnight_rate)
        self.prev_ads: pd.DataFrame | None = None  # yesterday's ad report (restated today, maybe)
        self._today_ads: pd.DataFrame | None = None
        self.quirk_rows: dict[str, list[dict]] = {k: [] for k in _QUIRK_COLUMNS}
        for k in range(-7, 0):
            self.content.publish(np.random.default_rng([seed, 2, k + 7]), k, day_bounds_unix(start)[0] + k * D)
        self.drops = _load_drops()
        self.drop_writer = DropWriter(self.drops, background_writes) if self.drops is not None else None
        self.sink = ParquetSink(root)
        self.truth = TruthBook(root, self.sink, self.cat.shop_ids, start, days)
        self.anomalies = self.truth.anomalies
        self.seq = 0
        n = self.cat.n_shops
        self.pending_ship: dict[int, list[pd.DataFrame]] = {}
        self.pending_return: dict[int, list[pd.DataFrame]] = {}
        self.balance = np.zeros(n, np.int64)
        self.last_withdraw = np.full(n, -(10**6), np.int64)
        self.drop_counts: dict[str, int] = {}
        self.rows: dict[str, int] = {e: 0 for e in PLATFORM_ENTITIES}
        self.n_orders = 0
        self.freight = {"freight_invoices": 0, "freight_fen": 0}  # truth of the carriers' 运费账单 (counts.json totals)
        self.last_stock: pd.DataFrame | None = None
        self._funnel_carry: dict[str, np.ndarray] = {"product": np.zeros(0, np.int64), "channel": np.zeros(0, np.int64)}
        Sim = _load_logistics()
        self.logistics = (
            Sim(
                seed,
                start,
                self._sku_frame(),
                end=self.last,
                split_rate=beh.split_shipment_rate,
                rebalance_rate=beh.rebalance_rate,
                count_diff_rate=beh.stock_count_diff_rate,
            )
            if Sim
            else None
        )
        self._register_catalog()

    # -- catalogue tables ------------------------------------------------------------------------
    def _sku_frame(self) -> pd.DataFrame:
        c = self.cat
        return pd.DataFrame(
            {
                "sku_id": _s(c.s_id),
                "product_id": _s(c.p_id[c.s_product]),
                "shop_id": _s(c.shop_ids[c.s_shop]),
                "code": c.s_code,
                "unit_cost_fen": c.s_cost.copy(),
                "weight_g": c.s_weight_g,
            }
        )

    def _register_catalog(self) -> None:
        c = self.cat
        self.sink.register(
            "CS",
            pd.DataFrame(
                {
                    "idx": np.arange(len(c.s_id)),
                    "sku_id": c.s_id,
                    "code": c.s_code,
                    "spec1": c.s_spec1,
                    "spec2": c.s_spec2,
                }
            ),
        )
        self.sink.register(
            "CP",
            pd.DataFrame(
                {
                    "idx": np.arange(len(c.p_id)),
                    "product_id": c.p_id,
                    "name": c.p_name,
                    "first_cid": c.p_first_cid,
                    "second_cid": c.p_second_cid,
                }
            ),
        )
        self.sink.register(
            "PV",
            pd.DataFrame(
                {
                    "idx": np.arange(len(PROVINCES)),
                    "name": PROVINCES,
                    "code": [str(11 + i) for i in range(len(PROVINCES))],
                    "city": PROVINCE_CITIES,
                }
            ),
        )
        self.sink.register("CN", pd.DataFrame({"carrier": list(CARRIER_NAMES), "name": list(CARRIER_NAMES.values())}))
        wh = (
            self.logistics.warehouses()
            if self.logistics is not None
            else pd.DataFrame({"warehouse_id": ["WH01"], "warehouse_type": [0]})
        )
        self.sink.register("WH", wh[["warehouse_id", "warehouse_type"]].astype({"warehouse_type": "int64"}))

    def _register_authors(self) -> None:
        c = self.cat
        self.sink.register(
            "AU",
            pd.DataFrame(
                {
                    "idx": np.arange(len(c.a_id)),
                    "author_id": np.array(c.a_id, np.int64),
                    "name": c.a_name,
                    "short_id": 1_000_000_000 + np.arange(len(c.a_id)),
                }
            ),
        )

    # -- the day ---------------------------------------------------------------------------------
    def run_day(self, i: int) -> None:
        day = self.start + timedelta(days=i)
        day_start = day_bounds_unix(day)[0]
        frames: dict[str, pd.DataFrame] = {}
        frames["product_cost"] = self._catalog_changes(self._rng(i, "catalog"), i, day, day_start)
        frames["creator"] = self._creators(self._rng(i, "creators"), i, day)
        self._register_authors()
        content = self.content.day(self._rng(i, "content"), i, day_start)
        x = content.room_report & (content.room_true_end >= day_start + D)
        self.quirk_rows["live_sessions_cross_midnight"] += [
            {
                "room_id": str(r),
                "shop_id": str(self.cat.shop_ids[sh]),
                "start_date": day.isoformat(),
                "end_date": _iso_day(int(e)),
            }
            for r, sh, e in zip(content.room_id[x], content.room_shop[x], content.room_true_end[x])
        ]
        mean = self.orders_per_day * _WEEKDAY[day.weekday()]
        orders = generate_orders(
            self._rng(i, "orders"),
            self.cat,
            content,
            self.beh,
            day_start,
            self.now,
            mean,
            self.seq,
            qrng=self._rng(i, "lifecycle"),
        )
        m = len(orders.o["order_id"])
        self.seq += m
        self.n_orders += m
        l = orders.l
        # platform rate in force on the line's settlement due day (confirm + 7; not confirmed yet: today's)
        rate_day = np.where(l["confirm"] > 0, day_no(l["confirm"]) + SETTLE_DELAY_DAYS, self.last_no)
        fin = settle_day(
            self._rng(i, "finance"),
            orders,
            self.beh,
            self.now,
            self.last_no,
            self.fees.rate_bp(self.cat.p_first_cid[l["product"]], rate_day),
            self._commission_bp(l),
            self.anomalies,
        )
        comp = compensation_flows(self._rng(i, "compensation"), l, self.beh, self.now)
        fin["fund_flow"] = concat_flows(fin["fund_flow"], comp)
        adj = adjustment_flows(
            self._rng(i, "adjustments"),
            orders,
            fin["line_extra"]["settle_time"],
            self.now,
            self.beh.adjustment_rate,
            force=not any(e["kind"] == "adjustment" for e in self.fund_events),
        )
        fin["fund_flow"] = concat_flows(fin["fund_flow"], adj)
        self.fund_events += [
            {
                "account_trade_no": f"DZ{l['line_id'][x]}5",
                "shop_id": str(self.cat.shop_ids[l["shop"][x]]),
                "kind": "adjustment",
                "account_type": "聚合账户",
                "signed_fen": int(a if d == 0 else -a),
                "bill_date": _iso_day(int(t)),
                "order_id": str(l["line_id"][x]),
            }
            for x, d, a, t in zip(adj["line"], adj["direction"], adj["account_amount"], adj["bill_time"])
        ]
        order_rollup(orders)
        self._late_updates(self._rng(i, "late_update"), orders)
        self._sla(orders)
        wl = self._assign(orders)
        self._parcel_incidents(self._rng(i, "incidents"), orders, wl)
        self._write_platform(orders, fin, wl, day)
        self._exports(day)
        self._queue_logistics(orders, wl)
        frames.update(reports.content_frames(self.cat, content, day))
        frames["traffic_funnel"] = reports.funnel_frame(
            self._rng(i, "funnel"), self.cat, self._funnel_lines(orders.l, day_start), day
        )
        self._write_ad_report(reports.ad_report_frame(self._rng(i, "ads"), self.cat, orders.l, content, day), day)
        self._restate_ads(self._rng(i, "ad_restatement"), day)
        self.truth.add_day(orders, fin["recon"], i, comp)
        frames.update(self._logistics_day(day, i))
        invoices = frames.get("freight_invoice")
        if invoices is not None and len(invoices):  # a day without shipments bills nothing (an empty frame)
            self.freight["freight_invoices"] += len(invoices)
            self.freight["freight_fen"] += int(invoices["freight_fen"].sum())
        frames["settlement_bill"] = self._read_day("settlement_bill", day)
        self._deposit_day(day, i)
        frames["fund_flow"] = self._fund_flow_drop(self._rng(i, "fund_flow"), day, i)
        self.truth.flush_anomalies()
        if self.drop_writer is not None:  # a frame None: nothing today (header-only files)
            self.drop_writer.write(
                f"drops/{day.isoformat()}/", "write_day", self.root, day, frames, self.seed, self._senders()
            )

    def _funnel_lines(self, l: dict[str, np.ndarray], day_start: int) -> dict[str, np.ndarray]:
        """The lines of the day's 商品流量: those created today, and those created last evening and paid
        today (an order paid after midnight is a pay of its pay day); ``paid`` = paid today."""
        today = day_no(np.int64(day_start))
        paid_day = np.where(l["paid"], day_no(l["pay"]), -1)
        carry = self._funnel_carry
        self._funnel_carry = {k: l[k][paid_day > today] for k in ("product", "channel")}
        return {
            "product": np.concatenate([l["product"], carry["product"]]),
            "channel": np.concatenate([l["channel"], carry["channel"]]),
            "paid": np.concatenate([paid_day == today, np.ones(len(carry["product"]), dtype=bool)]),
        }

    def _commission_bp(self, l: dict[str, np.ndarray]) -> np.ndarray:
        """Creator commission rate per line: the author's rate, or a campaign's on the line's pay day."""
        base = np.asarray(self.cat.a_commission_bp, np.int64)
        out = np.where(l["author"] >= 0, base[np.maximum(l["author"], 0)], 0).astype(np.int64)
        if not self.campaigns:
            return out
        pay_no = day_no(l["pay"])
        for d in np.unique(pay_no[l["pay"] > 0]):
            m = pay_no == d
            out[m] = commission_bp(l["author"][m], base, _day_of(int(d)), self.campaigns)
        return out

    def _deposit_day(self, day: date, i: int) -> None:
        """The day's 保证金 movements (platform fund_flow, partition of the day); a refund is a pair:
        out of the 保证金账户, into the 聚合账户."""
        events = [e for e in self.deposits if e.day == i]
        if not events:
            return
        t0 = day_bounds_unix(day)[0]
        rows: list[dict] = []
        for n, e in enumerate(events):
            shop = str(self.cat.shop_ids[e.shop])
            base = dict(bill_time=t0 + 9 * H + n * 60, account_amount=e.amount, shop_id=shop, biz_type=6)
            no = f"BZ{shop}{day:%Y%m%d}{n:02d}"
            tag = DEPOSIT_TAGS[e.kind]
            if e.kind == "deposit_topup":
                rows.append(
                    {
                        **base,
                        "account_trade_no": no,
                        "fund_flow": 0,
                        "account_type": "保证金账户",
                        "account_bill_desc": "保证金缴纳",
                        "account_bill_desc_tag": tag,
                        "remark": "",
                    }
                )
            elif e.kind == "deposit_deduction":
                rows.append(
                    {
                        **base,
                        "account_trade_no": no,
                        "fund_flow": 1,
                        "account_type": "保证金账户",
                        "account_bill_desc": "违规扣款",
                        "account_bill_desc_tag": tag,
                        "remark": "虚假发货违规扣除保证金",
                    }
                )
            else:
                rows.append(
                    {
                        **base,
                        "account_trade_no": no + "O",
                        "fund_flow": 1,
                        "account_type": "保证金账户",
                        "account_bill_desc": "保证金退还",
                        "account_bill_desc_tag": tag,
                        "remark": "",
                    }
                )
                rows.append(
                    {
                        **base,
                        "account_trade_no": no + "I",
                        "fund_flow": 0,
                        "account_type": "聚合账户",
                        "account_bill_desc": "保证金退还",
                        "account_bill_desc_tag": tag,
                        "remark": "",
                    }
                )
        frame = pd.DataFrame(rows)
        for r in rows:
            self.fund_events.append(
                {
                    "account_trade_no": r["account_trade_no"],
                    "shop_id": r["shop_id"],
                    "kind": next(k for k, v in DEPOSIT_TAGS.items() if v == r["account_bill_desc_tag"]),
                    "account_type": r["account_type"],
                    "signed_fen": (1 if r["fund_flow"] == 0 else -1) * int(str(r["account_amount"])),
                    "bill_date": day.isoformat(),
                    "order_id": "",
                }
            )
        self.sink.register("SF", frame.astype({"bill_time": "int64", "account_amount": "int64"}))
        self.sink.copy_partitioned("fund_flow", q.SHOP_FLOW, f"b-{day:%Y%m%d}")
        self.rows["fund_flow"] += len(frame)

    def _senders(self) -> dict[str, list[str]]:
        """Shops and warehouses that send their daily files even on a quiet day (header-only files)."""
        out = {"shop_id": [str(s) for s in self.cat.shop_ids]}
        if self.logistics is not None:
            out["warehouse_code"] = [str(w) for w in self.logistics.warehouses()["warehouse_id"]]
        return out

    def _logistics_day(self, day: date, i: int) -> dict[str, pd.DataFrame]:
        """H1b's logistics frames of the day's shipments and returns; logistics_track goes to the platform."""
        if self.logistics is None:
            return {}
        lf = self.logistics.day(day, self._take(self.pending_ship, i), self._take(self.pending_return, i))
        if i == 0:
            lf["warehouse"] = self.logistics.warehouses()
        track = lf.pop("logistics_track")
        if len(track):
            self.sink.register("LT", track)
            self.sink.copy_partitioned(
                "logistics_track",
                f"SELECT *, {q.dt('ship_time')} AS dt FROM LT ORDER BY track_no, node_seq",
                f"c-{day:%Y%m%d}",
            )
            self.rows["logistics_track"] += len(track)
        if len(lf.get("stock_snapshot", ())):
            self.last_stock = lf["stock_snapshot"]
        return lf

    def _rng(self, i: int, step: str) -> np.random.Generator:
        """An independent random stream per (seed, day, step): changing one step leaves the others alone."""
        return np.random.default_rng([self.seed, 3, i, zlib.crc32(step.encode())])

    def _write_ad_report(self, ads: pd.DataFrame, day: date) -> None:
        self._today_ads = ads
        if not len(ads):
            return
        self.sink.register("AD", ads)
        self.sink.copy_partitioned("ad_report", q.AD_REPORT, f"c-{day:%Y%m%d}")
        self.rows["ad_report"] += len(ads)

    def _restate_ads(self, rng: np.random.Generator, day: date) -> None:
        """Qianchuan restates yesterday's report today (attribution window, invalid-click refunds): the changed
        rows of stat_date D−1 are delivered again in today's partition; the newest delivery is the truth."""
        prev, self.prev_ads = self.prev_ads, self._today_ads
        if prev is None or not len(prev) or self.beh.ad_restatement_rate <= 0:
            return
        pick_ = rng.random(len(prev)) < self.beh.ad_restatement_rate
        if not pick_.any():
            return
        new = prev[pick_].copy()
        k = len(new)
        new["cost_fen"] = np.maximum(0, (new["cost_fen"].to_numpy() * rng.uniform(0.85, 1.05, k)).astype(np.int64))
        extra = rng.integers(0, 3, k)
        new["pay_order_count"] = new["pay_order_count"].to_numpy() + extra
        new["pay_order_fen"] = new["pay_order_fen"].to_numpy() + extra * rng.integers(2000, 9000, k)
        for (_, a), (_, b) in zip(prev[pick_].iterrows(), new.iterrows()):
            self.quirk_rows["ad_restatements"].append(
                {
                    "advertiser_id": a["advertiser_id"],
                    "stat_date": a["stat_date"].isoformat(),
                    "marketing_goal": a["marketing_goal"],
                    "restated_on": day.isoformat(),
                    "original_cost_fen": int(a["cost_fen"]),
                    "restated_cost_fen": int(b["cost_fen"]),
                    "original_pay_order_fen": int(a["pay_order_fen"]),
                    "restated_pay_order_fen": int(b["pay_order_fen"]),
                }
            )
        self.sink.register("AD", new.reset_index(drop=True))
        self.sink.copy_partitioned(
            "ad_report", f"SELECT * REPLACE (DATE '{day.isoformat()}' AS dt) FROM ({q.AD_REPORT})", f"r-{day:%Y%m%d}"
        )
        self.rows["ad_report"] += k

    def _quirk_tables(self) -> dict[str, tuple[list[dict], list[str]]]:
        rows = dict(self.quirk_rows)
        if self.logistics is not None:
            rows["logistics_incidents"] = self.logistics.incidents
            rows["stock_count_differences"] = self.logistics.count_differences
        return {k: (rows.get(k, []), cols) for k, cols in _QUIRK_COLUMNS.items()}

    def _take(self, pending: dict[int, list[pd.DataFrame]], i: int) -> pd.DataFrame | None:
        parts = pending.pop(i, [])
        return pd.concat(parts, ignore_index=True) if parts else None

    # -- catalogue dynamics -------------------------------------------------------------------
    def _catalog_changes(self, rng: np.random.Generator, i: int, day: date, day_start: int) -> pd.DataFrame:
        c = self.cat
        n = len(c.s_id)
        if i == 0:
            changed = np.ones(n, bool)
        else:
            pc = rng.random(n) < self.beh.price_change_rate
            c.s_price[pc] = np.maximum(
                100, (c.s_price[pc] * rng.uniform(0.88, 1.12, int(pc.sum()))).astype(np.int64) // 10 * 10
            )
            c.s_price_changed[pc] = day_start + int(rng.integers(0, 6 * H))
            changed = rng.random(n) < self.beh.cost_change_rate
            c.s_cost[changed] = np.maximum(
                50, (c.s_cost[changed] * rng.uniform(0.95, 1.08, int(changed.sum()))).astype(np.int64)
            )
            if self.logistics is not None and changed.any():
                self.logistics.update_costs(
                    pd.DataFrame({"sku_id": _s(c.s_id[changed]), "unit_cost_fen": c.s_cost[changed]})
                )
        idx = np.flatnonzero(changed)
        return pd.DataFrame(
            {
                "product_id": _s(c.p_id[c.s_product[idx]]),
                "sku_id": _s(c.s_id[idx]),
                "code": [c.s_code[k] for k in idx],
                "unit_cost_fen": c.s_cost[idx].copy(),
                "effective_date": [day] * len(idx),
            }
        )

    def _creators(self, rng: np.random.Generator, i: int, day: date) -> pd.DataFrame:
        c = self.cat
        if i > 0:
            for shop in range(c.n_shops):
                if rng.random() < self.beh.new_creator_rate:
                    c.add_author(rng, shop, creator=True, since=day)
        idx = [k for k in range(len(c.a_id)) if c.a_is_creator[k] and (i == 0 or c.a_since[k] == day)]
        return pd.DataFrame(
            {
                "author_id": [str(c.a_id[k]) for k in idx],
                "author_name": [c.a_name[k] for k in idx],
                "followers": [c.a_followers[k] for k in idx],
                "tier": [c.a_tier[k] for k in idx],
                "commission_rate_bp": [c.a_commission_bp[k] for k in idx],
                "since_date": [c.a_since[k] for k in idx],
                "shop_id": [str(c.shop_ids[c.a_shop[k]]) for k in idx],
            }
        )

    # -- anomalies on orders ----------------------------------------------------------------------
    def _late_updates(self, rng: np.random.Generator, orders: DayOrders) -> None:
        o = orders.o
        room = self.now - o["last_event"]
        eligible = o["paid"] & (room > int(1.5 * D))
        chosen = eligible & (rng.random(len(room)) < self.beh.late_update_rate)
        if self.anomalies.count.get("late_update", 0) == 0 and not chosen.any() and eligible.any():
            chosen[rng.choice(np.flatnonzero(eligible))] = True
        idx = np.flatnonzero(chosen)
        bump = D + (rng.random(len(idx)) * np.minimum(4 * D, room[idx] - D - 60)).astype(np.int64)
        o["update"][idx] = o["last_event"][idx] + bump
        self.anomalies.add(
            "late_update",
            o["order_id"][idx],
            [
                f"update_time {int(a)} -> {int(b)} ({int(b - a) // 3600} h after the last event)"
                for a, b in zip(o["last_event"][idx], o["update"][idx])
            ],
        )
        orders.l["o_update"] = o["update"][orders.l["order_idx"]]

    def _sla(self, orders: DayOrders) -> None:
        l = orders.l
        # shipped after the deadline: pay + 48 h, or a presale line's promised ship time
        miss = (l["ship"] > 0) & (l["ship"] > l["exp_ship"])
        self.anomalies.add(
            "sla_miss",
            l["line_id"][miss],
            [
                f"shipped {int(x) / 3600:.1f} h after payment, {int(y) / 3600:.1f} h after the deadline"
                for x, y in zip((l["ship"] - l["pay"])[miss], (l["ship"] - l["exp_ship"])[miss])
            ],
        )

    # -- logistics ------------------------------------------------------------------------------
    def _assign(self, orders: DayOrders) -> pd.DataFrame:
        l, o = orders.l, orders.o
        p = np.flatnonzero(l["paid"])
        lines = pd.DataFrame(
            {
                "order_id": _s(l["line_id"][p]),
                "parent_order_id": _s(l["parent_id"][p]),
                "shop_id": _s(self.cat.shop_ids[l["shop"][p]]),
                "sku_id": _s(self.cat.s_id[l["sku"][p]]),
                "item_num": l["item_num"][p],
                "province": PROVINCES[o["province"][l["order_idx"][p]]],
            }
        )
        if self.logistics is not None:
            wl = self.logistics.assign(lines)
        else:
            wl = pd.DataFrame(
                {
                    "order_id": lines["order_id"],
                    "warehouse_id": "WH01",
                    "carrier": "zhongtong",
                    "tracking_no": "7531" + lines["parent_order_id"].str[-11:],
                }
            )
        wl = wl.copy()
        wl["line_id"] = l["line_id"][p]
        wl["province"] = lines["province"].to_numpy()
        return wl

    def _parcel_incidents(self, rng: np.random.Generator, orders: DayOrders, wl: pd.DataFrame) -> None:
        """Lost parcels and rejected deliveries (拒收): shipped single-line waybills whose line was refunded
        in full without a return (type 1) were never delivered; the incident happens at the after-sale's
        application. Marks ``incident`` / ``incident_time`` on the lines and clears their receipt."""
        l = orders.l
        n = len(l["line_id"])
        l["incident"] = np.full(n, "", dtype=object)
        l["incident_time"] = np.zeros(n, np.int64)
        p = np.flatnonzero(l["paid"])
        single = ~wl["tracking_no"].duplicated(keep=False).to_numpy()
        cand = np.zeros(n, bool)
        cand[p] = single & (l["as_type"][p] == 1) & l["full_refund"][p] & (l["ship"][p] > 0)
        u = rng.random(n)
        lost = cand & (u < self.beh.lost_parcel_rate)
        rejected = cand & ~lost & (u < self.beh.lost_parcel_rate + self.beh.rejected_delivery_rate)
        for mask, kind in ((lost, "lost"), (rejected, "rejected")):
            l["incident"][mask] = kind
            l["incident_time"][mask] = np.maximum(l["as_apply"][mask], l["ship"][mask] + 3600)
            l["receipt"][mask] = 0

    def _queue_logistics(self, orders: DayOrders, wl: pd.DataFrame) -> None:
        l = orders.l
        p = np.flatnonzero(l["paid"])
        ship = l["ship"][p]
        s = ship > 0
        shipped = pd.DataFrame(
            {
                "order_id": wl["order_id"].to_numpy()[s],
                "parent_order_id": _s(l["parent_id"][p][s]),
                "shop_id": _s(self.cat.shop_ids[l["shop"][p][s]]),
                "sku_id": _s(self.cat.s_id[l["sku"][p][s]]),
                "item_num": l["item_num"][p][s],
                "warehouse_id": wl["warehouse_id"].to_numpy()[s],
                "carrier": wl["carrier"].to_numpy()[s],
                "tracking_no": wl["tracking_no"].to_numpy()[s],
                "ship_time": ship[s],
                "logistics_receipt_time": l["receipt"][p][s],
                "exp_ship_time": l["exp_ship"][p][s],
                "province": wl["province"].to_numpy()[s],
                "incident": l["incident"][p][s],
                "incident_time": l["incident_time"][p][s],
            }
        )
        ship_day = day_no(ship[s]) - self.start_no
        for d in np.unique(ship_day):
            self.pending_ship.setdefault(int(d), []).append(shipped[ship_day == d].reset_index(drop=True))
        # goods back in stock when a return (type 0) is refunded: the units returned (k of n for a partial
        # return), also for a return after settlement
        r = (l["refund_time"][p] > 0) & (l["as_type"][p] == 0)
        if r.any():
            ret = pd.DataFrame(
                {
                    "sku_id": _s(self.cat.s_id[l["sku"][p][r]]),
                    "warehouse_id": wl["warehouse_id"].to_numpy()[r],
                    "quantity": l["as_num"][p][r],
                }
            )
            rday = day_no(l["refund_time"][p][r]) - self.start_no
            for d in np.unique(rday):
                self.pending_return.setdefault(int(d), []).append(ret[rday == d].reset_index(drop=True))

    # -- platform parquet -------------------------------------------------------------------------
    def _write_platform(self, orders: DayOrders, fin: dict, wl: pd.DataFrame, day: date) -> None:
        o, l = dict(orders.o), dict(orders.l)
        o["create_t"], o["update_t"] = o.pop("create"), o.pop("update")
        o["shop_id"] = self.cat.shop_ids[o["shop"]]
        l["create_t"] = l.pop("create")
        l["shop_id"] = self.cat.shop_ids[l["shop"]]
        l["i"] = np.arange(len(l["line_id"]))
        for k in ("paid", "full_refund", "as_success"):
            l[k] = l[k].astype(np.int8)
        o["paid"], o["sla"] = o["paid"].astype(np.int8), o["sla"].astype(np.int8)
        self.sink.register("O", pd.DataFrame(o))
        self.sink.register("L", pd.DataFrame(l))
        self.sink.register("WL", wl[["line_id", "warehouse_id", "carrier", "tracking_no"]])
        self.sink.register("SB", pd.DataFrame(fin["settlement"]))
        self.sink.register("FF", pd.DataFrame(fin["fund_flow"]))
        self.sink.register("AL", pd.DataFrame(fin["alliance"]))
        tag = f"c-{day:%Y%m%d}"
        for entity, sql in (
            ("shop_order", q.SHOP_ORDER),
            ("sku_order", q.SKU_ORDER),
            ("after_sale", q.AFTER_SALE),
            ("alliance_order", q.ALLIANCE_ORDER),
            ("settlement_bill", q.SETTLEMENT_BILL),
            ("fund_flow", q.FUND_FLOW),
        ):
            self.sink.copy_partitioned(entity, sql, tag)
        self.rows["shop_order"] += len(o["order_id"])
        self.rows["sku_order"] += len(l["line_id"])
        self.rows["after_sale"] += int((l["as_type"] >= 0).sum())
        self.rows["alliance_order"] += len(fin["alliance"]["line"])
        self.rows["settlement_bill"] += len(fin["settlement"]["line"])
        self.rows["fund_flow"] += len(fin["fund_flow"]["line"])

    def _exports(self, day: date) -> None:
        """订单导出 / 售后导出 noise files of the day's new orders (final state), when H1b's writer offers them."""
        if not self.beh.write_exports or self.drop_writer is None or not hasattr(self.drops, "write_exports"):
            return
        so = self.sink.df(f"SELECT * EXCLUDE (dt) FROM ({q.SKU_ORDER})")
        af = self.sink.df(f"SELECT * EXCLUDE (dt) FROM ({q.AFTER_SALE})")
        self.drop_writer.write(f"drops/{day.isoformat()}/", "write_exports", self.root, day, so, af, self.seed)

    def _read_day(self, entity: str, day: date, cols: str = "*") -> pd.DataFrame | None:
        part = self.root / "platform" / entity / f"dt={day.isoformat()}"
        if not part.exists():
            return None
        key = {"settlement_bill": "request_no", "fund_flow": "account_trade_no"}[entity]
        return self.sink.df(f"SELECT {cols} FROM read_parquet('{part.as_posix()}/*.parquet') ORDER BY {key}")

    def _fund_flow_drop(self, rng: np.random.Generator, day: date, i: int) -> pd.DataFrame | None:
        """The day's fund flows (+ withdrawals, written to the platform too) with injected duplicates."""
        ff = self._read_day("fund_flow", day)
        n = self.cat.n_shops
        if ff is not None:
            shop_idx = ff["shop_id"].astype(np.int64).to_numpy() - int(self.cat.shop_ids[0])
            # the shop account's balance: the 保证金账户 moves apart
            sign = np.where(ff["fund_flow"].to_numpy() == 0, 1, -1) * (ff["account_type"].to_numpy() == "聚合账户")
            self.balance += np.bincount(shop_idx, weights=sign * ff["account_amount"].to_numpy(), minlength=n).astype(
                np.int64
            )
        # a shop withdraws 90 % of its balance once money is there, then every ``withdraw_every_days``
        amount = (np.maximum(self.balance, 0) * 0.9).astype(np.int64) // 100 * 100
        s = np.flatnonzero((amount > 0) & (i - self.last_withdraw >= self.beh.withdraw_every_days))
        if len(s):
            self.last_withdraw[s] = i
            if True:
                t0 = day_bounds_unix(day)[0]
                w = pd.DataFrame(
                    {
                        "bill_time": (t0 + 10 * H + s * 60).astype(np.int64),
                        "account_trade_no": [f"TX{self.cat.shop_ids[k]}{day:%Y%m%d}" for k in s],
                        "account_amount": amount[s].astype(np.int64),
                        "shop_id": [str(self.cat.shop_ids[k]) for k in s],
                    }
                )
                self.balance[s] -= amount[s]
                self.sink.register("WD", w)
                self.sink.copy_partitioned("fund_flow", q.WITHDRAWAL, f"w-{day:%Y%m%d}")
                self.rows["fund_flow"] += len(w)
                ff = self._read_day("fund_flow", day)
        if ff is None:
            return None
        dup = rng.random(len(ff)) < self.beh.duplicate_fund_flow_rate
        if self.anomalies.count.get("duplicate_fund_flow", 0) == 0 and not dup.any() and len(ff):
            dup[int(rng.integers(len(ff)))] = True
        self.anomalies.add(
            "duplicate_fund_flow",
            ff["account_trade_no"].to_numpy()[dup],
            [f"row repeated in 动账明细 of {day.isoformat()}"] * int(dup.sum()),
        )
        out = pd.concat([ff, ff[dup]], ignore_index=True).sort_values(["bill_time", "account_trade_no"], kind="stable")
        for c in (
            "pay_amount",
            "post_amount",
            "promotion_amount",
            "refund_amount",
            "platform_service_fee",
            "commission",
            "colonel_service_fee",
            "channel_fee",
        ):
            out[c] = out[c].astype("Int64")
        return out.reset_index(drop=True)

    # -- content, funnel, ads ---------------------------------------------------------------------
    # -- the end ----------------------------------------------------------------------------------
    def finish(self, orders_per_day: int) -> None:
        c = self.cat
        if self.drop_writer is not None:
            self.drop_counts = self.drop_writer.close()
        for name, (frame, key) in final_frames(self.cat, self.last_stock).items():
            self.sink.register("FC", frame)
            self.sink.copy_file(f"SELECT * FROM FC ORDER BY {key}", self.root / "platform" / name / f"{name}.parquet")
        files = {}
        for f in sorted((self.root / "platform").rglob("*.parquet")):
            rel = f.relative_to(self.root).as_posix()
            files[rel] = int(
                one_row(self.sink.con, f"SELECT sum(num_rows) FROM parquet_file_metadata('{f.as_posix()}')")[0]
            )
        self.rows = {e: sum(v for k, v in files.items() if k.split("/")[1] == e) for e in PLATFORM_ENTITIES}
        self.truth.write_table(
            "fee_rate_changes", self.fees.as_rows(), ["first_cid", "effective_date", "old_rate_bp", "new_rate_bp"]
        )
        self.truth.write_table(
            "commission_campaigns",
            [
                {
                    "author_id": str(c.a_id[k.author]),
                    "start_date": k.start.isoformat(),
                    "end_date": k.end.isoformat(),
                    "base_rate_bp": c.a_commission_bp[k.author],
                    "campaign_rate_bp": k.rate_bp,
                }
                for k in self.campaigns
            ],
            ["author_id", "start_date", "end_date", "base_rate_bp", "campaign_rate_bp"],
        )
        self.truth.write_table(
            "fund_events",
            sorted(self.fund_events, key=lambda r: r["account_trade_no"]),
            ["account_trade_no", "shop_id", "kind", "account_type", "signed_fen", "bill_date", "order_id"],
        )
        for name, (rows, cols) in self._quirk_tables().items():
            self.truth.write_table(name, rows, cols)
        self.truth.write(
            {
                "entities": self.rows,
                "files": {**files, **self.drop_counts},
                "totals": {
                    "shop_orders": int(self.n_orders),
                    **self.freight,
                    "drop_files": len(self.drop_counts),
                    "drop_rows": int(sum(self.drop_counts.values())),
                },
            }
        )
        world = {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.last.isoformat(),
            "days": self.days,
            "shops": [
                {"shop_id": str(c.shop_ids[k]), "shop_name": c.shop_names[k], "advertiser_id": str(ADVERTISER_BASE + k)}
                for k in range(c.n_shops)
            ],
            "orders_per_day": orders_per_day,
            "simulator_version": SIMULATOR_VERSION,
            "code_version": _code_version(),
            "now_unix": self.now,
            "behaviour": self.beh.as_dict(),
            "platform_fee_rates_bp": {str(k): v[1] for k, v in sorted(c.fee_rates.items())},
            "platform_fee_rate_changes": self.fees.as_rows(),
            "settle_tolerance_fen": ROUNDING_TOLERANCE_FEN,
            "settle_delay_days": SETTLE_DELAY_DAYS,
            "grace_days": GRACE_DAYS,
            "business_tz": "Asia/Shanghai",
        }
        (self.root / "world.json").write_text(
            json.dumps(world, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )


# truth/<name>.csv of the quirks that are not anomalies (one row per instance)
_QUIRK_COLUMNS: dict[str, list[str]] = {
    "live_sessions_cross_midnight": ["room_id", "shop_id", "start_date", "end_date"],
    "ad_restatements": [
        "advertiser_id",
        "stat_date",
        "marketing_goal",
        "restated_on",
        "original_cost_fen",
        "restated_cost_fen",
        "original_pay_order_fen",
        "restated_pay_order_fen",
    ],
    "logistics_incidents": [
        "tracking_no",
        "kind",
        "sku_order_id",
        "shop_id",
        "warehouse_id",
        "event_date",
        "return_tracking_no",
    ],
    "stock_count_differences": [
        "stock_date",
        "warehouse_id",
        "sku_id",
        "ledger_closing_qty",
        "counted_qty",
        "difference_qty",
    ],
}


def _iso_day(t: int) -> str:
    """Asia/Shanghai business day of a unix time, ISO."""
    return _day_of(int(day_no(np.int64(t)))).isoformat()


def _day_of(day_number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day_number)


def _code_version() -> str:
    try:
        from importlib.metadata import version

        return version("douyin-etl")
    except Exception:  # not installed as a distribution
        return "0+unknown"


def generate_world(
    out: Path,
    seed: int,
    start: date,
    days: int,
    shops: int,
    orders_per_day: int,
    behaviour: Behaviour = DEFAULT,
    background_writes: bool | None = None,
) -> WorldSummary:
    """Generate a deterministic world into ``out`` (replaced atomically). ``orders_per_day``: mean number of
    shop orders created per day across all shops (weekday-seasonal, Poisson). ``background_writes``: write
    the file drops in a worker process (``drop_writer``; the same bytes); by default from
    ``BACKGROUND_FROM_ORDERS_PER_DAY`` orders a day."""
    if days < 1 or shops < 1 or orders_per_day < 1:
        raise ValueError(f"days, shops and orders_per_day must be ≥ 1 (got {days}, {shops}, {orders_per_day})")
    t0 = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".tmp-{uuid.uuid4().hex}-{out.name}"
    tmp.mkdir()
    if background_writes is None:
        background_writes = orders_per_day >= BACKGROUND_FROM_ORDERS_PER_DAY
    w: World | None = None
    try:
        w = World(tmp, seed, start, days, shops, orders_per_day, behaviour, background_writes)
        for i in range(days):
            w.run_day(i)
            log.debug("simulated %s", start + timedelta(days=i))
        w.finish(orders_per_day)
        w.sink.close()
        if out.exists():
            old = out.parent / f".old-{uuid.uuid4().hex}-{out.name}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        if w is not None and w.drop_writer is not None:
            w.drop_writer.abort()  # before the tree goes: the worker may still be writing into it
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return WorldSummary(
        out=out,
        days=days,
        shops=shops,
        rows=w.rows,
        drop_files=len(w.drop_counts),
        drop_rows=int(sum(w.drop_counts.values())),
        bytes_on_disk=size,
        seconds=time.perf_counter() - t0,
        orders=w.n_orders,
    )
