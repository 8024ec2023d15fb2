"""One sender per alert channel, each configured by one Airflow connection (docs/deploy.md).

==========================  ===============================================================================
connection                  fields
==========================  ===============================================================================
``douyin_alert_dingtalk``   host: the robot's webhook URL without its query, e.g.
                            ``https://oapi.dingtalk.com/robot/send``; password: the robot's
                            ``access_token``; extra ``{"secret": "SEC…"}``: the 加签 signing secret
                            (timestamp + sign are added to the URL: HMAC-SHA256 of
                            ``timestamp + "\\n" + secret``, base64, URL-encoded).
``douyin_alert_feishu``     host: the webhook URL up to the hook id, e.g.
                            ``https://open.feishu.cn/open-apis/bot/v2/hook`` (Lark:
                            ``https://open.larksuite.com/open-apis/bot/v2/hook``); password: the hook id;
                            extra ``{"secret": "…"}``: the 签名校验 secret (timestamp + sign in the body:
                            HMAC-SHA256 keyed by ``timestamp + "\\n" + secret``, base64).
``douyin_alert_wecom``      host: ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send``; password: the
                            robot's ``key`` (WeCom robots authenticate by the key in the URL).
``douyin_alert_email``      conn_type ``smtp`` (Airflow's SMTP provider, ``SmtpHook``): host, port, login,
                            password; extra ``{"to": "a@x.com, b@y.com", "from_email": "etl@x.com"}`` and
                            the provider's own keys (``disable_tls``, ``disable_ssl``, ``timeout``…).
==========================  ===============================================================================

A channel whose connection does not exist is off; a connection that exists but lacks a field is a
``ConfigError`` naming the connection and the field. Errors never carry a URL (it holds the token).
The DingTalk robot is sent to with httpx rather than ``apache-airflow-providers-dingding``, which is not
part of the locked stack; the protocol is the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from douyin_etl import connections
from douyin_etl.alerts.message import Alert
from douyin_etl.config import ConfigError

log = logging.getLogger(__name__)

DINGTALK, FEISHU, WECOM, EMAIL = (
    "douyin_alert_dingtalk",
    "douyin_alert_feishu",
    "douyin_alert_wecom",
    "douyin_alert_email",
)
CONN_IDS = (DINGTALK, FEISHU, WECOM, EMAIL)
TIMEOUT = 10.0


class AlertSendError(RuntimeError):
    """A channel refused or could not take a message; the text names the connection, never its secrets."""


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)) (URL-encode it)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(timestamp_s: int, secret: str) -> str:
    """Feishu/Lark 签名校验: base64(HMAC-SHA256(key=timestamp + "\\n" + secret, msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Channel(Protocol):
    """``send`` renders the alert with every secret in ``secrets`` (all channels', the API's) redacted."""

    conn_id: str

    @property
    def secrets(self) -> list[str]: ...

    def send(self, alert: Alert, secrets: list[str]) -> None: ...


def _require(conn: connections.Connection, what: str, value: str | None) -> str:
    if not value:
        raise ConfigError(
            f"the alert connection {conn.conn_id!r} has no {what}; set it (docs/deploy.md, 'Alerts') "
            f"or delete the connection to turn this channel off"
        )
    return value


def _post(conn_id: str, url: str, body: dict[str, Any], params: dict[str, str] | None, ok_key: str) -> None:
    try:
        response = httpx.post(url, params=params, json=body, timeout=TIMEOUT)
    except httpx.HTTPError as exc:  # its text may hold the URL and so the token: name the type only
        raise AlertSendError(f"{conn_id}: the webhook could not be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise AlertSendError(f"{conn_id}: the webhook answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise AlertSendError(f"{conn_id}: the webhook answered something that is not JSON") from None
    code = answer.get(ok_key, answer.get("StatusCode", 0)) if isinstance(answer, dict) else 0
    if code not in (0, None):
        msg = answer.get("errmsg") or answer.get("msg") or ""
        raise AlertSendError(f"{conn_id}: the robot refused the message ({ok_key}={code}: {str(msg)[:200]})")


@dataclass
class DingTalkRobot:
    url: str
    token: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    conn_id: str = DINGTALK

    def send(self, alert: Alert, secrets: list[str]) -> None:
        params = {"access_token": self.token}
        if self.secret:
            ts = int(time.time() * 1000)
            params |= {"timestamp": str(ts), "sign": dingtalk_sign(ts, self.secret)}
        body = {"msgtype": "markdown", "markdown": {"title": alert.title, "text": alert.markdown(secrets)}}
        _post(self.conn_id, self.url, body, params, "errcode")

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.token, self.secret) if s]


@dataclass
class FeishuRobot:
    url: str
    hook: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    conn_id: str = FEISHU

    def send(self, alert: Alert, secrets: list[str]) -> None:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": alert.text(secrets)}}
        if self.secret:
            ts = int(time.time())
            body |= {"timestamp": str(ts), "sign": feishu_sign(ts, self.secret)}
        _post(self.conn_id, f"{self.url.rstrip('/')}/{self.hook}", body, None, "code")

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.hook, self.secret) if s]


