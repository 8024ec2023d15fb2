"""app_secret and tokens never reach a log line (DEBUG, httpx included) nor a landed file."""

from __future__ import annotations

import logging
from datetime import date

from douyin_etl.config import DEMO_APP_SECRET
from douyin_etl.sources.doudian.extract import extract_api_entity
from douyin_etl.sources.doudian.logmask import fingerprint, mask
from douyin_etl.storage import Storage
from douyin_sim.mock_api import FaultConfig, MockServer
from douyin_sim.mock_api.testing import make_client

D = date(2026, 10, 11)  # an api_world day with rows of every windowed entity for both shops


def test_no_secret_in_logs_or_landed_files(api_world, tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    # Airflow's logging config (loaded by other tests in the same session) quiets httpx: undo that here
    for name in ("httpx", "httpcore", "douyin_etl", "douyin_sim"):
        caplog.set_level(logging.DEBUG, logger=name)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    spec = "rate_limit=0.2,server_error=0.1,duplicates=0.3,seed=21"
    with MockServer(api_world, faults=FaultConfig.from_spec(spec)) as m:
        factory = lambda shop: make_client(m, shop)  # noqa: E731
        for entity in ("shop_order", "after_sale", "ad_report"):
            extract_api_entity(
                entity,
                D,
                "secret-run",
                client_factory=factory,
                storage=Storage(str(tmp_path)),
                shops=["1000001", "1000002"],
            )
        c = make_client(m)
        c.call("sku.list", {"page": 0, "size": 2})
        m.expire_tokens()  # forces the expired-token path: error, refresh, retry
        c.call("sku.list", {"page": 0, "size": 2})
        logging.getLogger("douyin_etl.sources.doudian.client").debug("client state %r", c)
        secrets = {DEMO_APP_SECRET} | set(m.app._tokens) | {t.refresh_token for t in m.app._tokens.values()}
    assert (
        len(secrets) >= 6
    )  # app secret + access and refresh tokens (one set per shop, shared by its clients, + a refresh)
    text = caplog.text
    assert "HTTP Request: POST" in text and "access_token=***" in text  # httpx URLs were logged, masked
    assert fingerprint(c._token.access_token) in text  # the short fingerprint is what shows
    for s in secrets:
        assert s not in text
    landed = list(tmp_path.rglob("*"))
    assert any(p.name.endswith(".parquet") for p in landed)
    for p in landed:
        if p.is_file():
            data = p.read_bytes()
            for s in secrets:
                assert s.encode() not in data, p


def test_mask_patterns():
    assert mask("GET /x?access_token=abc123&sign=ffee") == "GET /x?access_token=***&sign=***"
    assert mask('{"refresh_token": "r-1234567"}') == '{"refresh_token": "***"}'
