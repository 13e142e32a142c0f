"""The conformance kit for identity adapters (plugins implementing ``coplib_get_person``,
``coplib_find_people`` and ``coplib_authenticate``).

Subclass `IdentityContract` in a test module and override `make_directory`: a fixture
returning a callable that builds your directory plugin holding exactly the given people
(and login aliases). For a directory you cannot fill from a test (a real LDAP), load these
people into a test instance of it. Override `supports_aliases` with False when your
directory maps logins some other way; the alias tests then check the weaker promise that
an unknown login maps to no one. Example::

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
from coplib.domain.clock import ManualClock
from coplib.domain.community import Admission, Charter, MembershipPolicy
from coplib.domain.people import AttributeRule, Person

__all__ = ["PEOPLE", "DirectoryFactory", "IdentityContract"]

DirectoryFactory = Callable[[Sequence[Person], Mapping[str, str]], Any]

#: The people every directory under test holds.
PEOPLE: tuple[Person, ...] = (
    Person(
        "alice",
        "Alice Martin",
        email="alice.martin@example.org",
        locale="fr",
        attributes={"job": "welder", "site": "Lyon", "skills": ("mig", "tig"), "manager": "bruno"},
    ),
    Person(
        "bruno", "Bruno Keller", email="bruno@example.org", attributes={"job": "welder", "site": ("Lyon", "Grenoble")}
    ),
    Person(
        "carol", "Carol Evans", email="carol@example.org", active=False, attributes={"job": "welder", "site": "Lyon"}
    ),
    Person("dev", "Dev Patel", email="dev@example.org", locale="en", attributes={"job": "painter", "site": "Lyon"}),
    Person("emma", "Emma Roux", locale="fr", attributes={"job": "welder", "site": "Nantes", "seniority": "junior"}),
)
ALIASES: dict[str, str] = {"CORP\\amartin": "alice", "bkeller": "bruno"}


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

    # -- with an engine ---------------------------------------------------------------------------

    def test_the_engine_acts_for_known_people_and_syncs_a_rule_community(self, directory: Any) -> None:
        from coplib.bootstrap.open import open_engine
        from coplib.domain.permissions import SYSTEM

        engine = open_engine(
            "memory://", plugins=[directory], clock=ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        )
        try:
            org = engine.create_organisation(SYSTEM, "Acme")
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
