"""Organisations kept apart: people belong to the organisations their directory entry lists;
an organisation's communities are unknown to the people of the others unless shared with
theirs (seeds/004: clubs and associations bring several companies together); organisations
have administrators; who creates an organisation is the host's setting."""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import pytest

import coplib
from coplib import (
    SYSTEM,
    Admission,
    AttributeRule,
    Charter,
    Community,
    ConflictError,
    Engine,
    InvalidInputError,
    MembershipPolicy,
    MembershipStatus,
    NotFoundError,
    OrganisationCreators,
    PermissionDeniedError,
    Person,
    StaticDirectory,
    Visibility,
)
from coplib.domain.history import Ref, replay
from tests.unit.support import event_types, open_engine, snapshot

#: acme's people (ana, ben), globex's (gil), the welders' club's (clara), luc of acme and the
#: club, nina listed in no organisation, uma not listed at all (the directory does not say).
PEOPLE = (
    Person(id="ana", display_name="Ana", organisations={"acme"}),
    Person(id="ben", display_name="Ben", organisations={"acme"}),
    Person(id="gil", display_name="Gil", organisations={"globex"}),
    Person(id="clara", display_name="Clara", organisations={"club"}),
    Person(id="luc", display_name="Luc", organisations={"acme", "club"}),
    Person(id="nina", display_name="Nina", organisations=()),
    Person(id="uma", display_name="Uma"),
)


def club_engine(**kwargs: Any) -> Engine:
    """Three organisations, each founded by one of its people; acme's open community "welding",
    animated by ana."""
    engine = open_engine(people=kwargs.pop("people", PEOPLE), **kwargs)
    engine.create_organisation("ana", "Acme", organisation_id="acme")
    engine.create_organisation("gil", "Globex", organisation_id="globex")
    engine.create_organisation("clara", "Welders' club", organisation_id="club")
    engine.create_community("ana", "acme", name="Welding", vocation="Welders help each other", community_id="welding")
    return engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    with club_engine() as opened:
        yield opened


def nothing_recorded_by(engine: Engine, attempt: Any) -> None:
    before = snapshot(engine), event_types(engine)
    with pytest.raises(coplib.CoplibError):
        attempt()
    assert (snapshot(engine), event_types(engine)) == before


# -- the case: organisation A's founder and organisation B's community -------------------


def test_another_organisations_founder_can_neither_see_nor_join_nor_read_its_open_community(engine: Engine) -> None:
    question = engine.ask("ana", "welding", title="Which rod?", body="For cast iron")
    before = event_types(engine)

    for attempt in (
        lambda: engine.community("gil", "welding"),
        lambda: engine.join("gil", "welding"),
        lambda: engine.members("gil", "welding"),
        lambda: engine.history("gil", "welding"),
        lambda: engine.request_membership("gil", "welding"),
        lambda: engine.ask("gil", "welding", title="Hello?", body="Let me in"),
    ):
        with pytest.raises(NotFoundError) as caught:
            attempt()
        assert (caught.value.kind, caught.value.id) == ("community", "welding")
    with pytest.raises(NotFoundError) as caught:
        engine.answer("gil", question.id, body="Nickel")
    assert (caught.value.kind, caught.value.id) == ("question", question.id)
    assert "welding" not in str(caught.value)
    assert event_types(engine) == before


def test_another_organisations_community_answers_as_an_unknown_id_does(engine: Engine) -> None:
    with pytest.raises(NotFoundError) as hidden:
        engine.join("gil", "welding")
    with pytest.raises(NotFoundError) as unknown:
        engine.join("gil", "nowhere")

    assert str(hidden.value) == str(unknown.value).replace("nowhere", "welding")


def test_another_organisation_is_unknown_to_whoever_is_not_one_of_its_people(engine: Engine) -> None:
    for attempt in (
        lambda: engine.organisation("gil", "acme"),
        lambda: engine.portfolio("gil", "acme"),
        lambda: engine.create_community("gil", "acme", name="Mine", vocation="Squat"),
        lambda: engine.appoint_administrator("gil", "acme", "gil"),
    ):
        with pytest.raises(NotFoundError) as caught:
            attempt()
        assert (caught.value.kind, caught.value.id) == ("organisation", "acme")


