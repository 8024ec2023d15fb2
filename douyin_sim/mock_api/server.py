"""HTTP front of the mock: stdlib ``ThreadingHTTPServer`` with keep-alive (HTTP/1.1), no dependencies."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from douyin_etl import config
from douyin_etl.sources.doudian.client import forget_tokens

from .app import MockApp
from .faults import FaultConfig

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    server_version = "DoudianMock/1.0"
    app: MockApp  # set on the subclass made per server

    def _serve(self, http_method: str) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, payload = self.app.handle(http_method, path, query, headers, body)
        except Exception:  # a bug in the mock must not kill the connection silently
            log.exception("mock failed on %s %s", http_method, path)
            status, payload = 500, b'{"error":"mock internal error"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def log_message(self, fmt: str, *args: Any) -> None:  # the query string carries the access token
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s", self.command, (self.path or "").partition("?")[0])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (its timeout) is normal here: log at debug, not a traceback on stderr."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            log.debug("client %s went away: %s", client_address, type(exc).__name__)
        else:
            log.exception("mock error serving %s", client_address)


def _make_server(app: MockApp, host: str, port: int) -> _Server:
    handler = type("Handler", (_Handler,), {"app": app})
    return _Server((host, port), handler)


class MockServer:
    """The mock Open API in a background thread::

    with MockServer(world_dir, faults=FaultConfig.from_spec("rate_limit=0.1,seed=1")) as mock:
        client = DoudianClient(DoudianCredentials(mock.base_url, DEMO_APP_KEY, DEMO_APP_SECRET))
        mock.stats  # {'requests': {method: n}, 'faults': {kind: n}, 'errors': {sub_code: n}}
    """

    def __init__(
        self,
        world: Path,
        *,
        app_key: str = config.DEMO_APP_KEY,
        app_secret: str = config.DEMO_APP_SECRET,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        now: float | None = None,
    ) -> None:
        self.app = MockApp(Path(world), app_key=app_key, app_secret=app_secret, faults=faults, now=now)
        self.host, self.port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("MockServer is not running; use it as a context manager or call start()")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        return self.app.stats()

    def expire_tokens(self) -> None:
        self.app.expire_tokens()

    def expire_refresh_tokens(self) -> None:
        self.app.expire_refresh_tokens()

    def authorize(self, shop_id: str) -> str:
        """The merchant authorises the app for ``shop_id``: a single-use authorization code (see MockApp)."""
        return self.app.authorize(shop_id)

    def revoke(self, shop_id: str) -> None:
        self.app.revoke(shop_id)

    def start(self) -> MockServer:
        self._server = _make_server(self.app, self.host, self.port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="doudian-mock", daemon=True
        )
        self._thread.start()
        forget_tokens(self.base_url)  # this process's clients hold no token of a new gateway at this address
        log.info("mock Open API serving %s at %s", self.app.world.root, self.base_url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(world: Path, host: str, port: int, app_key: str, app_secret: str, faults: FaultConfig) -> None:
    """Serve ``world`` until interrupted (the CLI's ``serve-mock``)."""
    app = MockApp(Path(world), app_key=app_key, app_secret=app_secret, faults=faults)
    server = _make_server(app, host, port)
    log.info(
        "mock Open API serving %s at http://%s:%d (faults: %s)",
        world,
        host,
        server.server_address[1],
        faults if faults.any else "none",
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
