"""Every read of the engine goes through the permission decision point: generated from the
list of every public method that takes a viewer, so that no read can be added without its
outsider tests: the outsider of a private community, and the people of another organisation,
to whom even an open community is unknown until it is shared with theirs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from coplib import (
    SYSTEM,
    Action,
    Admission,
    Charter,
    CoplibError,
    Engine,
    MembershipPolicy,
    NotFoundError,
    ParticipationLevel,
    PermissionDeniedError,
    Person,
    Visibility,
)
from coplib.domain.history import Ref
from tests.unit.support import PEOPLE, START, open_engine

SINCE = START - timedelta(days=1)
UNTIL = START + timedelta(days=30)

#: Every read, called by `viewer` on the private community c (or what is in it).
READS: dict[str, Callable[[Engine, str, str, str], Any]] = {
    "community": lambda e, v, q, c: e.community(v, c),
    "charter_history": lambda e, v, q, c: e.charter_history(v, c),
    "members": lambda e, v, q, c: e.members(v, c),
    "membership": lambda e, v, q, c: e.membership(v, c, "ana"),
    "question": lambda e, v, q, c: e.question(v, q),
    "unanswered_questions": lambda e, v, q, c: e.unanswered_questions(v, c),
    "contributions_of": lambda e, v, q, c: e.contributions_of(v, "ana", community_id=c),
    "history": lambda e, v, q, c: e.history(v, c),
    "count_events": lambda e, v, q, c: e.count_events(v, c, since=SINCE, until=UNTIL),
    "watch_list": lambda e, v, q, c: e.watch_list(v, c),
    "answer_measures": lambda e, v, q, c: e.answer_measures(v, c, since=SINCE, until=UNTIL),
    "community_benefits": lambda e, v, q, c: e.community_benefits(v, c, since=SINCE, until=UNTIL),
    "person_benefits": lambda e, v, q, c: e.person_benefits(v, c, "ana", since=SINCE, until=UNTIL),
    "recognition_csv": lambda e, v, q, c: e.recognition_csv(v, c, since=SINCE, until=UNTIL),
    "recognition_json": lambda e, v, q, c: e.recognition_json(v, c, since=SINCE, until=UNTIL),
    "level_of": lambda e, v, q, c: e.level_of(v, c, "ana"),
    "levels": lambda e, v, q, c: e.levels(v, c),
    "points_balance": lambda e, v, q, c: e.points_balance(v, c, "ana"),
    "points_balances": lambda e, v, q, c: e.points_balances(v, c),
    "badges_of": lambda e, v, q, c: e.badges_of(v, c, "ana"),
    "preferences": lambda e, v, q, c: e.preferences(v, "ana"),
    "outbox": lambda e, v, q, c: e.outbox(v),
    "organisation": lambda e, v, q, c: e.organisation(v, "acme"),
    "community_health": lambda e, v, q, c: e.community_health(v, c, since=SINCE.date(), until=UNTIL),
    "search": lambda e, v, q, c: e.search(v, "press", community_id=c),
    # the host API (issue 16): read models, paged lists, revisions and the moderation queue
    "questions": lambda e, v, q, c: e.questions(v, c),
    "profile": lambda e, v, q, c: e.profile(v, "ana", community_id=c),
    "upcoming_meetings": lambda e, v, q, c: e.upcoming_meetings(v, community_id=c),
    "activity": lambda e, v, q, c: e.activity(v, community_id=c),
    "members_page": lambda e, v, q, c: e.members_page(v, c),
    "charter_history_page": lambda e, v, q, c: e.charter_history_page(v, c),
    "unanswered_page": lambda e, v, q, c: e.unanswered_page(v, c),
    "history_page": lambda e, v, q, c: e.history_page(v, c),
    "contributions_page": lambda e, v, q, c: e.contributions_page(v, "ana", community_id=c),
    "moderation_queue": lambda e, v, q, c: e.moderation_queue(v, c),
    "revisions": lambda e, v, q, c: e.revisions(v, "question", q),
    "outbox_page": lambda e, v, q, c: e.outbox_page(v),
    # value and launch (issue 14)
    "value_stories": lambda e, v, q, c: e.value_stories(v, c, since=SINCE.date(), until=UNTIL),
    "value_cycles": lambda e, v, q, c: e.value_cycles(v, c, since=SINCE.date(), until=UNTIL),
    "assess_candidate": lambda e, v, q, c: e.assess_candidate(
        v, e.propose_community("ana", "acme", name="Brazing", vocation="Braze").candidate.id
    ),
    "recommend_communities": lambda e, v, q, c: e.recommend_communities(v, "ana"),
    "community_lifecycle": lambda e, v, q, c: e.community_lifecycle(v, c, until=UNTIL),
}

#: Reads of the organisation (acme) rather than of the community.
ORGANISATION_READS = {"organisation"}

#: Reads whose answer an outsider may get without reading the community: `contributions_of`
#: leaves out what the viewer may not read (tested apart below), `portfolio` lists only what
#: the viewer may see, `health_reports` reports only on what the viewer may read.
FILTERING_READS = {"portfolio", "health_reports"}
#: The host API's: "my communities" lists only what the viewer may see, the paged portfolio
#: as the portfolio (tests/hostapi/test_read_models.py tests them apart).
FILTERING_READS |= {"my_communities", "portfolio_page"}
#: `portfolio_health` ranks what `health_reports` gives; `community_candidates` lists only the
#: candidates the viewer proposed (all of them for an administrator).
FILTERING_READS |= {"portfolio_health", "community_candidates"}


def _reads_of_the_engine() -> set[str]:
    names = set()
    for name in dir(Engine):
        member = getattr(Engine, name)
        if name.startswith("_") or not callable(member):
            continue
        parameters = list(inspect.signature(member).parameters)
        if parameters[:2] == ["self", "viewer"]:
            names.add(name)
    return names


@pytest.fixture
def engine() -> Engine:
    engine = open_engine()
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    charter = Charter(vocation="Plant managers compare notes", membership_policy=MembershipPolicy(Admission.INVITATION))
    engine.create_community(
        "ana", "acme", name="Plant managers", charter=charter, visibility=Visibility.PRIVATE, community_id="managers"
    )
    return engine


@pytest.fixture
def question(engine: Engine) -> str:
    """The id of a question asked in the private community."""
    return engine.ask("ana", "managers", title="Which press?", body="For the new line").id


def test_every_read_of_the_engine_has_its_outsider_test() -> None:
    assert _reads_of_the_engine() - FILTERING_READS == set(READS)


#: Reads of a person or of the host, not of a community: refused as such.
PERSONAL_READS = {"preferences", "outbox"}
PERSONAL_READS |= {"outbox_page"}
#: A candidate is its proposer's (and the administrators'); recommendations are the person's.
PERSONAL_READS |= {"assess_candidate", "recommend_communities"}


@pytest.mark.parametrize("read", sorted(set(READS) - PERSONAL_READS - ORGANISATION_READS))
def test_a_private_community_is_unknown_to_an_outsider_whatever_they_read_of_it(
    engine: Engine, question: str, read: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        READS[read](engine, "chloe", question, "managers")

    # It names what the outsider asked for, never the private community behind it.
    assert caught.value.id in ("managers", question)
    if read == "question":
        assert "managers" not in str(caught.value)


@pytest.mark.parametrize("read", sorted(PERSONAL_READS))
def test_someone_elses_preferences_and_the_outbox_are_refused(engine: Engine, question: str, read: str) -> None:
    with pytest.raises(PermissionDeniedError):
        READS[read](engine, "chloe", question, "managers")


@pytest.mark.parametrize(
    "read", sorted(set(READS) - PERSONAL_READS - ORGANISATION_READS - {"question", "contributions_of", "revisions"})
)
def test_an_unknown_community_gets_the_same_answer_as_a_private_one(engine: Engine, read: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        READS[read](engine, "chloe", "q-nowhere", "nowhere")

    assert (caught.value.kind, caught.value.id) == ("community", "nowhere")


@pytest.mark.parametrize("read", sorted(READS))
def test_the_host_reads_everything(engine: Engine, question: str, read: str) -> None:
    READS[read](engine, SYSTEM, question, "managers")  # raises nothing


def test_an_outsider_finds_no_private_contribution_among_a_persons_contributions(engine: Engine, question: str) -> None:
    assert engine.contributions_of("chloe", "ana") == []
    assert [c.id for c in engine.contributions_of("ana", "ana")] == [question]


def test_an_outsider_does_not_see_a_private_community_in_the_portfolio(engine: Engine) -> None:
    assert engine.portfolio("chloe", "acme") == []
    assert [c.id for c in engine.portfolio("ana", "acme")] == ["managers"]


def test_a_member_reads_levels_points_and_badges_of_their_community(engine: Engine, question: str) -> None:
    engine.invite("ana", "managers", "ben")
    engine.join("ben", "managers")
    engine.answer("ben", question, body="The hydraulic one")

    assert engine.level_of("ana", "managers", "ben") is not ParticipationLevel.OUTSIDER
    assert engine.level_of("ana", "managers", "chloe") is ParticipationLevel.OUTSIDER
    assert set(engine.levels("ben", "managers")) == {"ana", "ben"}
    assert engine.badges_of("ana", "managers", "ben") == ["first_answer"]
    balance = engine.points_balance("ana", "managers", "ben")
    assert balance is not None
    assert balance.points > 0
    assert {b.person_id for b in engine.points_balances("ana", "managers")} >= {"ben"}


def test_a_read_of_an_unknown_community_is_a_coplib_error(engine: Engine) -> None:
    with pytest.raises(CoplibError):
        engine.level_of("ana", "nowhere", "ana")


def test_an_outsider_gets_no_health_report_of_a_private_community_among_the_reports(
    engine: Engine, question: str
) -> None:
    assert engine.health_reports("chloe", "acme") == []
    assert engine.health_reports("chloe") == []
    assert [r.community_id for r in engine.health_reports("ana", "acme")] == ["managers"]
    assert [r.community_id for r in engine.health_reports(SYSTEM)] == ["managers"]


# -- another organisation ---------------------------------------------------------------------

#: gil is of globex only; pia of acme only (an outsider of the community, of its organisation).
GIL = Person(id="gil", display_name="Gil", organisations={"globex"})
PIA = Person(id="pia", display_name="Pia", organisations={"acme"})


@pytest.fixture
def apart() -> Engine:
    """acme's open community "welding", open to all of acme, where ana asked a question; and
    globex, another organisation."""
    engine = open_engine(people=(*PEOPLE, GIL, PIA))
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_organisation(SYSTEM, "Globex", organisation_id="globex")
    engine.create_community("ana", "acme", name="Welding", vocation="Welders help each other", community_id="welding")
    engine.ask("ana", "welding", title="Which rod?", body="For cast iron")
    return engine


def _question(engine: Engine) -> str:
    return engine.unanswered_questions(SYSTEM, "welding")[0].id


def _outcome(engine: Engine, read: str, viewer: str) -> str:
    try:
        READS[read](engine, viewer, _question(engine), "welding")
    except CoplibError as refused:
        return type(refused).__name__
    return "read"


@pytest.mark.parametrize("read", sorted(set(READS) - PERSONAL_READS))
def test_an_open_community_of_another_organisation_is_unknown_whatever_they_read_of_it(
    apart: Engine, read: str
) -> None:
    question = _question(apart)

    with pytest.raises(NotFoundError) as caught:
        READS[read](apart, "gil", question, "welding")

    # It names what they asked for (the organisation, for a read of it), never more.
    assert caught.value.id in ("welding", question, "acme")
    if read == "question":
        assert "welding" not in str(caught.value)


@pytest.mark.parametrize("read", sorted(set(READS) - PERSONAL_READS - ORGANISATION_READS))
def test_once_shared_with_their_organisation_it_reads_as_it_does_for_its_own_people(apart: Engine, read: str) -> None:
    apart.share_community("ana", "welding", "globex")

    assert _outcome(apart, read, "gil") == _outcome(apart, read, "pia")
    assert _outcome(apart, read, "gil") != "NotFoundError"


@pytest.mark.parametrize("read", sorted(set(READS) - PERSONAL_READS - ORGANISATION_READS))
def test_once_no_longer_shared_it_is_unknown_again(apart: Engine, read: str) -> None:
    apart.share_community("ana", "welding", "globex")
    apart.unshare_community("ana", "welding", "globex")

    assert _outcome(apart, read, "gil") == "NotFoundError"


def test_another_organisations_portfolio_is_unknown_and_ones_own_lists_what_is_shared_with_it(apart: Engine) -> None:
    with pytest.raises(NotFoundError) as caught:
        apart.portfolio("gil", "acme")
    assert (caught.value.kind, caught.value.id) == ("organisation", "acme")
    assert apart.portfolio("gil", "globex") == []

    apart.share_community("ana", "welding", "globex")

    assert [c.id for c in apart.portfolio("gil", "globex")] == ["welding"]
    assert apart.organisation("gil", "globex").shared_communities == {"welding"}
    with pytest.raises(NotFoundError):
        apart.portfolio("gil", "acme")  # sharing a community does not open its organisation


def test_an_unknown_organisation_gets_the_same_answer_as_another_organisations(apart: Engine) -> None:
    for organisation_id in ("acme", "nowhere"):
        with pytest.raises(NotFoundError) as caught:
            apart.organisation("gil", organisation_id)
        assert (caught.value.kind, caught.value.id) == ("organisation", organisation_id)


def test_another_organisations_contributions_are_left_out_of_a_persons_contributions(apart: Engine) -> None:
    assert apart.contributions_of("gil", "ana") == []
    assert [c.id for c in apart.contributions_of("pia", "ana")] == [_question(apart)]


def test_a_private_community_shared_with_an_organisation_stays_private_to_its_people(apart: Engine) -> None:
    charter = Charter(vocation="Plant managers compare notes", membership_policy=MembershipPolicy(Admission.INVITATION))
    apart.create_community(
        "ana", "acme", name="Plant managers", charter=charter, visibility=Visibility.PRIVATE, community_id="managers"
    )
    apart.share_community("ana", "managers", "globex")

    with pytest.raises(NotFoundError):
        apart.community("gil", "managers")
    assert apart.organisation("gil", "globex").shared_communities == frozenset()
    assert apart.portfolio("gil", "globex") == []

    apart.invite("ana", "managers", "gil")

    assert apart.community("gil", "managers").shared_with == {"globex"}
    assert apart.organisation("gil", "globex").shared_communities == {"managers"}


def test_the_decision_point_itself_conceals_another_organisations_community(apart: Engine) -> None:
    # Not only the use cases' gateway: whoever asks `Runtime.authorise` about a community of
    # another organisation gets the unknown id's answer, naming what they asked for.
    welding = apart.community("ana", "welding")
    question = Ref("question", _question(apart))

    with pytest.raises(NotFoundError) as caught:
        apart.runtime.authorise(None, Action.READ, "gil", welding)
    assert (caught.value.kind, caught.value.id) == ("community", "welding")
    with pytest.raises(NotFoundError) as caught:
        apart.runtime.authorise(None, Action.CONTRIBUTE, "gil", welding, subject=question)
    assert (caught.value.kind, caught.value.id) == ("question", question.id)
    assert apart.runtime.authorise(None, Action.READ, "pia", welding) is None  # open to all of acme


def test_another_organisations_health_reports_are_unknown_until_a_community_is_shared(apart: Engine) -> None:
    for organisation_id in ("acme", "nowhere"):
        with pytest.raises(NotFoundError) as caught:
            apart.health_reports("gil", organisation_id)
        assert (caught.value.kind, caught.value.id) == ("organisation", organisation_id)
    assert apart.health_reports("gil") == []
    assert apart.health_reports("gil", "globex") == []

    apart.share_community("ana", "welding", "globex")

    assert [r.community_id for r in apart.health_reports("gil", "globex")] == ["welding"]
    assert [r.community_id for r in apart.health_reports("gil")] == ["welding"]
