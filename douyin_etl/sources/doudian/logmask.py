"""Keep credentials out of logs: a filter that masks app_secret / access_token / refresh_token values.

The client registers every secret it holds (``register_secret``) and ``install_masking`` puts
``SecretMaskingFilter`` on the loggers that can see them (ours, httpx, httpcore — httpx logs request
URLs, and the gateway puts ``access_token`` in the query string). Besides the registered values, any
``access_token=…`` / ``"refresh_token": "…"`` pattern is masked. Tokens are shown as a short
fingerprint at most (``fingerprint``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

MASK = "***"
_secrets: set[str] = set()
_lock = threading.Lock()
_PATTERNS = [
    re.compile(r"(?i)\b(access_token|refresh_token|app_secret|sign|access-token)=([^&\s\"',)]+)"),
    re.compile(r"(?i)([\"']?(?:access_token|refresh_token|app_secret|access-token)[\"']?\s*[:=]\s*[\"'])([^\"']+)"),
]
LOGGERS = (
    "douyin_etl.sources.doudian.client",
    "douyin_etl.sources.doudian.extract",
    "httpx",
    "httpcore",
    "httpcore.http11",
    "httpcore.connection",
    "httpcore.proxy",
)  # a gateway (the mock) adds its own


def fingerprint(secret: str | None) -> str:
    """A short, non-reversible tag for a token ('tok:1a2b3c4d'), safe to log."""
    return "tok:" + hashlib.sha256((secret or "").encode()).hexdigest()[:8] if secret else "tok:none"


def register_secret(value: str | None) -> None:
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def mask(text: str) -> str:
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    text = _PATTERNS[0].sub(r"\1=" + MASK, text)
    text = _PATTERNS[1].sub(r"\1" + MASK, text)
    return text


class SecretMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to logging's own error path
            return True
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = SecretMaskingFilter()


def install_masking(extra_loggers: tuple[str, ...] = ()) -> None:
    """Idempotently attach the masking filter to every logger that may see credentials."""
    for name in LOGGERS + extra_loggers:
        lg = logging.getLogger(name)
        if _FILTER not in lg.filters:
            lg.addFilter(_FILTER)
