"""The mart catalog, read from the marts' dbt yml (``dbt_project/models/marts/**/*.yml``; schemas per folder from
``dbt_project.yml``).

One source of truth for what analysts see: schema.table, grain (keys), columns with type, unit and
description. ``render_markdown()`` produces the catalog section of docs/analyst-guide.md;
``python -m douyin_etl.access.catalog --write docs/analyst-guide.md`` refreshes that section (and the
example queries) in place, between ``<!-- BEGIN … -->`` / ``<!-- END … -->`` markers, so the guide
never drifts from the yml.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from douyin_etl import config

log = logging.getLogger(__name__)

MARTS_DIR = config.DBT_PROJECT_DIR / "models" / "marts"
SCHEMA_ORDER = ("sales", "finance", "inventory", "performance")
# Business-date column used for freshness and period filters, by preference (first present wins).
BUSINESS_DATE_COLUMNS = (
    "date_day",
    "refund_date",
    "settle_date",
    "pay_date",
    "stat_date",
    "stock_date",
    "movement_date",
    "live_date",
    "bill_date",
    "alert_date",
    "as_of_date",
    "last_pay_date",
    "snapshot_date",
)
# Tables whose dates are not "data up to" (a calendar spanning years): no freshness.
NO_FRESHNESS = frozenset({"dim_date"})


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    data_type: str
    description: str

    @property
    def unit(self) -> str:
        return unit_of(self.name, self.data_type, self.description)


@dataclass(frozen=True)
class ModelDoc:
    name: str
    schema: str
    description: str
    keys: tuple[str, ...]
    columns: tuple[ColumnDoc, ...] = field(default=())
    yml_path: str = ""

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnDoc:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(
            f"{self.relation} has no column {name!r} in {self.yml_path}; columns: "
            f"{', '.join(c.name for c in self.columns)}"
        )

    @property
    def business_date_column(self) -> str | None:
        if self.name in NO_FRESHNESS:
            return None
        names = {c.name for c in self.columns}
        return next((c for c in BUSINESS_DATE_COLUMNS if c in names), None)


def unit_of(name: str, data_type: str, description: str = "") -> str:
    """Unit of a column from its name, type and description (the yml's descriptions end with the unit)."""
    t = data_type.lower()
    d = description.lower().rstrip(". ")
    if name.endswith("_yuan"):
        return "yuan (CNY, 2 decimals)"
    if name.endswith("_fen"):
        return "fen (integer, 1/100 yuan)"
    if name.endswith("_bp"):
        return "basis points (1/10000)"
    if t == "date":
        return "date (Asia/Shanghai)"
    if t.startswith("timestamp"):
        return "instant (TIMESTAMPTZ)"
    if t == "boolean":
        return "flag"
    if d.endswith("count") or d.endswith("(count)") or re.search(r"\b(lines|orders|rows)\b", name):
        return "count"
    if name.endswith(("_qty", "_units")) or name in ("quantity", "signed_quantity", "item_num", "items", "units_sold"):
        return "units"
    if name.endswith("_days") or "days" in name:
        return "days"
    if name.endswith(("_rate", "ctr")) or name.endswith("_share"):
        return "fraction (0..1)"
    if name.endswith("_hours"):
        return "hours"
    if name.endswith("_seconds"):
        return "seconds"
    if name.endswith("_minutes"):
        return "minutes"
    if t in ("bigint", "integer", "hugeint"):
        return "count"
    if t == "double":
        return "number"
    if name.endswith(("_id", "_no", "_key", "_cid")):
        return "id"
    return "text"


def _keys(model: dict) -> tuple[str, ...]:
    for test in model.get("data_tests") or model.get("tests") or []:
        if isinstance(test, dict) and "unique_combination_of_columns" in test:
            spec = test["unique_combination_of_columns"] or {}
            cols = (spec.get("arguments") or spec).get("combination_of_columns") or []
            return tuple(cols)
    for col in model.get("columns") or []:
        for test in col.get("data_tests") or col.get("tests") or []:
            if test == "unique" or (isinstance(test, dict) and "unique" in test):
                return (col["name"],)
    return ()


def folder_schemas(project_dir: Path) -> dict[str, str]:
    """Schema of each marts folder as dbt_project.yml sets it (``models: douyin: marts: <folder>: +schema``).

    A folder is not always its schema: ``core/`` (conformed dimensions and facts) lands in ``sales``.
    """
    path = project_dir / "dbt_project.yml"
    project = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    marts = ((project.get("models") or {}).get(project.get("name")) or {}).get("marts") or {}
    return {
        folder: str(cfg["+schema"]) for folder, cfg in marts.items() if isinstance(cfg, dict) and cfg.get("+schema")
    }


def load_catalog(marts_dir: Path | None = None) -> list[ModelDoc]:
    """Every mart model documented in the yml under ``marts_dir``, ordered by schema then name."""
    marts_dir = Path(marts_dir or MARTS_DIR)
    if not marts_dir.is_dir():
        raise FileNotFoundError(f"no marts directory at {marts_dir}; is DOUYIN_HOME pointing at the checkout?")
    project_dir = marts_dir.parent.parent
    schemas = folder_schemas(project_dir) if (project_dir / "dbt_project.yml").is_file() else {}
    out: list[ModelDoc] = []
    for yml in sorted(marts_dir.rglob("*.yml")):
        data = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
        schema = schemas.get(yml.parent.name, yml.parent.name)
        for m in data.get("models") or []:
            columns = tuple(
                ColumnDoc(c["name"], str(c.get("data_type") or ""), " ".join(str(c.get("description") or "").split()))
                for c in m.get("columns") or []
            )
            if not columns:
                continue
            out.append(
                ModelDoc(
                    m["name"],
                    (m.get("config") or {}).get("schema", schema),
                    " ".join(str(m.get("description") or "").split()),
                    _keys(m),
                    columns,
                    str(yml.relative_to(marts_dir.parent.parent.parent) if marts_dir.is_absolute() else yml),
                )
            )
    rank = {s: i for i, s in enumerate(SCHEMA_ORDER)}
    out.sort(key=lambda d: (rank.get(d.schema, 99), d.name))
    return out


def model(name: str, catalog: list[ModelDoc] | None = None) -> ModelDoc:
    for d in catalog if catalog is not None else load_catalog():
        if d.name == name or d.relation == name:
            return d
    raise KeyError(f"no mart {name!r} documented under {MARTS_DIR}")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(catalog: list[ModelDoc] | None = None) -> str:
    """The catalog as Markdown: an index table, then one section per mart with its columns."""
    catalog = catalog if catalog is not None else load_catalog()
    lines = ["| table | grain (unique keys) | business date | description |", "| --- | --- | --- | --- |"]
    for d in catalog:
        first = re.split(r"(?<=\.)\s+(?=[A-Z])", d.description, maxsplit=1)[0]
        first = first if len(first) <= 180 else first[:177].rsplit(" ", 1)[0] + " …"
        lines.append(
            f"| `{d.relation}` | {', '.join(d.keys) or '—'} | {d.business_date_column or '—'} | {_md(first)} |"
        )
    for d in catalog:
        lines += [
            "",
            f"#### `{d.relation}`",
            "",
            _md(d.description),
            "",
            f"Grain / unique keys: {', '.join(f'`{k}`' for k in d.keys) or 'not declared'}.",
            "",
            "| column | type | unit | description |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| `{c.name}` | {c.data_type} | {c.unit} | {_md(c.description)} |" for c in d.columns]
    return "\n".join(lines) + "\n"


def replace_section(text: str, name: str, body: str) -> str:
    """Replace what sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` with ``body``."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers {begin} … {end} not found; add them where the section belongs")
    return pattern.sub(lambda _m: f"{begin}\n{body.rstrip()}\n{end}", text)


def generated_sections() -> dict[str, str]:
    from douyin_etl.access.examples import render_markdown as render_examples

    return {"mart-catalog": render_markdown(), "example-queries": render_examples()}


def refresh_guide(path: Path) -> bool:
    """Rewrite the generated sections of ``path``; returns True when the file changed."""
    text = path.read_text(encoding="utf-8")
    new = text
    for name, body in generated_sections().items():
        new = replace_section(new, name, body)
    if new == text:
        return False
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="render the mart catalog from the marts' yml")
    p.add_argument("--write", type=Path, help="refresh the generated sections of this Markdown file")
    args = p.parse_args(argv)
    if args.write:
        changed = refresh_guide(args.write)
        print(f"{args.write}: {'updated' if changed else 'already up to date'}")
    else:
        sys.stdout.write(render_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
