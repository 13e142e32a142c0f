"""Field validators for the domain's value types, and the limits they enforce.

Every validator raises `InvalidInputError` naming the field (``$.title``) and the bad value,
so that a host can show the message as it is.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, Final, TypeGuard

import attrs

from coplib.domain.errors import FieldError, InvalidInputError

#: Limits on what members write. Stated once, documented in docs/limits.md.
NAME_MAX: Final = 120
TITLE_MAX: Final = 300
BODY_MAX_BYTES: Final = 64 * 1024
SHORT_TEXT_MAX: Final = 2_000
TAGS_MAX: Final = 10
TAG_MAX: Final = 50
ID_MAX: Final = 200
LIST_MAX: Final = 50
ATTENDEES_MAX: Final = 10_000

_TAG_RE: Final = re.compile(r"^[a-z0-9][a-z0-9+#._-]*$")
_ID_FORBIDDEN: Final = re.compile(r"[\s\x00-\x1f\x7f]")

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _fail(attribute: attrs.Attribute[Any], message: str) -> InvalidInputError:
    return InvalidInputError([FieldError(f"$.{attribute.name}", message)])


def key_path(base: str, key: str) -> str:
    """The path of `key` in the mapping at `base`: ``$.aliases.bkeller``, or quoted when the
    key is no name (``$.aliases["CORP\\\\amartin"]``)."""
    if key.isidentifier():
        return f"{base}.{key}"
    return f"{base}[{json.dumps(key, ensure_ascii=False)}]"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text(*, max_chars: int | None = None, max_bytes: int | None = None, allow_empty: bool = False) -> Validator:
    """A string, not blank unless allowed, within a length in characters or UTF-8 bytes."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            raise _fail(attribute, f"must be a string, got {type(value).__name__}")
        if not allow_empty and not value.strip():
            raise _fail(attribute, "must not be empty or blank")
        if max_chars is not None and len(value) > max_chars:
            raise _fail(attribute, f"must be at most {max_chars} characters, got {len(value)}")
        if max_bytes is not None:
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > max_bytes:
                raise _fail(attribute, f"must be at most {max_bytes} bytes in UTF-8, got {size}")

    return check


def is_identifier(value: object) -> TypeGuard[str]:
    """Whether `value` is an id: what `identifier` accepts."""
    return isinstance(value, str) and 0 < len(value) <= ID_MAX and _ID_FORBIDDEN.search(value) is None


def identifier(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An id: a non-empty string of at most ID_MAX characters with no white space."""
    if not isinstance(value, str):
        raise _fail(attribute, f"must be an id string, got {type(value).__name__}")
    if not value or len(value) > ID_MAX:
        raise _fail(attribute, f"must be an id of 1 to {ID_MAX} characters, got {len(value)}")
    if _ID_FORBIDDEN.search(value):
        raise _fail(attribute, f"must not contain white space or control characters: {_short(value)}")


def optional_identifier(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        identifier(instance, attribute, value)


def normalise_tag(tag: str) -> str:
    return tag.strip().lower()


def check_tag(path: str, tag: object) -> None:
    if not isinstance(tag, str):
        raise InvalidInputError.field(path, f"a tag must be a string, got {type(tag).__name__}")
    if not tag or len(tag) > TAG_MAX or not _TAG_RE.match(tag):
        raise InvalidInputError.field(
            path,
            f"a tag is 1 to {TAG_MAX} lower-case letters, digits or + # . _ - "
            f"starting with a letter or digit, got {_short(tag)}",
        )


def tags(*, max_count: int = TAGS_MAX) -> Validator:
    """A frozenset of well-formed tags, at most `max_count` of them."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, frozenset):
            raise _fail(attribute, f"must be a set of tags, got {type(value).__name__}")
        if len(value) > max_count:
            raise _fail(attribute, f"must hold at most {max_count} tags, got {len(value)}")
        errors: list[FieldError] = []
        for i, tag in enumerate(sorted(value, key=str)):
            try:
                check_tag(f"$.{attribute.name}[{i}]", tag)
            except InvalidInputError as exc:
                errors.extend(exc.errors)
        if errors:
            raise InvalidInputError(errors)

    return check


def to_tags(value: Any) -> Any:
    """attrs converter: any iterable of strings becomes a frozenset of normalised tags."""
    if isinstance(value, str) or not isinstance(value, Collection):
        return value  # the validator reports the wrong type
    return frozenset(normalise_tag(t) if isinstance(t, str) else t for t in value)


def to_frozenset(value: Any) -> Any:
    if isinstance(value, str) or not isinstance(value, Collection):
        return value
    return frozenset(value)


def to_tuple(value: Any) -> Any:
    if isinstance(value, str) or not isinstance(value, Collection):
        return value
    return tuple(value)


def utc_datetime(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A timezone-aware datetime in UTC (naive datetimes are refused, never guessed)."""
    if not isinstance(value, datetime):
        raise _fail(attribute, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(attribute, f"must be timezone-aware (UTC), got the naive datetime {value.isoformat()}")
    if value.utcoffset() != timedelta(0):
        raise _fail(attribute, f"must be in UTC, got offset {value.utcoffset()}")


def optional_utc_datetime(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        utc_datetime(instance, attribute, value)


def members_of(kind: type[Any], *, max_count: int = LIST_MAX) -> Validator:
    """A frozenset or tuple whose items are all `kind`."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, (frozenset, tuple)):
            raise _fail(attribute, f"must be a collection of {kind.__name__}, got {type(value).__name__}")
        if len(value) > max_count:
            raise _fail(attribute, f"must hold at most {max_count} items, got {len(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, kind):
                raise InvalidInputError.field(
                    f"$.{attribute.name}[{i}]", f"must be a {kind.__name__}, got {_short(item)}"
                )

    return check


def identifiers(*, max_count: int = LIST_MAX, allow_empty: bool = False, what: str = "an id") -> Validator:
    """A tuple of ids (`what` they are, for the message), not empty unless allowed."""
    collection = members_of(str, max_count=max_count)

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        collection(_, attribute, value)
        if not isinstance(value, tuple) or (not value and not allow_empty):
            raise _fail(attribute, "must be a non-empty list of ids")
        for i, item in enumerate(value):
            if not is_identifier(item):
                raise InvalidInputError.field(f"$.{attribute.name}[{i}]", f"must be {what}, got {_short(item)}")

    return check


def short_texts(*, max_count: int = LIST_MAX, max_chars: int = SHORT_TEXT_MAX) -> Validator:
    """A tuple of non-blank strings."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple):
            raise _fail(attribute, f"must be a list of strings, got {type(value).__name__}")
        if len(value) > max_count:
            raise _fail(attribute, f"must hold at most {max_count} items, got {len(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip() or len(item) > max_chars:
                raise InvalidInputError.field(
                    f"$.{attribute.name}[{i}]", f"must be a non-blank string of at most {max_chars} characters"
                )

    return check


def instance_of(kind: type[Any] | tuple[type[Any], ...]) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise _fail(attribute, f"must be a {names}, got {_short(value)}")

    return check


def non_negative_int(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(attribute, f"must be a whole number >= 0, got {_short(value)}")


def check_fields(cls: type[Any], context: str, /, **values: Any) -> dict[str, Any]:
    """Convert and validate `values` as fields of the attrs class `cls`, reporting every bad
    field at once (attrs alone stops at the first). Returns the converted values."""
    fields = attrs.fields_dict(cls)
    namespace = types.SimpleNamespace(**values)
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for name, value in values.items():
        attribute = fields[name]
        try:
            if attribute.converter is not None and callable(attribute.converter):
                value = attribute.converter(value)
                setattr(namespace, name, value)
            if attribute.validator is not None:
                attribute.validator(namespace, attribute, value)
        except InvalidInputError as exc:
            errors.extend(exc.errors)
        except (TypeError, ValueError) as exc:
            errors.append(FieldError(f"$.{name}", str(exc)))
        out[name] = value
    if errors:
        raise InvalidInputError(errors, context=context)
    return out
