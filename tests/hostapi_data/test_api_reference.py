"""docs/api.md is generated from the engine (`python -m coplib.cli.docgen`): it is current, and
every public method and property of the engine has a docstring and a section there."""

from __future__ import annotations

import inspect
from pathlib import Path

from coplib.cli import _apidoc
from coplib.service.engine import Engine

API = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_api_page_is_what_docgen_writes_today() -> None:
    assert API.read_text(encoding="utf-8") == _apidoc.api_markdown(), "docs/api.md is stale: run docgen"


def test_every_public_method_of_the_engine_has_a_docstring() -> None:
    assert _apidoc.undocumented() == []


def test_every_public_method_of_the_engine_has_its_section() -> None:
    text = API.read_text(encoding="utf-8")
    public = [
        name
        for name, member in inspect.getmembers(Engine)
        if not name.startswith("_") and (callable(member) or isinstance(member, property))
    ]
    assert public
    missing = [name for name in public if f"### `{name}`" not in text]
    assert missing == []
    for named in ("contributions_of", "authenticate", "withdraw_role", "change_stage", "share_resource"):
        assert f"### `{named}`" in text
    for named in ("record_experience", "comment", "withdraw", "search", "export_person", "erase_person"):
        assert f"### `{named}`" in text
