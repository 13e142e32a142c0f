"""A small organisation for the tests of search and personal data: an open community, a
private one, their members, an outsider and a person whose data is exported and erased."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import attrs

import coplib
from coplib.domain.clock import ManualClock
from coplib.domain.community import Admission, Charter, MembershipPolicy
from coplib.domain.people import Person
from coplib.service.engine import Engine

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ZOE_NAME = "Zoé Quintard-Mercier"
ZOE_EMAIL = "zoe.quintard@example.org"

PEOPLE = (
    Person(id="ana", display_name="Ana Facilitatrice", email="ana@example.org", locale="fr"),
    Person(id="ben", display_name="Ben Member", email="ben@example.org"),
    Person(id="zoe.qm", display_name=ZOE_NAME, email=ZOE_EMAIL, locale="fr"),
    Person(id="olga", display_name="Olga Outsider", email="olga@example.org"),
)


@attrs.define
class World:
    engine: Engine
    clock: ManualClock
    open_id: str = "open"
    private_id: str = "private"

    def later(self, minutes: int = 1) -> None:
        self.clock.advance(timedelta(minutes=minutes))


def build(engine: Engine, clock: ManualClock) -> World:
    engine.create_organisation("ana", "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Chauffage", vocation="Heating", community_id="open")
    engine.create_community(
        "ana",
        "acme",
        name="Secret",
        charter=Charter(vocation="Secret", membership_policy=MembershipPolicy(admission=Admission.INVITATION)),
        community_id="private",
        visibility="private",
    )
    for person in ("ben", "zoe.qm"):
        engine.join(person, "open")
    engine.invite("ana", "private", "ben")
    engine.join("ben", "private")
    return World(engine, clock)


@contextmanager
def world(url: str, *, plugins: Sequence[object] = ()) -> Iterator[World]:
    clock = ManualClock(START)
    with coplib.open(url, people=PEOPLE, clock=clock, plugins=[coplib.RecordingNotifier(), *plugins]) as engine:
        yield build(engine, clock)
