"""Read the rows of one dropped file (CSV in UTF-8 / UTF-8 with BOM / GBK, or XLSX), streaming.

``open_table(path)`` returns a ``Table``: file facts (sha256, size, format, encoding), the header
cells (row 1) and an iterator of ``(row_number, cells)`` for the data rows, numbered as a
spreadsheet shows them (header = row 1). Bad files raise ``FileIngestError``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from douyin_etl.sources.files.errors import FileIngestError

_CHUNK = 1 << 20
BOM = codecs.BOM_UTF8
_REDOWNLOAD = "re-download the file (it is damaged or incomplete) and drop it again, then rerun this day"


def norm_header(header: Any) -> str:
    """Header as compared: NFKC (full-width brackets -> ASCII), no spaces, case-folded."""
    text = "" if header is None else str(header)
    return "".join(unicodedata.normalize("NFKC", text).split()).lstrip("\ufeff").casefold()


@dataclass
class Table:
    path: Path
    sha256: str
    size: int
    format: str  # csv | xlsx
    encoding: str | None  # utf-8 | utf-8-sig | gb18030 (csv); None for xlsx (zip/XML, always UTF-8)
    header: list[Any]
    rows: Iterator[tuple[int, list[Any]]]
    truncated_hint: bool = False  # csv without a final newline


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _decodes(path: Path, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' (BOM), 'utf-8', or 'gb18030' (GBK and its superset); else ``FileIngestError``."""
    with path.open("rb") as fh:
        head = fh.read(len(BOM))
    if _decodes(path, "utf-8-sig"):
        return "utf-8-sig" if head == BOM else "utf-8"
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise FileIngestError(
        str(path.name),
        "undecodable: neither UTF-8 nor GBK/GB18030",
        "re-export the file as UTF-8 (or GBK) CSV, or as XLSX",
    )


def _csv_rows(path: Path, codec: str) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding=codec, errors="strict", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        n = 0
        try:
            for cells in reader:
                n += 1
                yield n, cells
        except csv.Error as exc:
            raise FileIngestError(
                path.name,
                f"malformed or truncated CSV after row {n} ({exc})",
                "re-download or re-export the file; check it was copied completely",
            ) from None
        except (OSError, UnicodeError) as exc:  # the file changed or vanished while being read
            raise FileIngestError(
                path.name, f"unreadable CSV after row {n} ({type(exc).__name__}: {exc})", _REDOWNLOAD
            ) from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from douyin_etl.sources.files.xlsx import XlsxSheet

    try:
        sheet = XlsxSheet.open(path)
    except Exception as exc:  # noqa: BLE001 - BadZipFile, a missing part (KeyError), broken XML, bad CRC…
        raise FileIngestError(
            path.name,
            f"unreadable XLSX ({type(exc).__name__}: {exc})",
            "re-download the file; an .xlsx must be a complete Excel workbook",
        ) from None
    n = 0
    try:
        for n, row in enumerate(sheet.rows(), start=1):
            yield n, list(row)
    except Exception as exc:  # noqa: BLE001 - zlib.error ("Error -3 while decompressing"), bad CRC, broken XML…
        raise FileIngestError(
            path.name,
            f"unreadable or damaged XLSX after row {n} ({type(exc).__name__}: {exc})",
            _REDOWNLOAD + "; an .xlsx must be a complete Excel workbook",
        ) from None
    finally:
        sheet.close()


def blank_row(cells: list[Any]) -> bool:
    """No cell, or only empty / whitespace-only ones."""
    for c in cells:
        if c is not None and not (isinstance(c, str) and c.strip() == ""):
            return False
    return True


def open_table(path: Path, sha256: str | None = None) -> Table:
    """Facts and a streaming row iterator of ``path``; raises ``FileIngestError`` for bad files.

    ``sha256``: the file's checksum when the caller already computed it."""
    size = path.stat().st_size
    if size == 0:
        raise FileIngestError(path.name, "empty file (0 bytes)", "re-download the file; the export did not complete")
    sha = sha256 or file_sha256(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        encoding = detect_encoding(path)
        with path.open("rb") as fh:
            fh.seek(-1, 2)
            no_final_newline = fh.read(1) not in (b"\n", b"\r")
        rows = _csv_rows(path, "utf-8-sig" if encoding.startswith("utf-8") else encoding)
        fmt = "csv"
    elif suffix == ".xlsx":
        encoding, no_final_newline, fmt = None, False, "xlsx"
        rows = _xlsx_rows(path)
    else:
        raise FileIngestError(path.name, f"unsupported format {suffix!r}", "deliver the file as .csv or .xlsx")
    header: list[Any] | None = None
    for _, cells in rows:
        if not blank_row(cells):
            header = cells
            break
        raise FileIngestError(path.name, "row 1 (the header row) is empty", "put the column headers in the first row")
    if header is None:
        raise FileIngestError(
            path.name, "empty file (no header row, no data)", "re-download the file; the export did not complete"
        )
    return Table(path, sha, size, fmt, encoding, header, rows, truncated_hint=no_final_newline)


def has_data_rows(path: Path) -> bool:
    """Whether the file has a non-blank row after its header (stops at the first one)."""
    table = open_table(path)
    return any(not blank_row(cells) for _, cells in table.rows)
