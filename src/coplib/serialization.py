"""The one converter between coplib's values and JSON-compatible data.

Built on cattrs' preconfigured JSON converter: extra keys are refused, datetimes are
timezone-aware UTC written as ``2026-01-31T09:00:00.000000Z``, sets become sorted lists,
events are tagged by their stable ``type`` name (never the class name). Every structuring
failure becomes an `InvalidInputError` listing each bad field by its path.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import cattrs
from cattrs.errors import BaseValidationError, ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn
from cattrs.preconf.json import make_converter as make_json_converter

from coplib.domain.errors import CoplibError, FieldError, InvalidInputError
from coplib.domain.events import EVENT_TYPES, DomainEvent
from coplib.domain.history import AGGREGATE_KINDS, Aggregate

T = TypeVar("T")

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(value: datetime) -> str:
    """The canonical text of a UTC instant: fixed width, so text order is time order."""
    if value.tzinfo is None:
        raise InvalidInputError.field("$", f"naive datetime {value.isoformat()} cannot be stored: give it a time zone")
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidInputError.field("$", f"a timestamp is an ISO 8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError.field("$", f"not an ISO 8601 timestamp: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise InvalidInputError.field("$", f"timestamp {value[:40]!r} has no time zone: coplib stores UTC only")
    return parsed.astimezone(UTC)


def make_converter() -> cattrs.Converter:
    """A fresh converter for every coplib value type (domain objects, events, aggregates)."""
    conv = make_json_converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_unstructure_hook(datetime, format_timestamp)
    conv.register_structure_hook(datetime, lambda value, _: parse_timestamp(value))
    # Sets are written sorted, so that equal values always give the same JSON.
    conv.register_unstructure_hook_factory(
        lambda t: getattr(t, "__origin__", t) in (frozenset, set),
        lambda _: lambda value: sorted(conv.unstructure(v) for v in value),
    )

    def event_unstructure_factory(cls: type[DomainEvent]) -> Any:
        fields_fn = make_dict_unstructure_fn(cls, conv)
        tag = cls.TYPE

        def unstructure_event(event: DomainEvent) -> dict[str, Any]:
            data: dict[str, Any] = {"type": tag}
            data.update(fields_fn(event))
            return data

        return unstructure_event

    def structure_event(data: Any, _: type[Any]) -> DomainEvent:
        if not isinstance(data, dict):
            raise InvalidInputError.field("$", f"an event is a mapping, got {type(data).__name__}")
        type_name = data.get("type")
        cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
        if cls is None:
            known = ", ".join(sorted(EVENT_TYPES))
            raise InvalidInputError.field("$.type", f"unknown event type {type_name!r}; known types: {known}")
        body = {k: v for k, v in data.items() if k != "type"}
        return conv.structure(body, cls)

    conv.register_unstructure_hook_factory(
        lambda cls: isinstance(cls, type) and issubclass(cls, DomainEvent), event_unstructure_factory
    )

    def event_structure_factory(cls: type[DomainEvent]) -> Any:
        fields_fn = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

        def structure_concrete(data: Any, _: type[Any]) -> DomainEvent:
            if isinstance(data, dict) and "type" in data:
                if data["type"] != cls.TYPE:
                    raise InvalidInputError.field("$.type", f"expected event type {cls.TYPE!r}, got {data['type']!r}")
                data = {k: v for k, v in data.items() if k != "type"}
            return fields_fn(data, cls)

        return structure_concrete

    conv.register_structure_hook_func(lambda t: t is DomainEvent, structure_event)
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, DomainEvent) and t is not DomainEvent,
        event_structure_factory,
    )
    return conv


@cache
def converter() -> cattrs.Converter:
    """The shared converter (built on first use, never at import time)."""
    return make_converter()


def unstructure(value: Any) -> Any:
    return converter().unstructure(value)


def structure(data: Any, cls: type[T], *, context: str = "") -> T:
    """Structure `data` as `cls`, or raise `InvalidInputError` naming every bad field."""
    try:
        return converter().structure(data, cls)
    except (BaseValidationError, CoplibError, ValueError, TypeError, KeyError, AttributeError) as exc:
        what = context or getattr(cls, "__name__", str(cls))
        raise InvalidInputError(field_errors(exc), context=what) from exc


def event_to_json(event: DomainEvent) -> str:
    return json.dumps(unstructure(event), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def event_from_json(text: str) -> DomainEvent:
    return structure(_loads(text), DomainEvent, context="event")


def aggregate_to_json(aggregate: Aggregate) -> str:
    return json.dumps(unstructure(aggregate), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def aggregate_from_json(kind: str, text: str) -> Aggregate:
    cls = AGGREGATE_KINDS.get(kind)
    if cls is None:
        raise InvalidInputError.field("$.kind", f"unknown aggregate kind {kind!r}")
    return structure(_loads(text), cls, context=kind)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidInputError.field("$", f"not valid JSON: {exc}") from exc


def field_errors(exc: BaseException, path: str = "$") -> list[FieldError]:
    """Every leaf failure inside a cattrs validation error, with its path."""
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        errors: list[FieldError] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            step = f".{note.name}" if hasattr(note, "name") else f"[{note.index!r}]"
            errors.extend(field_errors(sub, path + step))
        for sub in without:
            errors.extend(field_errors(sub, path))
        return errors
    if isinstance(exc, InvalidInputError):
        return [FieldError(_join(path, e.path), e.message) for e in exc.errors]
    if isinstance(exc, ForbiddenExtraKeysError):
        return [FieldError(path, f"unknown fields: {', '.join(sorted(exc.extra_fields))}")]
    if isinstance(exc, KeyError):
        return [FieldError(path, "required field missing")]
    if isinstance(exc, ExceptionGroup):
        return [e for sub in exc.exceptions for e in field_errors(sub, path)]
    return [FieldError(path, f"invalid value: {exc}")]


def _join(base: str, inner: str) -> str:
    """Root an attrs-validator path (``$.field``, relative to its class) at the class's path."""
    if inner.startswith("$"):
        return base + inner[1:]
    return f"{base}.{inner}"
