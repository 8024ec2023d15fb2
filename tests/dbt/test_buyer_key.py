"""buyer_key = HMAC-SHA256(secret key, open id) in a real dbt run, and the key reaches no file or log.

Builds only ``stg_doudian__shop_order`` (where buyer_key is computed and stored) over a tiny lake, through
the pipeline's runner (``run_dbt``), once per key (the second with paths relative to the current
directory); plus dbt started by hand without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from douyin_etl import buyer_key, config
from douyin_etl.config import ConfigError
from douyin_etl.warehousing.dbt_runner import run_dbt

pytestmark = pytest.mark.slow

KEY_A = "first-buyer-key-secret-0001"
KEY_B = "second-buyer-key-" + "x" * 80  # longer than SHA-256's block: hashed first (RFC 2104)
STAGE = ["run", "--select", "stg_doudian__shop_order"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def lake(dbt_world) -> Path:
    """The session's landed lake (shop orders landed by the extractor); the builds only read it."""
    return dbt_world["lake_dir"]


@pytest.fixture(scope="module")
def builds(lake, tmp_path_factory):
    """{key: (run root, warehouse)}: KEY_A with absolute paths; KEY_B from a working directory with relative
    ones (issue 12 point 9: relative paths meant other files inside dbt_project/, "FAILED {}")."""
    out = tmp_path_factory.mktemp("buyer_key_builds")
    records = _Records()
    logging.getLogger().addHandler(records)
    old_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DOUYIN_LAKE_DIR", str(lake))
        mp.setenv("DOUYIN_BUYER_KEY_SECRET", KEY_A)
        a = run_dbt(STAGE, db_path=out / "a" / "wh.duckdb", run_dir=out / "a" / "dbt")
        assert a.ok, a.failures or a.error
        shutil.copytree(lake, out / "b" / "lake")
        mp.chdir(out / "b")
        mp.setenv("DOUYIN_LAKE_DIR", "lake")
        mp.setenv("DOUYIN_BUYER_KEY_SECRET", KEY_B)
        b = run_dbt(STAGE, db_path=Path("rel/wh.duckdb"), run_dir=Path("rel/dbt"))
        assert b.ok, b.failures or b.error
        assert b.run_dir == out / "b" / "rel" / "dbt"
    finally:
        mp.undo()
        logging.getLogger().removeHandler(records)
        logging.getLogger().setLevel(old_level)
    return {
        KEY_A: (out / "a", out / "a" / "wh.duckdb"),
        KEY_B: (out / "b", out / "b" / "rel" / "wh.duckdb"),
        "log": records.lines,
    }


def _keys(db: Path) -> dict[str, str | None]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select shop_order_id, buyer_key from staging.stg_doudian__shop_order").fetchall())
    finally:
        con.close()


def _open_ids(lake: Path) -> dict[str, str]:
    return dict(
        duckdb.sql(
            f"select distinct order_id, doudian_open_id from read_parquet('{lake}/raw/doudian/shop_order/*/*.parquet')"
        ).fetchall()
    )


def test_buyer_key_is_the_hmac_of_the_open_id(builds, lake):
    open_ids = _open_ids(lake)
    for key in (KEY_A, KEY_B):
        got = _keys(builds[key][1])
        assert len(got) == len(open_ids) >= 20
        expected = {
            o: (hmac.new(key.encode(), i.encode(), hashlib.sha256).hexdigest() if i else None)
            for o, i in open_ids.items()
        }
        assert got == expected
        assert all(buyer_key.buyer_key(key, open_ids[o]) == k for o, k in got.items() if k)
    # the old, unsalted md5 matches nothing
    md5s = {hashlib.md5(i.encode()).hexdigest() for i in open_ids.values() if i}
    assert not md5s & set(_keys(builds[KEY_A][1]).values())


def test_different_keys_give_different_buyer_keys(builds):
    a, b = _keys(builds[KEY_A][1]), _keys(builds[KEY_B][1])
    assert a.keys() == b.keys()
    assert all(a[o] != b[o] for o in a if a[o] is not None)
    assert len(set(a.values())) == len(set(b.values()))  # the same buyers, renamed


def test_relative_paths_reached_dbt_resolved(builds):
    root = builds[KEY_B][0]
    assert (root / "rel" / "dbt" / "run_results.json").exists() and (root / "rel" / "dbt" / "target").is_dir()
    assert not (config.DBT_PROJECT_DIR / "rel").exists() and not (config.DBT_PROJECT_DIR / "lake").exists()


def test_the_key_is_in_no_file_and_no_log(builds, lake):
    """Not in the dbt target (compiled SQL, manifest, run_results), dbt's logs, the warehouse or the lake."""
    for key in (KEY_A, KEY_B):
        root, db = builds[key]
        ipad, opad = buyer_key.hmac_pads(key)
        needles = [key.encode(), ipad.hex().encode(), opad.hex().encode(), ipad, opad]
        files = [p for r in (root, lake) for p in r.rglob("*") if p.is_file()]
        assert db in files and any(p.name == "manifest.json" for p in files)
        assert any(p.suffix == ".sql" and "compiled" in p.parts for p in files)
        assert [str(p) for p in files for n in needles if n in p.read_bytes()] == []
        assert not [n for n in (key, ipad.hex(), opad.hex()) for line in builds["log"] if n in line]


def test_without_the_key_nothing_builds(lake, tmp_path, monkeypatch):
    """The runner refuses before dbt starts; dbt started by hand without the key fails saying why."""
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(lake))
    monkeypatch.delenv("DOUYIN_BUYER_KEY_SECRET")
    monkeypatch.delenv("AIRFLOW_CONN_DOUYIN_BUYER_KEY", raising=False)
    with pytest.raises(ConfigError, match="DOUYIN_BUYER_KEY_SECRET"):
        run_dbt(STAGE, db_path=tmp_path / "wh.duckdb", run_dir=tmp_path / "dbt")
    assert not (tmp_path / "dbt").exists()
    env = config.tool_env() | {"DOUYIN_DBT_DB_PATH": str(tmp_path / "by_hand.duckdb")}
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            *STAGE,
            "--project-dir",
            str(config.DBT_PROJECT_DIR),
            "--profiles-dir",
            str(config.DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode != 0 and "no buyer-key secret in this dbt session" in proc.stdout
    assert os.environ.get(buyer_key.DBT_ENV_IPAD) is None  # the pads never enter this process's environment
