"""The gateway's envelope and error codes: one home for the client and the mock.

Success is ``code == 10000``. Errors carry the platform's numeric code family and a ``sub_code``; the
codes below are the platform's published ones ("平台基础错误码汇总" and the per-method codes of the
published SDKs, see docs/mock-api.md). Business sub codes carry a numeric suffix after a colon
(``isv.parameter-invalid:20008``): ``base(sub_code)`` strips it, and the client decides on the code
family and the base sub code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

SUCCESS = 10000


def base(sub_code: str) -> str:
    """The sub code without its business suffix (``isv.parameter-invalid:20008`` -> ``isv.parameter-invalid``)."""
    return sub_code.split(":", 1)[0]


@dataclass(frozen=True)
class ApiError:
    code: int
    sub_code: str
    msg: str
    retryable: bool = False

    def variant(self, suffix: str) -> ApiError:
        """The same error with a business suffix: ``isv.parameter-invalid`` -> ``isv.parameter-invalid:20008``."""
        return replace(self, sub_code=f"{base(self.sub_code)}:{suffix}")


# 20000 service unavailable, 30001 no permission, 40001 missing platform parameter, 40002 missing business
# parameter, 40003 illegal platform parameter (sign, token, app key), 40004 illegal business parameter,
# 50001 platform processing failed (token generation), 50002 business processing failed, 60000 rate
# limited, 70000 method off-line / unknown.
SERVICE_ERROR = ApiError(20000, "isp.service-error", "服务不可用", retryable=True)
NO_AUTHORIZATION = ApiError(30001, "dop.authorization-no-existed", "操作权限不足")
SIGN_MISSING = ApiError(40001, "isv.signature-missing", "缺少必选参数（平台校验）")
APP_KEY_MISSING = ApiError(40001, "isv.app-id-missing", "缺少必选参数（平台校验）")
TOKEN_MISSING = ApiError(40001, "isv.access-token-missing", "缺少必选参数（平台校验）")
MISSING_PARAM = ApiError(40002, "isv.missing-parameter", "缺少必选参数")
INVALID_SIGN = ApiError(40003, "isv.signature-invalid", "非法的参数（平台校验）")
TOKEN_EXPIRED = ApiError(40003, "isv.access-token-expired", "非法的参数（平台校验）")
TOKEN_UNKNOWN = ApiError(40003, "isv.access-token-no-existed", "非法的参数（平台校验）")
INVALID_APP_KEY = ApiError(40003, "isv.app-id-invalid", "非法的参数（平台校验）")
PARAM_FORMAT = ApiError(40003, "isv.parameter-format-invalid", "非法的参数（平台校验）")
INVALID_PARAMS = ApiError(40004, "isv.parameter-invalid", "非法的参数")
TOKEN_FAILED = ApiError(50001, "dop.token-generate-failed", "平台处理失败")
BUSINESS_FAILED = ApiError(50002, "isv.business-failed", "业务处理失败")
RATE_LIMITED = ApiError(60000, "isp.traffic-limited", "触发限流，请稍后重试", retryable=True)
UNKNOWN_METHOD = ApiError(70000, "isp.api-service-off", "接口服务已下线")

# token.create / token.refresh failures (sub codes of TOKEN_FAILED)
CODE_INVALID = TOKEN_FAILED.variant("code-invalid")  # unknown or already used authorization code
CODE_EXPIRED = TOKEN_FAILED.variant("code-expired")  # the code's 10 minutes are over
NO_SHOP_AUTHORIZATION = TOKEN_FAILED.variant("no-authorization")  # the shop has not authorised the app
GRANT_TYPE_INVALID = TOKEN_FAILED.variant("grant-type-invalid")
REFRESH_INVALID = TOKEN_FAILED.variant("token-invalid")  # unknown or already used refresh token
REFRESH_EXPIRED = TOKEN_FAILED.variant("token-expired")

# The business suffix each windowed method documents per misuse (order.searchList's own codes; afterSale.List
# answers every parameter problem with 11000). Methods not listed answer isv.parameter-invalid bare.
METHOD_CODES: dict[str, dict[str, str]] = {
    "order.searchList": {"size": "20008", "page": "10035", "depth": "20013", "start": "20011", "lookback": "20022"},
    "afterSale.List": dict.fromkeys(("size", "page", "depth", "start", "span"), "11000"),
}


def depth_sub_code(method: str) -> str | None:
    """The sub code by which ``method`` says "window too deep: narrow it" (None when it has no own code)."""
    suffix = METHOD_CODES.get(method, {}).get("depth")
    return INVALID_PARAMS.variant(suffix).sub_code if suffix and suffix != "11000" else None


RETRYABLE_CODES = {SERVICE_ERROR.code, 20001, RATE_LIMITED.code}
EXPIRED_TOKEN_SUB_CODES = {TOKEN_EXPIRED.sub_code, TOKEN_UNKNOWN.sub_code}


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
