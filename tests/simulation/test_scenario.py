"""Scenarios: the built-in ones load, TOML and Python values give the same scenario, and every
bad input is a typed error naming the key's path and its line, before anything runs."""

from __future__ import annotations

import tomllib

import pytest

from coplib.domain.errors import InvalidInputError
from coplib.simulation import BUILTIN_SCENARIOS, PERSONAS, Scenario, ScenarioError, load_scenario, parse_scenario
from coplib.simulation.scenario import key_lines
from tests.simulation.tiny import TINY_TOML, tiny


@pytest.mark.parametrize("name", sorted(BUILTIN_SCENARIOS))
def test_every_built_in_scenario_loads_and_names_itself(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.communities
    assert sum(g.count + g.max_arrivals for g in scenario.population) > 0


def test_a_scenario_from_python_values_equals_the_one_from_its_toml() -> None:
    from_toml = parse_scenario(TINY_TOML)
    from_values = Scenario.from_dict(tomllib.loads(TINY_TOML))
    assert from_values.to_dict() == from_toml.to_dict()
    assert from_values.communities == from_toml.communities
    assert from_values.population == from_toml.population


def test_what_a_scenario_leaves_out_takes_the_personas_defaults() -> None:
    scenario = tiny()
    assert set(scenario.behaviours) == set(PERSONAS)
    assert scenario.behaviours["regular"].questions_per_week == 1.0
    assert scenario.behaviours["expert"].questions_per_week != 1.0
    group = next(g for g in scenario.population if g.key == "members")
    assert group.working_hours == (9 * 60, 17 * 60)
    assert group.working_days == frozenset(range(5))


def test_changing_a_key_by_its_path_checks_the_scenario_again() -> None:
    changed = tiny(**{"communities.help.answer_guarantee": False, "weeks": 5})
    assert changed.weeks == 5
    assert not changed.community("help").answer_guarantee
    assert not changed.community("help").organise_experts  # follows the guarantee unless set
    with pytest.raises(ScenarioError) as caught:
        tiny(**{"population.members.count": -3})
    assert caught.value.errors[0].path == "$.population.members.count"


def _line_of(text: str, marker: str) -> int:
    """The line (1 for the first) where `marker` first appears: computed here, not by coplib."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if marker in line)


BAD = [
    # (what to replace in TINY_TOML, by what, the path, the marker of the expected line)
    ("seed = 7", "seed = 7\ncolour = 'blue'", "$.colour", "colour ="),
    (
        'tags = ["pumps", "valves", "plc"]\n',
        'tags = ["pumps", "valves", "plc"]\nmoderators = 3\n',
        "$.communities.help.moderators",
        "moderators =",
    ),
    (
        "questions_per_week = 1.0",
        "questions_per_week = -1.0",
        "$.personas.regular.questions_per_week",
        "questions_per_week =",
    ),
    ('persona = "regular"', 'persona = "troll"', "$.population.members.persona", 'persona = "troll"'),
    ("[personas.regular]", "[personas.wizard]", "$.personas.wizard", "[personas.wizard]"),
    (
        "answer_guarantee = true",
        'answer_guarantee = true\ndisabled_policies = ["karma"]',
        "$.communities.help.disabled_policies.0",
        "disabled_policies",
    ),
    (
        "answer_guarantee = true",
        'answer_guarantee = true\n[communities.help.policy_settings.karma]\nlevel = "1"',
        "$.communities.help.policy_settings.karma",
        "[communities.help.policy_settings.karma]",
    ),
    (
        'expertise = ["pumps", "plc"]',
        'expertise = ["pumps", "hydraulics"]',
        "$.population.members.expertise.1",
        'expertise = ["pumps", "hydraulics"]',
    ),
    ("weeks = 3", "weeks = 0", "$.weeks", "weeks = 0"),
    ("seed = 7", "seed = 7\nstart = 2026-01-06", "$.start", "start ="),
    ("count = 6", 'count = "six"', "$.population.members.count", 'count = "six"'),
    (
        "arrivals_per_week = 1.0",
        "arrivals_per_week = -0.5",
        "$.population.newcomers.arrivals_per_week",
        "arrivals_per_week",
    ),
    (
        "count = 2\nexpertise",
        "count = 2\nworking_hours = '18:00-09:00'\nexpertise",
        "$.population.experts.working_hours",
        "working_hours",
    ),
    (
        "[personas.regular]",
        "[personas.regular.reactions]\nanswered_ask = -2\n[personas.newcomer]",
        "$.personas.regular.reactions.answered_ask",
        "answered_ask",
    ),
    (
        "[personas.regular]\nquestions_per_week = 1.0",
        "[personas.regular]\nquestions_per_week = 1.0\nanswer_own_tag = 1.5",
        "$.personas.regular.answer_own_tag",
        "answer_own_tag",
    ),
]


@pytest.mark.parametrize(("old", "new", "path", "marker"), BAD, ids=[b[2] for b in BAD])
def test_a_bad_key_is_a_typed_error_naming_its_path_and_line(old: str, new: str, path: str, marker: str) -> None:
    assert old in TINY_TOML
    text = TINY_TOML.replace(old, new, 1)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="bad.toml")
    error = caught.value
    assert isinstance(error, InvalidInputError)
    paths = {e.path: e for e in error.errors}
    assert path in paths, error.errors
    assert paths[path].line == _line_of(text, marker)
    assert "bad.toml" in str(error)


def test_a_file_that_is_not_toml_names_its_line() -> None:
    text = TINY_TOML.replace("count = 6", "count = = 6")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert caught.value.errors[0].line == _line_of(text, "count = = 6")


def test_every_bad_key_is_reported_at_once() -> None:
    text = TINY_TOML.replace("weeks = 3", "weeks = -1").replace('persona = "regular"', 'persona = "troll"')
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert {"$.weeks", "$.population.members.persona"} <= {e.path for e in caught.value.errors}


def test_python_values_get_the_same_checks_without_lines() -> None:
    data = tomllib.loads(TINY_TOML)
    data["population"]["members"]["absence"] = 2.0
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict(data)
    assert [(e.path, e.line) for e in caught.value.errors] == [("$.population.members.absence", None)]


def test_a_missing_scenario_names_the_built_in_ones(tmp_path: object) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("no-such-scenario")
    assert "mutual-help" in str(caught.value)


def test_the_key_scan_places_tables_and_dotted_keys() -> None:
    text = '[a]\nx = 1\n[a.b]\n"quoted key" = 2\nc.d = [\n  1,\n  2,\n]\ne = 3\n'
    lines = key_lines(text)
    assert lines == {"a": 1, "a.x": 2, "a.b": 3, "a.b.quoted key": 4, "a.b.c.d": 5, "a.b.e": 9}
