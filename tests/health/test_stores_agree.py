"""Memory, SQLite and PostgreSQL give the same health report, to the last key of its JSON, on the
real dumps and on a period of them; and the importer's fabricated dump (tests/importers) too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import coplib
from coplib.health import to_json
from coplib.importers.stackexchange import import_stackexchange
from tests.importers.dumps import REAL_DUMPS, fabricated_files, write_dump

UNTIL = datetime(2030, 1, 1, tzinfo=UTC)
PERIODS = [(None, UNTIL), (datetime(2014, 6, 2, tzinfo=UTC), datetime(2015, 9, 17, 13, 30, tzinfo=UTC))]


def reports(url: str, folder: Path) -> list[Any]:
    with coplib.open(url) as engine:
        community = import_stackexchange(engine, folder).community_id
        return [
            to_json([engine.community_health(coplib.SYSTEM, community, since=since, until=until)])
            for since, until in PERIODS
        ]


@pytest.fixture(scope="module")
def fabricated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dump(tmp_path_factory.mktemp("dump") / "site", fabricated_files())


@pytest.mark.parametrize("site", ["beer", "history-meta", "fabricated"])
def test_memory_and_sqlite_give_the_same_report(site: str, fabricated: Path, tmp_path: Path) -> None:
    folder = fabricated if site == "fabricated" else REAL_DUMPS / site

    assert reports("memory://", folder) == reports(f"sqlite:///{tmp_path / 'coplib.db'}", folder)


@pytest.mark.postgres
@pytest.mark.parametrize("site", ["beer", "fabricated"])
def test_postgresql_gives_the_same_report_as_memory(site: str, fabricated: Path, fresh_postgres_url: str) -> None:
    folder = fabricated if site == "fabricated" else REAL_DUMPS / site

    assert reports(fresh_postgres_url, folder) == reports("memory://", folder)
