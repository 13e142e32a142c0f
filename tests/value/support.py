"""The organisation the value, launch and portfolio tests run in."""

from __future__ import annotations

from typing import Any

import coplib
from coplib import Engine, ManualClock, Person, Visibility
from tests.unit.support import START, counting_ids

#: acme's people: ana animates welding, ben is an expert, chloe and dev are members, eve
#: administers acme; walt and rita are welders (walt in Lyon); gil is of another organisation.
PEOPLE = (
    Person(id="ana", display_name="Ana", locale="fr", organisations=["acme"]),
    Person(id="ben", display_name="Ben", organisations=["acme"], attributes={"skills": ["Aluminium"]}),
    Person(id="chloe", display_name="Chloé", locale="fr", organisations=["acme"]),
    Person(id="dev", display_name="Dev", organisations=["acme"]),
    Person(id="eve", display_name="Eve", organisations=["acme"]),
    Person(
        id="walt",
        display_name="Walt",
        organisations=["acme"],
        attributes={"job": "welder", "site": "Lyon", "department": "Plant", "skills": ["brazing", "Tig welding"]},
    ),
    Person(
        id="rita",
        display_name="Rita",
        organisations=["acme"],
        attributes={"job": "welder", "site": "Lyon", "department": "Plant"},
    ),
    Person(id="gil", display_name="Gil", organisations=["globex"]),
)


def open_engine(url: str = "memory://", **kwargs: Any) -> Engine:
    return coplib.open(
        url,
        people=PEOPLE,
        plugins=[coplib.RecordingNotifier()],
        clock=kwargs.pop("clock", None) or ManualClock(START),
        id_factory=counting_ids(),
        **kwargs,
    )


def organisation(engine: Engine) -> None:
    """acme (eve administers it) with an open community `welding` (ana, ben, chloe members) and
    a private one, `managers` (ana only); globex with its own community `gadgets` (gil)."""
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_organisation("gil", "Globex", organisation_id="globex")
    engine.create_community(
        "ana", "acme", community_id="welding", name="Welding", vocation="Weld well", tags=["welding", "aluminium"]
    )
    for person in ("ben", "chloe"):
        engine.join(person, "welding")
    engine.create_community(
        "ana",
        "acme",
        community_id="managers",
        name="Managers",
        vocation="Manage",
        visibility=Visibility.PRIVATE,
        charter=coplib.Charter(
            vocation="Manage", membership_policy=coplib.MembershipPolicy(admission=coplib.Admission.INVITATION)
        ),
    )
    engine.create_community(
        "gil", "globex", community_id="gadgets", name="Gadgets", vocation="Gadgets", tags=["brazing"]
    )
