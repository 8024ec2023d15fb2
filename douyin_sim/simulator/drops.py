"""Write a business day's file drops from canonical-name frames, driven by the file specs.

This is the reverse of ingestion (``douyin_etl.sources.files``): both read
``douyin_etl/sources/files/specs.py``, the one home of file formats. For each spec the writer
formats every column by its ``ctype`` the way the real files look:

- ``fen``    integer fen -> yuan with two decimals, some files with thousands separators ``1,234.56``
- ``id``     string; in some files numeric ids carry Excel protection (a leading ``'`` or a tab)
- ``ts``     unix seconds -> Asia/Shanghai local ``YYYY-MM-DD HH:MM:SS`` (3PL/carrier: ``YYYY/MM/DD HH:MM``)
- ``date``   ``datetime.date`` -> ``YYYY-MM-DD`` (3PL/carrier: ``YYYY/MM/DD``)
- ``bp``     basis points -> ``"20%"`` / ``"20.5%"``;  ``grams`` -> kg with up to 3 decimals
- ``enum``   canonical value -> the file's word (the spec mapping, inverted)

Encoding (UTF-8 / UTF-8 with BOM / GBK), format (CSV or XLSX among the spec's formats), thousands
separators and id protection are chosen deterministically per (seed, entity, file-name group), so the
same shop's downloads always look alike and two runs write byte-identical files. Every file is written
to a temporary sibling and renamed into place.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import logging
import os
import re
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from douyin_etl.entities import ENTITIES
from douyin_etl.sources.files.specs import SPECS, Column, FileSpec
from douyin_etl.timeutil import SHANGHAI
from douyin_sim.simulator.logistics import CARRIER_NAMES  # carrier code -> name printed on invoices

log = logging.getLogger(__name__)

# Sources whose partners (3PL warehouses, carriers) write their own date formats.
_PARTNER_SOURCES = frozenset({"wms", "carrier"})
_DATE_FMT = {False: "%Y-%m-%d", True: "%Y/%m/%d"}

# Choices and their weights (out of 100), picked per (seed, entity, group) from a hash.
_ENCODINGS = (("utf-8", 40), ("utf-8-sig", 30), ("gbk", 30))
_ID_PROTECTION = (("", 40), ("'", 35), ("\t", 25))
_THOUSANDS_SHARE = 40

# A fixed timestamp for XLSX document properties and zip entries (byte-identical output).
_XLSX_FIXED = datetime(2020, 1, 1, 0, 0, 0)
_ZIP_DATE_TIME = (2020, 1, 1, 0, 0, 0)


class DropWriteError(ValueError):
    """A frame cannot be written as its file format (message names entity, column and value)."""


@dataclass(frozen=True)
class FileStyle:
    fmt: str  # "csv" | "xlsx"
    encoding: str  # python codec for CSV ("utf-8", "utf-8-sig", "gbk"); unused for xlsx
    thousands: bool  # money (and large ints) with thousands separators
    id_prefix: str  # "" | "'" | "\t": Excel protection of numeric ids
    partner_dates: bool  # 3PL/carrier formats: YYYY/MM/DD [HH:MM]


def _pick(h: bytes, i: int, choices: tuple[tuple[str, int], ...]) -> str:
    roll = h[i] * 100 // 256
    acc = 0
    for value, weight in choices:
        acc += weight
        if roll < acc:
            return value
    return choices[-1][0]


def file_style(seed: int, spec: FileSpec, group_values: tuple[str, ...]) -> FileStyle:
    """The deterministic look of ``spec``'s files for one file-name group (e.g. one shop)."""
    key = f"{seed}|{spec.entity}|{'|'.join(group_values)}".encode()
    h = hashlib.sha256(key).digest()
    fmt = spec.formats[h[0] % len(spec.formats)]
    return FileStyle(
        fmt=fmt,
        encoding=_pick(h, 1, _ENCODINGS),
        thousands=h[2] * 100 // 256 < _THOUSANDS_SHARE,
        id_prefix=_pick(h, 3, _ID_PROTECTION),
        partner_dates=spec.entity in ENTITIES and ENTITIES[spec.entity].source in _PARTNER_SOURCES,
    )


