"""The model drives the real engine: what the store holds is what the personas did, the
policies run as in production, the same seed gives the same run, and the personas react only
to the benefit they receive."""

from __future__ import annotations

import ast
import inspect
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coplib.domain.permissions import SYSTEM
from coplib.simulation import CommunityModel, Persona, Reactions, default_behaviour, dumps, replay, run_model
from coplib.simulation import model as model_module
from coplib.simulation import personas as personas_module
from coplib.simulation.personas import MULTIPLIER_BOUNDS
from tests.simulation.tiny import tiny

# Event types and the persona command that records each.
COMMAND_OF = {
    "question_asked": "ask",
    "answer_posted": "answer",
    "answer_accepted": "accept",
    "comment_posted": "comment",
    "contribution_endorsed": "endorse",
    "resource_shared": "share_resource",
    "member_joined": "join",
    "member_left": "leave",
}


def _events(model: CommunityModel) -> list[object]:
    out = []
    for key in model._community_ids.values():
        after = 0
        while page := model.engine.history(SYSTEM, key, after=after, limit=1000):
            out.extend(r.event for r in page)
            after = page[-1].position
    return out


def test_the_events_in_the_store_are_the_commands_the_personas_issued() -> None:
    with CommunityModel(tiny(weeks=4), 3) as model:
        result = model.run()
        events = _events(model)
        by_type = Counter(e.TYPE for e in events)  # type: ignore[attr-defined]
        for event_type, command in COMMAND_OF.items():
            assert by_type[event_type] == result.commands.get(command, 0), event_type
        assert result.commands["ask"] > 0
        assert result.commands["answer"] > 0
        # Each persona's questions are the store's questions by that person.
        asked = Counter(e.actor_id for e in events if e.TYPE == "question_asked")  # type: ignore[attr-defined]
        assert asked == Counter({a.id: a.asked for a in model.agents if a.asked})
        # The weekly figures add up to the same counts.
        assert sum(row["questions"] for row in result.weekly) == by_type["question_asked"]
        assert sum(row["answers"] for row in result.weekly) == by_type["answer_posted"]


def test_the_answer_guarantee_runs_as_in_production_when_the_charter_keeps_it() -> None:
    with CommunityModel(tiny(), 1) as model:
        model.run()
        types = Counter(e.TYPE for e in _events(model))  # type: ignore[attr-defined]
    assert types["question_routed"] == types["question_asked"] > 0
    with CommunityModel(tiny(**{"communities.help.answer_guarantee": False}), 1) as model:
        model.run()
        types = Counter(e.TYPE for e in _events(model))  # type: ignore[attr-defined]
    assert types["question_routed"] == 0
    assert types["question_asked"] > 0


def test_the_same_seed_gives_byte_identical_json_and_another_seed_another_run() -> None:
    first = dumps(run_model(tiny(), 5).to_dict())
    again = dumps(run_model(tiny(), 5).to_dict())
    other = dumps(run_model(tiny(), 6).to_dict())
    assert first == again
    assert first != other


def test_a_run_on_sqlite_is_the_run_on_memory(tmp_path: Path) -> None:
    on_memory = run_model(tiny(weeks=2), 2).to_dict()
    on_sqlite = run_model(tiny(weeks=2), 2, url=f"sqlite:///{tmp_path / 'sim.db'}").to_dict()
    assert dumps(on_sqlite) == dumps(on_memory)


def test_a_run_records_what_replays_it_exactly() -> None:
    document = run_model(tiny(), 11).to_dict()
    assert document["seed"] == 11
    assert document["coplib_version"] == model_module.coplib_version()
    assert document["scenario"]["name"] == "tiny"
    assert dumps(replay(document).to_dict()) == dumps(document)


def test_the_json_holds_no_wall_clock_figure() -> None:
    text = dumps(run_model(tiny(weeks=1), 1).to_dict())
    for word in ("elapsed", "duration", "seconds", "wall", "timestamp"):
        assert word not in text


