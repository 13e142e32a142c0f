"""The launch-readiness model on its own: the score is the weighted share of the criteria met,
monotone in each criterion, with a reason for every criterion missing; weights are checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coplib import InvalidInputError
from coplib.domain.community import CommunityKind
from coplib.domain.readiness import (
    CORE_GROUP_MIN,
    CRITERIA,
    CRITERION_NAMES,
    DEFAULT_WEIGHTS,
    AssessedCandidate,
    CommunityCandidate,
    LaunchFacts,
    assess,
    check_weights,
    rank_candidates,
)
from coplib.testing.strategies import launch_facts
from tests.unit.support import START

weights_ = st.fixed_dictionaries({name: st.integers(0, 50) for name in CRITERION_NAMES}).filter(
    lambda w: sum(w.values()) > 0
)

#: Each criterion, and how to make the facts meet it fully.
MEETING: dict[str, dict[str, Any]] = {
    "strategic_theme": {"strategic_theme": "Quality of welded joints"},
    "existing_network": {"existing_network": "The welders' club of the Lyon plant", "recurring_exchanges": True},
    "immediate_needs": {"immediate_needs": ("access to experts when a press stops",)},
    "core_group": {"core_group": frozenset({"walt", "rita", "ben"})},
    "sponsor": {"sponsor": "eve"},
    "facilitator": {"facilitator": "ana"},
    "time_allocated": {"time_allocated": True},
    "participation_recognised": {"participation_recognised": True},
    "middle_managers_informed": {"middle_managers_informed": True},
}


def test_the_default_weights_sum_to_one_hundred_and_every_criterion_has_its_texts() -> None:
    assert sum(DEFAULT_WEIGHTS.values()) == 100
    assert set(MEETING) == set(CRITERION_NAMES)
    for criterion in CRITERIA:
        assert set(criterion.reason) == set(criterion.missing) == {"en", "fr"}


def test_nothing_known_scores_zero_and_everything_known_scores_one_hundred() -> None:
    everything: dict[str, Any] = {}
    for fields in MEETING.values():
        everything.update(fields)

    assert assess(LaunchFacts()).score == 0
    assert assess(LaunchFacts(**everything)).score == pytest.approx(100)
    assert assess(LaunchFacts(**everything)).missing == ()


@settings(max_examples=80, deadline=None)
@given(facts=launch_facts(), weights=weights_)
def test_the_score_is_the_weighted_share_of_each_criterion_met(facts: LaunchFacts, weights: dict[str, int]) -> None:
    # An independent reading of the criteria, from the facts themselves.
    met = {
        "strategic_theme": 1.0 if facts.strategic_theme.strip() else 0.0,
        "existing_network": (0.5 if facts.existing_network.strip() else 0.0)
        + (0.5 if facts.recurring_exchanges else 0),
        "immediate_needs": 1.0 if len(facts.immediate_needs) >= 1 else 0.0,
        "core_group": min(1.0, len(facts.core_group) / CORE_GROUP_MIN),
        "sponsor": 1.0 if facts.sponsor else 0.0,
        "facilitator": 1.0 if facts.facilitator else 0.0,
        "time_allocated": 1.0 if facts.time_allocated else 0.0,
        "participation_recognised": 1.0 if facts.participation_recognised else 0.0,
        "middle_managers_informed": 1.0 if facts.middle_managers_informed else 0.0,
    }
    expected = 100 * sum(weights[k] * met[k] for k in met) / sum(weights.values())

    readiness = assess(facts, weights)

    assert readiness.score == pytest.approx(expected)
    assert 0 <= readiness.score <= 100
    assert [c.weight for c in readiness.criteria] == [weights[name] for name in CRITERION_NAMES]


@settings(max_examples=80, deadline=None)
@given(facts=launch_facts(), weights=weights_, criterion=st.sampled_from(CRITERION_NAMES))
def test_meeting_one_more_criterion_never_lowers_the_score(
    facts: LaunchFacts, weights: dict[str, int], criterion: str
) -> None:
    better = attrs.evolve(facts, **MEETING[criterion])
    before, after = assess(facts, weights), assess(better, weights)

    assert after.score >= before.score - 1e-9
    met = {c.name: c for c in after.criteria}
    assert met[criterion].met
    if weights[criterion] and not {c.name: c for c in before.criteria}[criterion].met:
        assert after.score > before.score


@settings(max_examples=80, deadline=None)
@given(facts=launch_facts(), weights=weights_)
def test_every_criterion_not_met_comes_with_what_is_missing_and_why(
    facts: LaunchFacts, weights: dict[str, int]
) -> None:
    readiness = assess(facts, weights)
    weighted_unmet = {c.name for c in readiness.criteria if c.satisfaction < 1 and weights[c.name] > 0}

    assert {c.name for c in readiness.missing} == weighted_unmet
    for c in readiness.criteria:
        assert (c.missing is None) == (c.satisfaction >= 1)
    for locale in ("en", "fr"):
        lines = readiness.explain(locale)
        assert len(lines) == 1 + len(weighted_unmet)
        for c in readiness.missing:
            assert c.missing is not None
            assert any(c.missing[locale] in line and c.reason[locale] in line for line in lines[1:])


def test_a_core_group_counts_in_proportion_until_it_is_full() -> None:
    shares = [
        next(
            c.satisfaction
            for c in assess(LaunchFacts(core_group=frozenset(f"p{i}" for i in range(n)))).criteria
            if c.name == "core_group"
        )
        for n in range(5)
    ]

    assert shares == [0, 1 / 3, 2 / 3, 1, 1]


@pytest.mark.parametrize(
    ("weights", "path"),
    [
        ({"charisma": 10}, "$.weights.charisma"),
        ({"sponsor": -1}, "$.weights.sponsor"),
        ({"sponsor": "10"}, "$.weights.sponsor"),
        ({"sponsor": True}, "$.weights.sponsor"),
        (dict.fromkeys(CRITERION_NAMES, 0), "$.weights"),
        (["sponsor"], "$.weights"),
    ],
)
def test_bad_weights_are_refused_naming_the_key(weights: Any, path: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_weights(weights)

    assert caught.value.errors[0].path == path


def test_weights_given_in_part_keep_the_defaults_for_the_others() -> None:
    assert check_weights({"sponsor": 40}) == {**DEFAULT_WEIGHTS, "sponsor": 40}


def test_facts_with_a_bad_field_are_refused_naming_it() -> None:
    with pytest.raises(InvalidInputError) as caught:
        LaunchFacts(strategic_theme="line one\nline two")

    assert caught.value.errors[0].path == "$.strategic_theme"


@settings(max_examples=60, deadline=None)
@given(
    facts=st.lists(launch_facts(), max_size=6),
    minutes=st.lists(st.integers(0, 5), min_size=6, max_size=6),
)
def test_candidates_rank_by_score_then_age_then_id_whatever_the_order_given(
    facts: list[LaunchFacts], minutes: list[int]
) -> None:
    assessed = [
        AssessedCandidate(
            CommunityCandidate(
                id=f"c{i}",
                organisation_id="acme",
                name="Candidate",
                vocation="To launch",
                kind=CommunityKind.PRACTICE,
                tags=frozenset(),
                facts=f,
                proposed_by="walt",
                created_at=START + timedelta(minutes=minutes[i]),
                updated_at=START + timedelta(minutes=minutes[i]),
            ),
            assess(f),
        )
        for i, f in enumerate(facts)
    ]

    ranked = rank_candidates(assessed)

    assert rank_candidates(list(reversed(assessed))) == ranked
    keys = [(-a.readiness.score, a.candidate.created_at, a.candidate.id) for a in ranked]
    assert keys == sorted(keys)
