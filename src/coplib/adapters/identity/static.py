"""A static identity directory: people given by the host as a list (or loaded from a file
by `coplib.adapters.identity.directory_file`)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.people import AttributeRule, Person, is_reserved_person_id, reserved_id_message
from coplib.ports.hookspecs import hookimpl


def checked_person(person: object, path: str) -> Person:
    """`person` if it is a `Person` whose every field holds (checked again: an object made
    without its validators, by `attrs` tricks or a subclass, is refused as well), else
    `InvalidInputError` naming each bad field under `path`. Above all, no person has one of
    coplib's own ids (`coplib.SYSTEM`...)."""
    if not isinstance(person, Person):
        raise InvalidInputError.field(path, f"must be a Person, got {type(person).__name__}")
    fields = {a.name: getattr(person, a.name) for a in attrs.fields(Person)}
    try:
        v.check_fields(Person, "people", **fields)
    except InvalidInputError as exc:
        raise exc.under(path, context="") from None
    return person


def _checked_aliases(aliases: object) -> dict[str, str]:
    if aliases is None:
        return {}
    if not isinstance(aliases, Mapping):
        raise InvalidInputError.field(
            "$.aliases", f"must be a mapping of login to person id, got {type(aliases).__name__}"
        )
    errors = []
    out: dict[str, str] = {}
    for login, target in aliases.items():
        path = v.key_path("$.aliases", str(login))
        if not isinstance(login, str) or not isinstance(target, str):
            errors.append(FieldError(path, "a login and the person id it maps to are strings"))
        elif is_reserved_person_id(target):
            errors.append(FieldError(path, reserved_id_message(target)))
        else:
            out[login] = target
    if errors:
        raise InvalidInputError(errors, context="aliases")
    return out


class StaticDirectory:
    """The people of the organisation, held in memory. Register it as a plugin.

    Every person is checked again when given (`checked_person`), and no person or alias may
    name one of coplib's own ids: `InvalidInputError` naming the place (``$.people[3].id``,
    ``$.aliases['mallory']``)."""

    def __init__(self, people: Iterable[Person] = (), *, aliases: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._people: dict[str, Person] = {}
        self._aliases = _checked_aliases(aliases)
        errors: list[FieldError] = []
        for i, person in enumerate(people):
            try:
                checked = checked_person(person, f"$.people[{i}]")
            except InvalidInputError as exc:
                errors.extend(exc.errors)
                continue
            if checked.id in self._people:
                errors.append(FieldError(f"$.people[{i}].id", f"duplicate person id {checked.id!r}"))
                continue
            self._people[checked.id] = checked
        if errors:
            raise InvalidInputError(errors, context="people")

    def put(self, person: Person) -> None:
        """Add or replace a person (a host's directory changed)."""
        checked = checked_person(person, "$")
        with self._lock:
            self._people[checked.id] = checked

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
