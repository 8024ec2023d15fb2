"""A ``DoudianClient`` wired to a running mock, for tests and the benchmark (worlds come from the simulator)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from douyin_etl.config import DEMO_APP_KEY, DEMO_APP_SECRET, DoudianCredentials
from douyin_etl.sources.doudian.client import DoudianClient

if TYPE_CHECKING:
    from douyin_sim.mock_api.server import MockServer


def make_client(mock: MockServer, shop_id: str | None = "1000001", **kw: Any) -> DoudianClient:
    """A DoudianClient on ``mock`` with the demo credentials and fast backoff; ``kw`` overrides client options."""
    kw.setdefault("qps", 1000)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.1)
    return DoudianClient(DoudianCredentials(mock.base_url, DEMO_APP_KEY, DEMO_APP_SECRET), shop_id=shop_id, **kw)
