"""The ``fast`` extra (orjson) writes exactly what the standard library writes, byte for byte,
and reads back exactly what it reads: a store written with one reads the same with the other,
and a host without the extra loses nothing but speed."""

from __future__ import annotations

import enum
import io
import json
import sqlite3
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

# The fast extra is part of the dev extra, which the test command installs: without it these
# tests fail to import rather than skip.
import orjson  # noqa: F401
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coplib import serialization as ser
from coplib.domain.events import EVENT_TYPES
from coplib.domain.history import AGGREGATE_KINDS
from coplib.simulation.demo import run_demo
from coplib.testing import strategies as cst
from tests.scale import examples

#: JSON values as the dumpers make them: no floats (no domain type holds one, see below).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def test_with_orjson_installed_the_stores_write_through_it() -> None:
    assert ser.FAST_JSON
    assert ser._ENCODE is ser._encode_fast and ser._LOADS_STORED is ser._loads_fast


def both(value: Any) -> tuple[str, str]:
    return ser._encode_fast(value), ser._encode_stdlib(value)


@given(json_values)
def test_any_json_value_is_written_the_same_text_and_read_back_the_same(value: Any) -> None:
    fast, stdlib = both(value)
    assert fast == stdlib
    assert ser._loads_fast(stdlib) == ser._loads_stdlib(stdlib) == value


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
@settings(max_examples=examples(20))
@given(data=st.data())
def test_every_event_is_written_the_same_text(type_name: str, data: st.DataObject) -> None:
    event = data.draw(cst.EVENT_STRATEGIES[type_name]())
    fast, stdlib = both(ser._dump(event))
    assert fast == stdlib
    assert ser.event_from_stored(fast) == event


@pytest.mark.parametrize("kind", sorted(AGGREGATE_KINDS))
@settings(max_examples=examples(20))
@given(data=st.data())
def test_every_aggregate_is_written_the_same_text(kind: str, data: st.DataObject) -> None:
    value = data.draw(cst.aggregates_of(kind))
    fast, stdlib = both(ser._dump(value))
    assert fast == stdlib
    assert ser.aggregate_from_stored(kind, fast) == value


def _float_fields(cls: type, seen: set[type]) -> list[str]:
    if cls in seen or not attrs.has(cls):
        return []
    seen.add(cls)
    found = []
    for name, hint in typing.get_type_hints(cls).items():
        parts = [hint, *typing.get_args(hint)]
        if float in parts:
            found.append(f"{cls.__name__}.{name}")
        found.extend(f for part in parts if isinstance(part, type) for f in _float_fields(part, seen))
    return found


def test_no_domain_type_holds_a_float() -> None:
    """orjson and the standard library write some floats differently (1e+16 and 1e16): the two
    give the same text only because no stored value holds one. A float field needs a dumper
    that writes it as text first."""
    seen: set[type] = set()
    floats = [f for cls in [*EVENT_TYPES.values(), *AGGREGATE_KINDS.values()] for f in _float_fields(cls, seen)]
    assert floats == []


class Colour(enum.StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [
        {"colour": Colour.RED},  # a str subclass: orjson is told to refuse it
        {"n": 2**70},  # wider than orjson's integers
        {"s": "\ud800"},  # a lone surrogate: orjson refuses it
    ],
    ids=["str-subclass", "huge-int", "lone-surrogate"],
)
def test_what_orjson_refuses_is_written_by_the_standard_library(value: dict[str, Any]) -> None:
    fast, stdlib = both(value)
    assert fast == stdlib


def test_a_value_neither_writes_is_refused_by_both() -> None:
    when = {"at": datetime(2026, 1, 1, tzinfo=UTC)}  # orjson would write it; it is told not to
    with pytest.raises(TypeError):
        ser._encode_stdlib(when)
    with pytest.raises(TypeError):
        ser._encode_fast(when)


def test_text_orjson_cannot_read_is_read_by_the_standard_library() -> None:
    text = json.dumps({"n": 2**70, "s": "\ud800"})
    assert ser._loads_fast(text) == ser._loads_stdlib(text)


def _rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        aggregates = conn.execute("SELECT kind, id, version, data FROM aggregates ORDER BY kind, id").fetchall()
        events = conn.execute("SELECT position, id, data FROM events ORDER BY position").fetchall()
    return aggregates + events


def test_the_demo_stores_the_same_bytes_with_and_without_the_fast_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_demo(f"sqlite:///{tmp_path / 'fast.db'}", weeks=2, seed=3, out=io.StringIO())
    monkeypatch.setattr(ser, "_ENCODE", ser._encode_stdlib)
    monkeypatch.setattr(ser, "_LOADS_STORED", ser._loads_stdlib)
    run_demo(f"sqlite:///{tmp_path / 'stdlib.db'}", weeks=2, seed=3, out=io.StringIO())

    fast, stdlib = _rows(tmp_path / "fast.db"), _rows(tmp_path / "stdlib.db")
    assert len(fast) > 100
    assert fast == stdlib
