"""Ground truth, computed from the generator's own arrays (never from SQL over the outputs).

``TruthBook`` accumulates per creation day and writes ``truth/``: daily_sales.csv,
reconciliation.parquet (one row per paid SKU line), anomalies.csv and counts.json. Per-day parts go
to ``_parts/`` (Parquet) so memory does not grow with the number of days.
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
        self.quirks: dict[str, int] = {}  # truth/<quirk>.csv rows (counts.json "quirks")

    def add_day(self, day: DayOrders, recon: dict[str, np.ndarray], i: int) -> None:
        """GMV / orders / buyers by pay day (= creation day), refunds by refund day, reconciliation rows."""
        o, l = day.o, day.l
        n = len(self.shop_ids)
        p = l["paid"]
        self.gmv[:, i] += np.bincount(l["shop"][p], weights=l["pay_amount"][p], minlength=n).astype(np.int64)
        self.lines[:, i] += np.bincount(l["shop"][p], minlength=n)
        self.orders[:, i] += np.bincount(o["shop"][o["paid"]], minlength=n)
        self.buyers[:, i] += np.bincount(np.unique(o["buyer"][o["paid"]]) // 1_000_000_000, minlength=n)
        r = l["refund_time"] > 0
        np.add.at(self.refund, (l["shop"][r], day_no(l["refund_time"][r]) - self.start_no), l["refund_amount"][r])
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
        self.quirks[name] = len(rows)

    def write(self, extra_counts: dict) -> dict:
        """Write truth/ and return counts.json's content."""
        truth = self.root / "truth"
        truth.mkdir(parents=True, exist_ok=True)
        parts = self.parts.as_posix()
        self.sink.copy_file(
            f"SELECT * FROM read_parquet('{parts}/recon-*.parquet') ORDER BY sku_order_id",
            truth / "reconciliation.parquet",
        )
        anomalies = truth / "anomalies.csv"
        if list(self.parts.glob("anom-*.parquet")):
            self.sink.con.execute(
                f"COPY (SELECT * FROM read_parquet('{parts}/anom-*.parquet') ORDER BY kind, key, detail) "
                f"TO '{anomalies.as_posix()}' (HEADER, DELIMITER ',')"
            )
        else:
            anomalies.write_text("kind,key,detail\n", encoding="utf-8")
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
            "quirks": dict(sorted(self.quirks.items())),
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
