"""``douyin-etl dashboard``: a read-only operator dashboard on 127.0.0.1 (stdlib HTTP server).

``GET /?shop=<id|all>&from=YYYY-MM-DD&to=YYYY-MM-DD`` renders the whole page server-side. Each request
opens the published warehouse read-only, queries it and closes it (``data.load_dashboard``), so a
publish swaps in cleanly between requests and the dashboard never blocks a writer.
``GET /healthz`` answers ``ok``. No external assets; nothing else is served.
"""

from __future__ import annotations

import logging
import signal
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from douyin_etl import config
from douyin_etl.access.query import WarehouseMissing
from douyin_etl.dashboard.data import FilterError, load_dashboard
from douyin_etl.dashboard.render import render_dashboard, render_message

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8501


class DashboardHandler(BaseHTTPRequestHandler):
    server_version = "douyin-dashboard"

    def __init__(self, *args, warehouse: Path | None = None, **kwargs) -> None:
        self.warehouse = warehouse
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib signature
        log.info("%s %s", self.address_string(), format % args)

    def _send(self, status: HTTPStatus, body: str, content_type: str = "text/html; charset=utf-8") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
            "script-src 'unsafe-inline'",
        )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self) -> None:  # noqa: N802 - the stdlib name
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - the stdlib name
        url = urlsplit(self.path)
        if url.path == "/healthz":
            return self._send(HTTPStatus.OK, "ok\n", "text/plain; charset=utf-8")
        if url.path == "/favicon.ico":
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
            return None
        if url.path not in ("/", "/index.html"):
            return self._send(
                HTTPStatus.NOT_FOUND,
                render_message("页面不存在", "not found", f"no page {url.path}; the dashboard is at /", error=True),
            )
        warehouse = self.warehouse or config.warehouse_path()
        try:
            data = load_dashboard(parse_qs(url.query), warehouse)
        except WarehouseMissing as exc:
            return self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                render_message(
                    "尚未发布数据",
                    "nothing published yet",
                    f"{exc}. (Or point DOUYIN_WAREHOUSE at a published warehouse.) Then reload this page.",
                ),
            )
        except FilterError as exc:
            return self._send(
                HTTPStatus.BAD_REQUEST, render_message("筛选条件有误", "bad filter", str(exc), error=True)
            )
        except Exception:  # one bad request must not take the server down; the log has the traceback
            log.exception("dashboard request %s failed", self.path)
            return self._send(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                render_message(
                    "看板加载失败",
                    "dashboard failed",
                    "The dashboard could not read the warehouse; see the server log for the cause.",
                    error=True,
                ),
            )
        return self._send(HTTPStatus.OK, render_dashboard(data))


def make_server(port: int = DEFAULT_PORT, *, warehouse: Path | None = None, host: str = HOST) -> ThreadingHTTPServer:
    """A ``ThreadingHTTPServer`` on ``host:port`` (port 0 = a free one); ``warehouse`` defaults to
    ``config.warehouse_path()`` read at every request."""
    server = ThreadingHTTPServer((host, port), partial(DashboardHandler, warehouse=warehouse))
    server.daemon_threads = True
    return server


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve_dashboard(port: int = DEFAULT_PORT, *, warehouse: Path | None = None) -> int:
    """Serve until Ctrl-C / SIGTERM; returns the exit code."""
    server = make_server(port, warehouse=warehouse)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    log.info(
        "dashboard on http://%s:%d/ (warehouse %s, read-only); Ctrl-C to stop",
        HOST,
        server.server_address[1],
        warehouse or config.warehouse_path(),
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log.info("dashboard stopped")
    return 0
