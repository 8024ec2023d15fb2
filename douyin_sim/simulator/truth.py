"""Ground truth, computed from the generator's own arrays (never from SQL over the outputs).

``TruthBook`` accumulates per creation day and writes ``truth/``: daily_sales.csv (by pay day and
refund day), reconciliation.parquet (one row per paid SKU line), anomalies.csv (injected anomalies),
quirks.csv (every instance of a lifecycle quirk of a real shop: kind, key, business day, amount) and
counts.json. Per-day parts go to ``_parts/`` (Parquet) so memory does not grow with the number of days.

Everything here is read from the generator's arrays with numpy: no SQL over the outputs, no mart rule.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from douyin_sim.simulator.finance import AnomalyLog, day_no
from douyin_sim.simulator.orders import DayOrders
from douyin_sim.simulator.sink import ParquetSink

_RECON_SQL = (
    "SELECT sku_order_id::VARCHAR AS sku_order_id, shop_id::VARCHAR AS shop_id, pay_amount::BIGINT AS pay_amount, "
    "expected_settle_fen::BIGINT AS expected_settle_fen, settled_fen::BIGINT AS settled_fen, "
    "status::VARCHAR AS status, reason::VARCHAR AS reason, natural_kind::VARCHAR AS natural_kind FROM RC ORDER BY sku_order_id"
)


class TruthBook:
    def __init__(self, root: Path, sink: ParquetSink, shop_ids: np.ndarray, start: date, days: int) -> None:
        self.root, self.sink, self.shop_ids, self.start, self.days = root, sink, shop_ids, start, days
        self.parts = root / "_parts"
        self.start_no = int(day_no(np.int64(int(pd.Timestamp(start, tz="Asia/Shanghai").timestamp()))))
        n = len(shop_ids)
        self.gmv, self.refund, self.orders, self.buyers, self.lines = (np.zeros((n, days), np.int64) for _ in range(5))
        self.anomalies = AnomalyLog()
        self._anomaly_parts = 0
        self.quirks: list[pd.DataFrame] = []
        self.quirk_count: dict[str, int] = {}
        self._quirk_parts = 0
        self._buyers_next = np.zeros(0, np.int64)  # buyers of orders created on day i, paid on day i + 1
        self.tables: dict[str, int] = {}  # rows of truth/<quirk>.csv tables (counts.json "quirks")

    def add_day(self, day: DayOrders, recon: dict[str, np.ndarray], i: int, comp: dict | None = None) -> None:
        """GMV / lines / orders / buyers by pay day, refunds by refund day, reconciliation rows, quirks.

        An order is paid within the payment window (< 1 day) of its creation, so the buyers of pay day i
        are those of creation days i - 1 and i; a buyer paying on both counts once."""
        o, l = day.o, day.l
        n = len(self.shop_ids)
        p = l["paid"]
        lpd = day_no(l["pay"][p]) - self.start_no
        np.add.at(self.gmv, (l["shop"][p], lpd), l["pay_amount"][p])
        np.add.at(self.lines, (l["shop"][p], lpd), 1)
        op = o["paid"]
        opd = day_no(o["pay"][op]) - self.start_no
        np.add.at(self.orders, (o["shop"][op], opd), 1)
        buyers = o["buyer"][op]
        today = np.unique(np.concatenate([self._buyers_next, buyers[opd == i]]))
        self.buyers[:, i] += np.bincount(today // 1_000_000_000, minlength=n)
        self._buyers_next = buyers[opd == i + 1]
        if i + 1 >= self.days and len(self._buyers_next):
            raise AssertionError("an order paid after the world's last day")
        r = l["refund_time"] > 0
        np.add.at(self.refund, (l["shop"][r], day_no(l["refund_time"][r]) - self.start_no), l["refund_amount"][r])
        self._add_quirks(day, comp)
        k = recon["line"]
        self.sink.register(
            "RC",
            pd.DataFrame(
                {
                    "sku_order_id": l["line_id"][k],
                    "shop_id": self.shop_ids[l["shop"][k]],
                    "pay_amount": l["pay_amount"][k],
                    "expected_settle_fen": recon["expected_settle_fen"],
                    "settled_fen": recon["settled_fen"],
                    "status": recon["status"].astype(str),
                    "reason": pd.Series(recon["reason"], dtype=object),
                    "natural_kind": pd.Series(recon["natural"], dtype=object),
                }
            ),
        )
        self.sink.copy_file(_RECON_SQL, self.parts / f"recon-{i:05d}.parquet")
        self.flush_anomalies()

    def _quirk(self, kind: str, keys: np.ndarray, t: np.ndarray, amount: np.ndarray, detail: list[str]) -> None:
        if not len(keys):
            return
        self.quirk_count[kind] = self.quirk_count.get(kind, 0) + len(keys)
        days = [(self.start + timedelta(days=int(d) - self.start_no)).isoformat() for d in day_no(t)]
        self.quirks.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "key": keys.astype(str),
                    "day": days,
                    "amount_fen": amount.astype(np.int64),
                    "detail": detail,
                }
            )
        )

    def _add_quirks(self, day: DayOrders, comp: dict | None) -> None:
        """Every instance of a lifecycle quirk of the day's orders (truth/quirks.csv), dated by the business
        day its amount belongs to."""
        o, l = day.o, day.l
        m = len(o["order_id"])
        o_gmv = np.bincount(l["order_idx"], weights=np.where(l["paid"], l["pay_amount"], 0), minlength=m).astype(
            np.int64
        )
        x = o["paid"] & (day_no(o["pay"]) != day_no(o["create"]))
        self._quirk(
            "pay_after_midnight",
            o["order_id"][x],
            o["pay"][x],
            o_gmv[x],
            ["paid the day after its creation"] * int(x.sum()),
        )
        x = ~o["paid"] & (o["cancel"] > 0)
        o_amount = np.bincount(l["order_idx"], weights=l["pay_amount"], minlength=m).astype(np.int64)
        self._quirk(
            "unpaid_expired", o["order_id"][x], o["cancel"][x], o_amount[x], ["cancelled unpaid"] * int(x.sum())
        )
        x = np.zeros(m, dtype=bool)
        x[l["order_idx"][l["presale"]]] = True
        o_exp = np.zeros(m, np.int64)
        np.maximum.at(o_exp, l["order_idx"], l["exp_ship"])
        self._quirk(
            "presale",
            o["order_id"][x],
            o_exp[x],
            o_gmv[x],
            [f"promised ship {int(e - pt) // 86400} days after payment" for e, pt in zip(o_exp[x], o["pay"][x])],
        )
        r = l["refund_time"] > 0
        x = r & l["part_units"]
        self._quirk(
            "partial_unit_refund",
            l["line_id"][x],
            l["refund_time"][x],
            l["refund_amount"][x],
            [f"{int(k)} of {int(u)} units" for k, u in zip(l["as_num"][x], l["item_num"][x])],
        )
        x = r & (l["as_type"] == 6)
        self._quirk(
            "price_protection", l["line_id"][x], l["refund_time"][x], l["refund_amount"][x], ["价保"] * int(x.sum())
        )
        x = l["claim"] > 0
        self._quirk(
            "shipping_insurance_claim",
            l["line_id"][x],
            l["refund_time"][x],
            l["claim"][x],
            ["运费险 pays the buyer"] * int(x.sum()),
        )
        x = l["as_type"] == 3
        self._quirk(
            "exchange", l["line_id"][x], l["as_apply"][x], np.zeros(int(x.sum()), np.int64), ["换货"] * int(x.sum())
        )
        x = l.get("reversal_time", np.zeros(len(r), np.int64)) > 0
        if x.any():
            self._quirk(
                "late_reversal",
                l["line_id"][x],
                l["reversal_time"][x],
                l["refund_amount"][x],
                [f"refunded {_day_iso(t)}" for t in l["refund_time"][x]],
            )
        if comp is not None and len(comp["line"]):
            k = comp["line"]
            self._quirk(
                "platform_compensation",
                l["line_id"][k],
                comp["bill_time"],
                comp["account_amount"],
                ["平台赔付"] * len(k),
            )
        self.flush_quirks()

    def flush_quirks(self) -> None:
        if self.quirks:
            self._quirk_parts += 1
            self.sink.register("QK", pd.concat(self.quirks, ignore_index=True))
            self.sink.copy_file("SELECT * FROM QK", self.parts / f"quirk-{self._quirk_parts:06d}.parquet")
        self.quirks = []

    def flush_anomalies(self) -> None:
        """Move the anomalies logged so far to a part file."""
        if self.anomalies.rows:
            self._anomaly_parts += 1
            self.sink.register("AN", pd.DataFrame(self.anomalies.rows, columns=["kind", "key", "detail"]))
            self.sink.copy_file(
                "SELECT * FROM AN ORDER BY kind, key", self.parts / f"anom-{self._anomaly_parts:06d}.parquet"
            )
        self.anomalies.rows = []

    def write_table(self, name: str, rows: list[dict], columns: list[str]) -> None:
        """``truth/<name>.csv``: one row per quirk instance the simulator produced (header-only when none)."""
        truth = self.root / "truth"
        truth.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows, columns=columns).to_csv(truth / f"{name}.csv", index=False, lineterminator="\n")
        self.tables[name] = len(rows)

    def _parts_to_csv(self, prefix: str, order_by: str, out: Path, header: str) -> None:
        """The ``<prefix>-*.parquet`` day parts as one CSV ordered by ``order_by`` (header only when none)."""
        if list(self.parts.glob(f"{prefix}-*.parquet")):
            self.sink.con.execute(
                f"COPY (SELECT * FROM read_parquet('{self.parts.as_posix()}/{prefix}-*.parquet') ORDER BY {order_by}) "
                f"TO '{out.as_posix()}' (HEADER, DELIMITER ',')"
            )
        else:
            out.write_text(header + "\n", encoding="utf-8")

    def write(self, extra_counts: dict) -> dict:
        """Write truth/ and return counts.json's content."""
        truth = self.root / "truth"
        truth.mkdir(parents=True, exist_ok=True)
        parts = self.parts.as_posix()
        self._parts_to_csv("quirk", "kind, key, day", truth / "quirks.csv", "kind,key,day,amount_fen,detail")
        self.sink.copy_file(
            f"SELECT * FROM read_parquet('{parts}/recon-*.parquet') ORDER BY sku_order_id",
            truth / "reconciliation.parquet",
        )
        self._parts_to_csv("anom", "kind, key, detail", truth / "anomalies.csv", "kind,key,detail")
        shutil.rmtree(self.parts)
        n = len(self.shop_ids)
        dates = [(self.start + timedelta(days=d)).isoformat() for d in range(self.days)]
        pd.DataFrame(
            {
                "shop_id": np.repeat(self.shop_ids.astype(str), self.days),
                "date": dates * n,
                "gmv_fen": self.gmv.ravel(),
                "refund_fen": self.refund.ravel(),
                "net_sales_fen": (self.gmv - self.refund).ravel(),
                "orders": self.orders.ravel(),
                "buyers": self.buyers.ravel(),
                "sku_orders": self.lines.ravel(),
            }
        ).to_csv(truth / "daily_sales.csv", index=False, lineterminator="\n")
        counts = {
            **extra_counts,
            "anomalies": dict(sorted(self.anomalies.count.items())),
            "quirks": dict(sorted({**self.quirk_count, **self.tables}.items())),
        }
        counts["totals"] = {
            **counts.get("totals", {}),
            "paid_sku_orders": int(self.lines.sum()),
            "gmv_fen": int(self.gmv.sum()),
            "refund_fen": int(self.refund.sum()),
        }
        (truth / "counts.json").write_text(
            json.dumps(counts, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return counts


def _day_iso(t: np.int64) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day_no(np.int64(t))))).isoformat()
