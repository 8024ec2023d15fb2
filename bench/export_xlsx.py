"""``python -m bench.export_xlsx WAREHOUSE [--lines 12000] [--repeat 3]``: seconds to write the finance workbook.

Makes a bench copy of a published ``WAREHOUSE`` (a test or demo warehouse: ``make demo`` or
``tests/worlds.py:build_published``) whose busiest month holds about ``--lines`` reconciliation lines
(the month's lines repeated with suffixed ids; settlement lines likewise), then times
``export_finance(<that month>, fmt="xlsx")`` — all four finance sheets, as a finance user runs it — and
prints one line per run plus the best, with the lines and rows written. Run it against another checkout's
code to compare (``PYTHONPATH=/path/to/other/checkout python -m bench.export_xlsx …``): only the public
``export_finance`` is called. Prints figures; asserts nothing (the tests check the content).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

SCALED = (  # relation, date column, id columns made unique per copy
    ("finance.fin_order_reconciliation", "pay_date", ("sku_order_id",)),
    ("finance.fin_settlement_lines", "settle_date", ("request_no",)),
)


def scaled_copy(warehouse: Path, out: Path, lines: int) -> str:
    """Copy ``warehouse`` to ``out`` with its busiest reconciliation month grown to ~``lines`` lines; return the month."""
    shutil.copyfile(warehouse, out)
    version = warehouse.with_name("douyin.version.json")  # the published run's record (read_version)
    if version.exists():
        shutil.copyfile(version, out.with_name(version.name))
    con = duckdb.connect(str(out))
    try:
        month, n = con.execute(
            "SELECT strftime(pay_date, '%Y-%m') AS m, count(*) FROM finance.fin_order_reconciliation "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        copies = max(1, -(-lines // max(n, 1)))
        for relation, date_col, ids in SCALED:
            replace = ", ".join(f"{c} || '-' || i AS {c}" for c in ids)
            con.execute(
                f"CREATE TEMP TABLE extra AS SELECT * REPLACE ({replace}) FROM {relation}, range(1, {copies}) AS r(i) "
                f"WHERE strftime({date_col}, '%Y-%m') = '{month}'"
            )
            con.execute(f"INSERT INTO {relation} SELECT * EXCLUDE (i) FROM extra")
            con.execute("DROP TABLE extra")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return str(month)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.export_xlsx", description=__doc__.split("\n")[0])
    p.add_argument("warehouse", type=Path, help="a published warehouse file (read, never written)")
    p.add_argument("--lines", type=int, default=12_000, help="reconciliation lines in the month (default 12000)")
    p.add_argument("--repeat", type=int, default=3, help="runs; the best is reported (default 3)")
    args = p.parse_args(argv)

    from douyin_etl.access.exports import export_finance

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        db = Path(tmp) / "douyin.duckdb"
        month = scaled_copy(args.warehouse, db, args.lines)
        times = []
        for i in range(args.repeat):
            t0 = time.perf_counter()
            result = export_finance(month, fmt="xlsx", out_dir=Path(tmp) / "out", warehouse=db)
            times.append(time.perf_counter() - t0)
            rows = {t.name: t.rows for t in result.tables}
            size = result.files[0].stat().st_size / 1e6
            print(f"run {i + 1}: {times[-1]:.2f} s  {month}  rows {rows}  {size:.1f} MB", flush=True)
        print(f"best: {min(times):.2f} s for {rows['reconciliation']} reconciliation lines ({sum(rows.values())} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
