"""Meta tests: the documentation says what the code does, and fails the build when it drifts
(compare datasette's tests/test_docs.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import tomllib
from pathlib import Path

import pytest

import coplib
from coplib.bootstrap.open import default_plugins
from coplib.bootstrap.plugins import DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP
from coplib.cli import docgen as _docgen
from coplib.domain import validation
from coplib.domain.errors import CoplibError, InvalidInputError
from coplib.domain.permissions import PERMISSION_TABLE, Action
from coplib.domain.validation import check_fields
from coplib.ports import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def hookspec_functions() -> dict[str, object]:
    """Every hookspec, found by pluggy's marker (independently of how _docgen finds them)."""
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
    }


# -- generated pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(_docgen.PAGES))
def test_each_generated_page_is_what_docgen_writes_today(name: str) -> None:
    assert page(name) == _docgen.PAGES[name](), f"docs/{name} is stale: run `python -m coplib.cli.docgen`"


def test_the_permissions_page_is_generated_from_the_permission_table() -> None:
    text = page("permissions.md")
    assert text == _docgen.permissions_markdown()
    for action, rule in PERMISSION_TABLE.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{action.value}` | "))
        assert rule.summary in row
        for role in rule.roles:
            assert role.value in row
    assert set(PERMISSION_TABLE) == set(Action), "every action has a rule"


@pytest.mark.parametrize(
    "situation",
    [
        "this person is unknown to the identity directory",
        "this person has left the organisation or is inactive",
        "this person was removed from the community and holds no right in it",
        "the community is closed",
        "`coplib.SYSTEM` (`coplib:system`)",
    ],
)
def test_the_permissions_page_states_each_general_rule(situation: str) -> None:
    assert situation in page("permissions.md")


def test_every_hookspec_is_in_the_hook_catalogue_with_its_current_docstring() -> None:
    text = page("hooks.md")
    specs = hookspec_functions()
    assert specs, "no hookspec found"
    for name, spec in specs.items():
        assert f"### `{name}`" in text, f"{name} is missing from docs/hooks.md"
        docstring = inspect.getdoc(spec)
        assert docstring, f"{name} has no docstring"
        assert docstring in text, f"the docstring of {name} in docs/hooks.md is stale"
    assert set(_docgen.hookspec_names()) == set(specs)


def test_every_hookspec_says_how_its_results_combine() -> None:
    for name, spec in hookspec_functions().items():
        assert "Combination:" in (inspect.getdoc(spec) or ""), name


def test_the_limits_page_states_every_limit_constant_with_its_value() -> None:
    text = page("limits.md")
    constants = {
        name: value
        for name, value in vars(validation).items()
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and type(value) is int
    }
    assert {"TITLE_MAX", "BODY_MAX_BYTES", "TAGS_MAX", "ID_MAX"} <= set(constants)
    for name, value in constants.items():
        assert f"| `{name}` | {value} |" in text, f"docs/limits.md does not state {name} = {value}"


@pytest.mark.parametrize(
    "limit", _docgen.LIMITS, ids=[f"{limit.cls.__name__}.{limit.field}-{limit.unit}" for limit in _docgen.LIMITS]
)
def test_every_limit_the_docs_state_is_the_one_the_validators_enforce(limit: _docgen.Limit) -> None:
    check_fields(limit.cls, "docs", **{limit.field: limit.sample(limit.value)})
    with pytest.raises(InvalidInputError) as refused:
        check_fields(limit.cls, "docs", **{limit.field: limit.sample(limit.value + 1)})
    assert all(error.path.startswith(f"$.{limit.field}") for error in refused.value.errors)
    assert f"`{limit.cls.__name__}.{limit.field}`" in page("limits.md")


def test_the_limits_page_states_the_text_rule_and_classifies_every_free_text_field() -> None:
    text = page("limits.md")
    assert "## Text people write" in text
    for stated in ("U+0000 to U+001F", "U+007F to U+009F", "U+202A to U+202E", "U+2066 to U+2069", "category Cs"):
        assert stated in text
    rows = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines() if line.startswith("| `")}
    for cls in _docgen.text_field_classes():
        one_line, several = rows[cls.__name__].split(" | ")[1:3]
        for name, rule in validation.text_rules(cls).items():
            assert f"`{name}`" in (several if rule.multiline else one_line), f"{cls.__name__}.{name}"


def test_the_limits_page_states_the_limit_of_every_call_that_takes_one() -> None:
    text = page("limits.md")
    for name in _docgen.QUERY_LIMITS:
        assert f"| `engine.{name}` |" in text
    with_limit = {
        name
        for name in dir(coplib.Engine)
        if not name.startswith("_")
        and callable(member := getattr(coplib.Engine, name))
        and "limit" in inspect.signature(member).parameters
    }
    assert with_limit == set(_docgen.QUERY_LIMITS)


def test_docgen_check_reports_a_stale_page_and_rewrites_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _docgen.main(["--docs", str(tmp_path)]) == 0
    assert _docgen.main(["--docs", str(tmp_path), "--check"]) == 0
    (tmp_path / "hooks.md").write_text("# Hooks\n\nout of date\n")
    assert _docgen.main(["--docs", str(tmp_path), "--check"]) == 1
    assert "out of date: hooks.md" in capsys.readouterr().out
    assert _docgen.main(["--docs", str(tmp_path)]) == 0
    assert (tmp_path / "hooks.md").read_text() == _docgen.hooks_markdown()


# -- the public API ---------------------------------------------------------------------------


