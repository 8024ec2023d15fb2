"""Alerts where people work: group robots (DingTalk, Feishu/Lark, WeCom) and email, from Airflow.

- ``message``: what an alert says (``Alert``: shop, business day, what, where to look) and the redaction
  every text passes through (no buyer PII, no secrets).
- ``channels``: one sender per channel, each configured by one Airflow connection
  (``douyin_alert_dingtalk``, ``douyin_alert_feishu``, ``douyin_alert_wecom``, ``douyin_alert_email``).
- ``findings``: the alerts a published warehouse raises for a business day (new stock-out risks, new
  reconciliation discrepancies).
- ``notify``: send alerts to every configured channel (silent when none is).
- ``tasks``: what Airflow calls: the tasks' failure callback and the ``notify_findings`` task's body.

Configuration: docs/deploy.md ("Alerts"). Nothing is imported here, so the DAG files' import of
``tasks`` (for the callback) stays light.
"""
