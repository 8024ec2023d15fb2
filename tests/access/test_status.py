"""`douyin-etl status`: runs from the reports, the published version, freshness per mart.

Over the session's published warehouse (one real run: its report and gates); a blocked run's status is
checked where a real gate blocks one (tests/e2e/test_failures.py)."""

from __future__ import annotations

from douyin_etl.access.status import collect_status, render_status
from douyin_etl.quality.suites import mart_suites


def test_status_of_a_published_warehouse(access_env, mart):
    st = collect_status()
    assert st["published"] is True
    assert st["version"]["run_id"] == access_env.run_id
    assert st["version"]["size"] == access_env.warehouse.stat().st_size
    assert st["version"]["published_at"]
    runs = {r["run_id"]: r for r in st["runs"]}
    assert runs[access_env.run_id]["published"] is True
    assert runs[access_env.run_id]["status"] == "published"
    assert runs[access_env.run_id]["interval"] == f"{access_env.first_day}..{access_env.last_day}"
    # the real run's gates: the mart gate ran one check per expectation of expectations/marts/*.json
    mart_checks = sum(len(suite.expectations) for suite in mart_suites())
    landing_checks = len(access_env.report()["gates"]["landing"]["checks"])
    assert mart_checks >= 10 and landing_checks >= 100
    assert runs[access_env.run_id]["gates"] == {
        "landing": f"ok ({landing_checks} checks)",
        "mart": f"ok ({mart_checks} checks)",
    }
    marts = {m["table"]: m for m in st["marts"]}
    rows, latest = mart(access_env, "SELECT count(*), max(date_day) FROM finance.fin_pnl_daily")[0]
    assert marts["finance.fin_pnl_daily"] == {
        "table": "finance.fin_pnl_daily",
        "rows": rows,
        "date_column": "date_day",
        "max_date": latest.isoformat(),
    }
    assert latest == access_env.last_day
    assert marts["finance.fin_settlement_lines"]["date_column"] == "settle_date"
    assert marts["sales.dim_date"]["max_date"] is None  # a calendar, not data
    assert {"sales", "finance", "inventory", "performance"} == {t.split(".")[0] for t in marts}
    assert not any(t.startswith(("staging.", "intermediate.", "_meta.")) for t in marts)
    text = render_status(st)
    assert access_env.run_id in text and "published=yes" in text and f"mart: ok ({mart_checks} checks)" in text
    assert "finance.fin_pnl_daily" in text and latest.isoformat() in text


def test_cli_status_json(access_env, capsys):
    import json

    from douyin_etl.cli import main

    assert main(["status", "--json", "--limit", "1"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert len(st["runs"]) == 1 and st["version"]["run_id"] == access_env.run_id


def test_status_before_anything_is_published(tmp_path, monkeypatch, capsys):
    from douyin_etl.cli import main

    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(tmp_path / "warehouse" / "douyin.duckdb"))
    st = collect_status()
    assert st["published"] is False and st["runs"] == [] and st["marts"] == []
    broken = tmp_path / "var" / "runs" / "half-written"
    broken.mkdir(parents=True)
    (broken / "report.json").write_text("{not json", encoding="utf-8")
    assert [(r["run_id"], r["status"]) for r in collect_status()["runs"]] == [("half-written", "unreadable")]
    (broken / "report.json").unlink()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Published warehouse: none yet" in out and "douyin-etl run --start" in out
    assert "none yet (no report.json" in out