@dataclass
class WeComRobot:
    url: str
    key: str = field(repr=False)
    conn_id: str = WECOM

    def send(self, alert: Alert, secrets: list[str]) -> None:
        body = {"msgtype": "markdown", "markdown": {"content": alert.markdown(secrets)[:4000]}}
        _post(self.conn_id, self.url, body, {"key": self.key}, "errcode")

    @property
    def secrets(self) -> list[str]:
        return [self.key]


@dataclass
class Email:
    """Through Airflow's SMTP provider (``SmtpHook``), reading the same connection."""

    to: list[str]
    from_email: str | None
    secrets: list[str] = field(default_factory=list, repr=False)
    conn_id: str = EMAIL

    def send(self, alert: Alert, secrets: list[str]) -> None:
        from html import escape

        from airflow.providers.smtp.hooks.smtp import SmtpHook

        body = f'<pre style="font-family:inherit">{escape(alert.text(secrets))}</pre>'
        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            hook.send_email_smtp(to=self.to, subject=alert.title, html_content=body, from_email=self.from_email)


def _secret(conn: connections.Connection) -> str | None:
    value = conn.extra.get("secret")
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"the alert connection {conn.conn_id!r}: extra 'secret' must be a string")
    return value or None


def _build(conn: connections.Connection) -> Channel:
    if conn.conn_id == DINGTALK:
        return DingTalkRobot(
            _require(conn, "host (the webhook URL)", conn.host),
            _require(conn, "password (the robot's access_token)", conn.password),
            _secret(conn),
        )
    if conn.conn_id == FEISHU:
        return FeishuRobot(
            _require(conn, "host (the webhook URL up to the hook id)", conn.host),
            _require(conn, "password (the hook id)", conn.password),
            _secret(conn),
        )
    if conn.conn_id == WECOM:
        return WeComRobot(
            _require(conn, "host (the webhook URL)", conn.host),
            _require(conn, "password (the robot's key)", conn.password),
        )
    to = conn.extra.get("to")
    if isinstance(to, str):
        to = [a.strip() for a in to.replace(";", ",").split(",") if a.strip()]
    if not to or not isinstance(to, list):
        raise ConfigError(f"the alert connection {conn.conn_id!r} has no extra 'to' (the recipients); docs/deploy.md")
    _require(conn, "host (the SMTP server)", conn.host)
    return Email(list(to), conn.extra.get("from_email"), [s for s in (conn.password,) if s])


def known_secrets(targets: Sequence[Channel]) -> list[str]:
    """Every secret a message must not carry: each channel's, and the Open API app secret."""
    out = [s for t in targets for s in t.secrets]
    try:
        api = connections.get("doudian_default")
    except Exception:  # a malformed API connection is the extractor's error to report, not ours
        api = None
    if api is not None and api.password:
        out.append(api.password)
    return out


def configured() -> list[Channel]:
    """Every channel whose connection exists (in ``AIRFLOW_CONN_*`` or, inside a task, in Airflow)."""
    out = []
    for conn_id in CONN_IDS:
        conn = connections.get(conn_id)
        if conn is not None:
            out.append(_build(conn))
    return out
