"""Small hand-made drop files for the file-ingestion tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from douyin_etl.sources.files.specs import SPECS

SETTLEMENT_HEADERS = [c.header for c in SPECS["settlement_bill"].columns]


def settlement_row(i: int, **over: str) -> dict[str, str]:
    row = {
        "结算时间": f"2026-03-01 {10 + i % 10:02d}:15:00",
        "结算单号": f"'R{i:05d}",
        "订单号": f"\t69{i:017d}",
        "子订单号": f"'68{i:017d}",
        "商品ID": "3601",
        "交易类型": "已结算",
        "结算金额": "1,234.56",
        "收入合计": "1,300.00",
        "用户实付": "1,250.00",
        "退款金额": "0.00",
        "平台补贴": "50.00",
        "达人补贴": "0.00",
        "抖音支付补贴": "0.00",
        "抖音月付营销补贴": "0.00",
        "平台服务费": "0.29",
        "佣金": "65.15",
        "渠道分成": "0",
        "招商服务费": "0.00",
        "直播间站外推广": "0.00",
        "其他分成": "0.00",
        "其他分成说明": "",
        "支出合计": "65.44",
        "备注": "",
    }
    row.update(over)
    return row


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    headers: list[str] | None = None,
    encoding: str = "utf-8",
    final_newline: bool = True,
) -> Path:
    headers = headers or list(rows[0])
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    for r in rows:
        w.writerow([r.get(h, "") for h in headers])
    text = buf.getvalue()
    if not final_newline:
        text = text.rstrip("\r\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
