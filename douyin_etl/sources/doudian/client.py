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

Tokens, per shop: the first comes from the shop's grant (``config.doudian_shop_grant``): ``token.create``
with ``authorization_code`` + the merchant's code, or ``authorization_self`` (the shop's own app), or
``token.refresh`` with an operator-provided refresh token; afterwards ``token.refresh`` with the cached
refresh token (single use: the reply's new one replaces it). Tokens are cached in this process's memory
per (gateway, app, shop) and shared by every client of that shop (a code is spent once); they are never
logged or written. Proactive refresh when fewer than 3000 s remain (capped at half the token lifetime for
short-lived test tokens); an expired / unknown token error refreshes once and retries. Secrets are
registered with ``logmask``; the sign string is never built outside ``signing``.

Windows: ``window_pages`` walks an order / after-sale window on update time or create (apply) time, split
to the gateway's span and halved while the window is deeper than ``max_depth`` records (page × size).
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


class WindowTooDeep(Exception):
    """A window holds more records than the gateway pages through (page × size): narrow it."""

    def __init__(self, method: str, total: int | None, limit: int | None) -> None:
        super().__init__(f"{method}: window of {total if total is not None else 'too many'} records, over {limit}")


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


_tokens: dict[tuple[str, str, str], _Token] = {}  # (gateway, app key, shop) -> the shop's current tokens
_spent: set[tuple[str, str, str, str]] = set()  # (gateway, app, shop, grant fingerprint): one-time grants used
_token_locks: dict[tuple[str, str, str], threading.Lock] = {}
_tokens_lock = threading.Lock()


def _token_lock(key: tuple[str, str, str]) -> threading.Lock:
    with _tokens_lock:
        return _token_locks.setdefault(key, threading.Lock())


def forget_tokens(base_url: str | None = None) -> None:
    """Drop the cached tokens of this process (of one gateway when ``base_url`` is given): a new mock
    gateway at a reused address has issued none of them."""
    with _tokens_lock:
        for key in [k for k in _tokens if base_url is None or k[0] == base_url.rstrip("/")]:
            del _tokens[key]
        _spent.difference_update({k for k in _spent if base_url is None or k[0] == base_url.rstrip("/")})


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
        grant: config.DoudianShopGrant | None = None,
        max_depth: int | None = None,
    ) -> None:
        install_masking()
        register_secret(credentials.app_secret)
        self.credentials = credentials
        self.base_url = credentials.base_url.rstrip("/")
        self.shop_id = shop_id
        # no grant: the shop's own app (authorization_self), as the tests and the benchmark use it
        self.grant = grant or config.DoudianShopGrant(shop_id or "", "authorization_self", "", "client default")
        register_secret(self.grant.secret)
        self.max_depth = max_depth  # None: the endpoint's (the gateway's documented) limit
        self.page_workers = page_workers
        self.max_retries, self.backoff_base, self.backoff_max = max_retries, backoff_base, backoff_max
        self.limiter = shared_limiter(self.base_url, credentials.app_key, qps or config.api_qps())
        self._http = httpx.Client(
            timeout=timeout,
            verify=_ssl_context(),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )
        self._key = (self.base_url, credentials.app_key, shop_id or "")
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
    def _token(self) -> _Token | None:
        return _tokens.get(self._key)

    @property
    def token_fingerprint(self) -> str:
        tok = self._token
        return fingerprint(tok.access_token if tok else None)

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
        if self.shop_id and tok.shop_id and tok.shop_id != self.shop_id:
            raise DoudianApiError(
                "token.create",
                f"the {self.grant.grant_type} grant for shop {self.shop_id} ({self.grant.source}) opens shop "
                f"{tok.shop_id}: put shop {self.shop_id}'s own authorization in "
                f"{config.SHOP_CONN_PREFIX}{self.shop_id}",
            )
        if self.shop_id is None:
            self.shop_id = tok.shop_id
        with _tokens_lock:
            _tokens[self._key] = tok
        log.debug("token for shop %s: %s, expires in %d s", tok.shop_id, fingerprint(tok.access_token), expires_in)
        return tok

    def access_token(self, *, rejected: str | None = None) -> str:
        """A valid access token for this client's shop: the cached one (shared by the process's clients of
        the shop), refreshed when < 3000 s remain or when the gateway ``rejected`` it (a token another
        thread already replaced is not refreshed again), else a first token from the shop's grant."""
        with _token_lock(self._key):
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
                    return self._store(data).access_token
                except DoudianApiError as exc:
                    log.warning("token refresh for shop %s failed (%s)", self.shop_id, exc.sub_code or exc)
                    with _tokens_lock:
                        _tokens.pop(self._key, None)
            return self._first_token().access_token

    def _first_token(self) -> _Token:
        """A token from the shop's grant: self-use apps create one any time; a code / given refresh token once."""
        g = self.grant
        if g.grant_type == "authorization_self":
            params: dict[str, Any] = {"grant_type": "authorization_self"}
            if self.shop_id:
                params["shop_id"] = self.shop_id
            data = self._request("token.create", params, auth=False)
            self._bump("token_creates")
            return self._store(data)
        where = f"{config.SHOP_CONN_PREFIX}{self.shop_id} ({g.source})"
        spent = (*self._key, fingerprint(g.secret))  # a new code in the setting is a new grant
        if spent in _spent:
            raise DoudianApiError(
                "token.create",
                f"shop {self.shop_id}: its {g.grant_type.replace('_', ' ')} was used already and its tokens no longer "
                f"refresh; the merchant must authorise the app again: put the new code in {where}",
            )
        with _tokens_lock:
            _spent.add(spent)
        try:
            if g.grant_type == "authorization_code":
                data = self._request("token.create", {"grant_type": "authorization_code", "code": g.secret}, auth=False)
            else:
                data = self._request(
                    "token.refresh", {"grant_type": "refresh_token", "refresh_token": g.secret}, auth=False
                )
        except DoudianApiError as exc:
            raise DoudianApiError(
                exc.method,
                f"shop {self.shop_id}: the {g.grant_type.replace('_', ' ')} in {where} was refused ({exc.sub_code}); "
                "codes are single-use and valid 10 minutes: ask the merchant to authorise the app again and put "
                "the new code there",
                code=exc.code,
                sub_code=exc.sub_code,
                log_id=exc.log_id,
            ) from None
        self._bump("token_creates")
        return self._store(data)

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
        if code in P.RETRYABLE_CODES:
            raise _Transient("rate_limited" if code == P.RATE_LIMITED.code else "server_errors", sub_msg)
        if P.base(sub_code) in P.EXPIRED_TOKEN_SUB_CODES:
            raise _TokenInvalid(sub_msg)
        if sub_code and sub_code == P.depth_sub_code(method):
            raise WindowTooDeep(method, None, None)
        hint = {
            P.INVALID_SIGN.sub_code: "check DOUYIN_APP_KEY / DOUYIN_APP_SECRET (or the Airflow connection)",
            P.INVALID_APP_KEY.sub_code: "check DOUYIN_APP_KEY",
            P.INVALID_PARAMS.sub_code: "check the request parameters and window limits in endpoints.py",
            P.MISSING_PARAM.sub_code: "a required parameter is missing",
            P.NO_AUTHORIZATION.sub_code: f"shop {self.shop_id} withdrew the app's authorisation: ask the merchant "
            f"to authorise it again and put the new code in {config.SHOP_CONN_PREFIX}{self.shop_id}",
            P.UNKNOWN_METHOD.sub_code: "the method does not exist or is off-line",
        }
        raise DoudianApiError(
            method,
            f"{sub_msg}; {hint.get(P.base(sub_code), 'see the platform error code list')}",
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
            depth = self.max_depth or ep.max_depth
            total0 = dig(data, ep.total_field) if ep.total_field else None
            if depth and isinstance(total0, int) and total0 > depth:
                raise WindowTooDeep(method, total0, depth)  # before any record is handed over
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

    def window_pages(
        self,
        method: str,
        params: dict[str, Any] | None,
        start: datetime,
        end: datetime,
        *,
        on: str | None = None,
        size: int | None = None,
    ) -> Iterator[tuple[str, int, dict[str, Any], list[dict[str, Any]]]]:
        """(window label, page, data, records) of every page of ``[start, end)`` (aware, half-open) on the
        window filtering on ``on`` (default: the endpoint's update-time window; ``create_time`` for orders,
        ``apply_time`` for after-sales). Pieces follow the span limit and are halved while deeper than the
        depth limit; a piece already partly handed over is re-read whole (the caller de-duplicates)."""
        ep = endpoint(method)
        if ep.window is None:
            raise ValueError(f"{method} takes no time window")
        w = ep.window_on(on) if on else ep.window
        todo = list(reversed(split_window(start, end, w.max_span)))
        while todo:
            s, e = todo.pop()
            label = f"{w.field}={s.isoformat()}/{e.isoformat()}"
            query = {**(params or {}), **w.encode(s, e - timedelta(seconds=1))}
            try:
                for page, data, items in self.pages(method, query, size=size):
                    yield label, page, data, items
            except WindowTooDeep as exc:
                if e - s <= timedelta(seconds=1):
                    raise DoudianApiError(method, f"{exc}: even a one-second window is too deep") from None
                mid = s + timedelta(seconds=int((e - s).total_seconds()) // 2)
                log.debug("%s: %s; halving %s", method, exc, label)
                self._bump("window_splits")
                todo.extend([(mid, e), (s, mid)])

    def order_detail(self, shop_order_id: str) -> dict[str, Any]:
        """One shop order as order.orderDetail returns it (``data.shop_order_detail``), nested lines included."""
        return self.call("order.orderDetail", {"shop_order_id": str(shop_order_id)}).get("shop_order_detail") or {}

    def fetch(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        size: int | None = None,
        on: str | None = None,
    ) -> Fetched:
        """Every record of a query, de-duplicated by the endpoint's key (latest version, then last fetched).

        With ``start``/``end`` (aware, half-open) the window (on ``on``, see ``window_pages``) is split to
        the endpoint's limits and each piece sent as the inclusive ``[piece_start, piece_end − 1 s]``.
        """
        ep = endpoint(method)
        dedup = Deduplicator(ep)
        pages = 0
        if start is not None and end is not None:
            for _, _, _, items in self.window_pages(method, params, start, end, on=on, size=size):
                pages += 1
                dedup.add_all(items)
        else:
            for _, _, items in self.pages(method, params, size=size):
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
