"""`douyin-etl docs`: dbt docs generated from a copy of the warehouse, served with the run reports."""

from __future__ import annotations

import hashlib
import threading

import httpx
import pytest

from douyin_etl.access.docs_server import generate_dbt_docs, make_server


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def server(access_env, tmp_path):
    before = _sha(access_env.warehouse)
    target = generate_dbt_docs(out_dir=tmp_path / "docs", compile=False)
    assert _sha(access_env.warehouse) == before  # dbt opened a copy, never the published file
    srv = make_server(0, target=target)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    host, port = srv.server_address[:2]
    try:
        yield f"http://{host}:{port}", target
    finally:
        srv.shutdown()
        srv.server_close()


def test_index_docs_and_reports(server, access_env):
    base, target = server
    assert base.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=base, timeout=10) as http:
        index = http.get("/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        page = index.text
        assert "href='/dbt/index.html'" in page
        assert f"href='/runs/{access_env.run_id}/report.html'" in page
        assert page.count("href='/runs/") == 2  # the one run of the session's state dir: its HTML and JSON
        assert access_env.run_id in page
        assert "http://" not in page and "https://" not in page  # no external assets, relative links only
        report = http.get(f"/runs/{access_env.run_id}/report.html")
        assert report.status_code == 200 and access_env.run_id in report.text
        assert http.get(f"/runs/{access_env.run_id}/report.json").json()["status"] == "published"
        docs = http.get("/dbt/index.html")
        assert docs.status_code == 200 and len(docs.content) > 10_000
        catalog = http.get("/dbt/catalog.json").json()
        assert any(k.endswith("fin_pnl_daily") for k in catalog["nodes"])  # the catalog read the marts' copy
        assert http.get("/status.json").json()["version"]["run_id"] == access_env.run_id
        assert http.get(f"/runs/{access_env.run_id}/audit.duckdb").status_code == 404  # only reports are served
        assert http.get("/runs/../var/report.html").status_code in (400, 404)
        assert http.get("/dbt/../../etc/passwd").status_code in (400, 404)
