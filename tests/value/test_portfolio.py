"""The portfolio: communities ranked by health with the declining ones first, and the
communities recommended to a person, each with its reasons, never one the person may not see."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coplib import (
    Admission,
    AttributeRule,
    Charter,
    Engine,
    LifecycleStage,
    ManualClock,
    MembershipPolicy,
    NotFoundError,
    PermissionDeniedError,
    Visibility,
)
from coplib.domain.health import ContributorFacts, HealthSettings
from coplib.domain.health_tally import compute_health
from coplib.domain.lifecycle import LifecycleReport
from coplib.domain.portfolio import PortfolioEntry, declining_of, rank_portfolio
from coplib.service.portfolio import PortfolioReads
from tests.unit.support import START
from tests.value.support import PEOPLE, open_engine, organisation

entries = st.lists(
    st.builds(
        PortfolioEntry,
        community_id=st.text("abcdef", min_size=1, max_size=4),
        name=st.sampled_from(["Welding", "Brazing", "Paint"]),
        stage=st.sampled_from(LifecycleStage),
        index=st.none() | st.floats(0, 100),
        declining=st.booleans(),
        health=st.none(),
    ),
    max_size=12,
    unique_by=lambda e: e.community_id,  # a portfolio lists each community once
)


@settings(max_examples=100, deadline=None)
@given(entries=entries)
def test_the_declining_come_first_then_the_highest_index_and_the_order_is_total(
    entries: list[PortfolioEntry],
) -> None:
    ranked = rank_portfolio(entries)

    assert sorted(map(id, ranked)) == sorted(map(id, entries))
    flags = [e.declining for e in ranked]
    assert flags == sorted(flags, reverse=True)
    for before, after in itertools.pairwise(ranked):
        if before.declining == after.declining and before.index is not None and after.index is not None:
            assert before.index >= after.index
        if before.declining == after.declining and before.index is None:
            assert after.index is None
    assert rank_portfolio(list(reversed(entries))) == ranked  # ties broken by name and id, not input order
    assert rank_portfolio(ranked) == ranked


def _lifecycle(*, declining: bool) -> LifecycleReport:
    return LifecycleReport(
        community_id="c",
        until=START,
        confirmed=LifecycleStage.MATURING,
        suggested=LifecycleStage.MATURING,
        since="2026-01",
        reasons={},
        bootstrap=False,
        declining=declining,
        decline_since="2026-01" if declining else None,
        alerts=(),
        recorded=None,
    )


@pytest.mark.parametrize(
    ("lifecycle", "expected"),
    [(None, False), (_lifecycle(declining=True), True), (_lifecycle(declining=False), False)],
    ids=["no lifecycle", "declining", "not declining"],
)
def test_the_decline_signal_is_the_lifecycle_reports_declining_state(
    lifecycle: LifecycleReport | None, expected: bool
) -> None:
    report = compute_health(
        community_id="c",
        name="C",
        since=None,
        until=START,
        questions=[],
        contributors=ContributorFacts([], [], []),
        members=[],
        settings=HealthSettings(),
        target="P1D",
        within_target=lambda asked, answered: True,
    )

    assert declining_of(attrs.evolve(report, lifecycle=lifecycle)) is expected


def _clock(engine: Engine) -> ManualClock:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    return clock


@pytest.fixture
def engine() -> Engine:
    engine = open_engine(clock=ManualClock(START))
    organisation(engine)
    engine.create_community("ana", "acme", community_id="paint", name="Paint", vocation="Paint well")
    for person in ("ben", "chloe"):
        engine.join(person, "paint")
    # welding answers fast; paint leaves its questions unanswered
    for i in range(3):
        q = engine.ask("chloe", "welding", title=f"Weld {i}", body="How?")
        engine.answer("ben", q.id, body="Like this")
        engine.ask("chloe", "paint", title=f"Paint {i}", body="How?")
    _clock(engine).advance(timedelta(days=3))
    return engine


def test_the_portfolio_lists_what_the_viewer_may_read_by_health_with_each_stage(engine: Engine) -> None:
    engine.change_stage("ana", "paint", LifecycleStage.MATURING)

    ranked = engine.portfolio_health("dev", "acme")

    assert [e.community_id for e in ranked] == ["welding", "paint"]  # managers is private
    assert ranked[0].index is not None and ranked[1].index is not None and ranked[0].index > ranked[1].index
    assert [e.stage for e in ranked] == [LifecycleStage.POTENTIAL, LifecycleStage.MATURING]
    assert [e.community_id for e in engine.portfolio_health("ana", "acme")] == ["welding", "paint", "managers"]
    with pytest.raises(NotFoundError):
        engine.portfolio_health("gil", "acme")


def test_a_declining_community_comes_first_whatever_its_index(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        PortfolioReads, "_decline_signal", staticmethod(lambda report: report.community_id == "welding")
    )

    ranked = engine.portfolio_health("dev", "acme")

    assert [(e.community_id, e.declining) for e in ranked] == [("welding", True), ("paint", False)]


def test_recommendations_come_from_the_directory_and_from_what_the_person_does(engine: Engine) -> None:
    rule = AttributeRule.of(job="welder", site="Lyon")
    engine.create_community(
        "rita",
        "acme",
        community_id="lyon-welders",
        name="Lyon welders",
        vocation="Welders of Lyon",
        charter=Charter(vocation="Welders of Lyon", membership_policy=MembershipPolicy(Admission.RULE, rule)),
    )
    engine.create_community(
        "ana", "acme", community_id="brazing", name="Brazing", vocation="Braze", tags=["brazing", "tig-welding"]
    )
    engine.join("walt", "paint")
    q = engine.ask("walt", "paint", title="Which primer?", body="For steel", tags=["aluminium"])
    engine.answer("ben", q.id, body="Zinc")

    found = {r.community_id: r for r in engine.recommend_communities("walt", "walt")}

    assert set(found) == {"lyon-welders", "brazing", "welding"}
    assert {r.code for r in found["lyon-welders"].reasons} == {
        "membership_rule",
        "same_department",
        "same_site",
        "same_job",
    }
    assert [r.code for r in found["brazing"].reasons] == ["skills"]
    assert "brazing, tig-welding" in found["brazing"].reasons[0].text["en"]
    welding = {r.code: r for r in found["welding"].reasons}
    assert set(welding) == {"contribution_tags", "people_you_work_with"}
    assert welding["contribution_tags"].text["fr"] == "vous contribuez déjà sur aluminium"
    ordered = engine.recommend_communities("walt", "walt")
    assert [r.score for r in ordered] == sorted((r.score for r in ordered), reverse=True)
    assert all(r.score == sum(reason.weight for reason in r.reasons) for r in ordered)
    assert [r.community_id for r in engine.recommend_communities("walt", "walt", limit=1)] == [ordered[0].community_id]


def test_a_community_the_person_may_not_see_or_is_in_is_never_recommended(engine: Engine) -> None:
    hidden_rule = AttributeRule.of(job="welder")
    engine.create_community(
        "ana",
        "acme",
        community_id="secret-welders",
        name="Secret welders",
        vocation="Hidden",
        tags=["brazing"],
        visibility=Visibility.PRIVATE,
        charter=Charter(vocation="Hidden", membership_policy=MembershipPolicy(Admission.RULE, hidden_rule)),
    )
    engine.create_community("ana", "acme", community_id="old", name="Old", vocation="Old", tags=["brazing"])
    engine.change_stage("ana", "old", LifecycleStage.CLOSED)
    engine.create_community("walt", "acme", community_id="mine", name="Mine", vocation="Mine", tags=["brazing"])
    engine.join("rita", "paint")  # a welder of Lyon, as walt is: paint is recommended to walt

    found = {r.community_id for r in engine.recommend_communities("walt", "walt")}

    # gadgets (globex) is tagged brazing too, but belongs to another organisation
    assert found.isdisjoint({"secret-welders", "old", "mine", "gadgets", "managers"})
    in_acme = {r.community_id for r in engine.recommend_communities("walt", "walt", organisation_id="acme")}
    assert found == in_acme == {"paint"}


def test_only_the_person_reads_their_recommendations(engine: Engine) -> None:
    with pytest.raises(PermissionDeniedError):
        engine.recommend_communities("ana", "walt")
    with pytest.raises(NotFoundError):
        engine.recommend_communities("walt", "walt", organisation_id="globex")


@settings(max_examples=15, deadline=None)
@given(
    visibility=st.sampled_from(Visibility),
    organisation_id=st.sampled_from(["acme", "globex"]),
    person=st.sampled_from([p.id for p in PEOPLE]),
    tags=st.sets(st.sampled_from(["brazing", "aluminium", "welding", "tig-welding"]), max_size=3),
)
def test_no_recommendation_is_ever_a_community_the_person_may_not_see(
    visibility: Visibility, organisation_id: str, person: str, tags: set[str]
) -> None:
    engine = open_engine(clock=ManualClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    organisation(engine)
    founder = "ana" if organisation_id == "acme" else "gil"
    admission = Admission.INVITATION if visibility is Visibility.PRIVATE else Admission.OPEN
    engine.create_community(
        founder,
        organisation_id,
        community_id="candidate",
        name="Candidate",
        vocation="To be found",
        tags=tags,
        visibility=visibility,
        charter=Charter(vocation="To be found", membership_policy=MembershipPolicy(admission)),
    )

    for recommendation in engine.recommend_communities(person, person):
        engine.community(person, recommendation.community_id)  # raises if the person may not see it
        assert engine.membership(person, recommendation.community_id, person) is None
