"""Local receivers on 127.0.0.1 that stand in for the chat robots and a mail server, and check what a
real one checks: the DingTalk and Feishu signatures, the WeCom key, the SMTP login.

``robots``: one HTTP server serving DingTalk (``/robot/send``), Feishu (``/open-apis/bot/v2/hook/<id>``)
and WeCom (``/cgi-bin/webhook/send``); every request is recorded with whether its signature verified.
``smtp``: a minimal SMTP server (EHLO, AUTH PLAIN, MAIL, RCPT, DATA) that records each mail.
``alert_env``: the four ``AIRFLOW_CONN_DOUYIN_ALERT_*`` connections pointing at them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from receivers import DING_SECRET, DING_TOKEN, FEISHU_HOOK, FEISHU_SECRET, SMTP_PASSWORD, SMTP_USER, WECOM_KEY


@dataclass
class Received:
    channel: str
    verified: bool
    body: dict
    text: str  # the message content, as a person would read it


@dataclass
class Robots:
    url: str
    received: list[Received] = field(default_factory=list)
    refuse: bool = False


def _fresh(ts_ms: int) -> bool:
    return abs(time.time() * 1000 - ts_ms) < 3_600_000  # both robots reject timestamps older than 1 hour


class _RobotHandler(BaseHTTPRequestHandler):
    robots: Robots

    def log_message(self, *args) -> None:
        pass

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}  # parse_qs URL-decodes the sign
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if url.path == "/robot/send":  # DingTalk: access_token, timestamp and sign in the URL
            ts = int(query.get("timestamp", "0"))
            expected = base64.b64encode(
                hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
            ).decode()
            ok = query.get("access_token") == DING_TOKEN and query.get("sign") == expected and _fresh(ts)
            rec = Received("dingtalk", ok, body, body["markdown"]["text"])
            answer = {"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign not match"}
        elif url.path.startswith("/open-apis/bot/v2/hook/"):  # Feishu: timestamp and sign in the body
            ts = int(body.get("timestamp", "0"))
            expected = base64.b64encode(
                hmac.new(f"{ts}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()
            ).decode()
            ok = url.path.endswith("/" + FEISHU_HOOK) and body.get("sign") == expected and _fresh(ts * 1000)
            rec = Received("feishu", ok, body, body["content"]["text"])
            answer = {"code": 0 if ok else 19021, "msg": "success" if ok else "sign match fail"}
        elif url.path == "/cgi-bin/webhook/send":  # WeCom: the key in the URL
            ok = query.get("key") == WECOM_KEY
            rec = Received("wecom", ok, body, body["markdown"]["content"])
            answer = {"errcode": 0 if ok else 93000, "errmsg": "ok" if ok else "invalid webhook url"}
        else:
            self.send_error(404)
            return
        self.robots.received.append(rec)
        if self.robots.refuse:
            answer = {"errcode": 300001, "code": 9499, "errmsg": "refused for the test", "msg": "refused"}
        self._answer(answer)


@pytest.fixture
def robots() -> Iterator[Robots]:
    handler = type("Handler", (_RobotHandler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state = Robots(f"http://127.0.0.1:{server.server_address[1]}")
    handler.robots = state
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Mail:
    authenticated: bool
    sender: str
    recipients: list[str]
    subject: str
    text: str
    raw: bytes


@dataclass
class SmtpServer:
    port: int
    mails: list[Mail] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    state: SmtpServer

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._say("220 localhost test SMTP")
        authed, sender, rcpts = False, "", []
        while line := self.rfile.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250-localhost")
                self._say("250 AUTH PLAIN")
            elif verb == "AUTH":
                creds = base64.b64decode(cmd.split()[-1]).split(b"\0")
                authed = creds[1:] == [SMTP_USER.encode(), SMTP_PASSWORD.encode()]
                self._say("235 accepted" if authed else "535 bad credentials")
            elif verb == "MAIL":
                sender = cmd.split(":", 1)[1].strip().strip("<>")
                self._say("250 ok")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                self._say("250 ok")
            elif verb == "DATA":
                self._say("354 go on")
                raw = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    raw += chunk
                msg = message_from_bytes(raw, policy=policy.default)
                body = msg.get_body(preferencelist=("html", "plain"))
                self.state.mails.append(
                    Mail(authed, sender, rcpts, str(msg["subject"]), body.get_content() if body else "", raw)
                )
                rcpts = []
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    handler = type("Handler", (_SmtpHandler,), {})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state = SmtpServer(server.server_address[1])
    handler.state = state
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def alert_env(robots, smtp, monkeypatch) -> None:
    conns = {
        "DOUYIN_ALERT_DINGTALK": {
            "conn_type": "http",
            "host": f"{robots.url}/robot/send",
            "password": DING_TOKEN,
            "extra": {"secret": DING_SECRET},
        },
        "DOUYIN_ALERT_FEISHU": {
            "conn_type": "http",
            "host": f"{robots.url}/open-apis/bot/v2/hook",
            "password": FEISHU_HOOK,
            "extra": {"secret": FEISHU_SECRET},
        },
        "DOUYIN_ALERT_WECOM": {
            "conn_type": "http",
            "host": f"{robots.url}/cgi-bin/webhook/send",
            "password": WECOM_KEY,
        },
        "DOUYIN_ALERT_EMAIL": {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp.port,
            "login": SMTP_USER,
            "password": SMTP_PASSWORD,
            "extra": {
                "to": "ops@shop.example, finance@shop.example",
                "from_email": SMTP_USER,
                "disable_ssl": True,
                "disable_tls": True,
                "retry_limit": 0,
                "timeout": 10,
            },
        },
    }
    for name, value in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", json.dumps(value))