# -- file names ------------------------------------------------------------------------------

_DAY_RE = r"(?P<file_date>\d{8})"


def file_name(spec: FileSpec, groups: dict[str, str], ext: str) -> str:
    """Build a file name from the spec's pattern (named groups filled in); see ``FileSpec.file_name``."""
    try:
        return spec.file_name(groups, ext)
    except (ValueError, KeyError) as exc:
        raise DropWriteError(
            f"{spec.entity}: cannot build a file name from {groups} for {spec.pattern!r} ({exc}); "
            "check the file-name values"
        ) from None


# -- column formatting -------------------------------------------------------------------------


def _is_null(series: pd.Series) -> np.ndarray:
    return pd.isna(series).to_numpy()


def _int_array(spec: FileSpec, col: Column, series: pd.Series, null: np.ndarray) -> np.ndarray:
    """Integer values as int64 (empty cells as 0; ``null`` says which)."""
    try:
        arr = pd.to_numeric(series.where(~null, 0), errors="raise").to_numpy()
    except (TypeError, ValueError) as exc:
        raise DropWriteError(f"{spec.entity}.{col.name}: expected integers ({col.ctype}), got {exc}") from None
    if arr.dtype.kind == "f" and (~np.isfinite(arr) | (arr != np.round(arr))).any():
        row = int(np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))[0])
        raise DropWriteError(
            f"{spec.entity}.{col.name}: {arr[row]!r} at row {row} is not an integer "
            f"({col.ctype}: money in fen, weights in grams, rates in basis points)"
        )
    return arr.astype(np.int64)


_TWO_DIGITS = np.array([f"{i:02d}" for i in range(100)], dtype=object)


def _int_text(a: np.ndarray, thousands: bool) -> np.ndarray:
    out = a.astype(str).astype(object)
    if thousands:
        big = np.abs(a) >= 1000
        if big.any():
            out[big] = [f"{x:,}" for x in a[big].tolist()]
    return out


