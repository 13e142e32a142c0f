"""The worked example of docs/writing-a-storage-adapter.md passes the conformance kit, as the
guide promises."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import coplib
from coplib.testing.contract import StoreContract, StoreFactory

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "jsonl_store.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coplib_docs_jsonl_store", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


jsonl_store = _load_example()


class TestJsonLinesExampleStore(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        path = tmp_path / "coplib.jsonl"
        return lambda: jsonl_store.JsonLinesStore(path)


def test_the_example_opens_through_its_plugin_and_a_url(tmp_path: Path) -> None:
    url = f"jsonl:///{tmp_path / 'by-url.jsonl'}"
    with coplib.open(url, plugins=[jsonl_store.JsonLinesStorePlugin()]) as engine:
        engine.create_organisation(coplib.SYSTEM, "Acme", organisation_id="acme")
    with coplib.open(url, plugins=[jsonl_store.JsonLinesStorePlugin()]) as engine:
        assert engine.organisation(coplib.SYSTEM, "acme").name == "Acme"
    with pytest.raises(coplib.ConfigurationError, match=r"known schemes: jsonl, memory, .*sqlite"):
        coplib.open("jsonx:///nowhere", plugins=[jsonl_store.JsonLinesStorePlugin()])


def test_a_line_torn_by_a_crash_is_ignored_and_cut_off_by_the_next_writer(tmp_path: Path) -> None:
    from coplib.testing.samples import SampleHistory

    path = tmp_path / "torn.jsonl"
    store = jsonl_store.JsonLinesStore(path)
    history = SampleHistory()
    oid = history.found_organisation(store)
    store.close()
    with path.open("ab") as file:
        file.write(b'{"writes":[{"kind":"organisation"')  # a writer died mid-append
    store = jsonl_store.JsonLinesStore(path)
    assert [r.event.organisation_id for r in store.events()] == [oid]  # type: ignore[attr-defined]
    history.found_organisation(store, name="Globex")
    store.close()
    assert all(line.endswith("}") for line in path.read_text().splitlines())
    again = jsonl_store.JsonLinesStore(path)
    assert len(again.events()) == 2
    again.close()
