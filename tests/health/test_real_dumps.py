"""The health report on the real dumps of shared/data (beer, history-meta): the figures computed
here from the XML with the standard library alone (tests/health/reference.py, by the counting
rules of docs/health.md) equal coplib's report after the import, key by key, on the memory and
the SQLite store, over the whole history and over one year."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

import coplib
from coplib.health import community_json
from coplib.importers.stackexchange import ImportReport, import_stackexchange
from tests.health import reference
from tests.importers.dumps import REAL_DUMPS

UNTIL = datetime(2030, 1, 1, tzinfo=UTC)
#: A year of each site's history, for the period's report.
YEARS = {"beer": 2015, "history-meta": 2013}


@dataclass
class Imported:
    site: str
    engine: coplib.Engine
    report: ImportReport

    def health(self, since: datetime | None = None, until: datetime = UNTIL) -> dict[str, Any]:
        return community_json(
            self.engine.community_health(coplib.SYSTEM, self.report.community_id, since=since, until=until)
        )


@pytest.fixture(
    scope="module",
    params=[("beer", "memory"), ("beer", "sqlite"), ("history-meta", "memory"), ("history-meta", "sqlite")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def imported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    site, store = request.param
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path_factory.mktemp(site) / 'coplib.db'}"
    with coplib.open(url) as engine:
        yield Imported(site, engine, import_stackexchange(engine, REAL_DUMPS / site))


_figures: dict[tuple[str, datetime | None, datetime], dict[str, Any]] = {}


def expected(site: str, since: datetime | None = None, until: datetime = UNTIL) -> dict[str, Any]:
    key = (site, since, until)
    if key not in _figures:
        _figures[key] = reference.figures(REAL_DUMPS / site, since=since, until=until)
    return _figures[key]


def _approx(value: Any) -> Any:
    return pytest.approx(value, rel=1e-12) if isinstance(value, float) else value


def _same(got: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key, value in wanted.items():
        if isinstance(value, dict):
            _same(got[key], value)
        else:
            assert got[key] == _approx(value), key


@pytest.mark.parametrize("period", ["all", "a year"])
def test_the_headline_figures_are_those_of_the_dump(imported: Imported, period: str) -> None:
    since, until = _bounds(imported.site, period)
    got, wanted = imported.health(since, until), expected(imported.site, since, until)

    for key in (
        "questions",
        "answers",
        "answered",
        "accepted",
        "median_hours_to_first_answer",
        "answered_within_24h",
    ):
        assert got[key] == _approx(wanted[key]), key
    months = {m: n for m, n in got["questions_per_month"].items() if n}
    assert months == wanted["questions_per_month"]
    assert sum(got["questions_per_month"].values()) == wanted["questions"]


def _bounds(site: str, period: str) -> tuple[datetime | None, datetime]:
    if period == "all":
        return None, UNTIL
    year = YEARS[site]
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("period", ["all", "a year"])
@pytest.mark.parametrize("family", ["responsiveness", "activity", "retention", "interaction", "concentration"])
def test_each_family_of_indicators_is_that_of_the_dump(imported: Imported, period: str, family: str) -> None:
    since, until = _bounds(imported.site, period)

    _same(imported.health(since, until)[family], expected(imported.site, since, until)[family])


@pytest.mark.parametrize("period", ["all", "a year"])
def test_the_monthly_series_is_that_of_the_dump(imported: Imported, period: str) -> None:
    since, until = _bounds(imported.site, period)
    got = {p["start"][:7]: p for p in imported.health(since, until)["series"]["monthly"]}
    wanted = expected(imported.site, since, until)["monthly"]

    for month, figures in wanted.items():
        _same(got[month], figures)
    assert all(p["contributions"] == 0 for month, p in got.items() if month not in wanted)


def test_every_person_is_a_member_and_the_levels_count_contributions(imported: Imported) -> None:
    got = imported.health()
    wanted = expected(imported.site)

    assert got["members"]["members"] == imported.report.people
    assert got["members"]["never_contributed"] == imported.report.people - wanted["activity"]["active_contributors"]
    assert got["members"]["inactive"] == wanted["activity"]["active_contributors"]  # nothing since 2018
    levels = got["members"]["levels"]
    assert {k: levels[k] for k in ("core_group", "active", "occasional")} == dict(wanted["levels"])
    assert got["interaction"]["reciprocity"] == pytest.approx(
        wanted["interaction"]["gave_and_received"] / imported.report.people
    )


def test_the_report_says_nothing_of_designated_experts_where_there_are_none(imported: Imported) -> None:
    concentration = imported.health()["concentration"]

    assert concentration["designated_experts"] == 0
    assert concentration["share_by_others"] is None
    assert concentration["answers_by_others"] == expected(imported.site)["answers"]
