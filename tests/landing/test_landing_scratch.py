"""Issue 12: landing scratch lives under the state dir, and what a killed process left there is swept."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

from douyin_etl.landing import scratch
from douyin_etl.landing.writer import PartitionWriter

DT = date(2026, 3, 1)
SCHEMA = {"request_no": "VARCHAR", "settle_amount": "BIGINT"}


def test_scratch_of_dead_processes_is_swept_at_the_next_write_and_lives_under_the_state_dir(
    lake, tmp_path, monkeypatch
):
    state = tmp_path / "state"
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(state))
    base = state / "scratch"
    host = scratch._host()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = base / f"landing-{host}-{dead.pid}-x1"  # what a SIGKILLed writer leaves behind
        (stale / "batch-00000.ndjson").parent.mkdir(parents=True)
        (stale / "batch-00000.ndjson").write_text("[]\n")
        stale_spill = base / f"duckdb-{host}-{dead.pid}"
        stale_spill.mkdir()
        busy = base / f"landing-{host}-{alive.pid}-x2"  # another live writer's
        busy.mkdir()
        other_host = base / f"landing-otherhost-{dead.pid}-x3"  # a shared state dir: not ours to judge
        other_host.mkdir()
        with PartitionWriter("settlement_bill", DT, "r1", storage=lake, schema=SCHEMA) as w:
            w.write_records([{"request_no": "R1", "settle_amount": 1, "_source_ref": "f:2"}])
            assert w._scratch_path is not None and w._scratch_path.parent == base.resolve()
        assert not stale.exists() and not stale_spill.exists()
        assert busy.exists() and other_host.exists()
        assert not [
            p for p in base.iterdir() if p.name.startswith(f"landing-{host}-") and p.name != busy.name
        ]  # the writer removed its own scratch too
    finally:
        alive.kill()
        alive.wait()
