"""``coplib import stackexchange`` on the command line, and the import on each kind of store
(memory, a SQLite file, PostgreSQL)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import coplib
from coplib.importers.stackexchange import import_stackexchange
from coplib.importers.stackexchange._progress import terminal_progress
from coplib.ports.storage import Filter
from tests.importers.dumps import fabricated_files, write_archive, write_dump

SITE = "beer.stackexchange.com"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coplib", "import", "stackexchange", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_imports_a_dump_and_prints_what_it_imported_as_json(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    db = tmp_path / "coplib.db"
    done = run(str(folder), "--db", f"sqlite:///{db}", "--organisation", "Acme", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["imported"]["questions"] == 4
    assert report["imported"]["answers"] == 3
    with coplib.open(f"sqlite:///{db}") as engine:
        community = engine.community(coplib.SYSTEM, report["community_id"])
        assert community.organisation_id == report["organisation_id"]
        assert engine.store.count("question", Filter(community_id=community.id)) == 4
    assert done.stderr == ""  # not a terminal: no progress bar


def test_the_command_run_again_on_a_7z_archive_says_everything_is_there_already(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / "dump" / SITE, fabricated_files())
    archive = write_archive(tmp_path / f"{SITE}.7z", folder)
    db = tmp_path / "coplib.db"
    people = tmp_path / "people.json"
    assert run(str(folder), "--db", str(db)).returncode == 0
    done = run(str(archive), "--db", str(db), "--directory", str(people))

    assert done.returncode == 0, done.stderr
    assert "questions: 0 new, 4 already there" in done.stdout
    assert f"people written to the directory file {people}" in done.stdout
    assert len(json.loads(people.read_text(encoding="utf-8"))["people"]) == 11


def test_a_malformed_dump_exits_2_with_a_message_naming_the_file_line_and_attribute(tmp_path: Path) -> None:
    files = fabricated_files()
    files["Posts.xml"][1]["CreationDate"] = "not a date"
    done = run(str(write_dump(tmp_path / SITE, files)), "--db", str(tmp_path / "coplib.db"))

    assert done.returncode == 2
    assert "Posts.xml, line 4, attribute CreationDate: must be a date and time" in done.stderr


def test_a_missing_path_or_a_bad_option_exits_2(tmp_path: Path) -> None:
    missing = run(str(tmp_path / "nothing"), "--db", str(tmp_path / "coplib.db"))
    bad_batch = run(str(tmp_path), "--batch-size", "0")
    no_source = subprocess.run(
        [sys.executable, "-m", "coplib", "import"], capture_output=True, text=True, timeout=60, check=False
    )

    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert bad_batch.returncode == 2 and "must be from 1 to 100000" in bad_batch.stderr
    assert no_source.returncode == 2 and "stackexchange" in no_source.stderr


def test_a_store_that_cannot_be_opened_exits_2(tmp_path: Path) -> None:
    done = run(str(write_dump(tmp_path / SITE, fabricated_files())), "--db", "nosuch://x")

    assert done.returncode == 2 and "cannot use --db nosuch://x" in done.stderr


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_the_import_gives_the_same_community_on_memory_and_on_a_sqlite_file(store: str, tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'coplib.db'}"
    with coplib.open(url) as engine:
        report = import_stackexchange(engine, folder, batch_size=3)
        titles = sorted(q.title for q in engine.store.find("question", Filter(community_id=report.community_id)))

    assert report.imported["comments"] == 4
    assert titles == ["Duplicate of first [duplicate]", "No tags here", titles[2], "Why is my beer flat?"]


@pytest.mark.postgres
def test_the_import_runs_on_postgresql_and_twice_adds_nothing(fresh_postgres_url: str, tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    with coplib.open(fresh_postgres_url) as engine:
        first = import_stackexchange(engine, folder)
        second = import_stackexchange(engine, folder)
        assert engine.store.count("answer", Filter(community_id=first.community_id)) == 3

    assert first.imported["endorsements"] == 5
    assert second.events == 0


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_progress_bar_shows_the_bytes_read_and_off_one_nothing(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    terminal = FakeTerminal()
    with terminal_progress(terminal) as progress, coplib.open("memory://") as engine:
        assert progress is not None
        import_stackexchange(engine, folder, progress=progress)
    with terminal_progress(io.StringIO()) as quiet:
        assert quiet is None

    assert "checking Posts.xml" in terminal.getvalue()
    assert "importing Comments.xml" in terminal.getvalue()
