"""Findings of a published warehouse: new stock-out risks and new discrepancies, once each, per shop,
with the marts' figures, to the local receivers; and a failing task in a real Airflow run alerts."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from receivers import SECRETS

from douyin_etl.alerts import findings
from douyin_etl.alerts.tasks import notify_findings

pytestmark = pytest.mark.slow


def yuan(fen: int) -> str:
    v = Decimal(fen) / 100
    return f"-¥{-v:,.2f}" if v < 0 else f"¥{v:,.2f}"


def test_new_findings_are_alerted_once_per_shop_with_the_marts_figures(
    published_warehouse, robots, alert_env, tmp_path, monkeypatch
) -> None:
    pub = published_warehouse
    monkeypatch.delenv("AIRFLOW_CONN_DOUYIN_ALERT_EMAIL")
    notified = tmp_path / "notified.json"
    day = pub.last_day
    risks = dict(
        pub.query(
            f"SELECT shop_id, count(*) FROM inventory.inv_alerts WHERE alert_type = 'stockout_risk' "
            f"AND alert_date = DATE '{day}' GROUP BY 1"
        )
    )
    split = {
        shop: (n, over, under)
        for shop, n, over, under in pub.query(
            "SELECT shop_id, count(*), coalesce(sum(difference_fen) FILTER (WHERE difference_fen > 0), 0), "
            "coalesce(sum(difference_fen) FILTER (WHERE difference_fen < 0), 0) "
            "FROM finance.fin_order_reconciliation WHERE status = 'discrepancy' GROUP BY 1"
        )
    }
    assert risks and split, "the shared world should hold stock-out risks and discrepancies"

    result = notify_findings(day, pub.warehouse, notified)
    assert result["alerts"] == {"stockout_risk": len(risks), "discrepancy": len(split)}
    assert result["delivered"] == 3 * (len(risks) + len(split)) and result["failed"] == []
    feishu = [r for r in robots.received if r.channel == "feishu"]
    assert all(r.verified for r in robots.received)
    order_ids = {
        str(x)
        for (x,) in pub.query("SELECT sku_order_id FROM finance.fin_order_reconciliation WHERE status = 'discrepancy'")
    }
    buyer_keys = {str(x) for (x,) in pub.query("SELECT DISTINCT buyer_key FROM sales.fct_orders LIMIT 200")}
    for shop, n in risks.items():
        (msg,) = [r.text for r in feishu if "缺货风险" in r.text and f"shop {shop}" in r.text]
        assert f"{n} 个 SKU×仓" in msg and str(day) in msg and "#inventory" in msg
        top = pub.query(
            "SELECT p.product_name FROM inventory.inv_alerts a JOIN sales.dim_products p USING (shop_id, product_id) "
            f"WHERE a.alert_type = 'stockout_risk' AND a.alert_date = DATE '{day}' AND a.shop_id = '{shop}' "
            "ORDER BY a.days_of_cover NULLS LAST, a.warehouse_id, a.sku_id LIMIT 1"
        )[0][0]
        assert top in msg
    for shop, (n, over, under) in split.items():
        (msg,) = [r.text for r in feishu if "对账差异" in r.text and f"shop {shop}" in r.text]
        assert f"{n} 个子订单" in msg and f"too much {yuan(over)}" in msg and f"too little {yuan(under)}" in msg
        assert "#reconciliation" in msg and str(day) in msg
    for r in robots.received:
        body = json.dumps(r.body, ensure_ascii=False)
        assert not any(s in body for s in SECRETS)
        assert not any(o in body for o in order_ids)  # no order ids, no buyer keys in a message
        assert not any(k in body for k in buyer_keys)

    # a second run of the same day: nothing new, nothing sent
    robots.received.clear()
    again = notify_findings(day, pub.warehouse, notified)
    assert again["alerts"] == {} and robots.received == []
    # a risk that cleared and came back is new again: exactly it
    record = json.loads(notified.read_text())
    key = sorted(record["stockout_risk"])[0]
    del record["stockout_risk"][key]
    notified.write_text(json.dumps(record))
    third = notify_findings(day, pub.warehouse, notified)
    assert third["alerts"] == {"stockout_risk": 1}
    assert any(f"SKU {key.split('|')[2]}" in r.text for r in robots.received)


def test_nothing_configured_sends_nothing_but_still_records(published_warehouse, robots, tmp_path, monkeypatch) -> None:
    for conn in ("DINGTALK", "FEISHU", "WECOM", "EMAIL"):
        monkeypatch.delenv(f"AIRFLOW_CONN_DOUYIN_ALERT_{conn}", raising=False)
    notified = tmp_path / "notified.json"
    result = notify_findings(published_warehouse.last_day, published_warehouse.warehouse, notified)
    assert result["delivered"] == 0 and result["failed"] == [] and sum(result["alerts"].values()) > 0
    assert robots.received == [] and findings.read_notified(notified)["discrepancy"]


FAILING_DAG = """
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException

from douyin_etl.orchestration import schedules as s


@dag(dag_id="alerts_callback_test", schedule=s.daily_timetable(), start_date=s.start_date(), catchup=False,
     default_args=s.DEFAULT_ARGS)
def alerts_callback_test():
    @task(task_id="mart_gate")
    def gate():
        raise AirflowFailException("mart gate: fin_order_reconciliation has 3 rows whose status is unknown")

    gate()


alerts_callback_test()
"""


def test_a_failing_gate_in_a_real_airflow_run_alerts_with_the_gate_and_day(
    airflow_home, robots, alert_env, tmp_path, monkeypatch
) -> None:
    """The DAGs' default_args carry the callback: a gate that fails in ``dag.test()`` alerts each robot."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    from douyin_etl.timeutil import SHANGHAI

    monkeypatch.delenv("AIRFLOW_CONN_DOUYIN_ALERT_EMAIL")
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1000001,1000002")
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "alerts_callback_test.py").write_text(FAILING_DAG, encoding="utf-8")
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)  # dag.test() runs only a serialized DAG; this one is not in dags/
    run = bag.dags["alerts_callback_test"].test(logical_date=datetime(2026, 10, 6, tzinfo=SHANGHAI))
    assert str(run.state) == "failed"
    assert sorted(r.channel for r in robots.received) == ["dingtalk", "feishu", "wecom"]
    for r in robots.received:
        assert r.verified
        for needed in (
            "quality gate failed",
            "mart_gate",
            "alerts_callback_test",
            "2026-10-05",
            "1000001, 1000002",
            "status is unknown",
            "report.json",
        ):
            assert needed in r.text, (r.channel, needed)
