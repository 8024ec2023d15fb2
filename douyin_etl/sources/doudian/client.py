"""Doudian Open API client: signing, tokens, rate limit, retries, pagers, de-duplication.

``DoudianClient(credentials, shop_id=None).call(method, params) -> data``. One client speaks for one
shop (its token); clients of the same app share one client-side token bucket (``config.api_qps()``
requests/s unless ``qps`` is given), so a thread pool over shops/windows stays within the app's
budget. httpx connection pooling (keep-alive) is used for throughput, and page-based queries fetch
the pages after the first concurrently (``page_workers``) once ``total`` is known.

Retries (``max_retries``, exponential backoff with jitter, capped at ``backoff_max`` s): HTTP 5xx and
429, timeouts and connection errors, and the platform's rate-limit error. An expired/missing token
error triggers one refresh (or a new token) and an immediate retry. Any other error raises
``DoudianApiError`` naming the method, the platform's code/sub_code/sub_msg and the log_id.

Tokens live in memory only; proactive refresh when fewer than 3000 s remain (capped at half the
token lifetime for short-lived test tokens). Secrets are registered with ``logmask`` and never
logged; the sign string is never built outside ``signing``.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from douyin_etl import config
from douyin_etl.sources.doudian import protocol as P
from douyin_etl.sources.doudian.endpoints import Endpoint, dig, endpoint, split_window
from douyin_etl.sources.doudian.logmask import fingerprint, install_masking, register_secret
from douyin_etl.sources.doudian.ratelimit import TokenBucket
from douyin_etl.sources.doudian.signing import canonical_json, sign

log = logging.getLogger(__name__)

REFRESH_MARGIN_S = 3000
QC_RATE_LIMIT, QC_TOKEN_CODES, QC_SERVER = 40100, {40102, 40103, 40104, 40105}, {50000, 40200}


class DoudianApiError(RuntimeError):
    """A non-retryable (or retried-out) Open API failure; the message says what to check next."""

    def __init__(
        self, method: str, message: str, *, code: int | None = None, sub_code: str = "", log_id: str = ""
    ) -> None:
        self.method, self.code, self.sub_code, self.log_id = method, code, sub_code, log_id
        super().__init__(
            f"{method}: {message}"
            + (f" (code={code}, sub_code={sub_code or '-'}, log_id={log_id or '-'})" if code is not None else "")
        )


class _Transient(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class _TokenInvalid(Exception):
    pass


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One default SSL context for every client (building one costs ~60 ms)."""
    return ssl.create_default_context()


_limiters: dict[tuple[str, str, float], TokenBucket] = {}
_limiters_lock = threading.Lock()


def shared_limiter(base_url: str, app_key: str, qps: float) -> TokenBucket:
    """One token bucket per (gateway, app, rate): the app-wide budget every client of the app shares."""
    key = (base_url, app_key, float(qps))
    with _limiters_lock:
        if key not in _limiters:
            _limiters[key] = TokenBucket(qps, capacity=1.0)
        return _limiters[key]


@dataclass
class _Token:
    access_token: str
    refresh_token: str
    expires_at: float
    expires_in: int
    shop_id: str

    def remaining(self) -> float:
        return self.expires_at - time.time()


@dataclass
class Fetched:
    """Records of one endpoint query after de-duplication, in fetch order of their kept version."""

    records: list[dict[str, Any]]
    pages: int
    fetched: int  # records received, repeats included

    @property
    def repeats(self) -> int:
        return self.fetched - len(self.records)


