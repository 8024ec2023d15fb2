"""What an alert says, as text for a robot or a mail: shop, business day, what happened, where to look.

Alerts are built from ids, product names, counts and amounts only (never a buyer's name, phone,
address or id). Any free text that comes from elsewhere (an exception's message) passes ``redact``,
and every rendered message passes it again: phone numbers, e-mail addresses, long digit runs that
look like card or id numbers, and the values of known secrets are replaced by ``***``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

KINDS = {
    "run_failed": "运行失败 run failed",
    "gate_failed": "质量闸门未通过 quality gate failed",
    "stockout_risk": "新增缺货风险 new stock-out risks",
    "discrepancy": "新增对账差异 new reconciliation discrepancies",
}

# Buyer PII and secrets that must never leave in a message.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_SECRET_ENV = ("DOUYIN_APP_SECRET", "DOUYIN_BUYER_KEY_SECRET")
REDACTED = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without phone numbers, e-mail addresses, ID-card numbers and the given/known secrets."""
    for secret in [*secrets, *(os.environ.get(n) or "" for n in _SECRET_ENV)]:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _EMAIL.sub(REDACTED, text)
    text = _ID_CARD.sub(REDACTED, text)
    return _PHONE.sub(REDACTED, text)


@dataclass(frozen=True)
class Alert:
    """One message: ``kind`` (a key of ``KINDS``), the shop (None: every shop of the run), the business day,
    the lines saying what, and where to look (a dashboard section, a report path, a command)."""

    kind: str
    day: date | None
    shop: str | None
    what: tuple[str, ...]
    where: tuple[str, ...]
    shop_name: str | None = None
    dedup_key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}; one of {sorted(KINDS)}")

    @property
    def shop_label(self) -> str:
        if self.shop is None:
            return f"全部店铺 all shops ({self.shop_name})" if self.shop_name else "全部店铺 all shops"
        return f"{self.shop_name} ({self.shop})" if self.shop_name else self.shop

    @property
    def title(self) -> str:
        day = self.day.isoformat() if self.day else "–"
        return f"[抖店ETL] {KINDS[self.kind]} · 店铺 shop {self.shop_label} · {day}"

    def text(self, secrets: Iterable[str] = ()) -> str:
        """Plain text (robots' text messages, the mail body): title, what, where to look."""
        day = self.day.isoformat() if self.day else "–"
        lines = [
            self.title,
            f"店铺 shop: {self.shop_label}",
            f"业务日 business day: {day} (Asia/Shanghai)",
            *(f"• {w}" for w in self.what),
            "查看 where to look:",
            *(f"→ {w}" for w in self.where),
        ]
        return redact("\n".join(lines), secrets)

    def markdown(self, secrets: Iterable[str] = ()) -> str:
        """Markdown (DingTalk's markdown message): the same content."""
        day = self.day.isoformat() if self.day else "–"
        lines = [
            f"#### {self.title}",
            f"- 店铺 shop: **{self.shop_label}**",
            f"- 业务日 business day: **{day}** (Asia/Shanghai)",
            *(f"- {w}" for w in self.what),
            "",
            "**查看 where to look:**",
            *(f"- {w}" for w in self.where),
        ]
        return redact("\n".join(lines), secrets)


def dashboard_link(section: str, shop: str | None = None, day: date | None = None) -> str:
    """Where to look on the dashboard: ``DOUYIN_DASHBOARD_URL`` (if set) with the shop, day and section."""
    base = (os.environ.get("DOUYIN_DASHBOARD_URL") or "").strip().rstrip("/")
    query = "&".join(p for p in (f"shop={shop}" if shop else "", f"from={day}&to={day}" if day else "") if p)
    if base:
        return f"看板 dashboard: {base}/{'?' + query if query else ''}#{section}"
    return f"看板 dashboard: `douyin-etl dashboard` → http://127.0.0.1:8501/{'?' + query if query else ''}#{section}"
