"""People as the identity directory knows them, and rules on their attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import FieldError, InvalidInputError

PersonId = str

#: Attributes a directory commonly knows; others are allowed too.
KNOWN_ATTRIBUTES = ("department", "site", "job", "seniority", "skills", "manager")

LOCALES = ("fr", "en")


def _to_attributes(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    out: dict[str, tuple[str, ...]] = {}
    for key, item in value.items():
        if isinstance(item, str):
            out[key] = (item,)
        elif isinstance(item, (list, tuple, frozenset, set)):
            out[key] = tuple(sorted(item)) if isinstance(item, (frozenset, set)) else tuple(item)
        else:
            out[key] = item
    return dict(sorted(out.items()))


def _check_attributes(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise InvalidInputError.field("$.attributes", f"must be a mapping, got {type(value).__name__}")
    errors = []
    for key, items in value.items():
        if not isinstance(key, str) or not key or len(key) > v.NAME_MAX:
            errors.append(FieldError("$.attributes", f"attribute names are non-empty strings, got {key!r}"))
            continue
        if not isinstance(items, tuple) or not all(isinstance(i, str) and len(i) <= v.NAME_MAX for i in items):
            errors.append(FieldError(f"$.attributes.{key}", "must be a string or a list of strings"))
    if errors:
        raise InvalidInputError(errors)


@attrs.frozen
class Person:
    """A person of the organisation, as resolved by the identity adapter."""

    id: PersonId = attrs.field(validator=v.identifier)
    display_name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    email: str = attrs.field(default="", validator=v.text(max_chars=320, allow_empty=True))
    locale: str = attrs.field(default="en", validator=attrs.validators.in_(LOCALES))
    active: bool = attrs.field(default=True, validator=v.instance_of(bool))
    attributes: dict[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_to_attributes, validator=_check_attributes, hash=False
    )

    def attribute(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name, ())


@attrs.frozen
class AttributeCondition:
    """`attribute` must take one of `values` (any of them) for the condition to hold."""

    attribute: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    values: frozenset[str] = attrs.field(converter=v.to_frozenset, validator=v.members_of(str))

    @values.validator
    def _not_empty(self, attribute: attrs.Attribute[Any], value: frozenset[str]) -> None:
        if not value:
            raise InvalidInputError.field("$.values", "a condition needs at least one value")

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
