"""`douyin-etl query`: read-only SQL that reads the warehouse and nothing else (issue 12, points 8 and 9).

A tiny warehouse file (one mart table) and a lake Parquet file beside it are enough: every attack is a
statement that must be refused by DuckDB itself (external access off, configuration locked, the file
attached READ_ONLY) with a one-line error and exit status 2, and must leave no file behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from douyin_etl.access.query import QueryError, connect_read_only, run_query
from douyin_etl.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    wh = tmp_path / "warehouse" / "douyin.duckdb"
    wh.parent.mkdir()
    con = duckdb.connect(str(wh))
    con.execute("CREATE SCHEMA sales")
    con.execute("CREATE TABLE sales.sales_daily AS SELECT i AS shop_id, 100 * i AS gmv_fen FROM range(1, 4) r(i)")
    con.close()
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    lake = tmp_path / "lake" / "part.parquet"
    lake.parent.mkdir()
    duckdb.execute(f"COPY (SELECT 42 AS secret) TO '{lake}' (FORMAT parquet)")
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(wh))
    return {"warehouse": wh, "other": other, "lake": lake, "tmp": tmp_path}


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_query_reads_the_marts(tiny, capsys):
    assert run_query("SELECT sum(gmv_fen) FROM sales.sales_daily") == (["sum(gmv_fen)"], [(600,)])
    assert main(["query", "SELECT shop_id FROM sales.sales_daily ORDER BY 1", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["shop_id", "1", "2", "3"]


ATTACKS = {
    "copy_to_a_file": "COPY (SELECT 1) TO '{out}'",
    "copy_over_the_lease": "COPY (SELECT '{{\"run_id\": \"forged\"}}' AS j) TO '{lease}' (FORMAT csv, HEADER false)",
    "read_etc_passwd": "SELECT * FROM read_csv('/etc/passwd', sep=':')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "read_a_lake_file": "SELECT * FROM read_parquet('{lake}')",
    "replacement_scan_of_a_path": "SELECT * FROM '{lake}'",
    "glob": "SELECT * FROM glob('/etc/*')",
    "attach_another_file": "ATTACH '{other}' AS o",
    "attach_a_new_file": "ATTACH '{new_db}' AS n",
    "enable_external_access": "SET enable_external_access = true",
    "reset_external_access": "RESET enable_external_access",
    "unlock_configuration": "SET lock_configuration = false",
    "allow_a_directory": "SET allowed_directories = ['/']",
    "install": "INSTALL httpfs",
    "load_from_a_file": "LOAD '{out}'",
    "export_database": "EXPORT DATABASE '{export}'",
    "write_the_warehouse": "CREATE TABLE sales.forged AS SELECT 1",
    "delete_from_a_mart": "DELETE FROM sales.sales_daily",
    "profile_to_a_file": "SET profiling_output = '{out}'",
    "http": "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_query_refuses_file_access_and_writes(tiny, capsys, name):
    wh = tiny["warehouse"]
    sql = ATTACKS[name].format(
        out=tiny["tmp"] / "out.csv",
        lease=wh.with_name(wh.name + ".lease.json"),
        lake=tiny["lake"],
        other=tiny["other"],
        new_db=tiny["tmp"] / "new.duckdb",
        export=tiny["tmp"] / "export",
    )
    before = _files(tiny["tmp"])
    wh_bytes = wh.read_bytes()
    with pytest.raises(QueryError):
        run_query(sql)
    assert main(["query", sql]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and err.startswith("douyin-etl query: ") and "\n" not in err, err
    assert "Traceback" not in err and "42" not in err
    assert _files(tiny["tmp"]) == before  # nothing written (no lease forged, no export, no new database)
    assert wh.read_bytes() == wh_bytes


def test_the_hardened_session_is_independent_of_other_connections(tiny):
    """A plain connection of the same process keeps its own settings (no shared DuckDB instance)."""
    plain = duckdb.connect(str(tiny["warehouse"]), read_only=True)
    try:
        hardened = connect_read_only(tiny["warehouse"])
        try:
            assert hardened.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
            assert hardened.execute("SELECT count(*) FROM sales.sales_daily").fetchone() == (3,)
        finally:
            hardened.close()
        assert plain.execute(f"SELECT secret FROM read_parquet('{tiny['lake']}')").fetchone() == (42,)
    finally:
        plain.close()


def test_an_export_directory_is_the_only_place_a_writer_session_may_write(tiny):
    out = tiny["tmp"] / "exports"
    con = connect_read_only(tiny["warehouse"], write_dir=out)
    try:
        con.execute(f"COPY (SELECT * FROM sales.sales_daily) TO '{out / 'ok.parquet'}' (FORMAT parquet)")
        assert con.execute(f"SELECT count(*) FROM read_parquet('{out / 'ok.parquet'}')").fetchone() == (3,)
        for target in (tiny["tmp"] / "outside.csv", out / ".." / "escape.csv"):
            with pytest.raises(duckdb.PermissionException):
                con.execute(f"COPY (SELECT 1) TO '{target}'")
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"SELECT * FROM read_parquet('{tiny['lake']}')")
    finally:
        con.close()
    assert not (tiny["tmp"] / "outside.csv").exists() and not (tiny["tmp"] / "escape.csv").exists()


@pytest.mark.parametrize(
    "sql, says",
    [
        ("SELEC 1", "syntax error"),
        ("SELECT * FROM sales.no_such_mart", "no_such_mart"),
        ("SELECT no_such_column FROM sales.sales_daily", "no_such_column"),
    ],
)
def test_sql_errors_are_one_line_with_a_hint(tiny, capsys, sql, says):
    assert main(["query", sql]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and says in err and "Traceback" not in err, err
    assert "docs/analyst-guide.md" in err  # what to do next


def test_a_closed_pipe_ends_quietly(tiny):
    """`douyin-etl query … | head -1`: no BrokenPipeError traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        f"{sys.executable} -m douyin_etl query 'SELECT * FROM range(200000)' --format csv | head -1",
        shell=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.strip() == "range"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


