"""The landing gate on small hand-built partitions: observed values, severities, quarantine, chunking."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
from gate_helpers import DT, fund_flow_columns, settlement_bill_columns  # type: ignore[import-not-found]

from douyin_etl.quality.gates import key_chunks, run_landing_gate


def _check(gate, column=None, type_=None, entity="fund_flow", batch="rows"):
    found = [
        c
        for c in gate.checks
        if c.entity == entity
        and (column is None or c.column == column)
        and (batch is None or c.batch == batch)
        and (type_ is None or c.expectation_type == type_)
    ]
    assert len(found) == 1, [(c.expectation_type, c.column) for c in found]
    return found[0]


def test_clean_partition_passes_with_observed_row_count(lake, write_partition):
    write_partition("fund_flow", DT, fund_flow_columns(), rows=250)
    gate = run_landing_gate("clean", {"fund_flow": [DT]})
    assert gate.ok, gate.summary()
    assert [c for c in gate.checks if not c.success] == []
    rc = _check(gate, type_="expect_table_row_count_to_be_between")
    assert rc.observed_value == 250 and rc.success
    amount = _check(gate, column="account_amount", type_="expect_column_values_to_be_between")
    assert amount.element_count == 250 and amount.unexpected_count == 0
    assert gate.rows_validated == 250 and gate.partitions == 1 and gate.quarantined == 0


def test_three_duplicate_keys_fail_uniqueness_with_count_3(lake, write_partition):
    # rows 10, 11, 12 share one account_trade_no
    key = "CASE WHEN i IN (10, 11, 12) THEN 'DUP' ELSE 'T' || lpad(i::VARCHAR, 8, '0') END"
    write_partition("fund_flow", DT, fund_flow_columns(), rows=100, overrides={"account_trade_no": key})
    gate = run_landing_gate("dups", {"fund_flow": [DT]})
    unique = _check(gate, type_="expect_column_values_to_be_unique")
    assert not unique.success and unique.unexpected_count == 3 and unique.element_count == 100
    assert {e["account_trade_no"] for e in unique.examples} == {"DUP"}
    assert not gate.ok and unique in gate.blocking


def test_negative_amount_fails_with_that_row_as_example_and_is_quarantined(lake, write_partition):
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=50,
        overrides={"account_amount": "CASE WHEN i = 7 THEN -1234 ELSE 100 END"},
    )
    # ingestion of the same run already quarantined an unparseable row of this day: it must survive
    from douyin_etl.landing.quarantine import Quarantine

    ingest_q = Quarantine("neg").add(
        "fund_flow",
        DT,
        [
            {
                "reason": "not a yuan amount",
                "column": "account_amount",
                "value": "1.234",
                "source_ref": "f.csv#3",
                "raw": {},
            }
        ],
    )
    gate = run_landing_gate("neg", {"fund_flow": [DT]})
    assert duckdb.sql(f"SELECT reason FROM '{ingest_q}'").fetchall() == [("not a yuan amount",)]
    amount = _check(gate, column="account_amount", type_="expect_column_values_to_be_between")
    assert not amount.success and amount.unexpected_count == 1
    assert amount.examples == [
        {"_row": 7, "account_trade_no": "T00000007", "_source_ref": "drop/file.csv#9", "account_amount": -1234}
    ]
    assert amount.observed_value["values"] == [-1234]
    assert not gate.ok and gate.quarantined == 1
    q = lake / "quarantine" / "backoffice" / "fund_flow" / f"dt={DT}" / "neg-landing-gate.parquet"
    rows = duckdb.sql(f"SELECT reason, \"column\", value, source_ref, raw FROM '{q}'").fetchall()
    assert len(rows) == 1
    reason, column, value, source_ref, raw = rows[0]
    assert column == "account_amount" and value == "-1234" and source_ref == "drop/file.csv#9"
    assert "account_amount >= 0" in reason and '"account_trade_no": "T00000007"' in raw


def test_warning_reports_but_does_not_block(lake, write_partition):
    # account_bill_desc_tag 99 is not a known code: a warning in the reviewed suite
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=20,
        overrides={"account_bill_desc_tag": "CASE WHEN i < 2 THEN 99 ELSE 3 END"},
    )
    gate = run_landing_gate("warn", {"fund_flow": [DT]})
    tag = _check(gate, column="account_bill_desc_tag", type_="expect_column_values_to_be_in_set")
    assert tag.severity == "warning" and not tag.success and tag.unexpected_count == 2
    assert gate.ok and gate.warnings == [tag] and gate.blocking == []
    assert gate.quarantined == 0  # warnings are reported, not quarantined


def test_event_time_outside_business_day_blocks(lake, write_partition):
    # 2026-10-03 23:30 UTC is 2026-10-04 07:30 in Asia/Shanghai: the next business day
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=10,
        overrides={
            "bill_time": "CASE WHEN i = 4 THEN TIMESTAMPTZ '2026-10-03 23:30:00+00' "
            "ELSE TIMESTAMPTZ '2026-10-03 00:30:00+08' END"
        },
    )
    gate = run_landing_gate("day", {"fund_flow": [DT]})
    day = _check(gate, column="_partition_day_offset")
    assert not day.success and day.unexpected_count == 1 and day.observed_value["values"] == [1]
    assert not gate.ok


def test_settlement_fen_identity(lake, write_partition):
    cols = settlement_bill_columns(DT, amount_fen=9500)  # 10000 in, 500 fee, 9500 settled
    cols["settle_amount"] = "CASE WHEN i = 3 THEN 9400 ELSE 9500 END"  # one row off the identity by 100 fen
    write_partition("settlement_bill", DT, cols, rows=30)
    gate = run_landing_gate("fen", {"settlement_bill": [DT]})
    ident = _check(gate, column="_settle_identity_diff_fen", entity="settlement_bill")
    assert not ident.success and ident.unexpected_count == 1 and ident.observed_value["values"] == [100]
    assert ident.examples[0]["request_no"] == "R3"
    # the example shows the columns the identity is made of
    assert ident.examples[0]["settle_amount"] == 9400 and ident.examples[0]["total_income"] == 10000
    # (the cross-source check of settlements vs order lines says it could not run: no sku_order landed here)
    others = [c for c in gate.checks if not c.success and c is not ident and c.suite.startswith("landing.")]
    assert others == [], [(c.expectation_type, c.column) for c in others]


def test_schema_missing_column_and_wrong_type(lake, write_partition):
    cols = fund_flow_columns()
    del cols["account_type"]
    cols["account_amount"] = "CAST(100 AS DOUBLE)"  # a float snuck in: money must be integer fen
    pdir = write_partition("fund_flow", DT, {k: v for k, v in cols.items() if k != "account_amount"}, rows=5)
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT *, 1.5::DOUBLE AS account_amount FROM '{pdir}/part-00000.parquet') "
        f"TO '{pdir}/part-00000.parquet' (FORMAT parquet)"
    )
    con.close()
    gate = run_landing_gate("schema", {"fund_flow": [DT]})
    cols_check = _check(gate, type_="expect_table_columns_to_match_set", batch="schema")
    assert not cols_check.success
    type_check = _check(gate, column="account_amount", type_="expect_column_values_to_be_in_set", batch="schema")
    assert not type_check.success and type_check.observed_value["values"] == ["DOUBLE"]
    assert not gate.ok


def test_missing_partition_blocks_with_a_clear_message(lake):
    gate = run_landing_gate("none", {"fund_flow": [DT]})
    assert not gate.ok
    [c] = gate.checks
    assert c.expectation_type == "partition_landed" and "never landed" in c.exception and "fund_flow" in c.exception


def test_chunked_equals_one_batch(lake, write_partition):
    # duplicates that straddle chunk boundaries, nulls, negatives, a wrong day, across 2 partitions
    key = "CASE WHEN i % 17 IN (0, 1, 2) THEN 'K' || (i // 17) ELSE 'T' || lpad(i::VARCHAR, 6, '0') END"
    for dt in (DT, DT + timedelta(days=1)):
        write_partition(
            "fund_flow",
            dt,
            fund_flow_columns(dt),
            rows=120,
            overrides={
                "account_trade_no": key,
                "account_amount": "CASE WHEN i % 31 = 0 THEN -i ELSE i END",
                "account_type": "CASE WHEN i % 43 = 0 THEN NULL ELSE 'main' END",
            },
        )
    parts = {"fund_flow": [DT, DT + timedelta(days=1)]}
    whole = run_landing_gate("whole", parts, max_rows=1_000_000, quarantine=False)
    chunked = run_landing_gate("chunked", parts, max_rows=20, quarantine=False)  # K6 straddles row 20

    def view(g):
        return [
            (
                c.dt,
                c.expectation_type,
                c.column,
                c.success,
                c.element_count,
                c.unexpected_count,
                str(c.observed_value) if c.unexpected_count is None else None,
            )
            for c in g.checks
        ]

    assert view(chunked) == view(whole)
    unique = [c for c in whole.checks if c.expectation_type == "expect_column_values_to_be_unique"]
    keys = [f"K{i // 17}" if i % 17 in (0, 1, 2) else f"T{i}" for i in range(120)]
    duplicated_rows = sum(1 for k in keys if keys.count(k) > 1)
    assert duplicated_rows == 21  # 7 full groups of 3 (K0..K6); K7 has one row (i = 119)
    assert [c.unexpected_count for c in unique] == [duplicated_rows, duplicated_rows]
    negatives = [
        c
        for c in whole.checks
        if c.column == "account_amount"
        and c.batch == "rows"
        and c.expectation_type == "expect_column_values_to_be_between"
    ]
    assert [c.unexpected_count for c in negatives] == [3, 3]  # i = 31, 62, 93 (i = 0 gives -0)
    assert whole.rows_validated == chunked.rows_validated == 240


def test_key_chunks_never_split_a_key():
    con = duckdb.connect()
    # keys with 1..5 rows each, in key order
    result = con.execute(
        "SELECT k, j FROM (SELECT 'k' || lpad((i % 23)::VARCHAR, 2, '0') AS k, i AS j "
        "FROM range(60) t(i) WHERE i % 23 < (i // 23) + 1 + (i % 5)) ORDER BY k"
    )
    frames = list(key_chunks(result, ["k"], 4))
    total = con.execute(
        "SELECT count(*) FROM (SELECT 'k' || lpad((i % 23)::VARCHAR, 2, '0') AS k FROM range(60) t(i) "
        "WHERE i % 23 < (i // 23) + 1 + (i % 5))"
    ).fetchone()[0]
    assert sum(len(f) for f in frames) == total and len(frames) > 3
    seen: dict[str, int] = {}
    for n, f in enumerate(frames):
        for k in set(f["k"]):
            assert k not in seen, f"key {k} split across frames {seen[k]} and {n}"
            seen[k] = n
    # row numbers continue across frames, so failing rows can be found again
    assert [f.index[0] for f in frames] == [sum(len(g) for g in frames[:n]) for n in range(len(frames))]


def test_key_chunks_of_an_empty_result_yields_one_typed_frame():
    con = duckdb.connect()
    frames = list(key_chunks(con.execute("SELECT 1::BIGINT AS k WHERE false"), ["k"], 10))
    assert len(frames) == 1 and len(frames[0]) == 0 and list(frames[0].columns) == ["k"]


def test_a_reviewed_mostly_tolerance_lets_few_rows_through_but_quarantines_them(
    lake, write_partition, tmp_path, monkeypatch
):
    import json
    import shutil

    from douyin_etl import config

    custom = tmp_path / "expectations"
    shutil.copytree(config.EXPECTATIONS_DIR, custom)
    path = custom / "landing" / "fund_flow.json"
    suite = json.loads(path.read_text())
    for e in suite["expectations"]:
        if e["kwargs"].get("column") == "account_amount" and e["type"] == "expect_column_values_to_be_between":
            e["kwargs"]["mostly"] = 0.95
    path.write_text(json.dumps(suite))
    monkeypatch.setenv("DOUYIN_EXPECTATIONS_DIR", str(custom))
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=40,
        overrides={"account_amount": "CASE WHEN i IN (3, 9) THEN -1 ELSE 100 END"},
    )
    gate = run_landing_gate("mostly", {"fund_flow": [DT]})
    amount = _check(gate, column="account_amount", type_="expect_column_values_to_be_between")
    assert amount.success and amount.unexpected_count == 2  # 2/40 = 5 % bad, within the reviewed 5 %
    assert gate.ok and gate.quarantined == 2  # let through, but on record
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=40,
        overrides={"account_amount": "CASE WHEN i IN (3, 9, 27) THEN -1 ELSE 100 END"},
    )
    gate = run_landing_gate("mostly2", {"fund_flow": [DT]})
    amount = _check(gate, column="account_amount", type_="expect_column_values_to_be_between")
    assert not amount.success and amount.unexpected_count == 3 and not gate.ok  # 7.5 % > 5 %: blocks


def test_to_dict_lists_failures_and_collapses_passing_checks(lake, write_partition):
    import json

    for d in (DT, DT + timedelta(days=1)):
        write_partition(
            "fund_flow",
            d,
            fund_flow_columns(d),
            rows=30,
            overrides={"account_amount": "CASE WHEN i = 2 THEN -5 ELSE 1 END"} if d == DT else None,
        )
    gate = run_landing_gate("dict", {"fund_flow": [DT, DT + timedelta(days=1)]})
    d = json.loads(json.dumps(gate.to_dict()))
    failing = [c for c in d["checks"] if not c["success"]]
    assert [(c["dt"], c["column"], c["unexpected_count"]) for c in failing] == [(DT.isoformat(), "account_amount", 1)]
    assert failing[0]["examples"][0]["account_amount"] == -5
    rc = [c for c in d["checks"] if c["expectation_type"] == "expect_table_row_count_to_be_between"]
    assert rc == [{**rc[0], "partitions": 2, "observed_value": 60, "dt": f"{DT}..{DT + timedelta(days=1)}"}]
    assert len(d["checks"]) < len(gate.checks) / 1.5 and d["blocking"] == 1 and "BLOCKED" in d["summary"]
    assert len(gate.to_dict(detail=True)["checks"]) == len(gate.checks)


def _bad_fund_flow(write_partition, days: int, rows: int) -> dict[str, list[date]]:
    """``days`` fund_flow partitions with duplicates (some straddling any chunk edge), NULLs, negatives,
    unknown codes (error and warning), amounts over the cap and a row on the wrong business day."""
    key = "CASE WHEN i % 17 IN (0, 1, 2) THEN 'K' || (i // 17) ELSE 'T' || lpad(i::VARCHAR, 6, '0') END"
    dts = [DT + timedelta(days=n) for n in range(days)]
    for n, dt in enumerate(dts):
        write_partition(
            "fund_flow",
            dt,
            fund_flow_columns(dt),
            rows=rows,
            overrides={
                "account_trade_no": key,
                "account_amount": f"CASE WHEN i % 31 = {n} THEN -i WHEN i = 50 THEN 200000000000 ELSE i END",
                "account_type": "CASE WHEN i % 43 = 0 THEN NULL ELSE 'main' END",
                "fund_flow": "CASE WHEN i = 7 THEN 5 ELSE i % 2 END",
                "account_bill_desc_tag": "CASE WHEN i % 29 = 1 THEN 99 WHEN i % 13 = 0 THEN NULL ELSE 3 END",
                "bill_time": f"CASE WHEN i = 3 THEN TIMESTAMPTZ '{dt} 23:30:00+00' ELSE TIMESTAMPTZ '{dt} 10:00:00+08' END",
            },
        )
    return {"fund_flow": dts}


def _everything(gate, lake) -> tuple[list, list]:
    """Every check as the report shows it, and every quarantined row."""
    checks = [
        (
            c.entity,
            c.dt,
            c.expectation_type,
            c.column,
            c.severity,
            c.success,
            c.element_count,
            c.unexpected_count,
            c.unexpected_percent,
            str(c.observed_value),
            c.examples,
            c.quarantined,
            c.exception,
        )
        for c in gate.checks
    ]
    files = sorted((lake / "quarantine").rglob(f"{gate.run_id}-landing-gate.parquet"))
    rows = [
        r
        for f in files
        for r in duckdb.sql(f"SELECT reason, \"column\", value, source_ref, raw FROM '{f}' ORDER BY ALL").fetchall()
    ]
    return checks, rows


def test_sql_candidates_give_gx_the_same_verdicts_as_every_row(lake, write_partition):
    # GX judges only the rows DuckDB says may fail; the result is the one of GX on every row
    parts = _bad_fund_flow(write_partition, days=3, rows=120)
    every_row = run_landing_gate("everyrow", parts, candidates_in_sql=False)
    candidates = run_landing_gate("candidates", parts)
    assert candidates.scans["fund_flow"].candidate_rows < every_row.scans["fund_flow"].candidate_rows == 360
    checks, quarantined = _everything(candidates, lake)
    ref_checks, ref_quarantined = _everything(every_row, lake)
    assert checks == ref_checks
    assert [r[:4] for r in quarantined] == [r[:4] for r in ref_quarantined] and len(quarantined) > 30
    assert [r[4] for r in quarantined] == [r[4] for r in ref_quarantined]
    failed = {(c.expectation_type, c.column) for c in candidates.checks if not c.success}
    assert failed == {
        ("expect_column_values_to_be_unique", "account_trade_no"),
        ("expect_column_values_to_not_be_null", "account_type"),
        ("expect_column_values_to_not_be_null", "account_bill_desc_tag"),
        ("expect_column_values_to_be_in_set", "fund_flow"),
        ("expect_column_values_to_be_in_set", "account_bill_desc_tag"),
        ("expect_column_values_to_be_between", "account_amount"),
        ("expect_column_values_to_be_between", "_order_flow_amount_fen"),
        ("expect_column_values_to_be_between", "_partition_day_offset"),
    }


def test_the_gate_reads_bounded_batches_and_gx_sees_only_rows_that_may_fail(lake, write_partition, monkeypatch):
    from douyin_etl.quality.validator import GROUP_COLUMN, Validator

    seen: list[int] = []  # rows of every frame of landed rows GX validates (the real GX, only counted)
    real = Validator.validate

    def counting(self, df, *args, **kwargs):
        if GROUP_COLUMN in df.columns:  # not the schema frames
            seen.append(len(df))
        return real(self, df, *args, **kwargs)

    monkeypatch.setattr(Validator, "validate", counting)
    parts = _bad_fund_flow(write_partition, days=5, rows=40)
    one = run_landing_gate("one", parts, max_rows=1_000_000, quarantine=False)
    one_frames, seen[:] = list(seen), []
    monkeypatch.setenv("DOUYIN_GATE_CHUNK_ROWS", "90")
    small = run_landing_gate("small", parts, quarantine=False)
    scan = small.scans["fund_flow"]
    # 5 partitions of 40 rows in batches of at most 90 rows: 2 + 2 + 1 partitions
    assert (scan.batches, scan.largest_batch_rows, scan.rows) == (3, 80, 200)
    assert one.scans["fund_flow"].batches == 1 and one.scans["fund_flow"].largest_batch_rows == 200
    # GX saw the candidate rows only (duplicates, NULLs, bad codes, …), never the whole range at once
    assert sum(seen) == scan.candidate_rows == sum(one_frames) < 200
    assert max(seen) <= 90 + 2  # a frame exceeds the chunk only by rows sharing its last key
    assert _everything(small, lake)[0] == _everything(one, lake)[0]
    assert small.rows_validated == one.rows_validated == 200


def test_gate_workers_give_the_same_result_as_one_process(lake, write_partition, monkeypatch):
    """Entities and cross-source checks validated in spawned workers (``DOUYIN_GATE_WORKERS``) give the
    same checks, in the same order, the same counts and the same quarantine as validating in-process."""
    key = "CASE WHEN i IN (10, 11) THEN 'DUP' ELSE 'T' || lpad(i::VARCHAR, 8, '0') END"
    write_partition("fund_flow", DT, fund_flow_columns(), rows=100, overrides={"account_trade_no": key})
    amount = "CASE WHEN i = 7 THEN -1234 ELSE 100 END"
    write_partition(
        "fund_flow",
        DT + timedelta(days=1),
        fund_flow_columns(DT + timedelta(days=1)),
        rows=60,
        overrides={"account_amount": amount},
    )
    bill = settlement_bill_columns(DT, amount_fen=9500)
    bill["settle_amount"] = "CASE WHEN i = 3 THEN 9400 ELSE 9500 END"
    write_partition("settlement_bill", DT, bill, rows=30)
    parts = {"fund_flow": [DT, DT + timedelta(days=1)], "settlement_bill": [DT]}

    def run(workers: str, run_id: str):
        monkeypatch.setenv("DOUYIN_GATE_WORKERS", workers)
        return run_landing_gate(run_id, parts)

    serial, parallel = run("1", "serial"), run("2", "parallel")

    def comparable(gate):
        return [c.to_dict() if hasattr(c, "to_dict") else vars(c) for c in gate.checks]

    assert comparable(serial) == comparable(parallel)
    assert not serial.ok and len(serial.blocking) >= 3  # the duplicate key, the negative amount, the identity
    assert {c.suite.split(".")[0] for c in parallel.checks} == {"landing", "cross"}
    assert (serial.rows_validated, serial.partitions) == (parallel.rows_validated, parallel.partitions) == (190, 3)
    assert serial.quarantined == parallel.quarantined > 0
    assert serial.scans == parallel.scans
    q = duckdb.sql(
        f"SELECT split_part(parse_filename(filename), '-landing-gate', 1) AS run, count(*) FROM read_parquet("
        f"'{lake}/quarantine/**/*-landing-gate.parquet', filename = true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert q[0][0] == "parallel" and q[1][0] == "serial" and q[0][1] == q[1][1] > 0


def _gate_in_daemon(env: dict, parts: dict, out) -> None:
    import os

    os.environ.update(env)
    gate = run_landing_gate("daemon", parts)
    out.put((gate.ok, len(gate.checks), gate.rows_validated))


def test_a_gate_in_a_daemon_process_validates_in_that_process(lake, write_partition, monkeypatch):
    """A daemon process (a pool's worker) may not start processes: the gate then runs in it, same result."""
    import multiprocessing as mp
    import os

    write_partition("fund_flow", DT, fund_flow_columns(), rows=40)
    write_partition("settlement_bill", DT, settlement_bill_columns(DT), rows=10)
    parts = {"fund_flow": [DT], "settlement_bill": [DT]}
    monkeypatch.setenv("DOUYIN_GATE_WORKERS", "2")
    here = run_landing_gate("here", parts)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    env = {k: v for k, v in os.environ.items() if k.startswith(("DOUYIN_", "GX_"))}
    child = ctx.Process(target=_gate_in_daemon, args=(env, parts, out), daemon=True)
    child.start()
    result = out.get(timeout=120)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert result == (here.ok, len(here.checks), here.rows_validated) and result[2] == 50