def test_people_of_the_communitys_organisation_see_join_and_read_it(engine: Engine) -> None:
    assert engine.join("ben", "welding").status is MembershipStatus.ACTIVE
    assert [c.id for c in engine.portfolio("ben", "acme")] == ["welding"]
    assert engine.organisation("ben", "acme").administrators == {"ana"}


def test_a_person_of_two_organisations_is_one_of_the_people_of_each(engine: Engine) -> None:
    engine.create_community("clara", "club", name="Club talks", vocation="Meet", community_id="talks")

    assert engine.join("luc", "welding").active
    assert engine.join("luc", "talks").active
    assert {o for o in ("acme", "club", "globex") if _knows(engine, "luc", o)} == {"acme", "club"}


def _knows(engine: Engine, viewer: str, organisation_id: str) -> bool:
    try:
        engine.organisation(viewer, organisation_id)
    except NotFoundError:
        return False
    return True


# -- who belongs: listed, listed in none, not listed ----------------------------------------------


def test_a_person_listed_in_no_organisation_belongs_to_none(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.community("nina", "welding")
    with pytest.raises(NotFoundError):
        engine.organisation("nina", "acme")


def test_a_person_whose_organisations_are_not_listed_is_kept_out_of_none(engine: Engine) -> None:
    # A host that does not use organisations lists nobody's: everything works as it did.
    assert engine.community("uma", "welding").id == "welding"
    assert engine.join("uma", "welding").active
    assert _knows(engine, "uma", "globex")


def test_with_organisations_required_a_person_not_listed_belongs_to_none() -> None:
    with club_engine(require_organisations=True) as engine:
        assert engine.person("uma") == Person(id="uma", display_name="Uma", organisations=())
        with pytest.raises(NotFoundError):
            engine.community("uma", "welding")
        with pytest.raises(NotFoundError):
            engine.portfolio("uma", "acme")
        assert engine.join("ben", "welding").active  # the listed are untouched


def test_organisations_required_holds_for_the_hosts_own_identity_plugin_too() -> None:
    class HostDirectory:
        @coplib.hookimpl
        def coplib_get_person(self, person_id: str) -> Person | None:
            return Person(id=person_id, display_name=person_id.title()) if person_id.startswith("host-") else None

    with club_engine(plugins=[HostDirectory()], require_organisations=True) as engine:
        assert engine.person("host-ivy") == Person(id="host-ivy", display_name="Host-Ivy", organisations=())
        with pytest.raises(NotFoundError):
            engine.join("host-ivy", "welding")


def test_a_single_organisation_host_that_lists_no_organisations_keeps_working() -> None:
    people = [Person(id=p, display_name=p.title()) for p in ("ana", "ben", "eve")]
    with open_engine(people=people) as engine:
        engine.create_organisation("eve", "Acme", organisation_id="acme")
        community = engine.create_community("ana", "acme", name="Welding", vocation="Help each other")
        engine.join("ben", community.id)
        engine.ask("ben", community.id, title="Which gas?", body="For TIG")

        assert [c.id for c in engine.portfolio("ben", "acme")] == [community.id]
        assert engine.unanswered_questions("ana", community.id)[0].title == "Which gas?"


# -- sharing a community with other organisations -------------------------------------------------


def test_a_steward_shares_a_community_and_the_partners_people_join_and_read_it(engine: Engine) -> None:
    shared = engine.share_community("ana", "welding", "club")

    assert shared.shared_with == {"club"}
    assert shared.organisations == {"acme", "club"}
    assert event_types(engine)[-1] == "community_shared"
    assert engine.community("clara", "welding").shared_with == {"club"}
    assert engine.join("clara", "welding").active
    assert [c.id for c in engine.portfolio("clara", "club")] == ["welding"]
    assert engine.organisation("clara", "club").shared_communities == {"welding"}
    with pytest.raises(NotFoundError):
        engine.community("gil", "welding")  # globex is still apart


def test_the_sharing_is_in_the_communitys_history(engine: Engine) -> None:
    engine.share_community("ana", "welding", "club")
    engine.unshare_community("ana", "welding", "club")

    types = [r.event.TYPE for r in engine.history("ana", "welding")]
    assert types[-2:] == ["community_shared", "community_unshared"]


def test_sharing_again_or_stopping_what_was_not_shared_changes_nothing(engine: Engine) -> None:
    engine.share_community("ana", "welding", "club")
    before = event_types(engine)

    engine.share_community("ana", "welding", "club")
    engine.unshare_community("ana", "welding", "globex")

    assert event_types(engine) == before


def test_an_administrator_of_its_organisation_shares_a_community_without_being_a_member(engine: Engine) -> None:
    engine.appoint_administrator("ana", "acme", "ben")

    assert engine.share_community("ben", "welding", "globex").shared_with == {"globex"}


def test_a_plain_member_or_the_partners_administrator_may_not_share_it(engine: Engine) -> None:
    engine.join("ben", "welding")
    engine.share_community("ana", "welding", "club")
    engine.join("clara", "welding")

    with pytest.raises(PermissionDeniedError, match="needs the role facilitator or sponsor"):
        engine.share_community("ben", "welding", "globex")
    # clara administers the club, not acme: the community is not hers to open to others.
    with pytest.raises(PermissionDeniedError, match="administer its organisation"):
        engine.share_community("clara", "welding", "globex")


def test_sharing_with_its_own_organisation_is_refused_naming_the_field(engine: Engine) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.share_community("ana", "welding", "acme")

    assert [e.path for e in caught.value.errors] == ["$.organisation_id"]
    nothing_recorded_by(engine, lambda: engine.share_community("ana", "welding", "acme"))


def test_sharing_with_an_unknown_organisation_is_not_found_and_changes_nothing(engine: Engine) -> None:
    nothing_recorded_by(engine, lambda: engine.share_community("ana", "welding", "nowhere"))
    with pytest.raises(NotFoundError) as caught:
        engine.share_community("ana", "welding", "nowhere")
    assert (caught.value.kind, caught.value.id) == ("organisation", "nowhere")


def test_a_person_of_another_organisation_is_invited_only_once_it_is_shared_with_theirs(engine: Engine) -> None:
    nothing_recorded_by(engine, lambda: engine.invite("ana", "welding", "gil"))
    with pytest.raises(ConflictError, match="share the community with their organisation first"):
        engine.invite("ana", "welding", "gil")

    engine.share_community("ana", "welding", "globex")

    assert engine.invite("ana", "welding", "gil").status is MembershipStatus.INVITED


def test_stopping_sharing_makes_the_partners_people_leave_and_the_community_unknown_to_them(engine: Engine) -> None:
    engine.share_community("ana", "welding", "club")
    engine.join("clara", "welding")
    engine.join("luc", "welding")  # of acme too: stays

    engine.unshare_community("ana", "welding", "club")

    assert engine.membership("ana", "welding", "clara").status is MembershipStatus.LEFT  # type: ignore[union-attr]
    assert engine.membership("ana", "welding", "luc").active  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        engine.community("clara", "welding")
    left = [r.event for r in engine.store.events() if r.event.TYPE == "member_left"]
    assert [(e.person_id, getattr(e, "reason", "")) for e in left] == [
        ("clara", "the community is no longer shared with their organisation")
    ]


def test_a_member_whose_organisation_lost_its_access_may_still_leave() -> None:
    # The directory moved clara out of the club after she joined, before any directory sync.
    directory = StaticDirectory(PEOPLE)
    with club_engine(people=(), plugins=[directory]) as engine:
        engine.share_community("ana", "welding", "club")
        engine.join("clara", "welding")
        directory.put(Person(id="clara", display_name="Clara", organisations={"globex"}))

        with pytest.raises(NotFoundError):
            engine.ask("clara", "welding", title="Still here?", body="Hello")
        assert engine.leave("clara", "welding").status is MembershipStatus.LEFT


def test_the_directory_sync_lets_go_of_members_no_longer_of_the_communitys_organisations() -> None:
    directory = StaticDirectory(PEOPLE)
    with club_engine(people=(), plugins=[directory]) as engine:
        engine.join("ben", "welding")
        directory.put(Person(id="ben", display_name="Ben", organisations={"globex"}))

        report = engine.sync_directory()

        assert report.outside == (("welding", "ben"),)
        assert report.deactivated == ()
        assert engine.membership(SYSTEM, "welding", "ben").status is MembershipStatus.LEFT  # type: ignore[union-attr]
        assert engine.sync_directory().events == 0


def test_a_rule_community_admits_by_rule_only_the_people_of_its_organisations() -> None:
    people = [
        Person(id="ana", display_name="Ana", organisations={"acme"}),
        Person(id="walt", display_name="Walt", organisations={"acme"}, attributes={"job": "welder"}),
        Person(id="wes", display_name="Wes", organisations={"globex"}, attributes={"job": "welder"}),
    ]
    with open_engine(people=people) as engine:
        engine.create_organisation("ana", "Acme", organisation_id="acme")
        engine.create_organisation(SYSTEM, "Globex", organisation_id="globex")
        policy = MembershipPolicy(Admission.RULE, AttributeRule.of(job="welder"))
        community = engine.create_community(
            "ana", "acme", name="Welders", charter=Charter(vocation="Weld", membership_policy=policy)
        )

        assert engine.sync_directory().joined == ((community.id, "walt"),)
        with pytest.raises(NotFoundError):
            engine.join("wes", community.id)


def test_a_private_community_shared_with_an_organisation_is_still_joined_by_invitation_only(engine: Engine) -> None:
    charter = Charter(vocation="Plant managers", membership_policy=MembershipPolicy(Admission.INVITATION))
    engine.create_community(
        "ana", "acme", name="Managers", charter=charter, visibility=Visibility.PRIVATE, community_id="managers"
    )
    engine.share_community("ana", "managers", "club")

    with pytest.raises(NotFoundError):
        engine.join("clara", "managers")
    engine.invite("ana", "managers", "clara")
    assert engine.join("clara", "managers").active


# -- administrators -------------------------------------------------------------------------------


def test_the_founder_is_the_first_administrator_and_appoints_others_of_the_organisation(engine: Engine) -> None:
    organisation = engine.appoint_administrator("ana", "acme", "ben")

    assert organisation.administrators == {"ana", "ben"}
    assert event_types(engine)[-1] == "administrator_appointed"


def test_an_organisation_the_host_creates_has_no_administrator_until_it_appoints_one(engine: Engine) -> None:
    created = engine.create_organisation(SYSTEM, "Initech", organisation_id="initech")
    assert created.administrators == frozenset()

    assert engine.appoint_administrator(SYSTEM, "initech", "uma").administrators == {"uma"}


def test_only_an_administrator_appoints_or_withdraws_one(engine: Engine) -> None:
    nothing_recorded_by(engine, lambda: engine.appoint_administrator("ben", "acme", "ben"))
    with pytest.raises(PermissionDeniedError, match="only the organisation's administrators may"):
        engine.appoint_administrator("ben", "acme", "ben")
    with pytest.raises(PermissionDeniedError, match="only the organisation's administrators may"):
        engine.withdraw_administrator("ben", "acme", "ana")


def test_an_administrator_is_one_of_the_organisations_people(engine: Engine) -> None:
    nothing_recorded_by(engine, lambda: engine.appoint_administrator("ana", "acme", "gil"))
    with pytest.raises(ConflictError, match="is not one of the people of 'acme'"):
        engine.appoint_administrator("ana", "acme", "gil")
    with pytest.raises(NotFoundError) as caught:
        engine.appoint_administrator("ana", "acme", "nobody")
    assert (caught.value.kind, caught.value.id) == ("person", "nobody")


def test_appointing_an_administrator_twice_is_a_conflict(engine: Engine) -> None:
    with pytest.raises(ConflictError, match="already an administrator"):
        engine.appoint_administrator("ana", "acme", "ana")


def test_an_administrator_is_withdrawn_but_the_last_one_stays_unless_the_host_withdraws_them(engine: Engine) -> None:
    engine.appoint_administrator("ana", "acme", "ben")
    assert engine.withdraw_administrator("ben", "acme", "ana").administrators == {"ben"}

    nothing_recorded_by(engine, lambda: engine.withdraw_administrator("ben", "acme", "ben"))
    with pytest.raises(ConflictError, match="last administrator"):
        engine.withdraw_administrator("ben", "acme", "ben")
    assert engine.withdraw_administrator(SYSTEM, "acme", "ben").administrators == frozenset()
    with pytest.raises(ConflictError, match="is not an administrator"):
        engine.withdraw_administrator(SYSTEM, "acme", "ben")


def test_replaying_the_history_gives_the_stored_organisations_and_communities(engine: Engine) -> None:
    engine.appoint_administrator("ana", "acme", "ben")
    engine.withdraw_administrator("ben", "acme", "ana")
    engine.share_community("ben", "welding", "club")
    engine.share_community("ben", "welding", "globex")
    engine.unshare_community("ben", "welding", "club")

    replayed = replay(r.event for r in engine.store.events(limit=10_000))
    stored = snapshot(engine)

    for ref in (Ref("organisation", "acme"), Ref("organisation", "club"), Ref("organisation", "globex")):
        assert replayed[ref] == stored[ref][0]
    assert replayed[Ref("community", "welding")] == stored[Ref("community", "welding")][0]
    assert stored[Ref("community", "welding")][0].shared_with == {"globex"}  # type: ignore[union-attr]
    assert stored[Ref("organisation", "globex")][0].shared_communities == {"welding"}  # type: ignore[union-attr]


# -- who creates an organisation ------------------------------------------------------------------


def test_by_default_anyone_creates_an_organisation_the_directory_places_them_in() -> None:
    with open_engine(people=PEOPLE) as engine:
        assert engine.create_organisation("ana", "Acme", organisation_id="acme").administrators == {"ana"}
        assert engine.create_organisation("uma", "Anything", organisation_id="anything").id == "anything"
        # gil may not take the id of an organisation the directory does not place him in.
        with pytest.raises(PermissionDeniedError, match="does not place this person in the organisation 'initech'"):
            engine.create_organisation("gil", "Initech", organisation_id="initech")


def test_when_only_the_host_creates_organisations_nobody_else_may() -> None:
    with open_engine(people=PEOPLE, organisation_creators="host") as engine:
        before = event_types(engine)
        with pytest.raises(PermissionDeniedError, match=r"created by the host \(coplib:system\) only"):
            engine.create_organisation("ana", "Acme", organisation_id="acme")
        assert event_types(engine) == before

        assert engine.create_organisation(SYSTEM, "Acme", organisation_id="acme").administrators == frozenset()


def test_the_people_the_host_names_create_any_organisation_and_administer_it() -> None:
    with open_engine(people=PEOPLE, organisation_creators=["nina"]) as engine:
        created = engine.create_organisation("nina", "Globex", organisation_id="globex")
        assert created.administrators == {"nina"}
        # She administers it without being one of its people: she may not open communities in
        # it (she would be their facilitator without seeing them), she appoints one of them.
        with pytest.raises(PermissionDeniedError, match="not one of the organisation's people"):
            engine.create_community("nina", "globex", name="Hers", vocation="None")
        engine.appoint_administrator("nina", "globex", "gil")
        engine.withdraw_administrator("gil", "globex", "nina")
        with pytest.raises(PermissionDeniedError, match="organisations are created by nina only"):
            engine.create_organisation("ana", "Acme", organisation_id="acme")


def test_the_engine_carries_the_setting() -> None:
    with open_engine(people=PEOPLE, organisation_creators=("ana", "ben")) as engine:
        assert engine.organisation_creators == OrganisationCreators(anyone=False, people=frozenset({"ana", "ben"}))


@pytest.mark.parametrize(
    ("setting", "path"),
    [
        (42, "$.organisation_creators"),
        ("everyone", "$.organisation_creators"),
        ([], "$.organisation_creators"),
        (["ana", "has space"], "$.organisation_creators[1]"),
        (["ana", 7], "$.organisation_creators[1]"),
        ([SYSTEM], "$.organisation_creators[0]"),
    ],
)
def test_a_bad_creator_setting_is_refused_naming_it(setting: object, path: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_engine(people=PEOPLE, organisation_creators=setting)

    assert [e.path for e in caught.value.errors] == [path]


@pytest.mark.parametrize("setting", ["yes", 1, None])
def test_require_organisations_is_true_or_false(setting: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_engine(people=PEOPLE, require_organisations=setting)

    assert [e.path for e in caught.value.errors] == ["$.require_organisations"]


def test_a_community_created_in_an_organisation_belongs_to_it_alone(engine: Engine) -> None:
    community: Community = engine.create_community("gil", "globex", name="Globex talks", vocation="Talk")

    assert (community.organisation_id, community.shared_with) == ("globex", frozenset())
    with pytest.raises(NotFoundError):
        engine.community("ana", community.id)


def test_with_organisations_required_a_rule_takes_in_nobody_whose_organisations_are_not_listed() -> None:
    people = [
        Person(id="ana", display_name="Ana", organisations={"acme"}),
        Person(id="walt", display_name="Walt", organisations={"acme"}, attributes={"job": "welder"}),
        Person(id="will", display_name="Will", attributes={"job": "welder"}),  # not listed
    ]
    with open_engine(people=people, require_organisations=True) as engine:
        engine.create_organisation("ana", "Acme", organisation_id="acme")
        policy = MembershipPolicy(Admission.RULE, AttributeRule.of(job="welder"))
        community = engine.create_community(
            "ana", "acme", name="Welders", charter=Charter(vocation="Weld", membership_policy=policy)
        )

        assert engine.sync_directory().joined == ((community.id, "walt"),)


# -- notices --------------------------------------------------------------------------------------


def notices(engine: Engine, *topics: str) -> list[tuple[str, str, str]]:
    """(recipient, topic, organisation named) of the pending messages of `topics`."""
    return [
        (m.recipient_id, m.topic, str(m.params.get("organisation")))
        for m in engine.store.pending_messages(limit=1000)
        if m.topic in topics
    ]


def test_an_appointed_or_withdrawn_administrator_is_told_and_whoever_did_it_is_not(engine: Engine) -> None:
    engine.appoint_administrator("ana", "acme", "ben")
    engine.withdraw_administrator("ana", "acme", "ben")
    engine.appoint_administrator("ana", "acme", "luc")
    engine.withdraw_administrator("luc", "acme", "luc")  # withdrawing oneself tells nobody

    assert sorted(notices(engine, "administrator_appointed", "administrator_withdrawn")) == [
        ("ben", "administrator_appointed", "Acme"),
        ("ben", "administrator_withdrawn", "Acme"),
        ("luc", "administrator_appointed", "Acme"),
    ]


def test_sharing_tells_the_communitys_facilitators_and_the_partners_administrators_but_not_the_sharer(
    engine: Engine,
) -> None:
    engine.join("ben", "welding")
    engine.assign_role("ana", "welding", "ben", coplib.Role.FACILITATOR)
    engine.appoint_administrator("clara", "club", "luc")

    engine.share_community("ana", "welding", "club")
    engine.unshare_community("ben", "welding", "club")

    assert sorted(notices(engine, "community_shared", "community_unshared")) == [
        ("ana", "community_unshared", "Welders' club"),
        ("ben", "community_shared", "Welders' club"),
        ("clara", "community_shared", "Welders' club"),
        ("clara", "community_unshared", "Welders' club"),
        ("luc", "community_shared", "Welders' club"),
        ("luc", "community_unshared", "Welders' club"),
    ]


@pytest.mark.parametrize(
    "topic", ["administrator_appointed", "administrator_withdrawn", "community_shared", "community_unshared"]
)
def test_the_organisation_notices_read_in_french_and_english(topic: str) -> None:
    from coplib.notification.messages import CATALOGUE

    params = {"organisation": "Globex", "community": "Welding", "actor": "ana"}
    for locale in ("en", "fr"):
        subject, body = CATALOGUE[topic][locale]
        rendered = string.Template(subject + " " + body).substitute(params)
        assert "Globex" in rendered
        assert "$" not in rendered
    assert CATALOGUE[topic]["fr"] != CATALOGUE[topic]["en"]
