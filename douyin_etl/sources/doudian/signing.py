"""Request signing of the Doudian Open API: one home, used by the client and by the mock to verify.

``param_json`` is canonical JSON: keys sorted recursively, no spaces, no HTML escaping, non-ASCII
kept as is (``ensure_ascii=False``). The sign (``sign_method=hmac-sha256``, v2) is

    hex(HMAC_SHA256(key=app_secret, msg=app_secret + "app_key" + app_key + "method" + method
                    + "param_json" + param_json + "timestamp" + timestamp + "v" + "2" + app_secret))

and the legacy ``sign_method=md5`` is ``hex(MD5(same string))``. The sign string contains the
app_secret: it is never logged or returned by anything here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

API_VERSION = "2"
SIGN_METHODS = ("hmac-sha256", "md5")


def canonical_json(params: Any) -> str:
    """``param_json`` for ``params``: sorted keys (recursively), no spaces, UTF-8 kept, no escaping of <>&."""
    return json.dumps(params if params is not None else {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sign_string(app_key: str, app_secret: str, method: str, param_json: str, timestamp: str | int, v: str) -> str:
    return f"{app_secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v{v}{app_secret}"


def sign(
    app_key: str,
    app_secret: str,
    method: str,
    param_json: str,
    timestamp: str | int,
    *,
    v: str = API_VERSION,
    sign_method: str = "hmac-sha256",
) -> str:
    """Hex signature of one request. ``param_json`` must already be canonical (see ``canonical_json``)."""
    msg = _sign_string(app_key, app_secret, method, param_json, timestamp, v).encode("utf-8")
    if sign_method == "hmac-sha256":
        return hmac.new(app_secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()
    if sign_method == "md5":
        return hashlib.md5(msg).hexdigest()
    raise ValueError(f"unknown sign_method {sign_method!r}; use one of {SIGN_METHODS}")


def verify(
    app_key: str,
    app_secret: str,
    method: str,
    param_json: str,
    timestamp: str | int,
    given: str,
    *,
    v: str = API_VERSION,
    sign_method: str = "hmac-sha256",
) -> bool:
    """Constant-time check of ``given`` against the expected sign."""
    try:
        expected = sign(app_key, app_secret, method, param_json, timestamp, v=v, sign_method=sign_method)
    except ValueError:
        return False
    return hmac.compare_digest(expected, (given or "").lower())


def method_to_path(method: str) -> str:
    """``order.searchList`` -> ``/order/searchList``."""
    return "/" + method.replace(".", "/")


def path_to_method(path: str) -> str:
    """``/order/searchList`` -> ``order.searchList``."""
    return path.strip("/").replace("/", ".")
