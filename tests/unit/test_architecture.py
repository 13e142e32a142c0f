"""Dependencies point inward: the domain imports the standard library, attrs and itself, and
nothing in coplib's core needs a test library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import coplib

PACKAGE = Path(coplib.__file__).parent
DOMAIN_MODULES = sorted((PACKAGE / "domain").rglob("*.py"))
CORE_MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts)

#: What the domain must never import: outer layers, plugin and serialization machinery, drivers.
FORBIDDEN_IN_DOMAIN = (
    "coplib.adapters",
    "coplib.bootstrap",
    "coplib.cli",
    "coplib.health",
    "coplib.importers",
    "coplib.notification",
    "coplib.policies",
    "coplib.ports",
    "coplib.runtime",
    "coplib.serialization",
    "coplib.service",
    "coplib.simulation",
    "pluggy",
    "cattrs",
    "sqlite3",
    "psycopg",
)
ALLOWED_THIRD_PARTY_IN_DOMAIN = {"attrs"}


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module `path` imports, anywhere in it (also inside functions), made absolute."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    package = ".".join(("coplib", *path.relative_to(PACKAGE).parent.parts))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def names_module(imported: str, forbidden: str) -> bool:
    return imported == forbidden or imported.startswith(forbidden + ".")


def test_the_domain_has_modules_to_check() -> None:
    assert {p.stem for p in DOMAIN_MODULES} >= {"community", "events", "history", "permissions", "validation"}


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: p.stem)
def test_the_domain_imports_nothing_from_outer_layers_or_their_libraries(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) for f in FORBIDDEN_IN_DOMAIN if names_module(m, f))

    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: p.stem)
def test_the_domain_uses_only_the_standard_library_attrs_and_itself(path: Path) -> None:
    tops = {m.split(".")[0] for m in imported_modules(path)}
    third_party = {t for t in tops if t not in sys.stdlib_module_names and t not in ("coplib", "__future__")}

    assert third_party <= ALLOWED_THIRD_PARTY_IN_DOMAIN


def test_the_import_checker_sees_relative_imports_inside_functions() -> None:
    source = "def f():\n    from ..adapters import memory\n    import pluggy\n    from . import errors\n"

    found = imported_modules(PACKAGE / "domain" / "probe.py", source)

    assert {"coplib.adapters", "coplib.adapters.memory", "pluggy", "coplib.domain.errors"} <= found


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_coplib_never_imports_hypothesis_or_pytest(path: Path) -> None:
    tops = {m.split(".")[0] for m in imported_modules(path)}

    assert not tops & {"hypothesis", "pytest", "_pytest"}


def test_importing_coplib_and_opening_an_engine_loads_no_test_library() -> None:
    code = (
        "import sys, coplib\n"
        "engine = coplib.open('memory://')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hypothesis', 'pytest', '_pytest')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"
