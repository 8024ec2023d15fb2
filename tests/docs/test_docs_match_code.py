"""The docs and the dbt project agree with the code: sources = the entity registry, links stay inside."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from douyin_etl.entities import ENTITIES

ROOT = Path(__file__).resolve().parents[2]
DBT = ROOT / "dbt_project"
DOCS = [ROOT / "README.md", DBT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _dbt_sources() -> dict[tuple[str, str], str]:
    """(source, table) -> the table's resolved external location, from every ``_*__sources.yml``."""
    out: dict[tuple[str, str], str] = {}
    for path in sorted((DBT / "models").rglob("*sources.yml")):
        for src in yaml.safe_load(path.read_text(encoding="utf-8")).get("sources") or []:
            loc = (src.get("meta") or {}).get("external_location", "")
            for table in src.get("tables") or []:
                table_loc = (table.get("meta") or {}).get("external_location", loc)
                out[(src["name"], table["name"])] = table_loc.replace("{name}", table["name"])
    return out


def test_dbt_sources_are_exactly_the_entity_registry() -> None:
    sources = _dbt_sources()
    registry = {(e.source, e.name) for e in ENTITIES.values()}
    assert set(sources) - registry == set(), "dbt sources with no entity in douyin_etl/entities.py"
    assert registry - set(sources) == set(), "registered entities dbt does not declare as a source"


def test_each_dbt_source_reads_its_entitys_landing_dir() -> None:
    for (source, name), location in _dbt_sources().items():
        landing_dir = ENTITIES[name].landing_dir
        assert f"/{landing_dir}/" in location, f"source {source}.{name} reads {location!r}, not {landing_dir}"


_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_doc_links_resolve_inside_the_repository() -> None:
    broken = []
    for doc in DOCS:
        for target in _LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://|^mailto:", target):
                continue
            resolved = (doc.parent / target).resolve()
            if not resolved.exists() or ROOT not in resolved.parents:
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


def _repo_text_files() -> list[Path]:
    keep = {".md", ".yml", ".yaml", ".sql", ".py", ".toml", ".cfg", ".txt"}
    skip = {".venv", ".git", "target", "logs", "__pycache__", "dbt_packages", "node_modules"}
    return [
        p
        for p in ROOT.rglob("*")
        if p.suffix in keep and p.is_file() and not skip.intersection(p.relative_to(ROOT).parts) and p != Path(__file__)
    ]


def test_nothing_points_outside_the_repository() -> None:
    """The repository stands on its own: no reference documents outside it, metrics only in docs/."""
    offenders = []
    for path in _repo_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if "../shared" in line or "shared/reference" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}")
            # the metric definitions live in docs/metrics.md: a bare "metrics.md" elsewhere means a lost document
            for m in re.finditer(r"[\w./-]*metrics\.md", line):
                ref = m.group(0)
                if not (ref.endswith("docs/metrics.md") or (path.parent.name == "docs" and ref == "metrics.md")):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {ref}")
    assert offenders == []
