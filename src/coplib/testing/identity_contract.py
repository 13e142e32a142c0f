"""The conformance kit for identity adapters (plugins implementing ``coplib_get_person``,
``coplib_find_people`` and ``coplib_authenticate``).

Subclass `IdentityContract` in a test module and override `make_directory`: a fixture
returning a callable that builds your directory plugin holding exactly the given people
(and login aliases). For a directory you cannot fill from a test (a real LDAP), load these
people into a test instance of it. Override `supports_aliases` with False when your
directory maps logins some other way; the alias tests then check the weaker promise that
an unknown login maps to no one.

Above all, no identity source may hand out one of coplib's own ids (``coplib.SYSTEM``, any id
under ``coplib:``): whoever could log in as one would pass every permission check. The kit
gives the directory such a person and such an alias, and expects the directory either to
refuse them when it is made (any `coplib.CoplibError`, best with the place named) or never to
hand them out. Example::

    class TestLdapDirectory(IdentityContract):
        @pytest.fixture
        def make_directory(self, ldap_server):
            def make(people, aliases):
                ldap_server.load(people, aliases)
                return LdapDirectory(ldap_server.connection())
            return make
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from coplib.bootstrap.plugins import make_plugin_manager
from coplib.domain._build import build
from coplib.domain.clock import ManualClock
from coplib.domain.community import Admission, Charter, MembershipPolicy
from coplib.domain.errors import CoplibError
from coplib.domain.people import SYSTEM, AttributeRule, Person, is_reserved_person_id

__all__ = ["PEOPLE", "RESERVED_IDS", "DirectoryFactory", "IdentityContract", "intruder"]

DirectoryFactory = Callable[[Sequence[Person], Mapping[str, str]], Any]

#: The people every directory under test holds: alice of one organisation, bruno of two,
#: emma listed in none, carol and dev not listed (``organisations`` None).
PEOPLE: tuple[Person, ...] = (
    Person(
        "alice",
        "Alice Martin",
        email="alice.martin@example.org",
        locale="fr",
        attributes={"job": "welder", "site": "Lyon", "skills": ("mig", "tig"), "manager": "bruno"},
        organisations={"acme"},
    ),
    Person(
        "bruno",
        "Bruno Keller",
        email="bruno@example.org",
        attributes={"job": "welder", "site": ("Lyon", "Grenoble")},
        organisations={"acme", "welders-club"},
    ),
    Person(
        "carol", "Carol Evans", email="carol@example.org", active=False, attributes={"job": "welder", "site": "Lyon"}
    ),
    Person("dev", "Dev Patel", email="dev@example.org", locale="en", attributes={"job": "painter", "site": "Lyon"}),
    Person(
        "emma",
        "Emma Roux",
        locale="fr",
        attributes={"job": "welder", "site": "Nantes", "seniority": "junior"},
        organisations=(),
    ),
)
ALIASES: dict[str, str] = {"CORP\\amartin": "alice", "bkeller": "bruno"}

#: Ids no identity source may give anyone: the system actor's, and others under ``coplib:``.
RESERVED_IDS: tuple[str, ...] = (SYSTEM, "coplib:admin", "COPLIB:System")


def intruder(person_id: str = SYSTEM) -> Person:
    """A person holding one of coplib's own ids, as a directory's data might (made without
    `Person`'s validators, which refuse it): what every directory must keep out."""
    return build(
        Person,
        id=person_id,
        display_name="Mallory",
        email="mallory@example.org",
        locale="en",
        active=True,
        attributes={"job": ("welder",), "site": ("Lyon",)},
    )


def _ids(people: Sequence[Person] | None) -> list[str] | None:
    return None if people is None else [p.id for p in people]


class IdentityContract:
    """Test methods every identity adapter passes. See the module docstring."""

    # -- fixtures the adapter overrides -----------------------------------------------------------

    @pytest.fixture
    def make_directory(self) -> DirectoryFactory:
        """Override: build the directory plugin from people and aliases (login -> person id)."""
        raise NotImplementedError("an IdentityContract subclass must override the make_directory fixture")

    @pytest.fixture
    def supports_aliases(self) -> bool:
        return True

    # -- fixtures the tests use -------------------------------------------------------------------

    @pytest.fixture
    def directory(self, make_directory: DirectoryFactory) -> Any:
        return make_directory(PEOPLE, ALIASES)

    @pytest.fixture
    def hook(self, directory: Any) -> Any:
        """The identity hooks as coplib calls them: through a plugin manager holding the
        directory alone, with coplib's hookspecs (so the signatures are checked too)."""
        return make_plugin_manager([directory]).hook

    # -- resolving people -------------------------------------------------------------------------

    def test_a_known_person_is_resolved_with_every_field(self, hook: Any) -> None:
        for person in PEOPLE:
            assert hook.coplib_get_person(person_id=person.id) == person

    def test_an_unknown_id_is_none(self, hook: Any) -> None:
        assert hook.coplib_get_person(person_id="nobody") is None

    def test_a_persons_organisations_are_resolved_as_the_directory_lists_them(self, hook: Any) -> None:
        found = {p.id: hook.coplib_get_person(person_id=p.id).organisations for p in PEOPLE}
        assert found == {
            "alice": {"acme"},
            "bruno": {"acme", "welders-club"},
            "carol": None,
            "dev": None,
            "emma": frozenset(),
        }

    def test_listed_in_no_organisation_and_not_listed_are_told_apart(self, hook: Any) -> None:
        # None: the directory does not say (every organisation's, unless the host requires
        # organisations); an empty set: listed in none.
        assert hook.coplib_get_person(person_id="dev").organisations is None
        assert hook.coplib_get_person(person_id="emma").organisations == frozenset()

    def test_people_found_by_a_rule_carry_their_organisations(self, hook: Any) -> None:
        found = hook.coplib_find_people(rule=AttributeRule.of(job="welder"))
        assert {p.id: p.organisations for p in found} == {
            "alice": {"acme"},
            "bruno": {"acme", "welders-club"},
            "emma": frozenset(),
        }

    def test_a_person_who_left_is_still_resolved_as_inactive(self, hook: Any) -> None:
        carol = hook.coplib_get_person(person_id="carol")
        assert isinstance(carol, Person)
        assert carol.active is False

    # -- rules ------------------------------------------------------------------------------------

    def test_people_matching_a_rule_are_the_active_ones_in_id_order(self, hook: Any) -> None:
        assert _ids(hook.coplib_find_people(rule=AttributeRule.of(job="welder", site="Lyon"))) == ["alice", "bruno"]

    def test_a_condition_holds_when_any_of_its_values_is_the_persons(self, hook: Any) -> None:
        rule = AttributeRule.of(site=("Grenoble", "Nantes"))
        assert _ids(hook.coplib_find_people(rule=rule)) == ["bruno", "emma"]
        assert _ids(hook.coplib_find_people(rule=AttributeRule.of(skills="tig"))) == ["alice"]

    def test_a_rule_nobody_matches_gives_an_empty_list_not_none(self, hook: Any) -> None:
        assert hook.coplib_find_people(rule=AttributeRule.of(job="astronaut")) == []

    def test_every_person_found_matches_the_rule(self, hook: Any) -> None:
        rule = AttributeRule.of(job="welder")
        found = hook.coplib_find_people(rule=rule)
        assert found and all(isinstance(p, Person) and rule.matches(p) for p in found)

    def test_changing_a_returned_list_changes_nothing_in_the_directory(self, hook: Any) -> None:
        rule = AttributeRule.of(job="welder")
        found = hook.coplib_find_people(rule=rule)
        found.clear()
        assert _ids(hook.coplib_find_people(rule=rule)) == ["alice", "bruno", "emma"]

    # -- logins -----------------------------------------------------------------------------------

    def test_a_login_maps_to_its_person(self, hook: Any, supports_aliases: bool) -> None:
        if supports_aliases:
            assert hook.coplib_authenticate(principal="CORP\\amartin") == "alice"
            assert hook.coplib_authenticate(principal="bkeller") == "bruno"
        assert hook.coplib_authenticate(principal="CORP\\nobody") is None

    def test_a_person_found_by_login_is_resolved_by_the_id_returned(self, hook: Any, supports_aliases: bool) -> None:
        login = "bkeller" if supports_aliases else "bruno"
        pid = hook.coplib_authenticate(principal=login)
        assert pid is not None
        assert hook.coplib_get_person(person_id=pid) == PEOPLE[1]

    # -- coplib's own ids -------------------------------------------------------------------------

    def test_no_person_has_a_reserved_id(self, hook: Any) -> None:
        for person_id in RESERVED_IDS:
            assert hook.coplib_get_person(person_id=person_id) is None
        everyone = hook.coplib_find_people(rule=AttributeRule.of(job=("welder", "painter")))
        assert everyone and not any(is_reserved_person_id(p.id) for p in everyone)

    def test_no_principal_authenticates_as_a_reserved_id(self, hook: Any) -> None:
        logins = [*RESERVED_IDS, *ALIASES, *(p.id for p in PEOPLE), *(p.email for p in PEOPLE if p.email)]
        for login in logins:
            found = hook.coplib_authenticate(principal=login)
            assert found is None or not is_reserved_person_id(found), f"{login!r} authenticates as {found!r}"

    def test_a_person_with_a_reserved_id_is_refused_or_never_handed_out(self, make_directory: DirectoryFactory) -> None:
        try:
            directory = make_directory((*PEOPLE, intruder()), ALIASES)
        except CoplibError:
            return  # refused when made: the directory names the bad entry
        hook = make_plugin_manager([directory]).hook
        assert hook.coplib_get_person(person_id=SYSTEM) is None
        found = hook.coplib_find_people(rule=AttributeRule.of(job="welder", site="Lyon")) or []
        assert not any(is_reserved_person_id(p.id) for p in found)
        for login in (SYSTEM, "mallory@example.org"):
            answer = hook.coplib_authenticate(principal=login)
            assert answer is None or not is_reserved_person_id(answer)

    def test_an_alias_to_a_reserved_id_is_refused_or_never_handed_out(self, make_directory: DirectoryFactory) -> None:
        for target in RESERVED_IDS:
            try:
                directory = make_directory(PEOPLE, {**ALIASES, "mallory": target})
            except CoplibError:
                continue  # refused when made
            answer = make_plugin_manager([directory]).hook.coplib_authenticate(principal="mallory")
            assert answer is None or not is_reserved_person_id(answer), f"'mallory' authenticates as {answer!r}"

    def test_the_engine_never_acts_for_a_reserved_id_from_the_directory(self, directory: Any) -> None:
        from coplib.bootstrap.open import open_engine

        engine = open_engine("memory://", plugins=[directory])
        try:
            for person_id in RESERVED_IDS:
                assert engine.person(person_id) is None
                assert engine.authenticate(person_id) is None
        finally:
            engine.close()

    # -- with an engine ---------------------------------------------------------------------------

    def test_the_engine_acts_for_known_people_and_syncs_a_rule_community(self, directory: Any) -> None:
        from coplib.bootstrap.open import open_engine
        from coplib.domain.permissions import SYSTEM

        engine = open_engine(
            "memory://", plugins=[directory], clock=ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        )
        try:
            org = engine.create_organisation(SYSTEM, "Acme", organisation_id="acme")
            policy = MembershipPolicy(admission=Admission.RULE, rule=AttributeRule.of(job="welder", site="Lyon"))
            community = engine.create_community(
                "dev", org.id, name="Soudeurs de Lyon", charter=Charter(vocation="Souder", membership_policy=policy)
            )
            report = engine.sync_directory()
            assert sorted(report.joined) == [(community.id, "alice"), (community.id, "bruno")]
            members = [m.person_id for m in engine.members("alice", community.id)]
            assert members == ["alice", "bruno", "dev"]
            assert engine.sync_directory().events == 0
        finally:
            engine.close()

    def test_a_rule_community_lets_in_only_the_people_of_its_organisations(self, directory: Any) -> None:
        from coplib.bootstrap.open import open_engine
        from coplib.domain.permissions import SYSTEM

        engine = open_engine(
            "memory://", plugins=[directory], clock=ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        )
        try:
            for oid in ("acme", "welders-club"):
                engine.create_organisation(SYSTEM, oid.capitalize(), organisation_id=oid)
            policy = MembershipPolicy(admission=Admission.RULE, rule=AttributeRule.of(job="welder"))
            club = engine.create_community(
                SYSTEM, "welders-club", name="Club", charter=Charter(vocation="Souder", membership_policy=policy)
            )
            # alice is of acme only, emma of no organisation, carol has left: only bruno joins.
            assert engine.sync_directory().joined == ((club.id, "bruno"),)
        finally:
            engine.close()
