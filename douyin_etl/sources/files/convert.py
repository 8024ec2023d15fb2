"""Convert one file cell to its canonical value, per ``ctype`` (see ``specs.py``).

Cells arrive as ``str`` (CSV) or as XLSX values (``xlsx.py``: ``str``, ``int``, ``float``, ``datetime``,
``date``, ``bool``). Every converter returns the landed value or raises ``CellError`` with a short,
value-free reason (the value itself is quarantined next to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from douyin_etl.money import MoneyError, yuan_to_fen
from douyin_etl.sources.files.errors import CellError
from douyin_etl.sources.files.specs import Column
from douyin_etl.timeutil import SHANGHAI

_EXCEL_TEXT = re.compile(r'^="(.*)"$')  # ="0123" (Excel text protection)
_DATE_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PLAIN_YUAN = re.compile(r"^(-?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")  # 1234.5 / -1,234.56
_TS_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")


def clean(raw: Any, ctype: str = "id") -> Any:
    """Strip text cells (spaces, tabs, and for non-text columns the Excel apostrophe/``="…"``
    protections); '' -> None."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if ctype != "str":
            text = text.lstrip("'").strip()
        if text.startswith('="'):
            m = _EXCEL_TEXT.match(text)
            if m:
                text = m.group(1).strip()
        return text if text != "" else None
    return raw


def _number_text(value: Any) -> str:
    """Exact text of a numeric cell (floats by their shortest repr, which is what Excel shows)."""
    if isinstance(value, bool):
        raise CellError("expected a number, found a boolean")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError("not a finite number")
        return repr(value)
    return str(value)


def to_id(value: Any, col: Column) -> str:
    if isinstance(value, bool):
        raise CellError("expected an id, found a boolean")
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 2**53:
            raise CellError("id stored as an imprecise number (format the column as text)")
        return str(int(value))
    if isinstance(value, (datetime, date)):
        raise CellError("expected an id, found a date")
    return str(value)


def to_str(value: Any, col: Column) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def to_int(value: Any, col: Column) -> int:
    if isinstance(value, bool):
        raise CellError("expected an integer, found a boolean")
    if isinstance(value, int):
        return value
    text = _number_text(value).replace(",", "").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError("not an integer") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise CellError("not an integer")
    return int(number)


@lru_cache(maxsize=65536)  # amounts repeat a lot (0.00, list prices): the cache halves the cost
def _plain_fen(text: str) -> int | None:
    m = _PLAIN_YUAN.match(text)
    if not m:
        return None
    sign, whole, frac = m.groups()
    fen = int(whole.replace(",", "")) * 100 + (int(frac.ljust(2, "0")) if frac else 0)
    return -fen if sign else fen


def to_fen(value: Any, col: Column) -> int:
    """Yuan -> fen, exactly. Plain ``[-]1,234.56`` text takes an integer fast path (same result as
    ``douyin_etl.money.yuan_to_fen``, which handles everything else: ¥, spaces, errors)."""
    if type(value) is str:
        fen = _plain_fen(value)
        if fen is not None:
            return fen
    if isinstance(value, bool):
        raise CellError("expected a yuan amount, found a boolean")
    try:
        fen = yuan_to_fen(value if isinstance(value, int) else _number_text(value))
    except MoneyError as exc:
        text = str(exc)
        raise CellError(
            "more than 2 decimals in a yuan amount" if "decimals" in text else "not a yuan amount"
        ) from None
    if fen is None:
        raise CellError("empty yuan amount")
    return fen


def _scaled(value: Any, factor: int, what: str, decimals: int) -> int:
    text = _number_text(value).replace(",", "").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(f"not {what}") from None
    if not number.is_finite():
        raise CellError(f"not {what}")
    scaled = number * factor
    if scaled != scaled.to_integral_value():
        raise CellError(f"more than {decimals} decimals in {what}")
    return int(scaled)


def to_bp(value: Any, col: Column) -> int:
    """'20%' / '20.5%' -> 2000 / 2050 basis points; an Excel percent cell (0.205) -> 2050."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _scaled(value, 10000, "a percentage", 2)
    text = str(value).strip()
    if not text.endswith(("%", "％")):
        raise CellError("expected a percentage like 20% or 20.5%")
    return _scaled(text[:-1].strip(), 100, "a percentage", 2)


def to_grams(value: Any, col: Column) -> int:
    """Kilograms with up to 3 decimals -> integer grams ('1.234' -> 1234, '2kg' -> 2000)."""
    if isinstance(value, str):
        value = re.sub(r"(?i)\s*(kg|公斤|千克)$", "", value.strip())
    return _scaled(value, 1000, "a weight in kg", 3)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=SHANGHAI) if dt.tzinfo is None else dt


def to_ts(value: Any, col: Column) -> datetime:
    """Local time as Asia/Shanghai -> aware datetime (an explicit offset in the text is honoured)."""
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=SHANGHAI)
    text = str(value).strip()
    m = _TS_RE.match(text)
    if m:
        y, mo, d, h, mi, s, frac = m.groups()
        try:
            return datetime(
                int(y), int(mo), int(d), int(h), int(mi), int(s or 0), int((frac or "0").ljust(6, "0")), tzinfo=SHANGHAI
            )
        except ValueError:
            raise CellError("not a valid date-time") from None
    try:
        return _aware(datetime.fromisoformat(text))
    except ValueError:
        raise CellError("not a date-time like YYYY-MM-DD HH:MM:SS") from None


def to_date(value: Any, col: Column) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise CellError("expected a date, found a date-time")
        return value.date()
    if isinstance(value, date):
        return value
    text = _number_text(value) if isinstance(value, int) else str(value).strip()
    m = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if not m:
        raise CellError("not a date like YYYY-MM-DD")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise CellError("not a valid date") from None


def to_enum(value: Any, col: Column) -> str | int:
    text = to_str(value, col).strip()
    if text in col.values:
        return col.values[text]
    for canonical in col.values.values():  # already canonical (e.g. 0/1, 'live')
        if text == str(canonical):
            return canonical
    raise CellError(f"unknown value; expected one of {', '.join(col.values)}")


CONVERTERS: dict[str, Callable[[Any, Column], Any]] = {
    "id": to_id,
    "str": to_str,
    "int": to_int,
    "fen": to_fen,
    "ts": to_ts,
    "date": to_date,
    "bp": to_bp,
    "grams": to_grams,
    "enum": to_enum,
}


def convert(raw: Any, col: Column) -> Any:
    """The landed value of one cell, or ``CellError``. Empty cells: None if nullable, else an error."""
    value = clean(raw, col.ctype)
    if value is None:
        if col.nullable:
            return None
        raise CellError("required value is empty")
    return CONVERTERS[col.ctype](value, col)
