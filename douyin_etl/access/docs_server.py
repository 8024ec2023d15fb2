"""``douyin-etl docs``: generate the dbt docs site, then serve it with the run reports on 127.0.0.1.

- ``generate_dbt_docs()`` runs ``dbt docs generate --static`` through the dbt runner subprocess
  against a TEMPORARY COPY of the published warehouse (the copy is what dbt opens and locks, so
  writers and publishes are never blocked), into ``<state_dir>/docs/dbt/target``.
- ``make_server(port)`` returns a stdlib ``ThreadingHTTPServer`` (no external assets) serving:
  ``/`` an index page (published version, links to the dbt docs and every run report),
  ``/dbt/<file>`` the dbt docs target directory, ``/runs/<run_id>/report.html|report.json`` the run
  reports, ``/status.json`` the ``douyin-etl status`` data. Nothing else under the state dir is served.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import shutil
import signal
import tempfile
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from douyin_etl import config

log = logging.getLogger(__name__)

DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")
REPORT_FILES = ("report.html", "report.json")


class DocsError(RuntimeError):
    pass


def docs_dir() -> Path:
    return config.state_dir() / "docs" / "dbt"


def generate_dbt_docs(*, warehouse: Path | None = None, out_dir: Path | None = None, compile: bool = True) -> Path:
    """``dbt docs generate`` over a temp copy of the published warehouse; returns the target directory.

    ``compile=False`` passes ``--no-compile`` (about 4x faster; the site then shows the models' raw SQL).
    """
    from douyin_etl.warehousing.dbt_runner import run_dbt

    warehouse = Path(warehouse or config.warehouse_path())
    run_dir = Path(out_dir or docs_dir())
    with tempfile.TemporaryDirectory(prefix="douyin-docs-") as tmp:
        copy = Path(tmp) / "douyin.duckdb"
        command = ["docs", "generate", "--static"] + ([] if compile else ["--no-compile"])
        if warehouse.exists():
            shutil.copyfile(warehouse, copy)  # the published file is only replaced whole: a consistent copy
        else:
            log.warning(
                "no published warehouse at %s: dbt docs without a catalog (column types from yml only)", warehouse
            )
            command.append("--empty-catalog")
        if not compile:  # --no-compile reuses the target's manifest: write one with a (quick) parse
            parsed = run_dbt(["parse"], db_path=copy, run_dir=run_dir)
            if not parsed.ok:
                raise DocsError(f"dbt parse failed (exit {parsed.returncode}); see {parsed.log_path}")
        result = run_dbt(command, db_path=copy, run_dir=run_dir)
    target = run_dir / "target"
    if not result.ok or not (target / "index.html").exists():
        raise DocsError(
            f"dbt docs generate failed (exit {result.returncode}); see {result.log_path}"
            + (f": {result.error}" if result.error else "")
        )
    log.info("dbt docs generated in %s (%.1f s)", target, result.elapsed)
    return target


_CSS = (
    "body{font-family:-apple-system,Segoe UI,Roboto,'PingFang SC','Microsoft YaHei',sans-serif;margin:24px;"
    "color:#1d2129;max-width:1100px}h1{font-size:22px}h2{font-size:17px;margin-top:24px;border-bottom:1px solid "
    "#e5e6eb}table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #e5e6eb;padding:4px 8px;"
    "text-align:left}th{background:#f7f8fa}.muted{color:#86909c;font-size:12px}"
)


def render_index(target: Path | None, state_dir: Path, warehouse: Path) -> str:
    from douyin_etl.access.status import collect_status

    e = html.escape
    st = collect_status(warehouse=warehouse, state_dir=state_dir, limit=50)
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Douyin ETL docs</title>"
        f"<style>{_CSS}</style></head><body><h1>Douyin ETL · docs and run reports</h1>"
    ]
    v = st.get("version") or {}
    parts.append(
        "<p>Published warehouse: "
        + (
            f"<code>{e(str(v.get('path')))}</code>, run <b>{e(str(v.get('run_id', 'unknown')))}</b>, "
            f"published at {e(str(v.get('published_at', 'unknown')))}"
            if st["published"]
            else f"none yet at <code>{e(st['warehouse'])}</code>"
        )
        + " · <a href='/status.json'>status.json</a></p>"
    )
    parts.append("<h2>dbt docs</h2>")
    if target is not None and (target / "index.html").exists():
        parts.append("<ul><li><a href='/dbt/index.html'>dbt docs site</a> (models, columns, lineage)</li>")
        if (target / "static_index.html").exists():
            parts.append("<li><a href='/dbt/static_index.html'>single-file version</a> (save and share)</li>")
        parts.append("</ul>")
    else:
        parts.append("<p class='muted'>not generated; run <code>douyin-etl docs</code> without --no-generate</p>")
    parts.append("<h2>Run reports</h2>")
    if not st["runs"]:
        parts.append("<p class='muted'>no runs yet</p>")
    else:
        parts.append(
            "<table><tr><th>run</th><th>interval</th><th>status</th><th>seconds</th><th>published</th>"
            "<th>gates</th></tr>"
        )
        for r in st["runs"]:
            rid = e(str(r["run_id"]))
            link = f"<a href='/runs/{rid}/report.html'>{rid}</a>" if Path(r["report"]).exists() else rid
            parts.append(
                f"<tr><td>{link} <a class='muted' href='/runs/{rid}/report.json'>json</a></td>"
                f"<td>{e(str(r.get('interval', '')))}</td><td>{e(str(r.get('status')))}</td>"
                f"<td>{e(str(r.get('seconds') or ''))}</td><td>{'yes' if r.get('published') else 'no'}</td>"
                f"<td>{e(', '.join(f'{k}: {g}' for k, g in r.get('gates', {}).items()))}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


class _Handler(BaseHTTPRequestHandler):
    server_version = "douyin-etl-docs"

    def __init__(self, *args, target: Path | None, state_dir: Path, warehouse: Path, **kwargs):
        self.target, self.state_dir, self.warehouse = target, state_dir, warehouse
        super().__init__(*args, **kwargs)

    def log_message(self, fmt: str, *args) -> None:  # route to logging, not stderr
        log.debug("docs %s - " + fmt, self.address_string(), *args)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _file(self, path: Path) -> None:
        if not path.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")
            return
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype == "application/json":
            ctype += "; charset=utf-8"
        self._send(HTTPStatus.OK, path.read_bytes(), ctype)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        from douyin_etl.access.status import collect_status

        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if any(p in (".", "..") or "\\" in p for p in parts):
            self._send(HTTPStatus.BAD_REQUEST, b"bad path", "text/plain; charset=utf-8")
        elif not parts or parts == ["index.html"]:
            body = render_index(self.target, self.state_dir, self.warehouse).encode("utf-8")
            self._send(HTTPStatus.OK, body, "text/html; charset=utf-8")
        elif parts == ["status.json"]:
            body = json.dumps(
                collect_status(warehouse=self.warehouse, state_dir=self.state_dir),
                ensure_ascii=False,
                indent=1,
                default=str,
            ).encode("utf-8")
            self._send(HTTPStatus.OK, body, "application/json; charset=utf-8")
        elif len(parts) == 2 and parts[0] == "dbt" and parts[1] in DOCS_FILES and self.target is not None:
            self._file(self.target / parts[1])
        elif len(parts) == 3 and parts[0] == "runs" and parts[2] in REPORT_FILES:
            self._file(self.state_dir / "runs" / parts[1] / parts[2])
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found; see /", "text/plain; charset=utf-8")


def make_server(
    port: int = 8081,
    *,
    host: str = "127.0.0.1",
    target: Path | None = None,
    state_dir: Path | None = None,
    warehouse: Path | None = None,
) -> ThreadingHTTPServer:
    """A docs server bound to ``host:port`` (port 0 picks a free one: see ``server.server_address``)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("docs server bound to %s: reachable beyond this machine", host)
    handler = partial(
        _Handler,
        target=target,
        state_dir=Path(state_dir or config.state_dir()),
        warehouse=Path(warehouse or config.warehouse_path()),
    )
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_docs(port: int = 8081, *, host: str = "127.0.0.1", generate: bool = True, compile: bool = True) -> int:
    """Generate (unless ``generate=False``: reuse the last generated site) and serve until Ctrl-C."""
    target = generate_dbt_docs(compile=compile) if generate else docs_dir() / "target"
    server = make_server(port, host=host, target=target if (target / "index.html").exists() else None)
    bound_host, bound_port = server.socket.getsockname()[:2]
    url = f"http://{bound_host}:{bound_port}/"
    log.info("serving dbt docs and run reports at %s (Ctrl-C to stop)", url)
    print(f"docs: {url}", flush=True)

    def _stop(signum, frame):  # SIGTERM (service managers, kill) stops as cleanly as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
