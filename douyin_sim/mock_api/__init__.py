"""Mock Doudian (抖店) Open API over a simulated world: signing, tokens, paging, limits, faults.

See docs/mock-api.md. ``serve`` blocks (CLI ``serve-mock``); ``MockServer`` runs in a thread.
"""

from .app import MockApp
from .faults import FaultConfig
from .server import MockServer, serve

__all__ = ["FaultConfig", "MockApp", "MockServer", "serve"]