def _yuan_text(a: np.ndarray, thousands: bool) -> np.ndarray:
    """Fen -> yuan text with two decimals, exact (integer arithmetic only)."""
    m = np.abs(a)
    out = _int_text(m // 100, thousands) + "." + _TWO_DIGITS[m % 100]
    neg = a < 0
    if neg.any():
        out[neg] = "-" + out[neg]
    return out


def _blank(out: np.ndarray, null: np.ndarray) -> list[str]:
    out[null] = ""
    return out.tolist()


def _check_nulls(spec: FileSpec, col: Column, null: np.ndarray) -> None:
    if null.any() and not col.nullable:
        row = int(np.flatnonzero(null)[0])
        raise DropWriteError(
            f"{spec.entity}.{col.name} ({col.header}) is empty at row {row} but the spec "
            f"does not allow empty cells; fill it or mark the column nullable in specs.py"
        )


def _fmt_bp(v: int) -> str:
    q, r = divmod(v, 100)
    return f"{q}%" if r == 0 else f"{q}.{r:02d}".rstrip("0") + "%"


def _fmt_kg(v: int) -> str:
    q, r = divmod(v, 1000)
    return str(q) if r == 0 else f"{q}.{r:03d}".rstrip("0")


def _local_time_text(unix: np.ndarray, partner: bool) -> np.ndarray:
    """Unix seconds -> Asia/Shanghai wall-clock text, vectorised (tz conversion by pandas, text by numpy).

    ``YYYY-MM-DD HH:MM:SS``, or ``YYYY/MM/DD HH:MM`` for partner (3PL/carrier) files.
    """
    local = pd.to_datetime(unix, unit="s", utc=True).tz_convert(SHANGHAI).tz_localize(None)
    text = np.datetime_as_string(local.to_numpy().astype("datetime64[s]"), unit="m" if partner else "s")
    text = np.strings.replace(text, "T", " ")
    if partner:
        text = np.strings.replace(text, "-", "/")
    return text.astype(object)


def _format_column(spec: FileSpec, col: Column, series: pd.Series, style: FileStyle) -> list[Any]:
    """Cell values of one column: strings, except ``int`` cells of XLSX files (numbers)."""
    series = series.reset_index(drop=True)
    null = _is_null(series)
    ctype = col.ctype
    if ctype == "ts":
        num = pd.to_numeric(series.where(~null), errors="raise")
        if col.nullable:
            null = null | (num.fillna(0).to_numpy() == 0)
        _check_nulls(spec, col, null)
        out = np.full(len(series), "", dtype=object)
        if (~null).any():
            out[~null] = _local_time_text(num[~null].astype("int64").to_numpy(), style.partner_dates)
        return out.tolist()
    _check_nulls(spec, col, null)
    if ctype == "id":
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            text = pd.Series(series.where(~null, 0).astype("int64").astype(str).to_numpy(dtype=object))
        elif pd.api.types.is_string_dtype(series.dtype) and not null.any():
            text = pd.Series(series.to_numpy(dtype=object), dtype=object)
        else:
            text = pd.Series(
                [
                    v if isinstance(v, str) else str(int(v)) if isinstance(v, (int, np.integer)) else str(v)
                    for v in series.where(~null, "").tolist()
                ],
                dtype=object,
            )
        text[null] = ""
        if style.id_prefix:
            digits = text.str.isdigit().to_numpy(dtype=bool)
            text[digits] = style.id_prefix + text[digits]
        return text.tolist()
    if ctype == "str":
        if pd.api.types.is_string_dtype(series.dtype) and not null.any():
            return series.to_numpy(dtype=object).tolist()
        return ["" if n else str(v) for v, n in zip(series.tolist(), null)]
    if ctype == "int":
        ints = _int_array(spec, col, series, null)
        if style.fmt == "xlsx":  # numeric cells
            obj = ints.astype(object)
            obj[null] = None
            return obj.tolist()
        return _blank(_int_text(ints, style.thousands), null)
    if ctype == "fen":
        return _blank(_yuan_text(_int_array(spec, col, series, null), style.thousands), null)
    if ctype == "bp":
        return _blank(np.array([_fmt_bp(v) for v in _int_array(spec, col, series, null).tolist()], dtype=object), null)
    if ctype == "grams":
        return _blank(np.array([_fmt_kg(v) for v in _int_array(spec, col, series, null).tolist()], dtype=object), null)
    if ctype == "date":
        out = np.full(len(series), "", dtype=object)
        if (~null).any():
            d = pd.to_datetime(series[~null].map(lambda x: x.isoformat() if isinstance(x, date) else x))
            out[~null] = d.dt.strftime(_DATE_FMT[style.partner_dates]).to_numpy(dtype=object)
        return out.tolist()
    if ctype == "enum":
        inverse = {v: word for word, v in col.values.items()}
        words = series.map(lambda v: inverse.get(v.item() if isinstance(v, np.generic) else v))
        bad = words.isna().to_numpy() & ~null
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DropWriteError(
                f"{spec.entity}.{col.name}: value {series.iloc[row]!r} at row {row} is not one "
                f"of {sorted(inverse, key=str)} (spec {col.header} values)"
            )
        return ["" if n else w for w, n in zip(words.tolist(), null)]
    raise DropWriteError(f"{spec.entity}.{col.name}: unknown ctype {ctype!r}")


# -- writers -----------------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def csv_bytes(header: list[str], columns: list[list[Any]], encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(zip(*columns))
    text = buf.getvalue()
    if encoding == "gbk":
        try:
            return text.encode("gbk")
        except UnicodeEncodeError:  # a character outside GBK: GB18030 is its superset, decodes the same
            log.debug("text not encodable in GBK, writing GB18030")
            return text.encode("gb18030")
    return text.encode(encoding)


_SHEET_XML = "xl/worksheets/sheet1.xml"


@functools.lru_cache(maxsize=1)
def _xlsx_skeleton() -> tuple[tuple[tuple[str, bytes], ...], str, str]:
    """The package parts openpyxl (write-only mode) writes for a one-sheet workbook, made once.

    Returns (zip entries in openpyxl's order, sheet XML before ``<sheetData>``, after ``</sheetData>``).
    Document properties carry a fixed created/modified date.
    """
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    wb.properties.created = _XLSX_FIXED
    wb.properties.modified = _XLSX_FIXED
    wb.properties.creator = "douyin_etl"
    wb.create_sheet("Sheet1").append(["x"])
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()  # not save_workbook(): that stamps "modified" with now
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as z:
        entries = tuple((i.filename, z.read(i.filename)) for i in z.infolist())
    sheet = dict(entries)[_SHEET_XML].decode("utf-8")
    head, sep1, rest = sheet.partition("<sheetData>")
    _, sep2, tail = rest.partition("</sheetData>")
    if not (sep1 and sep2 and "<sheetViews>" in head):
        raise RuntimeError("unexpected openpyxl sheet XML; cannot build XLSX drops with this openpyxl version")
    return entries, head, tail


def xlsx_bytes(header: list[str], columns: list[list[Any]]) -> bytes:
    """An XLSX workbook (one sheet) with fixed document dates and zip timestamps: byte-identical output.

    The package (content types, styles, theme, workbook, properties) is openpyxl's own, written once in
    write-only mode; the rows of ``sheetData`` are rendered here in the XML openpyxl writes (inline
    strings, numbers as ``t="n"``) because openpyxl's per-cell serialiser takes ~8 µs a cell (a 30k-row
    settlement bill would take 5 s instead of 0.3 s). Empty cells are written as ``<c/>`` and the
    sheet has a ``<dimension>``, so read-only readers see full-width rows.
    """
    entries, head, tail = _xlsx_skeleton()
    n_rows = 1 + (len(columns[0]) if columns else 0)
    dim = f'<dimension ref="A1:{_col_letter(max(len(header), 1) - 1)}{n_rows}" />'
    header_row = (
        '<row r="1">'
        + "".join(
            f'<c r="{_col_letter(i)}1" t="inlineStr"><is><t>{_xml_text(h)}</t></is></c>' for i, h in enumerate(header)
        )
        + "</row>"
    )
    sheet = (
        head.replace("<sheetViews>", dim + "<sheetViews>", 1)
        + "<sheetData>"
        + header_row
        + _sheet_rows(columns, first_row=2)
        + "</sheetData>"
        + tail
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            zi = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)  # zipfile would stamp the current time
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, sheet.encode("utf-8") if name == _SHEET_XML else data)
    return out.getvalue()


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(v: str) -> str:
    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _ILLEGAL_XML.search(v):
        v = _ILLEGAL_XML.sub("", v)
    return v


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _column_cells(values: list[Any]) -> list[str]:
    """The ``<c>`` element of every value of one column (no ``r``: readers count cells in order)."""
    first = next((v for v in values if v is not None and v != ""), "")
    if isinstance(first, str):  # a column is homogeneous: text (with None/"" for empty) or numbers
        texts = ["" if v is None else v for v in values]
        joined = "".join(texts)
        if any(ch in joined for ch in "&<>") or _ILLEGAL_XML.search(joined):
            texts = [_xml_text(t) for t in texts]
        cells = ['<c t="inlineStr"><is><t>' + t + "</t></is></c>" if t else "<c/>" for t in texts]
        if any(w in joined for w in " \t\n\r"):  # maybe leading/trailing whitespace (e.g. tab-protected ids)
            cells = [
                c.replace("<t>", '<t xml:space="preserve">', 1) if t != t.strip() else c for c, t in zip(cells, texts)
            ]
        return cells
    out = []
    for v in values:
        if v is None or v == "":
            out.append("<c/>")
        elif isinstance(v, str):
            t = _xml_text(v)
            space = ' xml:space="preserve"' if t != t.strip() else ""
            out.append(f'<c t="inlineStr"><is><t{space}>{t}</t></is></c>')
        else:
            out.append(f'<c t="n"><v>{v}</v></c>')
    return out


