"""People as the identity directory knows them, and rules on their attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import FieldError, InvalidInputError

PersonId = str

#: The actor id of the host's own trusted jobs (imports, directory synchronisation, policies):
#: `coplib.decide` allows it every action, and it needs no directory entry. No identity source
#: may hand it out (`is_reserved_person_id`): the only way to act as it is for the host's own
#: code to pass it as the actor of a command.
SYSTEM: Final = "coplib:system"

#: Ids under this prefix are coplib's own: no person may have one.
RESERVED_PREFIX: Final = "coplib:"

#: Attributes a directory commonly knows; others are allowed too.
KNOWN_ATTRIBUTES = ("department", "site", "job", "seniority", "skills", "manager")

LOCALES = ("fr", "en")


def is_reserved_person_id(person_id: object) -> bool:
    """Whether `person_id` is coplib's own (the system actor, or any ``coplib:`` id), which no
    identity source may give a person."""
    return isinstance(person_id, str) and person_id.strip().lower().startswith(RESERVED_PREFIX)


def reserved_id_message(person_id: str) -> str:
    """Why `person_id` (a reserved one) is refused, for an error message."""
    return (
        f"{person_id!r:.60} is reserved: ids under {RESERVED_PREFIX!r} are coplib's own (the system actor "
        f"{SYSTEM!r}), and no person may have one"
    )


#: What a person's e-mail address holds at most, in characters.
EMAIL_MAX: Final = 320

#: How many organisations a person belongs to at most.
ORGANISATIONS_MAX: Final = v.LIST_MAX


def _to_attributes(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    out: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(item, str):
            out[key] = (item,)
        elif isinstance(item, (frozenset, set)):
            out[key] = tuple(sorted(item, key=str))
        elif isinstance(item, (list, tuple)):
            out[key] = tuple(item)
        else:
            out[key] = item
    return dict(sorted(out.items(), key=lambda pair: str(pair[0])))


def _check_attributes(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise InvalidInputError.field("$.attributes", f"must be a mapping, got {type(value).__name__}")
    errors = []
    for key, items in value.items():
        if not isinstance(key, str) or not key or len(key) > v.NAME_MAX or v.text_fault(key):
            errors.append(
                FieldError("$.attributes", f"attribute names are non-empty one-line strings, got {key!r:.60}")
            )
            continue
        path = v.key_path("$.attributes", key)
        if not isinstance(items, tuple) or not all(isinstance(i, str) and len(i) <= v.NAME_MAX for i in items):
            errors.append(FieldError(path, f"must be a string or a list of strings of at most {v.NAME_MAX} characters"))
            continue
        for i, item in enumerate(items):
            fault = v.text_fault(item)
            if fault:
                errors.append(FieldError(f"{path}[{i}]", fault))
    if errors:
        raise InvalidInputError(errors)


def _to_organisations(value: Any) -> Any:
    # None (the directory does not say) and a bare string (refused below) stay as they are.
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(value)
    return value


def _check_organisations(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, frozenset):
        raise InvalidInputError.field(
            "$.organisations",
            f"must be a list of organisation ids (or None: not listed), got {type(value).__name__} {value!r:.60}",
        )
    if len(value) > ORGANISATIONS_MAX:
        raise InvalidInputError.field("$.organisations", f"at most {ORGANISATIONS_MAX} organisations, got {len(value)}")
    bad = sorted((item for item in value if not v.is_identifier(item)), key=repr)
    if bad:
        raise InvalidInputError.field(
            "$.organisations", f"must hold organisation ids (no spaces, no controls), got {bad[0]!r:.60}"
        )


def _check_locale(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or value not in LOCALES:
        languages = ", ".join(LOCALES)
        raise InvalidInputError.field(
            f"$.{attribute.name}", f"must be one of {languages} (the languages coplib writes), got {value!r:.40}"
        )


def _person_id(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.identifier(instance, attribute, value)
    if is_reserved_person_id(value):
        raise InvalidInputError.field(f"$.{attribute.name}", reserved_id_message(value))


@attrs.frozen
class Person:
    """A person of the organisation, as resolved by the identity adapter."""

    id: PersonId = attrs.field(validator=_person_id)
    display_name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    email: str = attrs.field(default="", validator=v.text(max_chars=EMAIL_MAX, allow_empty=True))
    locale: str = attrs.field(default="en", validator=_check_locale)
    active: bool = attrs.field(default=True, validator=v.instance_of(bool))
    attributes: dict[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_to_attributes, validator=_check_attributes, hash=False
    )
    #: The organisations the directory places the person in (ids of `Organisation`s). None,
    #: the default, means the directory does not say: the person is not kept out of any
    #: organisation (a host that does not use organisations, or has one, lists nobody). An
    #: empty set means the person belongs to none. See docs/integrators-guide.md.
    organisations: frozenset[str] | None = attrs.field(
        default=None, converter=_to_organisations, validator=_check_organisations
    )

    def attribute(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name, ())

    @property
    def listed(self) -> bool:
        """Whether the directory lists the person's organisations (even as none)."""
        return self.organisations is not None

    def belongs_to(self, organisation_id: str) -> bool:
        """Whether the person is one of `organisation_id`'s people: listed in it, or in no
        list at all (`organisations` None)."""
        return self.organisations is None or organisation_id in self.organisations

    def belongs_to_any(self, organisation_ids: frozenset[str]) -> bool:
        """Whether the person is one of the people of any of `organisation_ids`."""
        return self.organisations is None or not self.organisations.isdisjoint(organisation_ids)


@attrs.frozen
class AttributeCondition:
    """`attribute` must take one of `values` (any of them) for the condition to hold."""

    attribute: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    values: frozenset[str] = attrs.field(converter=v.to_frozenset, validator=v.members_of(str))

    @values.validator
    def _not_empty(self, attribute: attrs.Attribute[Any], value: frozenset[str]) -> None:
        if not value:
            raise InvalidInputError.field("$.values", "a condition needs at least one value")
        for item in sorted(value):
            fault = v.text_fault(item)
            if fault:
                raise InvalidInputError.field("$.values", f"a value {fault}")

    def holds_for(self, person: Person) -> bool:
        return not self.values.isdisjoint(person.attribute(self.attribute))


@attrs.frozen
class AttributeRule:
    """All conditions must hold: e.g. job in {welder} and site in {Lyon}."""

    conditions: tuple[AttributeCondition, ...] = attrs.field(
        converter=v.to_tuple, validator=v.members_of(AttributeCondition, max_count=20)
    )

    @conditions.validator
    def _not_empty(self, attribute: attrs.Attribute[Any], value: tuple[AttributeCondition, ...]) -> None:
        if not value:
            raise InvalidInputError.field("$.conditions", "a rule needs at least one condition")

    @classmethod
    def of(cls, **conditions: str | tuple[str, ...] | list[str]) -> AttributeRule:
        """`AttributeRule.of(job="welder", site=("Lyon", "Grenoble"))`."""
        return cls(
            tuple(
                AttributeCondition(name, frozenset([vals] if isinstance(vals, str) else vals))
                for name, vals in conditions.items()
            )
        )

    def matches(self, person: Person) -> bool:
        return person.active and all(c.holds_for(person) for c in self.conditions)
