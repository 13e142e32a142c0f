"""The public API: every name in `coplib.__all__` exists, is importable from `coplib`, and the
package ships `py.typed` so that type checkers read its annotations."""

from __future__ import annotations

import importlib.resources
import inspect

import pytest

import coplib


def test_all_names_each_public_name_once() -> None:
    assert len(coplib.__all__) == len(set(coplib.__all__))


@pytest.mark.parametrize("name", coplib.__all__)
def test_every_public_name_exists(name: str) -> None:
    assert getattr(coplib, name, None) is not None


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from coplib import *", namespace)

    assert set(namespace) - {"__builtins__"} == set(coplib.__all__)


def test_public_classes_and_functions_are_documented() -> None:
    undocumented = [
        name
        for name in coplib.__all__
        if (inspect.isclass(getattr(coplib, name)) or inspect.isfunction(getattr(coplib, name)))
        and not inspect.getdoc(getattr(coplib, name))
    ]

    assert undocumented == []


def test_errors_share_one_root() -> None:
    errors = [getattr(coplib, n) for n in coplib.__all__ if n.endswith("Error") and n != "FieldError"]

    assert errors
    assert all(issubclass(e, coplib.CoplibError) for e in errors)


def test_open_is_the_documented_entry_point() -> None:
    assert coplib.open is coplib.open_engine
    engine = coplib.open("memory://")
    assert isinstance(engine, coplib.Engine)
    engine.close()


def test_the_package_ships_py_typed() -> None:
    marker = importlib.resources.files("coplib") / "py.typed"

    assert marker.is_file()
