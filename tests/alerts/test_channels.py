"""Alerts reach each channel the way its real endpoint wants them, say what a person needs, and leak nothing.

Every message goes to local receivers on 127.0.0.1 (tests/alerts/conftest.py) that verify what the real
service verifies (DingTalk and Feishu signatures, the WeCom key, the SMTP login) and record the text.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from receivers import SECRETS, SMTP_PASSWORD

from douyin_etl.alerts import channels
from douyin_etl.alerts.message import Alert, redact
from douyin_etl.alerts.notify import send
from douyin_etl.alerts.tasks import failure_alert
from douyin_etl.config import ConfigError

DAY = date(2026, 3, 14)
STOCKOUT = Alert(
    "stockout_risk",
    DAY,
    "1000001",
    ("2 个 SKU×仓 新进入缺货风险", "保温杯 (SKU 3001, 仓 WH1): 可用 4 件, 可售 1.5 天, 补货周期 5 天"),
    ("看板 dashboard: http://127.0.0.1:8501/?shop=1000001#inventory",),
)
PII = ("13812345678", "buyer.zhang@example.com", "110101199003071234")


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
    for value in PII:
        assert value not in text


def test_each_channel_gets_a_verified_message_naming_shop_day_what_and_where(robots, smtp, alert_env) -> None:
    deliveries = send([STOCKOUT])
    assert sorted((d.conn_id, d.ok) for d in deliveries) == sorted((c, True) for c in channels.CONN_IDS)
    assert sorted(r.channel for r in robots.received) == ["dingtalk", "feishu", "wecom"]
    for r in robots.received:
        assert r.verified, f"{r.channel}: the receiver rejected the signature or key"
        for needed in ("1000001", "2026-03-14", "缺货风险", "保温杯", "#inventory"):
            assert needed in r.text, (r.channel, needed)
        assert_clean(json.dumps(r.body, ensure_ascii=False))  # the content; the token travels only in the URL
    (mail,) = smtp.mails
    assert mail.authenticated and mail.recipients == ["ops@shop.example", "finance@shop.example"]
    assert "1000001" in mail.subject and "2026-03-14" in mail.subject
    assert "保温杯" in mail.text and "#inventory" in mail.text
    assert SMTP_PASSWORD.encode() not in mail.raw


def test_silent_when_no_channel_is_configured(robots, smtp, monkeypatch) -> None:
    for conn_id in channels.CONN_IDS:
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)
    assert channels.configured() == []
    assert send([STOCKOUT]) == []
    assert robots.received == [] and smtp.mails == []


def test_a_wrong_signing_secret_is_refused_and_reported_without_the_secret(robots, alert_env, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOUYIN_ALERT_FEISHU",
        json.dumps(
            {
                "host": f"{robots.url}/open-apis/bot/v2/hook",
                "password": SECRETS[2],
                "extra": {"secret": "wrong-secret-xyz"},
            }
        ),
    )
    monkeypatch.delenv("AIRFLOW_CONN_DOUYIN_ALERT_EMAIL")
    by_conn = {d.conn_id: d for d in send([STOCKOUT])}
    assert by_conn["douyin_alert_dingtalk"].ok and by_conn["douyin_alert_wecom"].ok  # the others still get it
    bad = by_conn["douyin_alert_feishu"]
    assert not bad.ok and "douyin_alert_feishu" in bad.error and "sign" in bad.error
    for secret in (*SECRETS, "wrong-secret-xyz", robots.url):
        assert secret not in bad.error


def test_a_connection_missing_a_field_names_the_connection_and_field(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOUYIN_ALERT_WECOM", json.dumps({"host": "https://qyapi.weixin.qq.com/x"}))
    with pytest.raises(ConfigError, match=r"'douyin_alert_wecom' has no password \(the robot's key\)"):
        channels.configured()
    monkeypatch.setenv("AIRFLOW_CONN_DOUYIN_ALERT_WECOM", json.dumps({"host": "h", "password": "k"}))
    monkeypatch.setenv("AIRFLOW_CONN_DOUYIN_ALERT_EMAIL", json.dumps({"conn_type": "smtp", "host": "127.0.0.1"}))
    with pytest.raises(ConfigError, match="'douyin_alert_email' has no extra 'to'"):
        channels.configured()
    (d,) = send([STOCKOUT])  # a malformed connection: nothing sent, the step goes on, the reason is kept
    assert not d.ok and "douyin_alert_email" in d.error


def test_redaction_removes_buyer_pii_and_known_secrets(monkeypatch) -> None:
    monkeypatch.setenv("DOUYIN_APP_SECRET", "app-secret-51d0e2")
    text = redact(
        "收件人 13812345678 / +86 13912345678, mail buyer.zhang@example.com, 身份证 110101199003071234, "
        "secret app-secret-51d0e2; order 6920000000000000001, shop 1000001, ¥1,234.50"
    )
    for leaked in ("13812345678", "13912345678", "buyer.zhang@example.com", "110101199003071234", "app-secret-51d0e2"):
        assert leaked not in text
    for kept in ("6920000000000000001", "1000001", "¥1,234.50"):  # ids of orders and shops, amounts stay
        assert kept in text


class _TI:
    dag_id, task_id, run_id = "douyin_daily", "mart_gate", "scheduled__2026-03-15T00:00:00+08:00"
    log_url = "http://127.0.0.1:8080/dags/douyin_daily/runs/x/tasks/mart_gate"


def test_a_failed_gate_names_the_gate_day_and_report_and_leaks_no_pii(robots, alert_env, monkeypatch) -> None:
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1000001,1000002")
    monkeypatch.delenv("AIRFLOW_CONN_DOUYIN_ALERT_EMAIL")
    exc = RuntimeError(
        "mart gate failed: fin_order_reconciliation: 3 rows; receiver 13812345678 buyer.zhang@example.com "
        f"token {SECRETS[0]}\nsecond line with detail"
    )
    from douyin_etl.timeutil import SHANGHAI

    context = {
        "ti": _TI(),
        "run_id": _TI.run_id,
        "data_interval_start": datetime(2026, 3, 14, tzinfo=SHANGHAI),
        "exception": exc,
    }
    alert = failure_alert(context)
    assert alert.kind == "gate_failed"
    send([alert])
    assert len(robots.received) == 3
    for r in robots.received:
        assert r.verified
        for needed in ("mart_gate", "2026-03-14", "1000001, 1000002", "douyin_daily", "report.json", _TI.log_url):
            assert needed in r.text, (r.channel, needed)
        assert "second line" not in r.text
        assert_clean(json.dumps(r.body, ensure_ascii=False))
        assert re.search(r"runs/scheduled__2026-03-15T00_00_00_08_00/report\.json", r.text)
