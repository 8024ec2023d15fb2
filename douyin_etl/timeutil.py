"""Business-day arithmetic. Business dates are Asia/Shanghai (UTC+8, no DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def day_start(d: date) -> datetime:
    """00:00 Asia/Shanghai of business day ``d`` as an aware datetime."""
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


def day_bounds_unix(d: date) -> tuple[int, int]:
    """[start, end) of business day ``d`` in unix seconds."""
    start = int(day_start(d).timestamp())
    return start, start + 86400


def unix_to_business_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=SHANGHAI).date()


def parse_date(s: str) -> date:
    return date.fromisoformat(s)


def daterange(start: date, end: date):
    """Business days from ``start`` to ``end`` inclusive."""
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def utc_now() -> datetime:
    return datetime.now(UTC)
