"""``coplib health``: the report for the host, as text or as JSON of the documented schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import coplib
from coplib.importers.stackexchange import import_stackexchange
from tests.importers.dumps import REAL_DUMPS


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coplib", "health", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("health") / "coplib.db"
    with coplib.open(f"sqlite:///{path}") as engine:
        community = import_stackexchange(engine, REAL_DUMPS / "beer").community_id
        engine.create_organisation(coplib.SYSTEM, "Acme", organisation_id="acme")
    return path, community


def test_json_is_one_object_per_community_with_the_documented_keys(db: tuple[Path, str]) -> None:
    path, community = db
    done = run("--db", str(path), "--json", "--until", "2030-01-01")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "coplib.health/1"
    (report,) = document["communities"]
    assert report["community_id"] == community
    assert report["name"] == "beer"
    assert (report["questions"], report["answers"], report["answered"], report["accepted"]) == (663, 1572, 635, 410)
    assert report["answered_within_24h"] == 456
    assert report["questions_per_month"]["2014-01"] == 163
    for key in ("responsiveness", "activity", "retention", "interaction", "concentration", "members", "series"):
        assert key in report
    assert set(report["dimensions"]) == {"mutual_engagement", "joint_enterprise", "shared_repertoire"}
    assert set(report["axes"]) == {"social", "intellectual", "performance"}
    assert 0 <= report["index"]["value"] <= 100


def test_one_community_and_a_period(db: tuple[Path, str]) -> None:
    path, community = db
    done = run(
        "--db",
        f"sqlite:///{path}",
        "--community",
        community,
        "--since",
        "2015-01-01",
        "--until",
        "2016-01-01",
        "--json",
    )

    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)["communities"]
    assert report["since"] == "2015-01-01T00:00:00Z"
    assert report["until"] == "2016-01-01T00:00:00Z"
    assert sum(report["questions_per_month"].values()) == report["questions"] == 123


def test_the_text_report_is_for_a_person_in_english_or_french(db: tuple[Path, str]) -> None:
    path, community = db
    english = run("--db", str(path), "--community", community, "--until", "2030-01-01")
    french = run("--db", str(path), "--community", community, "--until", "2030-01-01", "--locale", "fr")

    assert english.returncode == 0, english.stderr
    assert "Health of beer" in english.stdout
    assert "answered by someone else: 635 (96%)" in english.stdout
    assert "Santé de beer" in french.stdout
    assert "répondues par un autre membre : 635 (96 %)" in french.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--community", "nowhere"], "nowhere"),
        (["--since", "2015-13-01"], "must be a day"),
        (["--since", "2016-01-01", "--until", "2015-01-01"], "must come after since"),
        (["--community", "x", "--organisation", "acme"], "not with --organisation"),
    ],
    ids=["unknown-community", "bad-day", "empty-period", "both"],
)
def test_bad_input_exits_with_status_2_and_says_what(db: tuple[Path, str], args: list[str], says: str) -> None:
    done = run("--db", str(db[0]), *args)

    assert done.returncode == 2
    assert says in done.stderr


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    done = run("--db", str(tmp_path / "nothing.db"))

    assert done.returncode == 2
    assert "there is no database" in done.stderr
    assert not (tmp_path / "nothing.db").exists()


def test_an_organisation_without_communities_reports_none(db: tuple[Path, str]) -> None:
    done = run("--db", str(db[0]), "--organisation", "acme", "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["communities"] == []
