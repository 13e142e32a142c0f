"""A static identity directory: people given by the host as a list (or loaded from a file
by `coplib.adapters.identity.directory_file`, in a later issue)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from coplib.domain.errors import InvalidInputError
from coplib.domain.people import AttributeRule, Person
from coplib.ports.hookspecs import hookimpl


class StaticDirectory:
    """The people of the organisation, held in memory. Register it as a plugin."""

    def __init__(self, people: Iterable[Person] = (), *, aliases: dict[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._people: dict[str, Person] = {}
        self._aliases = dict(aliases or {})
        for i, person in enumerate(people):
            if not isinstance(person, Person):
                raise InvalidInputError.field(f"$.people[{i}]", f"must be a Person, got {type(person).__name__}")
            if person.id in self._people:
                raise InvalidInputError.field(f"$.people[{i}].id", f"duplicate person id {person.id!r}")
            self._people[person.id] = person

    def put(self, person: Person) -> None:
        """Add or replace a person (a host's directory changed)."""
        if not isinstance(person, Person):
            raise InvalidInputError.field("$", f"must be a Person, got {type(person).__name__}")
        with self._lock:
            self._people[person.id] = person

    def people(self) -> list[Person]:
        with self._lock:
            return sorted(self._people.values(), key=lambda p: p.id)

    @hookimpl(trylast=True)
    def coplib_get_person(self, person_id: str) -> Person | None:
        with self._lock:
            return self._people.get(person_id)

    @hookimpl(trylast=True)
    def coplib_find_people(self, rule: AttributeRule) -> Sequence[Person] | None:
        with self._lock:
            if not self._people:
                return None  # no directory here: let another identity plugin answer
            return [p for p in sorted(self._people.values(), key=lambda p: p.id) if rule.matches(p)]

    @hookimpl(trylast=True)
    def coplib_authenticate(self, principal: str) -> str | None:
        with self._lock:
            if principal in self._aliases:
                return self._aliases[principal]
            if principal in self._people:
                return principal
            for person in self._people.values():
                if person.email and person.email.lower() == principal.lower():
                    return person.id
        return None