def test_without_the_guarantee_in_the_charter_the_model_cannot_tell_it_from_no_guarantee_plugin() -> None:
    # The personas only react to what they receive: with the policy off in the charter, the
    # run is the run of an engine that has no answer guarantee at all.
    off = tiny(**{"communities.help.answer_guarantee": False})
    with CommunityModel(off, 4) as model:
        disabled = dumps(model.run().to_dict())
    with CommunityModel(off, 4, block=["coplib.policy.answer_guarantee"]) as model:
        absent = dumps(model.run().to_dict())
    assert disabled == absent


def _code_mentions(module: object) -> list[tuple[str, int]]:
    """Names, attributes, imports and strings of a module's code (docstrings left out) that
    speak of a guarantee, with their lines."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(node):
            docstrings.add(id(node.body[0].value))  # type: ignore[attr-defined]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        elif isinstance(node, ast.ImportFrom):
            text = " ".join([node.module or "", *(a.name for a in node.names)])
        else:
            continue
        if "guarantee" in text.lower():
            found.append((text, node.lineno))
    return found


def test_the_personas_have_no_reference_to_the_answer_guarantee() -> None:
    assert _code_mentions(personas_module) == []


def test_the_model_mentions_the_guarantee_only_to_write_it_in_the_charter() -> None:
    lines, first = inspect.getsourcelines(CommunityModel._setup)
    inside = range(first, first + len(lines))
    mentions = _code_mentions(model_module)
    assert mentions  # the charter does say whether the policy is on
    assert all(line in inside for _, line in mentions), mentions


def _persona(**reactions: float) -> Persona:
    import random

    return Persona(
        id="p",
        persona="regular",
        group="g",
        behaviour=default_behaviour("regular"),
        reactions=Reactions(**reactions),
        expertise=frozenset({"pumps"}),
        communities=("help",),
        working_hours=(540, 1020),
        working_days=frozenset(range(5)),
        absence=0.0,
        rng=random.Random(0),
    )


def test_an_answer_received_raises_the_wish_to_ask_and_to_stay() -> None:
    from datetime import UTC, datetime

    p = _persona()
    p.waiting["q"] = datetime(2026, 1, 5, tzinfo=UTC)
    assert p.received_answer("q")
    assert p.ask > 1.0 and p.leave < 1.0
    assert not p.received_answer("q")  # a second answer to the same question is no new benefit


def test_a_question_left_unanswered_past_patience_lowers_both() -> None:
    from datetime import UTC, datetime, timedelta

    p = _persona()
    asked = datetime(2026, 1, 5, tzinfo=UTC)
    p.waiting["q"] = asked
    assert p.missed_answers(asked + timedelta(days=1)) == 0
    assert p.missed_answers(asked + timedelta(days=p.behaviour.patience_days)) == 1
    assert p.ask < 1.0 and p.leave > 1.0


def test_recognition_raises_the_propensity_to_answer() -> None:
    p = _persona()
    before = p.answer_propensity(frozenset({"pumps"}), asked=False)
    p.recognised()
    assert p.answer_propensity(frozenset({"pumps"}), asked=False) > before


@given(st.lists(st.sampled_from(["answered", "missed", "recognised"]), max_size=200))
def test_the_multipliers_stay_within_their_bounds_whatever_is_lived(lived: list[str]) -> None:
    from datetime import UTC, datetime, timedelta

    p = _persona()
    now = datetime(2026, 1, 5, tzinfo=UTC)
    for i, what in enumerate(lived):
        now += timedelta(days=30)
        if what == "recognised":
            p.recognised()
            continue
        p.waiting[str(i)] = now - timedelta(days=30)
        if what == "answered":
            p.received_answer(str(i))
        else:
            p.missed_answers(now)
    low, high = MULTIPLIER_BOUNDS
    for value in (p.ask, p.leave, p.answer):
        assert low <= value <= high


@pytest.mark.parametrize("persona", ["expert", "lurker"])
def test_an_expert_asked_about_its_theme_is_likelier_to_answer_than_when_browsing(persona: str) -> None:
    p = _persona()
    p.behaviour = default_behaviour(persona)
    tags = frozenset({"pumps"})
    assert p.answer_propensity(tags, asked=True) >= p.answer_propensity(tags, asked=False)
    assert p.answer_propensity(frozenset({"valves"}), asked=True) < p.answer_propensity(tags, asked=True)
