"""The mock gateway's request handling, independent of the HTTP server (``MockApp.handle``).

Doudian methods: ``POST /<a>/<b>?app_key&method&timestamp&v=2&sign&sign_method&access_token`` with
``param_json`` as the JSON body; signature verified with ``douyin_etl.sources.doudian.signing`` (the
client's own functions). Qianchuan: ``GET /qianchuan/.../`` with an ``Access-Token`` header (the mock
accepts the shop's Doudian token there) and its own envelope ``{code: 0, message, request_id, data}``.
Every record served belongs to the token's shop.

Tokens: ``token.create`` with ``grant_type=authorization_code`` + ``code`` (a code from ``authorize(shop)``,
the merchant's authorisation of the app: single use, valid ``code_ttl`` s) or ``authorization_self`` +
``shop_id`` (a shop's own app); ``token.refresh`` with ``grant_type=refresh_token`` (single use, valid
``refresh_ttl`` s) returns new tokens. Errors are the platform's codes (``protocol.py``); the per-method
business suffixes (``isv.parameter-invalid:20008`` …) are those the platform documents for the method.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, overload
from urllib.parse import parse_qs

from douyin_etl import config
from douyin_etl.sources.doudian import protocol as P
from douyin_etl.sources.doudian.endpoints import ENDPOINTS, Endpoint, Window, dig
from douyin_etl.sources.doudian.logmask import install_masking
from douyin_etl.sources.doudian.ratelimit import TokenBucket
from douyin_etl.sources.doudian.signing import canonical_json, path_to_method, verify
from douyin_etl.timeutil import SHANGHAI, day_bounds_unix, unix_to_business_date

from .faults import FaultConfig, FaultDice
from .world import DT_FIELD, WorldStore, cache_budget_rows

log = logging.getLogger(__name__)

Response = tuple[int, bytes]

MIN_WINDOWS = 8  # windows always kept for paging, whatever their size (more than the client's workers)

# Qianchuan (Ocean Engine style) error codes, the mock's approximation (keyed by the Doudian base sub code).
QC_OK, QC_PARAMS, QC_TOKEN_INVALID, QC_TOKEN_EXPIRED, QC_RATE_LIMIT, QC_SERVER = 0, 40002, 40104, 40102, 40100, 50000
QC_ERRORS = {
    P.RATE_LIMITED.sub_code: QC_RATE_LIMIT,
    P.TOKEN_EXPIRED.sub_code: QC_TOKEN_EXPIRED,
    P.TOKEN_MISSING.sub_code: QC_TOKEN_INVALID,
    P.TOKEN_UNKNOWN.sub_code: QC_TOKEN_INVALID,
    P.NO_AUTHORIZATION.sub_code: QC_TOKEN_INVALID,
    P.INVALID_PARAMS.sub_code: QC_PARAMS,
    P.SERVICE_ERROR.sub_code: QC_SERVER,
}

LOOKBACK_DAYS = 90  # order.searchList serves orders created in the last 90 days (of the gateway's clock)

# World entity behind each windowed / listed method.
METHOD_ENTITY = {
    "order.searchList": "shop_order",
    "afterSale.List": "after_sale",
    "alliance.getOrderList": "alliance_order",
    "order.getSettleBillDetailV3": "settlement_bill",
    "order.getShopAccountItem": "fund_flow",
    "product.listV2": "product",
    "sku.list": "sku",
}
HIDDEN = (DT_FIELD,)


class ParamError(ValueError):
    pass


def _invalid(method: str, kind: str, detail: str) -> ApiFailure:
    """isv.parameter-invalid with the method's documented suffix for ``kind`` (bare when it has none)."""
    suffix = P.METHOD_CODES.get(method, {}).get(kind)
    return ApiFailure(P.INVALID_PARAMS.variant(suffix) if suffix else P.INVALID_PARAMS, detail)


