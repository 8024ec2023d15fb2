"""Read-only operator dashboard over the published marts (``douyin-etl dashboard``)."""

from douyin_etl.dashboard.server import make_server, serve_dashboard

__all__ = ["make_server", "serve_dashboard"]