# -- issue 16, point 2: SQL from an argument, a file or stdin; csv/json/parquet; CJK-aligned tables ----------
SHOPS_SQL = "SELECT shop_id, shop_name, gmv_yuan FROM sales.shops ORDER BY shop_id"


@pytest.fixture
def shops(tiny):
    con = duckdb.connect(str(tiny["warehouse"]))
    con.execute(
        "CREATE TABLE sales.shops AS SELECT * FROM (VALUES (1000001, '抖音小店旗舰店', 12345.67::DECIMAL(18,2)), "
        "(1000002, 'Acme 好物', 8.50::DECIMAL(18,2)), (1000003, 'plain ascii shop', 0.01::DECIMAL(18,2))) "
        "t(shop_id, shop_name, gmv_yuan)"
    )
    con.close()
    return tiny


def _csv_ids(out: str) -> list[str]:
    return [line.split(",")[0] for line in out.strip().splitlines()]


def test_query_takes_sql_from_an_argument_a_file_or_stdin(shops, capsys, monkeypatch, tmp_path):
    import io

    expected = ["shop_id", "1000001", "1000002", "1000003"]
    assert main(["query", SHOPS_SQL, "--format", "csv"]) == 0
    assert _csv_ids(capsys.readouterr().out) == expected
    sql_file = tmp_path / "shops.sql"
    sql_file.write_text(f"-- 店铺\n{SHOPS_SQL};\n", encoding="utf-8")
    assert main(["query", "-f", str(sql_file), "--format", "csv"]) == 0
    assert _csv_ids(capsys.readouterr().out) == expected
    for argv in (["query", "--format", "csv"], ["query", "-", "--format", "csv"]):
        monkeypatch.setattr("sys.stdin", io.StringIO(SHOPS_SQL))
        assert main(argv) == 0
        assert _csv_ids(capsys.readouterr().out) == expected
    assert main(["query", SHOPS_SQL, "-f", str(sql_file)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["query", "-f", str(tmp_path / "missing.sql")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_query_writes_json_csv_and_parquet_files(shops, capsys, tmp_path):
    import json as _json
    from decimal import Decimal

    out = tmp_path / "out"
    out.mkdir()
    assert main(["query", SHOPS_SQL, "--format", "json"]) == 0
    rows = _json.loads(capsys.readouterr().out)
    assert rows[0] == {"shop_id": 1000001, "shop_name": "抖音小店旗舰店", "gmv_yuan": "12345.67"}
    assert main(["query", SHOPS_SQL, "--format", "csv", "--output", str(out / "shops.csv")]) == 0
    assert "抖音小店旗舰店" in (out / "shops.csv").read_text(encoding="utf-8")
    assert main(["query", SHOPS_SQL, "--format", "parquet"]) == 2  # a file format: needs --output
    assert "--output" in capsys.readouterr().err
    assert main(["query", SHOPS_SQL, "--format", "parquet", "-o", str(out / "shops.parquet")]) == 0
    assert "wrote 3 rows" in capsys.readouterr().err
    back = duckdb.connect()
    got = back.execute(f"SELECT any_value(typeof(gmv_yuan)), sum(gmv_yuan) FROM '{out / 'shops.parquet'}'").fetchone()
    assert got == ("DECIMAL(18,2)", Decimal("12354.18"))  # money keeps its exact type
    assert sorted(p.name for p in out.iterdir()) == ["shops.csv", "shops.parquet"]  # no temporary left behind
    # the Parquet session may write only its private directory: the SQL cannot read or write anything else
    assert (
        main(["query", f"COPY (SELECT 1) TO '{out / 'x.csv'}'", "--format", "parquet", "-o", str(out / "y.parquet")])
        == 2
    )
    assert sorted(p.name for p in out.iterdir()) == ["shops.csv", "shops.parquet"]


def _display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def test_a_table_in_a_terminal_aligns_chinese_names_by_display_width(shops):
    """Run in a pseudo-terminal, as a person would: every column separator of every row sits at the same
    display column, whatever mix of Chinese and Latin text the shop names have."""
    import pty
    import select

    import douyin_etl

    package_root = str(Path(douyin_etl.__file__).resolve().parents[1])  # the code under test, in the child too
    env = {**os.environ, "PYTHONPATH": package_root, "DOUYIN_WAREHOUSE": str(shops["warehouse"]), "COLUMNS": "120"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI with a terminal as its stdout
        os.execve(sys.executable, [sys.executable, "-m", "douyin_etl", "query", SHOPS_SQL], env)
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    out = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, out
    rows = [line for line in out.splitlines() if "抖音小店旗舰店" in line or "Acme 好物" in line or "shop_name" in line]
    assert len(rows) == 3, out
    positions = set()
    for line in rows:
        sep = "│" if "│" in line else "|"
        cols, at = [], 0
        for ch in line:
            if ch == sep:
                cols.append(at)
            at += _display_width(ch)
        positions.add(tuple(cols))
    assert len(positions) == 1, out  # the same separator columns on every row
