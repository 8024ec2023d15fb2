"""Bad batches for the end-to-end tests: edit a drop file of a generated world for a while, then restore it."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path


def _decode(raw: bytes) -> tuple[str, str]:
    """(encoding, text) of a drop CSV: senders write UTF-8 (with or without BOM) or GBK."""
    try:
        return ("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"), raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "gb18030", raw.decode("gb18030")


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_decode(path.read_bytes())[1], newline="")))


@contextlib.contextmanager
def bad_drop(path: Path, edit: Callable[[list[list[str]]], None]) -> Iterator[None]:
    """Rewrite the drop CSV ``path`` with ``edit(rows)`` (header first) for the body of the block, in the
    encoding its sender used, then restore its bytes."""
    original = path.read_bytes()
    encoding, text = _decode(original)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    edit(rows)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    try:
        yield
    finally:
        path.write_bytes(original)


def shipment_csv(drops_day: Path) -> Path:
    """The first 3PL 发货明细 CSV of a drop day that holds a shipment line."""
    for path in sorted(drops_day.glob("发货明细_*.csv")):
        if len([r for r in read_rows(path) if r]) > 1:
            return path
    raise AssertionError(f"no 发货明细 CSV with a shipment line in {drops_day}")
