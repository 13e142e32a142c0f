"""Organisations required: a person whose directory entry lists no organisation belongs to
none (`coplib.open(require_organisations=True)`), whichever identity plugin answered."""

from __future__ import annotations

from collections.abc import Generator, Sequence

import attrs

from coplib.domain.people import AttributeRule, Person
from coplib.ports.hookspecs import hookimpl


def listed(person: Person) -> Person:
    """`person`, belonging to no organisation if the directory lists none for them."""
    return person if person.organisations is not None else attrs.evolve(person, organisations=frozenset())


class OrganisationsRequired:
    """Wraps the identity hooks: a person with ``organisations`` None (the directory does not
    say) comes back with an empty set, so that coplib keeps them out of every organisation's
    communities rather than letting them into all. For a host that keeps several organisations
    apart, where a directory entry that forgot its organisations must not see everything.

    A hook wrapper (pluggy ``wrapper=True``): it sees the answer of every identity plugin,
    the host's own included, and changes nothing else."""

    @hookimpl(wrapper=True)
    def coplib_get_person(self, person_id: str) -> Generator[None, Person | None, Person | None]:
        found = yield
        return listed(found) if isinstance(found, Person) else found

    @hookimpl(wrapper=True)
    def coplib_find_people(
        self, rule: AttributeRule
    ) -> Generator[None, Sequence[Person] | None, Sequence[Person] | None]:
        found = yield
        if found is None:
            return None
        return [listed(p) if isinstance(p, Person) else p for p in found]
