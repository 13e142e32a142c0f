"""Fixtures of the host API's tests: an open community where ana facilitates, ben is an
expert of aluminium, chloe and dev are members; a private community of ana's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coplib import Admission, Charter, Engine, ManualClock, MembershipPolicy, Role, Visibility
from tests.unit.support import START, open_engine


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(clock: ManualClock) -> Iterator[Engine]:
    with open_engine(clock) as opened:
        opened.create_organisation("eve", "Acme", organisation_id="acme")
        opened.create_community(
            "ana", "acme", name="Welding", vocation="Welders help each other", tags=["welding"], community_id="welding"
        )
        for person in ("ben", "chloe", "dev"):
            opened.join(person, "welding")
        opened.assign_role("ana", "welding", "ben", Role.EXPERT, tags=["aluminium"])
        charter = Charter(vocation="Managers compare notes", membership_policy=MembershipPolicy(Admission.INVITATION))
        opened.create_community(
            "ana", "acme", name="Managers", charter=charter, visibility=Visibility.PRIVATE, community_id="managers"
        )
        yield opened
