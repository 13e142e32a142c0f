"""Policies keep what they parsed of a community's settings (`SettingsMemo`), keyed by the
settings' content: the same content is parsed once, whatever the order of its keys, and a
charter amended with other settings is obeyed from the next contribution on."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from coplib import Charter
from coplib.ports.policy import SettingsMemo
from tests.policies.test_recognition import open_world, points

settings_maps = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6)


@given(st.lists(settings_maps, max_size=12))
def test_the_memo_gives_what_parsing_gives_and_parses_each_content_once(contents: list[dict[str, str]]) -> None:
    parsed: list[Mapping[str, str]] = []

    def parse(settings: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        parsed.append(dict(settings))
        return tuple(sorted(settings.items()))

    memo = SettingsMemo(parse)
    for settings in contents:
        # The same content with its keys in reverse order is the same settings.
        assert memo(settings) == parse(dict(settings)) == memo(dict(reversed(list(settings.items()))))
    distinct = {tuple(sorted(s.items())) for s in contents}
    assert len(parsed) == len(contents) + len(distinct)  # ours, one per item; the memo's, one per content


def test_the_memo_keeps_at_most_its_size_and_parses_a_forgotten_content_again() -> None:
    calls: list[str] = []
    memo = SettingsMemo(lambda settings: calls.append(settings["k"]) or settings["k"], size=2)
    for value in ("a", "b", "c", "a"):
        assert memo({"k": value}) == value
    assert calls == ["a", "b", "c", "a"]  # "a" was the oldest when "c" came in


def test_a_charter_amended_with_a_new_points_table_pays_by_it_from_the_next_question_on() -> None:
    engine, community = open_world({"question_asked": "1"})
    engine.ask("chloe", community.id, title="Argon or a mix?", body="For TIG on steel.")
    assert points(engine, "chloe") == 1

    amended = Charter(vocation="Welders help each other", policy_settings={"recognition": {"question_asked": "4"}})
    engine.amend_charter("ana", community.id, amended, reason="Ask more")
    engine.ask("chloe", community.id, title="Which tungsten?", body="For aluminium.")

    assert points(engine, "chloe") == 1 + 4
