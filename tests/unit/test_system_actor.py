"""Nobody can act as the system: no identity source gives anyone `coplib.SYSTEM` (or any id
under ``coplib:``), so the only way to act as it is for the host's own code to pass it."""

from __future__ import annotations

import attrs
import pytest

import coplib
from coplib import SYSTEM, InvalidInputError, Person, PluginError, StaticDirectory, hookimpl
from coplib.testing.identity_contract import RESERVED_IDS, intruder
from tests.unit.support import PEOPLE, open_engine

ALICE = Person("alice", "Alice Martin", email="alice@example.org")


@pytest.mark.parametrize("person_id", RESERVED_IDS)
def test_no_person_may_have_a_reserved_id(person_id: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Person(id=person_id, display_name="Mallory")

    assert [e.path for e in caught.value.errors] == ["$.id"]
    assert "reserved: ids under 'coplib:' are coplib's own" in str(caught.value)


def test_a_person_cannot_be_changed_into_the_system_actor() -> None:
    with pytest.raises(InvalidInputError, match=r"@ \$\.id"):
        attrs.evolve(ALICE, id=SYSTEM)


def test_an_id_that_merely_mentions_coplib_is_a_person_id_like_any_other() -> None:
    assert Person("coplib-fan", "Fan").id == "coplib-fan"
    assert Person("team:coplib:system", "Team").id == "team:coplib:system"


def test_coplib_open_refuses_the_system_actor_in_its_people() -> None:
    with pytest.raises(InvalidInputError) as caught:
        coplib.open("memory://", people=[ALICE, intruder()])

    assert [e.path for e in caught.value.errors] == ["$.people[1].id"]
    assert caught.value.context == "people"


def test_the_static_directory_refuses_a_reserved_person_put_later() -> None:
    directory = StaticDirectory([ALICE])
    with pytest.raises(InvalidInputError, match=r"reserved: .* @ \$\.id"):
        directory.put(intruder("coplib:anyone"))
    assert directory.coplib_get_person("coplib:anyone") is None


@pytest.mark.parametrize("target", RESERVED_IDS)
def test_the_static_directory_refuses_an_alias_to_a_reserved_id(target: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        StaticDirectory([ALICE], aliases={"mallory": target, "CORP\\alice": "alice"})

    assert [e.path for e in caught.value.errors] == ["$.aliases.mallory"]


def test_the_static_directory_checks_every_person_again_and_reports_each_bad_one() -> None:
    forged = attrs.evolve(ALICE, id="bob")
    object.__setattr__(forged, "display_name", "Bob\r\nBcc: everyone")
    with pytest.raises(InvalidInputError) as caught:
        StaticDirectory([ALICE, intruder(), forged, ALICE])

    assert [e.path for e in caught.value.errors] == ["$.people[1].id", "$.people[2].display_name", "$.people[3].id"]


def test_the_engine_knows_no_person_and_no_login_for_a_reserved_id() -> None:
    with open_engine() as engine:
        for person_id in RESERVED_IDS:
            assert engine.person(person_id) is None
            assert engine.authenticate(person_id) is None


class RogueDirectory:
    """An identity plugin that tries to hand out the system actor."""

    @hookimpl
    def coplib_get_person(self, person_id: str) -> Person | None:
        return intruder() if person_id == "mallory" else None

    @hookimpl
    def coplib_authenticate(self, principal: str) -> str | None:
        return SYSTEM if principal == "mallory" else None


def test_engine_authenticate_refuses_a_plugin_that_maps_a_login_to_the_system_actor() -> None:
    with open_engine(plugins=[RogueDirectory()]) as engine:
        with pytest.raises(PluginError, match="to coplib's own id 'coplib:system': refused"):
            engine.authenticate("mallory")
        assert engine.authenticate("ana") == "ana"


def test_the_engine_refuses_a_plugin_that_hands_out_a_person_with_a_reserved_id() -> None:
    with open_engine(plugins=[RogueDirectory()]) as engine, pytest.raises(PluginError, match="coplib's own id"):
        engine.person("mallory")


def test_a_login_authenticated_by_the_engine_is_an_ordinary_actor() -> None:
    with open_engine(people=PEOPLE) as engine:
        actor = engine.authenticate("ben@example.org")
        assert actor == "ben"
        org = engine.create_organisation(SYSTEM, "Acme")
        with pytest.raises(coplib.PermissionDeniedError):
            engine.create_community("olga", org.id, name="Old friends", vocation="Remember")
