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


def _module_name(path: Path) -> str:
    parts = ("coplib", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the coplib modules it imports (every import: typing-only and function-local
    ones too), each import resolved to the longest existing module name."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {resolve(m) for m in imported_modules(path) if m.split(".")[0] == "coplib"}
        # An import of a parent package from inside it is not an edge of a cycle we can break.
        graph[name] = {t for t in targets if t and t != name and not name.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_anywhere_in_coplib_typing_only_and_function_local_imports_included() -> None:
    assert _cycles(_import_graph()) == []


def test_the_layer_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml: layers, a pure domain, adapters outside the
    service layer, policies without adapters."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], capture_output=True, text=True, cwd=PACKAGE.parents[1], check=False
    )

    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
