from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from douyin_etl.sources.files.convert import convert
from douyin_etl.sources.files.errors import CellError
from douyin_etl.sources.files.specs import Column
from douyin_etl.timeutil import SHANGHAI


def col(ctype: str, **kw) -> Column:
    return Column("h", "c", ctype, **kw)


@pytest.mark.parametrize(
    "raw, fen",
    [
        ("0.29", 29),
        ("1,234.56", 123456),
        ("'12.30", 1230),
        ("-5.5", -550),
        ("¥8", 800),
        (0.29, 29),
        (12, 1200),
        (1234.56, 123456),
        ("0.07", 7),
        ("19.99", 1999),
        (" 3.10 ", 310),
    ],
)
def test_yuan_to_fen_exact(raw, fen):
    assert convert(raw, col("fen")) == fen


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("1.234", "more than 2 decimals in a yuan amount"),
        ("abc", "not a yuan amount"),
        (0.001, "more than 2 decimals"),
        ("", "required value is empty"),
        (True, "boolean"),
    ],
)
def test_yuan_rejects(raw, reason):
    with pytest.raises(CellError, match=reason):
        convert(raw, col("fen"))


def test_nullable_empty():
    assert convert("  ", col("fen", nullable=True)) is None
    assert convert(None, col("str", nullable=True)) is None


@pytest.mark.parametrize(
    "raw, out",
    [
        ("'6912345678901234567", "6912345678901234567"),
        ("\t6912345678901234567", "6912345678901234567"),
        ('="0012"', "0012"),
        (3601, "3601"),
        (3601.0, "3601"),
    ],
)
def test_ids(raw, out):
    assert convert(raw, col("id")) == out


def test_imprecise_float_id_rejected():
    with pytest.raises(CellError, match="imprecise"):
        convert(6.912345678901235e18, col("id"))


@pytest.mark.parametrize("raw, bp", [("20%", 2000), ("20.5%", 2050), ("0.25%", 25), (0.205, 2050), ("７%", 700)])
def test_bp(raw, bp):
    assert convert(raw, col("bp")) == bp


@pytest.mark.parametrize("raw", ["20", "20.555%", "abc%"])
def test_bp_rejects(raw):
    with pytest.raises(CellError):
        convert(raw, col("bp"))


@pytest.mark.parametrize("raw, g", [("1.234", 1234), ("2", 2000), (0.5, 500), ("3kg", 3000), ("1,000.5", 1000500)])
def test_grams(raw, g):
    assert convert(raw, col("grams")) == g


def test_grams_rejects_four_decimals():
    with pytest.raises(CellError, match="more than 3 decimals"):
        convert("1.2345", col("grams"))


@pytest.mark.parametrize(
    "raw",
    [
        "2026-03-01 10:05:00",
        "2026/03/01 10:05",
        "2026/3/1 10:05:00",
        "2026-03-01T10:05:00",
        "2026-03-01T02:05:00+00:00",
        datetime(2026, 3, 1, 10, 5),
    ],
)
def test_ts_is_shanghai(raw):
    got = convert(raw, col("ts"))
    assert got.utcoffset() is not None
    assert got == datetime(2026, 3, 1, 10, 5, tzinfo=SHANGHAI)
    assert got.astimezone(UTC) == datetime(2026, 3, 1, 2, 5, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["2026-02-30 10:00:00", "yesterday", "10:00"])
def test_ts_rejects(raw):
    with pytest.raises(CellError):
        convert(raw, col("ts"))


@pytest.mark.parametrize("raw", ["2026-03-01", "2026/3/1", "20260301", datetime(2026, 3, 1), date(2026, 3, 1)])
def test_dates(raw):
    assert convert(raw, col("date")) == date(2026, 3, 1)


def test_int_and_enum():
    assert convert("1,234", col("int")) == 1234
    assert convert(7.0, col("int")) == 7
    with pytest.raises(CellError, match="not an integer"):
        convert("1.5", col("int"))
    e = col("enum", values={"已结算": 0, "结算后退款": 1})
    assert convert("结算后退款", e) == 1 and convert("0", e) == 0
    with pytest.raises(CellError, match="unknown value"):
        convert("其他", e)


def test_text_keeps_apostrophe():
    assert convert("'quoted' name", col("str")) == "'quoted' name"


def test_fen_fast_path_agrees_with_money_module():
    from douyin_etl.money import yuan_to_fen

    samples = [
        f"{sign}{w}{sep}{f}"
        for sign in ("", "-")
        for w in ("0", "7", "12", "999", "1,000", "12,345,678")
        for sep, f in ((".", "5"), (".", "05"), (".", "50"), ("", ""))
    ]
    for text in samples:
        assert convert(text, col("fen")) == yuan_to_fen(text), text
    for bad in ("1,23.45", "1,2345", "12.", ".5", "1.2.3"):
        try:
            want = yuan_to_fen(bad)
        except ValueError:
            want = "error"
        try:
            got = convert(bad, col("fen"))
        except CellError:
            got = "error"
        assert got == want, bad