class ApiFailure(Exception):
    def __init__(self, err: P.ApiError, detail: str = "") -> None:
        super().__init__(detail or err.msg)
        self.err, self.detail = err, detail or err.msg


@dataclass
class Token:
    shop_id: str
    expires_at: float
    refresh_token: str


@dataclass
class Grant:
    """An authorisation code or a refresh token: the shop it opens and when it stops working."""

    shop_id: str
    expires_at: float


def _dumps(obj: Any) -> bytes:
    def default(o: Any) -> Any:
        if hasattr(o, "is_finite"):  # Decimal: JSON number; repr of the float keeps 2-decimal yuan exact
            return float(o)
        if isinstance(o, (date, datetime)):
            return o.isoformat()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=default).encode("utf-8")


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in HIDDEN}


def _set_path(obj: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        obj = obj.setdefault(p, {})
    obj[parts[-1]] = value


def _fmt_local(ts: Any) -> Any:
    if isinstance(ts, (int, float)) and ts > 0:
        return datetime.fromtimestamp(int(ts), tz=SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return ts


class MockApp:
    def __init__(
        self,
        world: Path,
        app_key: str = config.DEMO_APP_KEY,
        app_secret: str = config.DEMO_APP_SECRET,
        faults: FaultConfig | None = None,
        now: float | None = None,
    ) -> None:
        install_masking((__name__, "douyin_sim.mock_api.server"))  # the mock's logs see secrets too
        self.world = WorldStore(world)
        self.app_key, self._app_secret = app_key, app_secret
        self.faults = faults or FaultConfig()
        self.dice = FaultDice(self.faults)
        self.bucket = TokenBucket(self.faults.qps) if self.faults.qps > 0 else None
        self._tokens: dict[str, Token] = {}
        self._refresh: dict[str, Grant] = {}  # refresh_token -> shop, expiry (single use)
        self._codes: dict[str, Grant] = {}  # authorization code -> shop, expiry (single use)
        self._revoked: set[str] = set()  # shops that withdrew the app's authorisation
        self._now = now  # the gateway's clock for the 90-day look-back (default: the world's last day)
        # recent windows' rows (paging re-reads them), bounded like the world's partition cache: a window's
        # rows keep their partition's row dicts alive after the partition cache dropped them (SF100: a
        # day of shop_order is ~700 MB), so the windows kept hold at most cache_budget_rows() rows
        # (and always the newest MIN_WINDOWS, one per concurrent pager)
        self._windows: dict[tuple, list[dict[str, Any]]] = {}
        self._window_budget = cache_budget_rows()
        self._lock = threading.Lock()
        self._stats: dict[str, Counter[str]] = {"requests": Counter(), "faults": Counter(), "errors": Counter()}
        self._handlers: dict[str, Callable[[dict[str, Any], str], Any]] = {
            "token.create": self._token_create,
            "token.refresh": self._token_refresh,
            "order.orderDetail": self._order_detail,
            "sku.stockNum": self._sku_stock,
            "logistics.trackNoRouteDetail": self._track,
            "qianchuan.report.advertiser.get": self._qc_report,
            "qianchuan.shop.advertiser.list": self._qc_advertisers,
        }

    # -- stats / test helpers ----------------------------------------------------------------
    def _count(self, group: str, name: str) -> None:
        with self._lock:
            self._stats[group][name] += 1

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {g: dict(c) for g, c in self._stats.items()}

    def expire_tokens(self) -> None:
        """Expire every issued access token now (refresh tokens stay valid)."""
        with self._lock:
            for t in self._tokens.values():
                t.expires_at = 0

    def expire_refresh_tokens(self) -> None:
        """Expire every issued refresh token now (the shop must authorise again, or self-use apps create anew)."""
        with self._lock:
            for g in self._refresh.values():
                g.expires_at = 0

    def authorize(self, shop_id: str) -> str:
        """The merchant of ``shop_id`` authorises the app: a single-use authorization code, valid ``code_ttl`` s."""
        shop_id = str(shop_id)
        if shop_id not in {s["shop_id"] for s in self.world.shops()}:
            raise ValueError(f"shop {shop_id} is not in the world {self.world.root}")
        code = secrets.token_hex(12)
        with self._lock:
            self._revoked.discard(shop_id)
            self._codes[code] = Grant(shop_id, time.time() + self.faults.code_ttl)
        return code

    def revoke(self, shop_id: str) -> None:
        """The merchant withdraws the app's authorisation: the shop's tokens stop working."""
        with self._lock:
            self._revoked.add(str(shop_id))

    def clock(self) -> float:
        """The gateway's "now" for look-back limits: ``now`` if given, else the end of the world's last order day."""
        if self._now is not None:
            return self._now
        days = self.world.partitions("shop_order")
        if not days:
            return time.time()
        return float(day_bounds_unix(days[-1])[1])

    # -- entry point -------------------------------------------------------------------------
    def handle(self, http_method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        q = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        qianchuan = path.strip("/").startswith("qianchuan/")
        method = path_to_method(path) if qianchuan else (q.get("method") or path_to_method(path))
        self._count("requests", method)
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        try:
            if self.bucket is not None and not self.bucket.try_acquire():
                self._count("faults", "qps_limited")
                raise ApiFailure(P.RATE_LIMITED, f"app QPS limit {self.faults.qps:g}/s exceeded")
            if qianchuan:
                params = self._qc_params(q)
                shop_id = self._auth_token(headers.get("access-token", ""))
                request_key = f"{method}|{shop_id}|{canonical_json(params)}"
            else:
                param_json = self._param_json(headers, body)
                self._check_sign(method, path, q, param_json)
                params = json.loads(param_json or "{}")
                if not isinstance(params, dict):
                    raise ParamError("param_json must be a JSON object")
                shop_id = "" if method.startswith("token.") else self._auth_token(q.get("access_token", ""))
                request_key = f"{method}|{shop_id}|{param_json}"
            self._transient_faults(request_key)
            handler = self._handlers.get(method)
            if handler is not None:
                data = handler(params, shop_id)
            elif method in METHOD_ENTITY:
                data = self._listing(ENDPOINTS[method], params, shop_id, request_key)
            else:
                raise ApiFailure(P.UNKNOWN_METHOD, f"API {method!r} does not exist or is off-line")
            return 200, _dumps(self._ok(data, qianchuan))
        except _HttpError as exc:
            return exc.status, _dumps({"error": exc.reason})
        except ParamError as exc:
            return 200, _dumps(self._err(P.INVALID_PARAMS, str(exc), qianchuan))
        except ApiFailure as exc:
            return 200, _dumps(self._err(exc.err, exc.detail, qianchuan))
        except json.JSONDecodeError as exc:
            return 200, _dumps(self._err(P.PARAM_FORMAT, f"param_json is not JSON: {exc}", qianchuan))

    def _ok(self, data: Any, qianchuan: bool) -> dict[str, Any]:
        if qianchuan:
            return {"code": QC_OK, "message": "OK", "request_id": P.new_log_id(), "data": data}
        return P.ok(data)

    def _err(self, err: P.ApiError, detail: str, qianchuan: bool) -> dict[str, Any]:
        self._count("errors", err.sub_code)
        if qianchuan:
            return {
                "code": QC_ERRORS.get(P.base(err.sub_code), QC_PARAMS),
                "message": detail,
                "request_id": P.new_log_id(),
                "data": {},
            }
        return P.error(err, detail)

    # -- transport checks --------------------------------------------------------------------
    @staticmethod
    def _param_json(headers: dict[str, str], body: bytes) -> str:
        text = body.decode("utf-8") if body else "{}"
        if "application/x-www-form-urlencoded" in headers.get("content-type", ""):
            text = parse_qs(text).get("param_json", ["{}"])[-1]
        return text

    def _check_sign(self, method: str, path: str, q: dict[str, str], param_json: str) -> None:
        if not q.get("app_key"):
            raise ApiFailure(P.APP_KEY_MISSING, "认证失败，app_key不存在 (app_key is missing)")
        if not q.get("sign"):
            raise ApiFailure(P.SIGN_MISSING, "获取签名失败 (sign is missing)")
        missing = [k for k in ("method", "timestamp") if not q.get(k)]
        if missing:
            raise ApiFailure(P.MISSING_PARAM, f"missing query parameters: {', '.join(missing)}")
        if q["app_key"] != self.app_key:
            raise ApiFailure(P.INVALID_APP_KEY, "app_key is not registered with this gateway")
        if path_to_method(path) != method:
            raise ParamError(f"method {method!r} does not match path {path!r}")
        if q.get("v", "2") != "2":
            raise ParamError("only v=2 is supported")
        if not verify(
            self.app_key,
            self._app_secret,
            method,
            param_json,
            q["timestamp"],
            q["sign"],
            sign_method=q.get("sign_method", "hmac-sha256"),
        ):
            raise ApiFailure(P.INVALID_SIGN, "签名校验失败 (sign does not match app_key/method/param_json/timestamp)")

    def _auth_token(self, access_token: str) -> str:
        if not access_token:
            raise ApiFailure(P.TOKEN_MISSING, "认证失败，access_token不能为空 (access_token is required)")
        with self._lock:
            tok = self._tokens.get(access_token)
            revoked = tok is not None and tok.shop_id in self._revoked
        if tok is None:
            raise ApiFailure(P.TOKEN_UNKNOWN, "access_token不存在，请使用最新的access_token访问")
        if time.time() >= tok.expires_at:
            raise ApiFailure(P.TOKEN_EXPIRED, "access_token已过期 (refresh it with /token/refresh)")
        if revoked:
            raise ApiFailure(
                P.NO_AUTHORIZATION, f"店铺授权已失效，请重新授权 (shop {tok.shop_id} withdrew the authorisation)"
            )
        return tok.shop_id

    def _transient_faults(self, request_key: str) -> None:
        f = self.faults
        if not (f.rate_limit or f.server_error or f.slow):
            return
        attempt = self.dice.attempt(request_key)
        if self.dice.hit("rate_limit", f.rate_limit, request_key, attempt):
            self._count("faults", "rate_limit")
            raise ApiFailure(P.RATE_LIMITED, "injected rate limit")
        if self.dice.hit("server_error", f.server_error, request_key, attempt):
            self._count("faults", "server_error")
            status = self.dice.rng("status", request_key, attempt).choice([500, 502, 503])
            raise _HttpError(status, "injected server error")
        if f.slow_ms and self.dice.hit("slow", f.slow, request_key, attempt):
            self._count("faults", "slow")
            time.sleep(f.slow_ms / 1000)

    # -- tokens ------------------------------------------------------------------------------
    def _issue(self, shop_id: str) -> dict[str, Any]:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        now = time.time()
        with self._lock:
            self._tokens[access] = Token(shop_id, now + self.faults.token_ttl, refresh)
            self._refresh[refresh] = Grant(shop_id, now + self.faults.refresh_ttl)
        name = next((s["shop_name"] for s in self.world.shops() if s["shop_id"] == shop_id), "")
        return {
            "access_token": access,
            "expires_in": self.faults.token_ttl,
            "refresh_token": refresh,
            "scope": "SCOPE",
            "shop_id": shop_id,
            "shop_name": name,
            "authority_id": shop_id,
        }

    def _token_create(self, params: dict[str, Any], _: str) -> dict[str, Any]:
        grant = params.get("grant_type")
        if grant == "authorization_code":
            code = str(params.get("code") or "")
            if not code:
                raise ApiFailure(P.MISSING_PARAM, "code is required with grant_type=authorization_code")
            with self._lock:
                found = self._codes.pop(code, None)  # single use, expired or not
            if found is None:
                raise ApiFailure(P.CODE_INVALID, "生成token失败，code参数不正确，请引导商家重新授权获取code")
            if time.time() >= found.expires_at:
                raise ApiFailure(P.CODE_EXPIRED, "生成token失败，code已经失效（code的有效期为10分钟）")
            return self._issue(found.shop_id)
        if grant != "authorization_self":
            raise ApiFailure(P.GRANT_TYPE_INVALID, "grant_type must be authorization_code or authorization_self")
        shops = [s["shop_id"] for s in self.world.shops()]
        if not shops:
            raise ParamError("the world has no shops")
        shop_id = str(params.get("shop_id") or shops[0])
        if shop_id not in shops or shop_id in self._revoked:
            raise ApiFailure(
                P.NO_SHOP_AUTHORIZATION, f"生成token失败，店铺授权已失效 (shop {shop_id} has not authorised this app)"
            )
        return self._issue(shop_id)

    def _token_refresh(self, params: dict[str, Any], _: str) -> dict[str, Any]:
        if params.get("grant_type") != "refresh_token":
            raise ApiFailure(P.GRANT_TYPE_INVALID, "grant_type must be refresh_token")
        with self._lock:
            found = self._refresh.pop(str(params.get("refresh_token", "")), None)  # single use
        if found is None:
            raise ApiFailure(P.REFRESH_INVALID, "生成token失败，token不存在 (refresh_token unknown or already used)")
        if time.time() >= found.expires_at:
            raise ApiFailure(P.REFRESH_EXPIRED, "生成token失败，token已过期 (the shop must authorise the app again)")
        if found.shop_id in self._revoked:
            raise ApiFailure(P.NO_SHOP_AUTHORIZATION, f"生成token失败，店铺授权已失效 (shop {found.shop_id})")
        return self._issue(found.shop_id)

    # -- listings (windowed, paged) ----------------------------------------------------------
    def _window_rows(self, ep: Endpoint, entity: str, params: dict[str, Any], shop_id: str) -> list[dict[str, Any]]:
        """The shop's rows of the request's window, sorted for paging; cached per (entity, shop, window)."""
        window = tuple(params.get(p) for w in ep.windows for p in (w.start_param, w.end_param))
        key = (entity, shop_id, window)
        with self._lock:
            hit = self._windows.get(key)
        if hit is not None:
            return hit
        rows = self._select_rows(ep, entity, params, shop_id)
        with self._lock:
            self._windows[key] = rows
            held = sum(len(r) for r in self._windows.values())
            while len(self._windows) > MIN_WINDOWS and held > self._window_budget:
                held -= len(self._windows.pop(next(iter(self._windows))))
        return rows

    def _decode_windows(self, ep: Endpoint, params: dict[str, Any]) -> list[tuple[Window, int, int]]:
        """The windows of the request, decoded and checked against the method's limits (the platform's codes)."""
        given = [w for w in ep.windows if w.given(params)]
        if not given:
            names = " or ".join(f"{w.start_param}/{w.end_param}" for w in ep.windows)
            raise _invalid(ep.method, "start", f"查询开始时间不能为空: give {names}")
        out = []
        for w in given:
            try:
                start, end = w.decode(params)
            except ValueError as exc:
                raise _invalid(ep.method, "span" if "longer than" in str(exc) else "start", str(exc)) from None
            if end - start >= w.max_span.total_seconds():
                raise _invalid(ep.method, "span", f"time window longer than {w.max_span.days} days (split it)")
            if ep.method == "order.searchList" and w.field == "create_time":
                floor = self.clock() - LOOKBACK_DAYS * 86400
                if start < floor:
                    raise _invalid(
                        ep.method,
                        "lookback",
                        f"订单查询只支持查询最近{LOOKBACK_DAYS}天内的数据 (create_time_start too old)",
                    )
            out.append((w, start, end))
        return out

    def _select_rows(self, ep: Endpoint, entity: str, params: dict[str, Any], shop_id: str) -> list[dict[str, Any]]:
        if ep.window is None:
            rows = self.world.snapshot(entity)
        elif len(ep.windows) == 1:  # one window, on the partition field: only the partitions it touches
            try:
                start, end = ep.window.decode(params)
            except ValueError as exc:
                raise ParamError(str(exc)) from None
            field = ep.window.field
            rows = []
            d, last = unix_to_business_date(start), unix_to_business_date(end)
            while d <= last:
                rows.extend(
                    r
                    for r in self.world.partition(entity, d)
                    if isinstance(r.get(field), int) and start <= r[field] <= end
                )
                d += timedelta(days=1)
            rows.sort(key=lambda r: (r[field], str(r.get(ep.key[0].split(".")[-1]))))
        else:
            windows = self._decode_windows(ep, params)
            # partitions are by the primary window's field (update time), which is never before the
            # create / apply time: read from the earliest start on (to the window's end on that field)
            first = min(unix_to_business_date(s) for _, s, _ in windows)
            last_days = [unix_to_business_date(e) for w, _, e in windows if w is ep.window]
            days = [d for d in self.world.partitions(entity) if d >= first and (not last_days or d <= last_days[0])]
            rows = [
                r
                for d in days
                for r in self.world.partition(entity, d)
                if all(isinstance(r.get(w.field), int) and s <= r[w.field] <= e for w, s, e in windows)
            ]
            field = windows[0][0].field
            rows.sort(key=lambda r: (r[field], str(r.get(ep.key[0].split(".")[-1]))))
        return [r for r in rows if "shop_id" not in r or str(r["shop_id"]) == shop_id]

    def _shape(self, method: str, row: dict[str, Any]) -> dict[str, Any]:
        rec = _strip(row)
        if method == "order.searchList":
            lines = self.world.lines_by_parent(date.fromisoformat(row[DT_FIELD])).get(str(row["order_id"]), [])
            rec["sku_order_list"] = [{k: v for k, v in _strip(l).items() if k != "shop_id"} for l in lines]
        elif method == "afterSale.List":
            info = {k: v for k, v in rec.items() if k not in ("order_info", "shop_order_id", "shop_id")}
            order_info = dict(rec.get("order_info") or {})
            order_info["shop_order_id"] = rec.get("shop_order_id")
            return {"aftersale_info": info, "order_info": order_info}
        elif method == "order.getSettleBillDetailV3":
            for k in ("settle_time", "order_time"):
                if k in rec:
                    rec[k] = _fmt_local(rec[k])
        elif method == "order.getShopAccountItem":
            rec["bill_time"] = _fmt_local(rec.get("bill_time"))
        return copy.deepcopy(rec)

    def _stale(self, ep: Endpoint, rec: dict[str, Any], rng: Any, floor: int) -> dict[str, Any]:
        """An older version of ``rec``: version field lowered (not below ``floor``), one field changed."""
        old = copy.deepcopy(rec)
        if ep.version_field:
            v = dig(old, ep.version_field)
            if isinstance(v, int):
                new_v = max(floor, v - rng.randint(1, 3600))
                _set_path(old, ep.version_field, new_v)
                for line in old.get("sku_order_list") or []:
                    if isinstance(line.get("update_time"), int):
                        line["update_time"] = min(line["update_time"], new_v)
        if ep.mutable_field:
            v = dig(old, ep.mutable_field)
            _set_path(old, ep.mutable_field, v + 1 if isinstance(v, int) else f"{v or ''} (stale)")
        return old

    def _listing(self, ep: Endpoint, params: dict[str, Any], shop_id: str, request_key: str) -> dict[str, Any]:
        rows = self._window_rows(ep, METHOD_ENTITY[ep.method], params, shop_id)
        size = self._int(params, ep.size_param, None)
        if size is None or not 1 <= size <= ep.max_size:
            raise _invalid(ep.method, "size", f"{ep.size_param} must be between 1 and {ep.max_size}")
        if ep.paging == "page":
            page = self._int(params, ep.page_param, ep.first_page)
            if page < ep.first_page:
                raise _invalid(ep.method, "page", f"{ep.page_param} starts at {ep.first_page}")
            offset = (page - ep.first_page) * size
            depth = min(ep.max_depth, self.faults.max_depth) if ep.max_depth else None
            if depth is not None and offset + size > depth:
                raise _invalid(
                    ep.method, "depth", f"page x size over {depth}: 翻页查询最多支持查询到{depth}，需要缩短查询时间范围"
                )
        else:
            offset = self._int(params, ep.cursor_param, 0)
            if offset < 0:
                raise ParamError(f"{ep.cursor_param} must be >= 0")
        total = len(rows)
        items = [self._shape(ep.method, r) for r in rows[offset : offset + size]]
        page_key = request_key  # data faults depend on the request, not on the attempt
        if offset > 0 and offset <= total and self.dice.hit("duplicates", self.faults.duplicates, page_key):
            self._count("faults", "duplicates")
            items.insert(0, self._shape(ep.method, rows[offset - 1]))
        if offset + size < total and self.dice.hit("mutate", self.faults.mutate, page_key):
            rng = self.dice.rng("mutate-pick", page_key)
            victim = self._shape(ep.method, rows[rng.randrange(offset + size, total)])
            floor = ep.window.decode(params)[0] if ep.window else 0
            items.append(self._stale(ep, victim, rng, floor))
            self._count("faults", "mutations")
        data: dict[str, Any] = {}
        _set_path(data, ep.list_field, items)
        if ep.paging == "page":
            if ep.total_page_field:  # Qianchuan-style page_info
                _set_path(data, ep.total_page_field, math.ceil(total / size) if total else 0)
                base = ep.total_page_field.rsplit(".", 1)[0]
                _set_path(data, f"{base}.page", page)
                _set_path(data, f"{base}.page_size", size)
            else:
                data["page"], data["size"] = page, size
            if ep.total_field:
                _set_path(data, ep.total_field, total)
            if ep.has_more_field:
                data[ep.has_more_field] = offset + size < total
        else:
            end = offset + size >= total
            data[ep.next_cursor_field] = "" if end else str(offset + size)
            data[ep.is_end_field] = 1 if end else 0
            data["data_size"] = len(items)
        return data

    @overload
    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int) -> int: ...
    @overload
    @staticmethod
    def _int(params: dict[str, Any], name: str, default: None) -> int | None: ...
    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int | None) -> int | None:
        value = params.get(name, default)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ParamError(f"{name} must be an integer, got {value!r}") from None

    # -- single-record methods ----------------------------------------------------------------
    def _order_detail(self, params: dict[str, Any], shop_id: str) -> dict[str, Any]:
        order_id = str(params.get("shop_order_id") or "")
        if not order_id:
            raise ApiFailure(P.MISSING_PARAM.variant("20000"), "请输入查询订单号 (shop_order_id is required)")
        row = self.world.shop_order(order_id)
        if row is None:
            raise ApiFailure(P.INVALID_PARAMS.variant("20001"), f"订单不存在 (order {order_id})")
        if str(row.get("shop_id")) != shop_id:
            raise ApiFailure(P.BUSINESS_FAILED.variant("20015"), "订单不是该店铺下的订单，无权查询")
        return {"shop_order_detail": self._shape("order.searchList", row)}

    def _sku_stock(self, params: dict[str, Any], shop_id: str) -> dict[str, Any]:
        sku_id = str(params.get("sku_id") or "")
        code = str(params.get("code") or "")
        if not sku_id and not code:
            raise ParamError("sku_id or code is required")
        for r in self.world.snapshot("sku_stock"):
            if (sku_id and str(r.get("sku_id")) == sku_id) or (code and str(r.get("code")) == code):
                if "shop_id" in r and str(r["shop_id"]) != shop_id:
                    break
                return _strip(r)
        raise ParamError(f"sku {sku_id or code} not found in this shop")

    def _track(self, params: dict[str, Any], shop_id: str) -> dict[str, Any]:
        track_no = str(params.get("track_no") or "")
        if not track_no:
            raise ParamError("track_no is required")
        nodes = self.world.track(track_no)
        express = str(nodes[0].get("express")) if nodes else str(params.get("logistics_code") or "")
        keep = ("node_seq", "content", "timestamp", "state", "state_description", "site_name")
        return {
            "track_no": track_no,
            "express": express,
            "route_node_list": [{k: n.get(k) for k in keep} for n in nodes],
        }

    # -- Qianchuan ---------------------------------------------------------------------------
    @staticmethod
    def _qc_params(q: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = dict(q)
        for k in ("filtering", "fields"):
            if k in params and params[k]:
                try:
                    params[k] = json.loads(params[k])
                except json.JSONDecodeError:
                    raise ParamError(f"{k} must be JSON") from None
        return params

    def _qc_advertisers(self, params: dict[str, Any], shop_id: str) -> dict[str, Any]:
        ids = sorted(a for a, s in self.world.advertisers().items() if s == shop_id)
        size = self._int(params, "page_size", 100) or 100
        page = self._int(params, "page", 1) or 1
        chunk = ids[(page - 1) * size : page * size]
        return {
            "list": [{"advertiser_id": a, "advertiser_name": f"千川账户 {a}"} for a in chunk],
            "page_info": {
                "page": page,
                "page_size": size,
                "total_number": len(ids),
                "total_page": math.ceil(len(ids) / size) if ids else 0,
            },
        }

    def _qc_report(self, params: dict[str, Any], shop_id: str) -> dict[str, Any]:
        ep = ENDPOINTS["qianchuan.report.advertiser.get"]
        adv = str(params.get("advertiser_id") or "")
        if self.world.advertisers().get(adv) != shop_id:
            raise ParamError(f"advertiser_id {adv or '(missing)'} is not authorised for this token's shop")
        goal = (params.get("filtering") or {}).get("marketing_goal")
        if goal not in ("LIVE_PROM_GOODS", "VIDEO_PROM_GOODS"):
            raise ParamError("filtering.marketing_goal must be LIVE_PROM_GOODS or VIDEO_PROM_GOODS")
        try:
            start, end = ep.window.decode(params)  # type: ignore[union-attr]
        except ValueError as exc:
            raise ParamError(str(exc)) from None
        size = self._int(params, "page_size", 10) or 10
        page = self._int(params, "page", 1) or 1
        if not 1 <= size <= ep.max_size or page < 1:
            raise ParamError(f"page starts at 1 and page_size is 1..{ep.max_size}")
        rows: list[dict[str, Any]] = []
        d, last = unix_to_business_date(start), unix_to_business_date(end)
        while d <= last:
            rows.extend(
                r
                for r in self.world.partition("ad_report", d)
                if str(r["advertiser_id"]) == adv and r.get("marketing_goal") == goal
            )
            d += timedelta(days=1)
        drop = {"advertiser_id", "shop_id", "marketing_goal", "stat_date", DT_FIELD}
        items = [
            {"stat_datetime": f"{r['stat_date']} 00:00:00", **{k: v for k, v in r.items() if k not in drop}}
            for r in rows
        ]
        chunk = items[(page - 1) * size : page * size]
        return {
            "list": chunk,
            "page_info": {
                "page": page,
                "page_size": size,
                "total_number": len(items),
                "total_page": math.ceil(len(items) / size) if items else 0,
            },
        }


class _HttpError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason
