"""The one converter between coplib's values and JSON-compatible data.

Built on cattrs' preconfigured JSON converter: extra keys are refused, datetimes are
timezone-aware UTC written as ``2026-01-31T09:00:00.000000Z``, sets become sorted lists,
events are tagged by their stable ``type`` name (never the class name). Values are taken as
they are, never coerced (``5`` is no string, ``"false"`` no boolean, ``"ab"`` no list). Every
structuring failure becomes an `InvalidInputError` listing each bad field by its path.
"""

from __future__ import annotations

import enum
import importlib
import json
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time
from functools import cache, lru_cache
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory
from cattrs.errors import BaseValidationError, ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn
from cattrs.preconf.json import make_converter as make_json_converter

from coplib.domain._build import default_source
from coplib.domain.errors import CoplibError, FieldError, InvalidInputError
from coplib.domain.events import EVENT_TYPES, DomainEvent
from coplib.domain.history import AGGREGATE_KINDS, Aggregate
from coplib.domain.validation import check_fields

T = TypeVar("T")


def format_timestamp(value: datetime) -> str:
    """The canonical text of a UTC instant: fixed width (the year padded to four digits), so
    text order is time order."""
    if value.tzinfo is UTC:
        return _utc_text(value)
    if value.tzinfo is None:
        raise InvalidInputError.field("$", f"naive datetime {value.isoformat()} cannot be stored: give it a time zone")
    return _utc_text(value.astimezone(UTC))


@lru_cache(maxsize=4096)
def _utc_text(value: datetime) -> str:
    """`format_timestamp` of a UTC instant, remembered: it runs for every datetime of every
    value written, often on the same instant (an event's time is its aggregate's creation).
    `isoformat` pads the year to four digits where strftime's ``%Y`` does not (year 999)."""
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


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


_SCALARS: dict[type, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    int: ((int,), "a whole number"),
    float: ((int, float), "a number"),
    bool: ((bool,), "true or false"),
}
_ARRAYS = (list, tuple, set, frozenset)


def _strict_scalar(kind: type) -> Callable[[Any, type], Any]:
    """A scalar taken as it is: cattrs' default would turn 5 into "5" and "false" into True."""
    accepted, name = _SCALARS[kind]

    def structure_scalar(value: Any, _: type) -> Any:
        if not isinstance(value, accepted) or (isinstance(value, bool) and kind is not bool):
            raise InvalidInputError.field("$", f"must be {name}, got {type(value).__name__} {value!r:.40}")
        return value

    return structure_scalar


def _is_homogeneous_collection(t: Any) -> bool:
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if origin in (frozenset, set, list):
        return True
    return origin is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_dict(t: Any) -> bool:
    origin: Any = typing.get_origin(t)
    return origin is dict


def _make_every_error(conv: cattrs.Converter) -> Callable[[type, Any, InvalidInputError], InvalidInputError]:
    def every_error(cls: type, data: Any, first: InvalidInputError) -> InvalidInputError:
        """attrs stops at the first validator that fails: check each field on its own, so that
        the error names every bad field. Types were checked already, so structuring succeeds."""
        if not isinstance(data, Mapping):
            return first
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if not field.init:
                continue
            if field.name in data:
                values[field.name] = conv.structure(data[field.name], hints[field.name])
            elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                values[field.name] = field.default.factory()
            elif field.default is not attrs.NOTHING:
                values[field.name] = field.default
            else:
                return first
        try:
            check_fields(cls, first.context, **values)
        except InvalidInputError as exc:
            found = list(exc.errors)
            return InvalidInputError([*found, *(e for e in first.errors if e not in found)], context=first.context)
        return first  # a rule across fields, reported once

    return every_error


def parse_time_of_day(value: object) -> time:
    if not isinstance(value, str):
        raise InvalidInputError.field("$", f"a time of day is a string such as '22:00', got {type(value).__name__}")
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise InvalidInputError.field("$", f"not a time of day: {value[:40]!r}") from None
    if parsed.tzinfo is not None:
        raise InvalidInputError.field("$", f"a time of day carries no time zone, got {value[:40]!r}")
    return parsed


def make_converter() -> cattrs.Converter:
    """A fresh converter for every coplib value type (domain objects, events, aggregates)."""
    conv = make_json_converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_unstructure_hook(datetime, format_timestamp)
    conv.register_structure_hook(datetime, lambda value, _: parse_timestamp(value))
    # A time of day (quiet hours) is wall-clock text such as "22:00:00"; its zone is a field of its own.
    conv.register_unstructure_hook(time, lambda value: value.isoformat())
    conv.register_structure_hook(time, lambda value, _: parse_time_of_day(value))
    for kind in _SCALARS:
        conv.register_structure_hook(kind, _strict_scalar(kind))
    # A StrEnum is a str too: without this, the str hook above would take its values as bare strings.
    conv.register_structure_hook(enum.StrEnum, lambda value, cls: cls(value))

    def collection_factory(t: Any) -> Callable[[Any, type], Any]:
        origin = typing.get_origin(t)
        item = typing.get_args(t)[0]
        as_list = list_structure_factory(list[item], conv)  # type: ignore[valid-type]

        def structure_collection(value: Any, _: type) -> Any:
            # A string is iterable too: without this check "ab" would become {"a", "b"}.
            if not isinstance(value, _ARRAYS):
                raise InvalidInputError.field("$", f"must be a list, got {type(value).__name__}")
            return origin(as_list(value, list[item]))  # type: ignore[valid-type]

        return structure_collection

    def mapping_factory(t: Any) -> Callable[[Any, type], Any]:
        as_mapping = mapping_structure_factory(t, conv)

        def structure_mapping(value: Any, _: type) -> Any:
            if not isinstance(value, Mapping):
                raise InvalidInputError.field("$", f"must be a mapping, got {type(value).__name__}")
            return as_mapping(value, t)

        return structure_mapping

    conv.register_structure_hook_factory(_is_homogeneous_collection, collection_factory)
    conv.register_structure_hook_factory(_is_dict, mapping_factory)
    every_error = _make_every_error(conv)

    def listing_every_error(cls: type, fields_fn: Callable[[Any, type], Any]) -> Callable[[Any, type], Any]:
        def structure_attrs(data: Any, _: type) -> Any:
            try:
                return fields_fn(data, cls)
            except InvalidInputError as exc:
                raise every_error(cls, data, exc) from None
            except ClassValidationError as exc:
                # The class's own validators failed (cattrs wraps what __init__ raised).
                raised = exc.exceptions
                if len(raised) == 1 and isinstance(raised[0], InvalidInputError) and not exc.group_exceptions()[0]:
                    raise every_error(cls, data, raised[0]) from None
                raise

        return structure_attrs

    conv.register_structure_hook_factory(
        lambda t: attrs.has(t) and not (isinstance(t, type) and issubclass(t, DomainEvent)),
        lambda cls: listing_every_error(cls, make_dict_structure_fn(cls, conv)),
    )
    # Sets are written sorted, so that equal values always give the same JSON.
    conv.register_unstructure_hook_factory(
        lambda t: getattr(t, "__origin__", t) in (frozenset, set),
        lambda _: lambda value: sorted(conv.unstructure(v) for v in value),
    )

    def event_unstructure_factory(cls: type[DomainEvent]) -> Any:
        if cls is DomainEvent:
            # A field typed DomainEvent (RecordedEvent.event) holds some concrete event.
            return lambda event: conv.unstructure(event, unstructure_as=type(event))
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
        fields_fn = listing_every_error(cls, make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True))

        def structure_concrete(data: Any, _: type[Any]) -> DomainEvent:
            if isinstance(data, dict) and "type" in data:
                if data["type"] != cls.TYPE:
                    raise InvalidInputError.field("$.type", f"expected event type {cls.TYPE!r}, got {data['type']!r}")
                data = {k: v for k, v in data.items() if k != "type"}
            event: DomainEvent = fields_fn(data, cls)
            return event

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


# One encoder for every document (json.dumps builds a new one per call when given options).
# Values are trees, never cycles: the circular-reference check is skipped.
_STDLIB_ENCODE: Final = json.JSONEncoder(
    separators=(",", ":"), sort_keys=True, ensure_ascii=False, check_circular=False
).encode

# With the ``fast`` extra installed, orjson writes and reads the stored documents: about ten
# times faster to write and three times to read, for the same text byte for byte (compact,
# keys sorted, non-ASCII kept; a property test compares the two on every domain type). What
# orjson would write differently or refuses (a str or int subclass, a datetime or a dataclass
# left in a value, an int wider than 64 bits) it is told to refuse or refuses, and the
# standard library writes it as it always did.


def _optional_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_orjson = _optional_module("orjson")

#: Whether the stored documents go through orjson (the ``fast`` extra).
FAST_JSON: Final = _orjson is not None


def _encode_stdlib(value: Any) -> str:
    return _STDLIB_ENCODE(value)


def _loads_stdlib(text: str) -> Any:
    return json.loads(text)


if _orjson is not None:
    _ORJSON_DUMPS = _orjson.dumps
    _ORJSON_LOADS = _orjson.loads
    _ORJSON_OPTIONS: Final = (
        _orjson.OPT_SORT_KEYS
        | _orjson.OPT_PASSTHROUGH_SUBCLASS
        | _orjson.OPT_PASSTHROUGH_DATETIME
        | _orjson.OPT_PASSTHROUGH_DATACLASS
    )

    def _encode_fast(value: Any) -> str:
        try:
            text: str = _ORJSON_DUMPS(value, option=_ORJSON_OPTIONS).decode()
        except TypeError:  # orjson.JSONEncodeError: what it refuses, the stdlib writes (or refuses)
            return _STDLIB_ENCODE(value)
        return text

    def _loads_fast(text: str) -> Any:
        try:
            return _ORJSON_LOADS(text)
        except ValueError:  # orjson.JSONDecodeError: the stdlib reads it or says why not
            return json.loads(text)

    _ENCODE: Callable[[Any], str] = _encode_fast
    _LOADS_STORED: Callable[[str], Any] = _loads_fast
else:  # pragma: no cover - the fast extra is not installed
    _ENCODE = _encode_stdlib
    _LOADS_STORED = _loads_stdlib


def event_to_json(event: DomainEvent) -> str:
    return _ENCODE(_dump(event))


def event_from_json(text: str) -> DomainEvent:
    return structure(_loads(text), DomainEvent, context="event")


def aggregate_to_json(aggregate: Aggregate) -> str:
    return _ENCODE(_dump(aggregate))


# -- writing documents fast --------------------------------------------------------------------
#
# Every value written by a command goes through `aggregate_to_json` or `event_to_json`. The
# converter's generic unstructuring dispatches on every field of every value; these dumpers are
# built once per class from its fields' types and give exactly the same data (a property test
# compares them for every domain type). A value they were not built for goes to the converter.


def _format_time_of_day(value: time) -> str:
    return value.isoformat()


def _dump_enum(value: enum.Enum) -> Any:
    return value.value


def _dump_any_event(event: Any) -> Any:
    return _dumper(type(event))(event)


def _dumper(t: Any) -> _Loader:
    return _cached_dumper(t)


@cache
def _cached_dumper(t: Any) -> _Loader:
    if t in _SCALAR_LOADERS or t is Any:
        return _identity
    if t is datetime:
        return format_timestamp
    if t is time:
        return _format_time_of_day
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return _dump_enum
    if t is DomainEvent:
        return _dump_any_event
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1 or len(args) != 2:
            raise TypeError(f"no dumper for {t!r}")
        dump_inner = _dumper(inner[0])
        if dump_inner is _identity:
            return _identity
        return lambda value: None if value is None else dump_inner(value)
    if origin in (frozenset, set):
        dump_item = _dumper(args[0])
        # Sorted, so that equal values always give the same JSON (as the converter does).
        if dump_item is _identity:
            return sorted
        return lambda value: sorted(map(dump_item, value))
    if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        dump_item = _dumper(args[0])
        if dump_item is _identity:
            return list
        return lambda value: list(map(dump_item, value))
    if origin is dict:
        dump_key, dump_value = _dumper(args[0]), _dumper(args[1])
        return lambda value: {dump_key(k): dump_value(v) for k, v in value.items()}
    if attrs.has(t):
        return _attrs_dumper(t)
    raise TypeError(f"no dumper for {t!r}")


def _attrs_dumper(cls: type) -> _Loader:
    compiled: list[_Loader] = []

    def dump_attrs(value: Any) -> Any:
        # Compiled on first use: classes may refer to each other (or to themselves).
        if not compiled:
            compiled.append(_compile_dumper(cls))
        return compiled[0](value)

    return dump_attrs


def _compile_dumper(cls: type) -> _Loader:
    """A function returning ``{"field": value...}`` for `cls`, its plain fields copied inline
    (the source is generated from the class's field names, which are identifiers)."""
    hints = typing.get_type_hints(cls)
    env: dict[str, Any] = {}
    items = []
    for i, field in enumerate(attrs.fields(cls)):
        dump = _dumper(hints[field.name])
        if dump is _identity:
            items.append(f"{field.name!r}: v.{field.name}")
        else:
            env[f"d{i}"] = dump
            items.append(f"{field.name!r}: d{i}(v.{field.name})")
    if issubclass(cls, DomainEvent):
        items.append(f"'type': {cls.TYPE!r}")
    exec(f"def dump(v):\n    return {{{', '.join(items)}}}\n", env)
    compiled: _Loader = env["dump"]
    return compiled


def _dump(value: Any) -> Any:
    """`unstructure(value)`, faster for the domain's own types."""
    try:
        dump = _dumper(type(value))
    except TypeError:
        return unstructure(value)
    return dump(value)


def aggregate_from_json(kind: str, text: str) -> Aggregate:
    cls = AGGREGATE_KINDS.get(kind)
    if cls is None:
        raise InvalidInputError.field("$.kind", f"unknown aggregate kind {kind!r}")
    return structure(_loads(text), cls, context=kind)


# -- loading what a store wrote ----------------------------------------------------------------
#
# A store reads back documents that `aggregate_to_json` and `event_to_json` wrote from values
# that were valid when written: checking them again on every read is pure cost (attrs
# validators, cattrs' strict hooks), and reads are the most frequent thing a store does.
# `aggregate_from_stored` and `event_from_stored` build the same values without running
# validators or converters (the stored data is already in converted form). Anything they do
# not recognise exactly (a missing or unknown field, a wrong type) is handed to the validating
# path, which raises the usual `InvalidInputError`: a damaged row is reported, never trusted.


class _Untrusted(Exception):
    """Internal: this document is not exactly what the writer produces; validate it."""


_Loader = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _load_datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is UTC:
        return parsed
    raise _Untrusted


def _load_time(value: Any) -> time:
    return time.fromisoformat(value)


def _enum_loader(cls: type[enum.Enum]) -> _Loader:
    members = cls._value2member_map_

    def load_enum(value: Any) -> Any:
        return members[value]

    return load_enum


def _trusted_loader(t: Any) -> _Loader:
    """How to build a value of type `t` from the JSON the converter wrote for it."""
    return _cached_loader(t)


def _scalar_loader(*accepted: type) -> _Loader:
    def load_scalar(value: Any) -> Any:
        if type(value) in accepted:
            return value
        raise _Untrusted

    return load_scalar


_SCALAR_LOADERS: Final[dict[Any, _Loader]] = {
    str: _scalar_loader(str),
    int: _scalar_loader(int),
    bool: _scalar_loader(bool),
    float: _scalar_loader(int, float),  # the converter keeps an int given for a float
    type(None): _scalar_loader(type(None)),
}


@cache
def _cached_loader(t: Any) -> _Loader:
    if t is Any:
        return _identity
    if t in _SCALAR_LOADERS:
        return _SCALAR_LOADERS[t]
    if t is datetime:
        return _load_datetime
    if t is time:
        return _load_time
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return _enum_loader(t)
    if t is DomainEvent:
        return _load_any_event
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1 or len(args) != 2:
            raise TypeError(f"no trusted loader for {t!r}")
        load_inner = _trusted_loader(inner[0])
        return lambda value: None if value is None else load_inner(value)
    if origin in (frozenset, set, list) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        load_item = _trusted_loader(args[0])

        def load_collection(value: Any) -> Any:
            if type(value) is not list:
                raise _Untrusted
            return origin(map(load_item, value))

        return load_collection
    if origin is dict:
        load_key, load_value = _trusted_loader(args[0]), _trusted_loader(args[1])

        def load_dict(value: Any) -> Any:
            if type(value) is not dict:
                raise _Untrusted
            return {load_key(k): load_value(v) for k, v in value.items()}

        return load_dict
    if attrs.has(t):
        return _attrs_loader(t)
    raise TypeError(f"no trusted loader for {t!r}")