def _sheet_rows(columns: list[list[Any]], first_row: int) -> str:
    per_column = [_column_cells(col) for col in columns]
    return "".join(
        f'<row r="{r}">' + "".join(cells) + "</row>" for r, cells in enumerate(zip(*per_column), start=first_row)
    )


# -- the day writer ----------------------------------------------------------------------------


def _group_columns(spec: FileSpec) -> list[str]:
    return [g for g in spec.file_columns if g != "file_date"]


def _with_defaults(spec: FileSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Fill derivable file-name groups and optional columns; fail clearly on missing required ones."""
    frame = frame.reset_index(drop=True)
    if "warehouse_code" in spec.file_columns and "warehouse_code" not in frame and "warehouse_id" in frame:
        frame["warehouse_code"] = frame["warehouse_id"]
    if spec.entity == "freight_invoice" and "carrier_name" not in frame and "carrier" in frame:
        frame["carrier_name"] = frame["carrier"].map(CARRIER_NAMES).fillna(frame["carrier"])
    for col in spec.columns:
        if col.name not in frame:
            if col.required and not col.nullable:
                raise DropWriteError(
                    f"{spec.entity}: frame has no column {col.name!r} ({col.header}); "
                    f"columns given: {sorted(frame.columns)}"
                )
            frame[col.name] = None
    for g in _group_columns(spec):
        if g not in frame:
            raise DropWriteError(
                f"{spec.entity}: frame has no file-name column {g!r} (needed for the file name {spec.pattern!r})"
            )
    return frame


def _write_spec(out_dir: Path, spec: FileSpec, day: date, frame: pd.DataFrame, seed: int) -> dict[str, int]:
    frame = _with_defaults(spec, frame)
    groups = _group_columns(spec)
    header = [c.header for c in spec.columns]
    written: dict[str, int] = {}
    parts: Iterable[tuple[tuple[str, ...], pd.DataFrame]]
    if groups:
        keys = frame[groups].astype(str)
        parts = (
            (k if isinstance(k, tuple) else (k,), frame.loc[idx])
            for k, idx in keys.groupby(groups, sort=True).groups.items()
        )
        parts = sorted(parts, key=lambda kv: kv[0])
    else:
        parts = [((), frame)]
    for key, part in parts:
        style = file_style(seed, spec, key)
        name = file_name(spec, {**dict(zip(groups, key)), "file_date": day.strftime("%Y%m%d")}, style.fmt)
        columns = [_format_column(spec, c, part[c.name], style) for c in spec.columns]
        if style.fmt == "xlsx":
            data = xlsx_bytes(header, columns)
        else:
            data = csv_bytes(header, columns, style.encoding)
        _atomic_write(out_dir / name, data)
        written[name] = len(part)
    return written


def day_dir(out: Path, day: date) -> Path:
    return Path(out) / "drops" / day.isoformat()


_DAILY_GROUP = {"daily_per_shop": "shop_id", "daily_per_warehouse": "warehouse_code"}


def _write_header_only(out_dir: Path, spec: FileSpec, day: date, key: str, seed: int) -> str:
    """The file a shop or 3PL sends on a day with nothing to report: the header row, no data rows."""
    style = file_style(seed, spec, (key,))
    name = file_name(spec, {_DAILY_GROUP[spec.cadence]: key, "file_date": day.strftime("%Y%m%d")}, style.fmt)
    header = [c.header for c in spec.columns]
    empty: list[list[Any]] = [[] for _ in spec.columns]
    _atomic_write(
        out_dir / name, xlsx_bytes(header, empty) if style.fmt == "xlsx" else csv_bytes(header, empty, style.encoding)
    )
    return name


def write_day(
    out: Path, day: date, frames: dict[str, pd.DataFrame], seed: int, senders: dict[str, list[str]] | None = None
) -> dict[str, int]:
    """Write every file of business day ``day`` into ``out/drops/YYYY-MM-DD/``.

    ``frames``: entity name (a key of ``SPECS``) -> canonical-name frame plus its file-name columns
    (``shop_id``, ``warehouse_code`` — defaulted from ``warehouse_id`` —, ``carrier``). Money in fen,
    times in unix seconds, dates as ``datetime.date``. One file per (entity, file-name group); an empty
    frame writes nothing, except ``stock_snapshot`` (written for every warehouse it lists).
    ``senders``: ``{"shop_id": [...], "warehouse_code": [...]}``, the shops and warehouses that send a
    daily file even on a quiet day (the spec's ``cadence`` daily_per_shop / daily_per_warehouse with
    ``empty_ok``): for each of them without rows a header-only file is written, as the real senders do.
    Files of other entities already in the folder are left alone, so a day may be written in several
    calls. Returns rows per written file name.
    """
    target = day_dir(out, day)
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for entity in sorted(frames):
        spec = SPECS.get(entity)
        if spec is None:
            hint = " (an Open API entity: write it under platform/, not as a drop)" if entity in ENTITIES else ""
            raise DropWriteError(f"no file spec for entity {entity!r}{hint}; known: {', '.join(sorted(SPECS))}")
        frame = frames[entity]
        group = _DAILY_GROUP.get(spec.cadence) if spec.empty_ok else None
        quiet = list((senders or {}).get(group, [])) if group else []
        if frame is not None and len(frame) and quiet:
            having = set(_with_defaults(spec, frame)[group].astype(str))
            quiet = [k for k in quiet if str(k) not in having]
        for key in quiet:
            written[_write_header_only(target, spec, day, str(key), seed)] = 0
        if frame is None or (len(frame) == 0 and entity != "stock_snapshot"):
            continue
        if len(frame) == 0:
            log.warning("stock_snapshot for %s has no rows (no warehouses): no file written", day)
            continue
        written.update(_write_spec(target, spec, day, frame, seed))
    log.debug("drops %s: %d files, %d rows", day, len(written), sum(written.values()))
    return written


# -- back-office exports (noise the pipeline does not land) ----------------------------------------


def _x(header: str, name: str, ctype: str = "str", **kw: Any) -> Column:
    return Column(header, name, ctype, required=False, nullable=True, **kw)  # type: ignore[arg-type]


_ORDER_STATUS_WORDS = {1: "待支付", 2: "待发货", 3: "已发货", 4: "已关闭", 5: "已完成", 101: "部分发货", 105: "已支付"}
_AFTERSALE_TYPE_WORDS = {0: "退货退款", 1: "已发货仅退款", 2: "未发货仅退款", 3: "换货", 6: "价保", 7: "补寄"}
_AFTERSALE_STATUS_WORDS = {
    6: "待商家处理",
    7: "待买家退货",
    11: "待退款",
    12: "售后成功",
    27: "商家拒绝",
    28: "售后关闭",
}
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")

# Column sets of the reference (doudian-open-api.md, "What merchants download by hand"); PII masked.
EXPORT_SPECS: dict[str, FileSpec] = {
    "order_export": FileSpec(
        "order_export",
        rf"订单导出_(?P<shop_id>\d+)_{_DAY_RE}\.(?:csv|xlsx)",
        (
            _x("主订单编号", "parent_order_id", "id"),
            _x("子订单编号", "order_id", "id"),
            _x("选购商品", "product_name"),
            _x("商品ID", "product_id", "id"),
            _x("商品规格", "spec_text"),
            _x("商品数量", "item_num", "int"),
            _x("商品单价", "unit_price_fen", "fen"),
            _x("订单应付金额", "pay_amount", "fen"),
            _x("支付方式", "pay_method"),
            _x("手续费", "fee_fen", "fen"),
            _x("收件人", "mask_receiver"),
            _x("收件人手机号", "mask_tel"),
            _x("省", "province"),
            _x("市", "city"),
            _x("区", "town"),
            _x("街道", "street"),
            _x("详细地址", "mask_detail"),
            _x("买家留言", "buyer_words"),
            _x("商家备注", "seller_words"),
            _x("订单提交时间", "create_time", "ts"),
            _x("支付完成时间", "pay_time", "ts"),
            _x("发货时间", "ship_time", "ts"),
            _x("订单完成时间", "finish_time", "ts"),
            _x("承诺发货时间", "exp_ship_time", "ts"),
            _x("预约发货时间", "appointment_ship_time", "ts"),
            _x("APP渠道", "app_channel"),
            _x("流量来源", "traffic_source"),
            _x("广告渠道", "ad_channel"),
            _x("订单类型", "order_type"),
            _x("订单状态", "order_status_text"),
            _x("售后状态", "aftersale_text"),
            _x("取消原因", "cancel_reason"),
            _x("达人ID", "author_id", "id"),
            _x("达人昵称", "author_name"),
            _x("是否安心购", "anxin"),
            _x("平台实际承担优惠金额", "promotion_platform_amount", "fen"),
            _x("商家实际承担优惠金额", "promotion_shop_amount", "fen"),
            _x("达人实际承担优惠金额", "promotion_talent_amount", "fen"),
        ),
        description="订单导出 (not landed)",
    ),
    "aftersale_export": FileSpec(
        "aftersale_export",
        rf"售后导出_(?P<shop_id>\d+)_{_DAY_RE}\.(?:csv|xlsx)",
        (
            _x("订单号", "shop_order_id", "id"),
            _x("商品单号", "related_id", "id"),
            _x("售后单号", "aftersale_id", "id"),
            _x("售后类型", "aftersale_type_text"),
            _x("售后状态", "aftersale_status_text"),
            _x("售后申请时间", "apply_time", "ts"),
            _x("售后原因", "reason"),
            _x("售后原因标签", "reason_tag"),
            _x("退货物流单号", "return_logistics_code", "id"),
            _x("退货发货时间", "return_ship_time", "ts"),
            _x("同意售后申请时间", "agree_time", "ts"),
            _x("商家退款时间", "refund_time", "ts"),
            _x("用户到账时间", "arrive_time", "ts"),
            _x("售后关闭时间", "close_time", "ts"),
            _x("售后完结时间", "finish_time", "ts"),
            _x("仲裁状态", "arbitrate_text"),
            _x("纠纷责任方", "liable"),
            _x("用户售后说明", "buyer_note"),
            _x("售后备注", "remark"),
        ),
        description="售后导出 (not landed)",
    ),
}


def _masked(keys: pd.Series, seed: int) -> tuple[pd.Series, pd.Series]:
    """Masked receiver ('张**') and phone ('138****1234') derived from a stable hash of the key."""
    h = pd.util.hash_array(
        keys.astype(str).to_numpy(dtype=object), hash_key=hashlib.sha256(f"{seed}:mask".encode()).hexdigest()[:16]
    ).astype(np.uint64)
    surname = np.array(_SURNAMES, dtype=object)[(h % np.uint64(len(_SURNAMES))).astype(np.int64)]
    prefix = np.array(["138", "139", "150", "186", "177", "135"], dtype=object)[(h >> np.uint64(8)) % np.uint64(6)]
    tail = pd.Series(((h >> np.uint64(16)) % np.uint64(10000)).astype(np.int64)).astype(str).str.zfill(4)
    return (pd.Series(surname) + "**", pd.Series(prefix) + "****" + tail)


def _enum_text(series: pd.Series | None, words: dict[int, str], n: int) -> pd.Series:
    if series is None:
        return pd.Series([None] * n, dtype=object)
    return pd.to_numeric(series, errors="coerce").map(words)


def _traffic_source(so: pd.DataFrame) -> pd.Series | None:
    """流量来源 by the contract's channel precedence (alliance, live, video, search, card)."""
    if not {"c_biz", "room_id_str", "video_id", "send_pay"} <= set(so.columns):
        return None
    blank = lambda c: so[c].fillna("").astype(str).isin(["", "0"])  # noqa: E731
    return pd.Series(
        np.select(
            [so["c_biz"].eq(2), ~blank("room_id_str"), ~blank("video_id"), so["send_pay"].eq(1)],
            ["精选联盟", "直播", "短视频", "搜索"],
            default="商品卡",
        ),
        index=so.index,
    )


def write_exports(
    out: Path, day: date, sku_orders: pd.DataFrame, after_sales: pd.DataFrame, seed: int
) -> dict[str, int]:
    """订单导出 / 售后导出 files of ``day`` per shop (realistic noise; ingestion ignores these names).

    ``sku_orders``: sku_order API columns (+ optional province/city); ``after_sales``: after_sale API
    columns. Missing columns are left empty. Receiver and phone are masked, never real.
    """
    target = day_dir(out, day)
    written: dict[str, int] = {}
    if sku_orders is not None and len(sku_orders):
        so = sku_orders.reset_index(drop=True)
        col = lambda c: so[c] if c in so else None  # noqa: E731
        recv, tel = _masked(so["parent_order_id"] if "parent_order_id" in so else so["order_id"], seed)
        frame = pd.DataFrame({c.name: col(c.name) for c in EXPORT_SPECS["order_export"].columns})
        frame["shop_id"] = so["shop_id"].astype(str)
        if "origin_amount" in so and "item_num" in so:
            frame["unit_price_fen"] = (so["origin_amount"] // so["item_num"].clip(lower=1)).astype("int64")
        frame["spec_text"] = so["spec"].astype(str) if "spec" in so else None
        frame["mask_receiver"], frame["mask_tel"] = recv, tel
        frame["mask_detail"] = "****"
        frame["fee_fen"] = 0
        frame["pay_method"] = "在线支付"
        frame["app_channel"] = "抖音"
        frame["order_type"] = "普通订单"
        frame["anxin"] = "否"
        frame["order_status_text"] = _enum_text(col("order_status"), _ORDER_STATUS_WORDS, len(so))
        frame["traffic_source"] = _traffic_source(so)
        for t in ("create_time", "pay_time", "ship_time", "finish_time", "exp_ship_time"):
            if t in frame:
                frame[t] = pd.to_numeric(frame[t], errors="coerce").where(lambda v: v > 0)
        written.update(_write_spec(target, EXPORT_SPECS["order_export"], day, frame, seed))
    if after_sales is not None and len(after_sales):
        a = after_sales.reset_index(drop=True)
        frame = pd.DataFrame(
            {c.name: (a[c.name] if c.name in a else None) for c in EXPORT_SPECS["aftersale_export"].columns}
        )
        frame["shop_id"] = a["shop_id"].astype(str)
        frame["aftersale_type_text"] = _enum_text(a.get("aftersale_type"), _AFTERSALE_TYPE_WORDS, len(a))
        frame["aftersale_status_text"] = _enum_text(a.get("aftersale_status"), _AFTERSALE_STATUS_WORDS, len(a))
        for t in ("apply_time", "refund_time"):
            frame[t] = pd.to_numeric(frame[t], errors="coerce").where(lambda v: v > 0)
        frame["arrive_time"] = frame["refund_time"]
        written.update(_write_spec(target, EXPORT_SPECS["aftersale_export"], day, frame, seed))
    return written