class DoudianClient:
    def __init__(
        self,
        credentials: config.DoudianCredentials,
        shop_id: str | None = None,
        qps: float | None = None,
        timeout: float = 12,
        max_retries: int = 6,
        *,
        backoff_base: float = 0.2,
        backoff_max: float = 8.0,
        page_workers: int = 4,
    ) -> None:
        install_masking()
        register_secret(credentials.app_secret)
        self.credentials = credentials
        self.base_url = credentials.base_url.rstrip("/")
        self.shop_id = shop_id
        self.page_workers = page_workers
        self.max_retries, self.backoff_base, self.backoff_max = max_retries, backoff_base, backoff_max
        self.limiter = shared_limiter(self.base_url, credentials.app_key, qps or config.api_qps())
        self._http = httpx.Client(
            timeout=timeout,
            verify=_ssl_context(),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self._stats: dict[str, float] = {}  # counts, and seconds waited (waited_s)
        self._stats_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DoudianClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DoudianClient(base_url={self.base_url!r}, shop_id={self.shop_id!r}, token={self.token_fingerprint})"

    @property
    def token_fingerprint(self) -> str:
        return fingerprint(self._token.access_token if self._token else None)

    @property
    def stats(self) -> dict[str, float]:
        with self._stats_lock:
            return dict(self._stats)

    def _bump(self, name: str, n: float = 1) -> None:
        with self._stats_lock:
            self._stats[name] = self._stats.get(name, 0) + n

    # -- tokens ------------------------------------------------------------------------------
    def _store(self, data: dict[str, Any]) -> _Token:
        for k in ("access_token", "refresh_token"):
            register_secret(data.get(k))
        expires_in = int(data.get("expires_in") or 0)
        tok = _Token(
            data["access_token"],
            data.get("refresh_token", ""),
            time.time() + expires_in,
            expires_in,
            str(data.get("shop_id") or self.shop_id or ""),
        )
        if self.shop_id is None:
            self.shop_id = tok.shop_id
        log.debug("token for shop %s: %s, expires in %d s", tok.shop_id, fingerprint(tok.access_token), expires_in)
        return tok

    def access_token(self, *, rejected: str | None = None) -> str:
        """A valid access token: created on first use, refreshed when < 3000 s remain or when the
        gateway ``rejected`` the current one (a token another thread already replaced is not refreshed again)."""
        with self._token_lock:
            tok = self._token
            margin = min(REFRESH_MARGIN_S, tok.expires_in / 2) if tok else 0
            force = rejected is not None and tok is not None and tok.access_token == rejected
            if tok is not None and not force and tok.remaining() > margin:
                return tok.access_token
            if tok is not None and tok.refresh_token:
                try:
                    data = self._request(
                        "token.refresh", {"grant_type": "refresh_token", "refresh_token": tok.refresh_token}, auth=False
                    )
                    self._bump("token_refreshes")
                    self._token = self._store(data)
                    return self._token.access_token
                except DoudianApiError as exc:
                    log.warning("token refresh failed (%s); creating a new token", exc.sub_code or exc)
            params: dict[str, Any] = {"grant_type": "authorization_self"}
            if self.shop_id:
                params["shop_id"] = self.shop_id
            data = self._request("token.create", params, auth=False)
            self._bump("token_creates")
            self._token = self._store(data)
            return self._token.access_token

    # -- one call ----------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """``data`` of one Open API call (retries, token refresh and rate limiting included)."""
        return self._request(method, params or {}, auth=True)

    def _request(self, method: str, params: dict[str, Any], *, auth: bool) -> dict[str, Any]:
        token_retried = False
        attempt = 0
        while True:
            token = None
            try:
                token = self.access_token() if auth else None
                return self._once(method, params, token)
            except _TokenInvalid as exc:
                if token_retried or not auth:
                    raise DoudianApiError(
                        method,
                        f"access token rejected after a refresh: {exc}; check that the app is authorised for this shop",
                    ) from None
                token_retried = True
                self._bump("token_errors")
                self.access_token(rejected=token)
            except _Transient as exc:
                self._bump(exc.kind)
                if attempt >= self.max_retries:
                    raise DoudianApiError(
                        method,
                        f"gave up after {attempt} retries; last error: {exc}. The gateway "
                        "is unavailable or rate limiting: lower DOUYIN_API_QPS or retry later",
                    ) from None
                delay = min(self.backoff_max, self.backoff_base * (2**attempt)) * random.uniform(0.5, 1.0)
                log.debug("%s: %s; retry %d/%d in %.2f s", method, exc, attempt + 1, self.max_retries, delay)
                self._bump("retries")
                attempt += 1
                time.sleep(delay)

    def _once(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._bump("waited_s", self.limiter.acquire())
        self._bump("requests")
        qianchuan = method.startswith("qianchuan.")
        try:
            if qianchuan:
                ep = endpoint(method)
                query = {k: (canonical_json(v) if isinstance(v, (dict, list)) else v) for k, v in params.items()}
                resp = self._http.get(self.base_url + ep.path, params=query, headers={"Access-Token": token or ""})
            else:
                param_json = canonical_json(params)
                ts = str(int(time.time()))
                query = {
                    "app_key": self.credentials.app_key,
                    "method": method,
                    "timestamp": ts,
                    "v": "2",
                    "sign_method": "hmac-sha256",
                    "sign": sign(self.credentials.app_key, self.credentials.app_secret, method, param_json, ts),
                }
                if token:
                    query["access_token"] = token
                resp = self._http.post(
                    self.base_url + "/" + method.replace(".", "/"),
                    params=query,
                    content=param_json.encode("utf-8"),
                    headers={"Content-Type": "application/json"},
                )
        except httpx.TimeoutException:
            raise _Transient("timeouts", "request timed out") from None
        except httpx.TransportError as exc:
            raise _Transient("connection_errors", f"connection error: {type(exc).__name__}") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Transient("server_errors", f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise DoudianApiError(method, f"HTTP {resp.status_code} from the gateway; check DOUYIN_API_BASE_URL")
        try:
            body = json.loads(resp.content, parse_float=Decimal)
        except ValueError:
            raise _Transient("server_errors", "response is not JSON") from None
        return self._unwrap(method, body, qianchuan)

    def _unwrap(self, method: str, body: dict[str, Any], qianchuan: bool) -> dict[str, Any]:
        code = body.get("code")
        if qianchuan:
            if code == 0:
                return body.get("data") or {}
            msg = str(body.get("message", ""))
            if code == QC_RATE_LIMIT:
                raise _Transient("rate_limited", f"rate limited: {msg}")
            if code in QC_TOKEN_CODES:
                raise _TokenInvalid(msg)
            if code in QC_SERVER:
                raise _Transient("server_errors", msg)
            raise DoudianApiError(
                method,
                f"rejected: {msg}; check the request parameters",
                code=code,
                log_id=str(body.get("request_id", "")),
            )
        if code == P.SUCCESS:
            return body.get("data") or {}
        sub_code = str(body.get("sub_code", ""))
        sub_msg = str(body.get("sub_msg") or body.get("msg") or "")
        if sub_code in P.RETRYABLE_SUB_CODES:
            raise _Transient("rate_limited" if sub_code == P.RATE_LIMITED.sub_code else "server_errors", sub_msg)
        if sub_code in P.EXPIRED_TOKEN_SUB_CODES:
            raise _TokenInvalid(sub_msg)
        hint = {
            P.INVALID_SIGN.sub_code: "check DOUYIN_APP_KEY / DOUYIN_APP_SECRET (or the Airflow connection)",
            P.INVALID_APP_KEY.sub_code: "check DOUYIN_APP_KEY",
            P.INVALID_PARAMS.sub_code: "check the request parameters and window limits in endpoints.py",
        }
        raise DoudianApiError(
            method,
            f"{sub_msg}; {hint.get(sub_code, 'see the platform error code list')}",
            code=code,
            sub_code=sub_code,
            log_id=str(body.get("log_id", "")),
        )

    # -- pagers ------------------------------------------------------------------------------
    def pages(
        self, method: str, params: dict[str, Any] | None = None, size: int | None = None
    ) -> Iterator[tuple[int, dict[str, Any], list[dict[str, Any]]]]:
        """(page number or cursor index, data, records) for every page of one query."""
        ep = endpoint(method)
        size = min(size or ep.max_size, ep.max_size)
        base = {**ep.extra_params, **(params or {}), ep.size_param: size}
        if ep.paging == "cursor":
            cursor: Any = "0"
            n = 0
            while True:
                data = self.call(method, {**base, ep.cursor_param: cursor})
                items = dig(data, ep.list_field) or []
                yield n, data, items
                n += 1
                nxt = data.get(ep.next_cursor_field)
                if data.get(ep.is_end_field) in (1, True, "1") or nxt in (None, "", cursor) or not items:
                    return
                cursor = nxt
        else:
            page = ep.first_page
            data = self.call(method, {**base, ep.page_param: page})
            items = dig(data, ep.list_field) or []
            yield page, data, items
            if not items or not self._has_more(ep, data, page, size, len(items)):
                return
            total = dig(data, ep.total_field) if ep.total_field else None
            if self.page_workers > 1 and isinstance(total, int):
                # page-based paging is random access: once the total is known, fetch the remaining
                # pages concurrently (bounded by the limiter) and hand them over in page order
                last = ep.first_page + max(0, -(-total // size) - 1)
                numbers = list(range(page + 1, last + 1))
                with ThreadPoolExecutor(max_workers=self.page_workers, thread_name_prefix="page") as pool:
                    results = pool.map(lambda n: (n, self.call(method, {**base, ep.page_param: n})), numbers)
                    for n, data in results:
                        items = dig(data, ep.list_field) or []
                        page = n
                        yield n, data, items
                if not numbers or not items or not self._has_more(ep, data, page, size, len(items)):
                    return
            while True:  # sequential: no total, or the result grew while we paged
                page += 1
                data = self.call(method, {**base, ep.page_param: page})
                items = dig(data, ep.list_field) or []
                yield page, data, items
                if not items or not self._has_more(ep, data, page, size, len(items)):
                    return

    @staticmethod
    def _has_more(ep: Endpoint, data: dict[str, Any], page: int, size: int, n_items: int) -> bool:
        if ep.has_more_field and data.get(ep.has_more_field) is not None:
            return bool(data[ep.has_more_field])
        if ep.total_page_field and dig(data, ep.total_page_field) is not None:
            return page - ep.first_page + 1 < int(dig(data, ep.total_page_field))
        if ep.total_field and dig(data, ep.total_field) is not None:
            return (page - ep.first_page + 1) * size < int(dig(data, ep.total_field))
        return n_items >= size

    def fetch(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        size: int | None = None,
    ) -> Fetched:
        """Every record of a query, de-duplicated by the endpoint's key (latest version, then last fetched).

        With ``start``/``end`` (aware, half-open) the window is split to the endpoint's limit and each
        piece sent as the inclusive ``[piece_start, piece_end − 1 s]``.
        """
        ep = endpoint(method)
        windows: list[dict[str, Any]] = [{}]
        if start is not None and end is not None:
            if ep.window is None:
                raise ValueError(f"{method} takes no time window")
            windows = [
                ep.window.encode(s, e - timedelta(seconds=1)) for s, e in split_window(start, end, ep.window.max_span)
            ]
        dedup = Deduplicator(ep)
        pages = 0
        for w in windows:
            for _, _, items in self.pages(method, {**(params or {}), **w}, size=size):
                pages += 1
                dedup.add_all(items)
        return Fetched(dedup.records(), pages, dedup.seen)


class VersionGate:
    """Streaming de-duplication: remembers only key -> highest version seen, never the records.

    ``admit(record)`` is True when the record must be written: a new key, or a version at least as
    new as the one already written. The landing writer keeps the last written row per key, so the
    newest version (then the last fetched) wins without holding a window's records in memory.
    """

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self._versions: dict[tuple, Any] = {}
        self.seen = 0

    def admit(self, record: dict[str, Any]) -> bool:
        key = self.ep.record_key(record)
        version = self.ep.record_version(record)
        self.seen += 1
        if key in self._versions:
            old = self._versions[key]
            if old is not None and version is not None and version < old:
                return False
        self._versions[key] = version
        return True

    @property
    def unique(self) -> int:
        return len(self._versions)


class Deduplicator:
    """Keeps one record per key: the highest version field, ties (or no version) -> the last added."""

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self._kept: dict[tuple, tuple[Any, int, dict[str, Any]]] = {}
        self.seen = 0

    def add_all(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            self.add(rec)

    def add(self, record: dict[str, Any]) -> None:
        key = self.ep.record_key(record)
        version = self.ep.record_version(record)
        self.seen += 1
        old = self._kept.get(key)
        if old is not None and old[0] is not None and version is not None and version < old[0]:
            return
        self._kept[key] = (version, self.seen, record)

    def records(self) -> list[dict[str, Any]]:
        return [rec for _, _, rec in sorted(self._kept.values(), key=lambda t: t[1])]