#: How a generated loader checks a plain value `x` it copies as it is.
_SCALAR_CHECKS: Final[dict[Any, str]] = {
    str: "type(x) is not str",
    int: "type(x) is not int",
    bool: "type(x) is not bool",
    float: "type(x) is not int and type(x) is not float",
    type(None): "x is not None",
}


def _attrs_loader(cls: type) -> _Loader:
    compiled: list[_Loader] = []

    def load_attrs(data: Any) -> Any:
        # Compiled on first use: classes may refer to each other (or to themselves).
        if not compiled:
            compiled.append(_compile_loader(cls))
        return compiled[0](data)

    return load_attrs


def _compile_loader(cls: type) -> _Loader:
    """A function building `cls` from the dict its dumper wrote, without calling __init__
    (so no validator or converter runs): each field is checked for its JSON type, built, and
    set; a missing or an unknown field raises `_Untrusted` (the source is generated from the
    class's field names, which are identifiers)."""
    hints = typing.get_type_hints(cls)
    env: dict[str, Any] = {"new": object.__new__, "set_": object.__setattr__, "cls": cls, "U": _Untrusted}
    lines = [
        "def load(data):",
        "    if type(data) is not dict:",
        "        raise U",
        "    obj = new(cls)",
        "    found = 0",
    ]
    required = 0
    for i, field in enumerate(attrs.fields(cls)):
        if not field.init:
            raise TypeError(f"no trusted loader for {cls!r}: {field.name} is set outside __init__")
        hint = hints[field.name]
        args = typing.get_args(hint)
        optional = type(None) in args and len(args) == 2
        plain = next((a for a in args if a is not type(None)), None) if optional else hint
        build: list[str]
        if plain in _SCALAR_CHECKS:
            check = _SCALAR_CHECKS[plain]
            build = [f"if x is not None and ({check}):" if optional else f"if {check}:", "    raise U"]
        else:
            env[f"l{i}"] = _trusted_loader(hint)
            build = [f"x = l{i}(x)"]
        body = [f"x = data[{field.name!r}]", *build, f"set_(obj, {field.name!r}, x)"]
        default = field.default
        if default is attrs.NOTHING:
            required += 1
            lines.extend(f"    {line}" for line in body)
            continue
        fallback = default_source(cls, field, i, env)
        lines.append(f"    if {field.name!r} in data:")
        lines.extend(f"        {line}" for line in [*body, "found += 1"])
        lines.append("    else:")
        lines.append(f"        set_(obj, {field.name!r}, {fallback})")
    tagged = " + ('type' in data)" if issubclass(cls, DomainEvent) else ""  # a stored event's tag
    lines.extend([f"    if found + {required}{tagged} != len(data):", "        raise U", "    return obj"])
    exec("\n".join(lines) + "\n", env)
    load: _Loader = env["load"]
    return load


def _load_any_event(data: Any) -> DomainEvent:
    cls = EVENT_TYPES.get(data["type"]) if type(data) is dict and type(data.get("type")) is str else None
    if cls is None:
        raise _Untrusted
    event: DomainEvent = _trusted_loader(cls)(data)
    return event


def event_from_stored(text: str) -> DomainEvent:
    """An event as a store wrote it with `event_to_json`, built without re-validating it."""
    try:
        return _load_any_event(_LOADS_STORED(text))
    except (_Untrusted, KeyError, ValueError, TypeError, AttributeError):
        return event_from_json(text)


def aggregate_from_stored(kind: str, text: str) -> Aggregate:
    """An aggregate as a store wrote it with `aggregate_to_json`, built without re-validating it."""
    cls = AGGREGATE_KINDS.get(kind)
    if cls is not None:
        try:
            value: Aggregate = _trusted_loader(cls)(_LOADS_STORED(text))
            return value
        except (_Untrusted, KeyError, ValueError, TypeError, AttributeError):
            pass
    return aggregate_from_json(kind, text)


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