def test_every_public_class_and_function_has_a_docstring() -> None:
    missing = []
    for name in coplib.__all__:
        obj = getattr(coplib, name)
        if inspect.isclass(obj):
            doc = obj.__dict__.get("__doc__")  # its own, not one inherited from a base class
        elif inspect.isfunction(obj):
            doc = obj.__doc__
        else:
            continue
        if not (doc or "").strip():
            missing.append(name)
    assert not missing, f"public names without a docstring: {', '.join(missing)}"


def test_errors_page_describes_every_error_family_and_its_attributes() -> None:
    text = page("errors.md")
    families = [
        obj for name in coplib.__all__ if inspect.isclass(obj := getattr(coplib, name)) and issubclass(obj, CoplibError)
    ]
    assert len(families) >= 6
    for family in families:
        assert f"`{family.__name__}`" in text, f"docs/errors.md does not describe {family.__name__}"
        if "__init__" in vars(family):
            for parameter in inspect.signature(family.__init__).parameters:
                if parameter not in ("self", "message"):
                    assert f"`{parameter}`" in text, f"docs/errors.md omits {family.__name__}.{parameter}"


def every_coplib_error() -> list[type[CoplibError]]:
    """Every error class coplib defines, found from the root (not from the page), once every
    module of coplib is imported (an error class exists only once its module is)."""
    for module in pkgutil.walk_packages(coplib.__path__, "coplib."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[CoplibError]] = []
    pending = [CoplibError]
    while pending:
        family = pending.pop()
        found.append(family)
        pending.extend(c for c in family.__subclasses__() if c.__module__.startswith("coplib."))
    return found


def test_the_errors_tree_places_every_error_under_its_parent_and_says_where_it_lives() -> None:
    tree = page("errors.md").split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    depth = {line.lstrip("│├└─ ").split()[0]: len(line) - len(line.lstrip("│├└─ ")) for line in tree}
    for error in every_coplib_error():
        assert error.__name__ in depth, f"the tree of docs/errors.md leaves out {error.__name__}"
        line = next(line for line in tree if line.lstrip("│├└─ ").split()[0] == error.__name__)
        if error is not CoplibError:
            parent = error.__bases__[0].__name__
            assert depth[error.__name__] > depth[parent], f"{error.__name__} is not under {parent}"
        if error.__name__ not in coplib.__all__ or error.__module__ != "coplib.domain.errors":
            assert error.__module__ in line, f"the tree does not say {error.__name__} lives in {error.__module__}"
        also = re.search(r"also an? (\w+)", line)
        assert also is None or also.group(1) in {b.__name__ for b in error.__mro__}, line
        if error.__bases__[0] is CoplibError:  # a family: the built-in error it also is, stated
            for builtin in (LookupError, ValueError):
                if issubclass(error, builtin):
                    assert f"also a {builtin.__name__}" in line, line


def test_dependencies_page_explains_every_dependency_and_extra() -> None:
    text = page("dependencies.md")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra, extra_requirements in project["optional-dependencies"].items():
        assert f"`{extra}`" in text, f"docs/dependencies.md does not explain the extra {extra}"
        requirements += extra_requirements
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert name is not None
        assert name.group(0) in text, f"docs/dependencies.md does not explain {name.group(0)}"


def test_plugins_page_names_every_built_in_plugin() -> None:
    text = page("plugins.md")
    for name, _ in default_plugins():
        assert f"`{name}`" in text, f"docs/plugins.md does not list the built-in plugin {name}"

    assert f"`{DISABLE_AUTOLOAD_ENV}=1`" in text
    assert f"[project.entry-points.{ENTRY_POINT_GROUP}]" in text


# -- the map and the links ------------------------------------------------------------------------


def test_the_docs_index_links_to_every_page() -> None:
    index = page("index.md")
    for path in sorted(DOCS.glob("*.md")):
        if path.name != "index.md":
            assert f"]({path.name})" in index, f"docs/index.md does not link to {path.name}"


@pytest.mark.parametrize(
    "path",
    [README, *(DOCS / name for name in ("index.md", "concepts.md", "architecture.md", "plugins.md", "errors.md"))],
    ids=lambda p: p.name,
)
def test_relative_links_point_to_files_that_exist(path: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{path.name} links to {target}, which does not exist"


# -- the README -----------------------------------------------------------------------------------


def quickstart_commands() -> list[str]:
    """The lines of the first code block under ``## Quickstart``, read as .ci/run reads them."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Quickstart")
    fences = [i for i in range(start, len(lines)) if lines[i].startswith("```")]
    return [line for line in lines[fences[0] + 1 : fences[1]] if line.strip()]


def test_the_readme_opens_with_a_title_a_paragraph_and_the_quickstart() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# coplib"
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[0] == "## Quickstart", "the Quickstart comes right after the description"
    before = "\n".join(lines[1 : lines.index("## Quickstart")]).strip()
    assert before and "\n\n" not in before, "one paragraph of description before the Quickstart"


def test_the_readme_quickstart_has_exactly_two_commands_one_for_the_demo_one_for_the_tests() -> None:
    commands = quickstart_commands()
    assert len(commands) == 2, commands
    demo, tests = commands
    assert demo.startswith("python3 -m venv .venv && ") and demo.endswith("coplib demo")
    assert "pip install -e ." in demo
    assert tests.startswith("python3 -m venv .venv && ")
    assert "pip install -e '.[dev]'" in tests and "-m pytest" in tests


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "README.md" in ci and "## Quickstart" in ci, ".ci/run must take its test command from the README"
