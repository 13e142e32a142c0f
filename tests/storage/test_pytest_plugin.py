"""The opt-in pytest plugin gives a host's tests an engine, a clock and a store."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_the_plugin_gives_an_engine_a_clock_the_people_and_its_store(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["coplib.testing.pytest_plugin"]\n')
    pytester.makepyfile(
        """
        from datetime import timedelta

        from coplib import MemoryStore, SYSTEM
        from coplib.adapters.storage.sqlite import SQLiteStore


        def test_commands_run_on_a_memory_store_with_predictable_ids(coplib_engine, coplib_store, coplib_clock):
            assert isinstance(coplib_store, MemoryStore)
            org = coplib_engine.create_organisation(SYSTEM, "Acme")
            community = coplib_engine.create_community("ana", org.id, name="Welding", vocation="Weld")
            assert (org.id, community.id) == ("id-0001", "id-0003")
            coplib_clock.advance(timedelta(hours=2))
            question = coplib_engine.ask("ana", community.id, title="Gas?", body="Which one?")
            assert question.created_at == coplib_clock.now()
            assert [q.id for q in coplib_store.unanswered_questions(community.id)] == [question.id]


        def test_the_people_are_known_to_the_engine(coplib_engine, coplib_people):
            assert [p.id for p in coplib_people] == ["ana", "ben", "chloe", "dev", "eve"]
            assert coplib_engine.person("ben") == coplib_people[1]


        def test_the_sqlite_engine_writes_a_file_in_the_temporary_directory(coplib_sqlite_engine, tmp_path):
            assert isinstance(coplib_sqlite_engine.store, SQLiteStore)
            coplib_sqlite_engine.create_organisation(SYSTEM, "Acme", organisation_id="acme")
            assert (tmp_path / "coplib.db").exists()
            assert coplib_sqlite_engine.organisation(SYSTEM, "acme").name == "Acme"


        def test_each_test_gets_a_fresh_store(coplib_store):
            assert coplib_store.events() == []
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_the_plugin_stays_out_of_a_run_that_did_not_ask_for_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_no_coplib_fixture(request):
            assert "coplib_engine" not in request.fixturenames
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--fixtures")
    assert "coplib_engine" not in result.stdout.str()
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
