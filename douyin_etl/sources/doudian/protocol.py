"""The gateway's envelope and error codes: one home for the client and the mock.

Success is ``code == 10000``. The sub codes are the platform's; the numeric codes for errors are the
mock's documented approximation (see docs/mock-api.md) and the client decides on ``sub_code`` first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

SUCCESS = 10000


@dataclass(frozen=True)
class ApiError:
    code: int
    sub_code: str
    msg: str
    retryable: bool = False


INVALID_SIGN = ApiError(40003, "isv.sign-invalid", "Invalid signature")
INVALID_APP_KEY = ApiError(40002, "isv.app-key-invalid", "Unknown app_key")
INVALID_PARAMS = ApiError(40004, "isv.parameter-invalid", "Invalid parameters")
TOKEN_MISSING = ApiError(30001, "isv.access-token-no-exist", "access_token does not exist")
TOKEN_EXPIRED = ApiError(30002, "isv.access-token-expired", "access_token expired")
REFRESH_INVALID = ApiError(30003, "isv.refresh-token-invalid", "refresh_token invalid or already used")
RATE_LIMITED = ApiError(90000, "isv.api-rate-limited", "Too many requests, retry later", retryable=True)
UNKNOWN_METHOD = ApiError(40001, "isv.method-not-exist", "Unknown method")
SERVICE_ERROR = ApiError(20000, "isp.service-error", "Service temporarily unavailable", retryable=True)

RETRYABLE_SUB_CODES = {RATE_LIMITED.sub_code, SERVICE_ERROR.sub_code}
EXPIRED_TOKEN_SUB_CODES = {TOKEN_EXPIRED.sub_code, TOKEN_MISSING.sub_code}


def new_log_id() -> str:
    return uuid.uuid4().hex[:20].upper()


def ok(data: Any) -> dict[str, Any]:
    return {"code": SUCCESS, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": new_log_id(), "data": data}


def error(err: ApiError, sub_msg: str = "") -> dict[str, Any]:
    return {
        "code": err.code,
        "msg": err.msg,
        "sub_code": err.sub_code,
        "sub_msg": sub_msg or err.msg,
        "log_id": new_log_id(),
        "data": {},
    }
