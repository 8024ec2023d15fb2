"""The packages show the product: ``douyin_etl`` and ``dags/`` never import the simulated platform
(``douyin_sim``) except in the demo's wiring, and ``douyin_sim`` never imports the DAGs or that wiring.

Read from the source with ``ast`` (every ``import``/``from … import``, at any depth, relative imports
resolved, ``importlib.import_module("…")``/``__import__("…")`` with a literal name), so an import
inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM = ("douyin_sim",)
PRODUCT = ("douyin_etl", "dags")
DEMO_WIRING = ("douyin_etl/demo.py",)  # the one product module that may import douyin_sim
SIM_MUST_NOT_IMPORT = ("dags", "douyin_etl.demo", "douyin_etl.cli")  # the platform comes before the product


@dataclass(frozen=True)
class Violation:
    path: str  # relative to the scanned root
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def _package_of(rel: Path) -> list[str]:
    parts = list(rel.with_suffix("").parts)
    return parts[:-1]  # a module's package; for __init__.py the package itself is parts[:-1] too


def imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """``(line, dotted module)`` for every import in ``path``; ``from a import b`` yields ``a`` and ``a.b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path.relative_to(root))
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__"):
                yield node.lineno, node.args[0].value


def _under(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(
    root: Path, packages: Iterable[str], forbidden: Iterable[str], allowed: Iterable[str] = ()
) -> list[Violation]:
    """Imports of ``forbidden`` modules by the ``.py`` files under ``root/<package>`` (except ``allowed``)."""
    forbidden, allowed = tuple(forbidden), set(allowed)
    found: set[Violation] = set()
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel in allowed:
                continue
            for line, module in imported_modules(path, root):
                if _under(module, forbidden):
                    found.add(Violation(rel, line, module))
    # ``from a import b`` is one import: report its most specific name
    kept = {
        v
        for v in found
        if not any((o.path, o.line) == (v.path, v.line) and o.module.startswith(v.module + ".") for o in found)
    }
    return sorted(kept, key=lambda v: (v.path, v.line, v.module))


def test_the_product_imports_the_simulated_platform_only_in_the_demo_wiring():
    found = violations(ROOT, PRODUCT, SIM, allowed=DEMO_WIRING)
    assert not found, (
        "the product imports the simulated platform outside the demo's wiring "
        f"({', '.join(DEMO_WIRING)}); move that wiring there:\n" + "\n".join(map(str, found))
    )


def test_the_demo_wiring_is_where_the_simulated_platform_comes_in():
    """The allowance is not stale: the demo's wiring does import douyin_sim (and so is the only way in)."""
    for rel in DEMO_WIRING:
        assert any(_under(m, SIM) for _, m in imported_modules(ROOT / rel, ROOT)), rel


def test_the_simulated_platform_never_imports_the_dags_or_the_demo_wiring():
    found = violations(ROOT, SIM, SIM_MUST_NOT_IMPORT)
    assert not found, (
        "douyin_sim may use the product's contracts (entities, file and endpoint specs, money, "
        "time) but not the DAGs or the demo's wiring:\n" + "\n".join(map(str, found))
    )


def test_the_check_names_file_and_line_of_each_violation(tmp_path):
    """The check can fail: imports at any depth, relative, from-package and importlib ones are caught."""
    (tmp_path / "douyin_etl" / "sources").mkdir(parents=True)
    (tmp_path / "dags").mkdir()
    (tmp_path / "douyin_sim" / "mock_api").mkdir(parents=True)
    (tmp_path / "douyin_etl" / "demo.py").write_text("from douyin_sim.simulator import generate_world\n")
    (tmp_path / "douyin_etl" / "sources" / "x.py").write_text(
        "import json\n"
        "def f():\n"
        "    from douyin_sim.simulator import generate_world\n"
        "    import douyin_sim.mock_api as m\n"
        "    return importlib.import_module('douyin_sim.mock_api.testing')\n"
        "from douyin_sim import mock_api\n"
    )
    (tmp_path / "dags" / "d.py").write_text("x = 1\nfrom douyin_sim.mock_api import MockServer\n")
    (tmp_path / "douyin_sim" / "mock_api" / "app.py").write_text(
        "from douyin_etl.sources import specs\nfrom ...dags import d\nfrom douyin_etl import demo\n"
    )
    assert [str(v) for v in violations(tmp_path, PRODUCT, SIM, allowed=DEMO_WIRING)] == [
        "dags/d.py:2 imports douyin_sim.mock_api.MockServer",
        "douyin_etl/sources/x.py:3 imports douyin_sim.simulator.generate_world",
        "douyin_etl/sources/x.py:4 imports douyin_sim.mock_api",
        "douyin_etl/sources/x.py:5 imports douyin_sim.mock_api.testing",
        "douyin_etl/sources/x.py:6 imports douyin_sim.mock_api",
    ]
    assert [str(v) for v in violations(tmp_path, SIM, SIM_MUST_NOT_IMPORT)] == [
        "douyin_sim/mock_api/app.py:2 imports dags.d",
        "douyin_sim/mock_api/app.py:3 imports douyin_etl.demo",
    ]
