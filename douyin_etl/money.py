"""Money: integer fen everywhere; yuan only at the edges (files, Qianchuan), converted exactly."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


class MoneyError(ValueError):
    pass


def yuan_to_fen(value: str | int | Decimal | None) -> int | None:
    """'1,234.56' -> 123456. Exact decimal arithmetic; rejects more than 2 decimals and junk.

    Accepts thousands separators, a leading '¥'/'￥', surrounding spaces and a leading apostrophe.
    Empty -> None. Raises MoneyError naming the value otherwise.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return value * 100
    text = str(value).strip().lstrip("'\t").replace(",", "").replace("¥", "").replace("￥", "").strip()
    if text in ("", "-", "--"):
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyError(f"not a yuan amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not a yuan amount: {value!r}")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f"more than 2 decimals in yuan amount: {value!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def rate_of(amount_fen: int, rate_bp: int) -> int:
    """A fee of ``rate_bp`` basis points (1/10000) on ``amount_fen``, rounded half up to the fen.

    The one rounding rule used by the simulator, the marts (see dbt macro fee_of) and the tests.
    """
    return int((Decimal(amount_fen) * rate_bp / Decimal(10000)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
