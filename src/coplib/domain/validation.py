"""Field validators for the domain's value types, and the limits they enforce.

Every validator raises `InvalidInputError` naming the field (``$.title``) and the bad value,
so that a host can show the message as it is.
"""

from __future__ import annotations

import json
import re
import types
import unicodedata
from collections.abc import Callable, Collection, Hashable, Sequence
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
#: The most a query returns at once (its `limit`); page beyond it.
QUERY_LIMIT_MAX: Final = 10_000

_TAG_RE: Final = re.compile(r"^[a-z0-9][a-z0-9+#._-]*$")

# -- the text rule ------------------------------------------------------------------------------
#
# Text that no person writes is refused, in every free-text field: control characters
# (Unicode category Cc: C0, DEL, C1), which a terminal, a log line or a mail header executes
# or splits on (ANSI escapes, NUL, BEL, CR LF); the invisible bidirectional embeddings,
# overrides and isolates, which show text in another order than it is stored (the "Trojan
# Source" trick: a title that reads one way and sorts, searches and links another); and lone
# surrogates (category Cs), which no UTF-8 text can hold. Multi-line fields (bodies,
# descriptions, the charter's texts) take line breaks (LF, CR LF, U+2028, U+2029) and tabs;
# single-line fields (names, titles, e-mail addresses, reasons, locations, list items) take
# none. Other format characters stay allowed: the zero-width joiner builds emoji and Indic
# scripts, the zero-width non-joiner Persian, the left-to-right and right-to-left marks
# (U+200E, U+200F, U+061C) place punctuation in Arabic and Hebrew without reordering anything.

#: The bidirectional embeddings, overrides and isolates, refused in every text.
BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: The line breaks a multi-line text may hold (CR only as the first half of CR LF).
LINE_BREAKS: Final = frozenset("\n\r\u2028\u2029")

_REFUSED_EVERYWHERE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_SINGLE_LINE_REFUSED: Final = re.compile(rf"[{_REFUSED_EVERYWHERE}\t\n\r\u2028\u2029]")
_MULTI_LINE_REFUSED: Final = re.compile(rf"[{_REFUSED_EVERYWHERE}]|\r(?!\n)")
_ID_FORBIDDEN: Final = re.compile(rf"[\s{_REFUSED_EVERYWHERE}]")

_CONTROL_NAMES: Final = {
    "\x00": "NULL",
    "\x07": "BELL",
    "\x08": "BACKSPACE",
    "\t": "TAB",
    "\n": "LINE FEED",
    "\x0b": "LINE TABULATION",
    "\x0c": "FORM FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}


def describe_character(char: str) -> str:
    """``U+001B (ESCAPE)``: a character named for a message (controls have no Unicode name)."""
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def text_fault(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is no text a person writes (see the text rule above), or None when it is:
    the first refused character, named, and where it is (1 for the first character)."""
    found = (_MULTI_LINE_REFUSED if multiline else _SINGLE_LINE_REFUSED).search(value)
    if found is None:
        return None
    char = found.group()[0]
    where = f"got {describe_character(char)} at character {found.start() + 1}"
    if char in BIDI_CONTROLS:
        return f"must not hold invisible bidirectional controls, which show text in another order: {where}"
    if unicodedata.category(char) == "Cs":
        return f"must not hold a lone surrogate, which no UTF-8 text can: {where}"
    if multiline:
        return f"must not hold control characters (but line breaks and tabs): {where}"
    return f"must be one line without control characters: {where}"


def check_text(
    path: str,
    value: object,
    *,
    max_chars: int | None = None,
    max_bytes: int | None = None,
    allow_empty: bool = False,
    multiline: bool = False,
    context: str = "",
) -> str:
    """`value` if it is a string that holds to the text rule, not blank unless allowed and
    within its limits; else `InvalidInputError` naming `path` (in `context`)."""

    def fail(message: str) -> InvalidInputError:
        return InvalidInputError.field(path, message, context=context)

    if not isinstance(value, str):
        raise fail(f"must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise fail("must not be empty or blank")
    if max_chars is not None and len(value) > max_chars:
        raise fail(f"must be at most {max_chars} characters, got {len(value)}")
    if max_bytes is not None:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise fail(f"must be at most {max_bytes} bytes in UTF-8, got {size}")
    fault = text_fault(value, multiline=multiline)
    if fault is not None:
        raise fail(fault)
    return value


def escape_refused(value: Any) -> Any:
    """attrs converter for text coplib writes itself (a failure's message, which may quote
    anything): every character the text rule refuses is written as its escape (``\\n``,
    ``\\x1b``), so that the record is kept rather than refused; then cut at SHORT_TEXT_MAX."""
    if not isinstance(value, str):
        return value  # the validator reports the wrong type
    out = _SINGLE_LINE_REFUSED.sub(lambda m: repr(m.group())[1:-1], value)
    return out if len(out) <= SHORT_TEXT_MAX else out[: SHORT_TEXT_MAX - 1] + "…"


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


@attrs.frozen
class Text:
    """attrs validator of a free-text field: a string holding to the text rule, not blank
    unless `allow_empty`, within `max_chars` characters or `max_bytes` UTF-8 bytes; line
    breaks and tabs only when `multiline`. The fields are there for docs/limits.md."""

    max_chars: int | None = None
    max_bytes: int | None = None
    allow_empty: bool = False
    multiline: bool = False

    def __call__(self, _: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_text(
            f"$.{attribute.name}",
            value,
            max_chars=self.max_chars,
            max_bytes=self.max_bytes,
            allow_empty=self.allow_empty,
            multiline=self.multiline,
        )


def text(
    *, max_chars: int | None = None, max_bytes: int | None = None, allow_empty: bool = False, multiline: bool = False
) -> Text:
    """A string, not blank unless allowed, within a length in characters or UTF-8 bytes, one
    line without control characters unless `multiline` (then line breaks and tabs too)."""
    return Text(max_chars=max_chars, max_bytes=max_bytes, allow_empty=allow_empty, multiline=multiline)


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


@attrs.frozen
class Tags:
    """attrs validator of a frozenset of well-formed tags, at most `max_count` of them."""

    max_count: int = TAGS_MAX

    def __call__(self, _: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, frozenset):
            raise _fail(attribute, f"must be a set of tags, got {type(value).__name__}")
        errors = self.errors(f"$.{attribute.name}", sorted(value, key=str))
        if errors:
            raise InvalidInputError(errors)

    def errors(self, path: str, items: Sequence[object]) -> list[FieldError]:
        """What is wrong with `items`, tags already normalised, each named by its place in
        `items` (the order the caller gave them in, when there was one): too many distinct
        ones, or else each malformed one."""
        distinct = len(set(items)) if all(isinstance(t, Hashable) for t in items) else len(items)
        if distinct > self.max_count:
            return [FieldError(path, f"must hold at most {self.max_count} tags, got {distinct}")]
        errors: list[FieldError] = []
        for i, tag in enumerate(items):
            try:
                check_tag(f"{path}[{i}]", tag)
            except InvalidInputError as exc:
                errors.extend(exc.errors)
        return errors


def tags(*, max_count: int = TAGS_MAX) -> Tags:
    """A frozenset of well-formed tags, at most `max_count` of them."""
    return Tags(max_count)


def check_tags(path: str, value: Sequence[object], *, max_count: int = TAGS_MAX, context: str = "") -> frozenset[str]:
    """The tags a caller gave, normalised (`to_tags`), or `InvalidInputError` naming each bad
    one by its place in `value` (``$.tags[1]``)."""
    items = [normalise_tag(t) if isinstance(t, str) else t for t in value]
    errors = Tags(max_count).errors(path, items)
    if errors:
        raise InvalidInputError(errors, context=context)
    return frozenset(t for t in items if isinstance(t, str))


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


@attrs.frozen
class Texts:
    """attrs validator of a tuple of single-line texts (a charter's member profiles...), at
    most `max_count` of them, each non-blank unless `allow_empty` and within `max_chars`."""

    max_count: int = LIST_MAX
    max_chars: int = SHORT_TEXT_MAX
    allow_empty: bool = False
    multiline = False

    def __call__(self, _: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple):
            raise _fail(attribute, f"must be a list of strings, got {type(value).__name__}")
        if len(value) > self.max_count:
            raise _fail(attribute, f"must hold at most {self.max_count} items, got {len(value)}")
        errors = [error for i, item in enumerate(value) for error in self.errors(f"$.{attribute.name}[{i}]", item)]
        if errors:
            raise InvalidInputError(errors)

    def errors(self, path: str, item: object) -> list[FieldError]:
        """What is wrong with one item (nothing: an empty list)."""
        if not isinstance(item, str) or (not self.allow_empty and not item.strip()) or len(item) > self.max_chars:
            blank = "" if self.allow_empty else "non-blank "
            return [FieldError(path, f"must be a {blank}string of at most {self.max_chars} characters")]
        fault = text_fault(item)
        return [FieldError(path, fault)] if fault else []


def short_texts(*, max_count: int = LIST_MAX, max_chars: int = SHORT_TEXT_MAX, allow_empty: bool = False) -> Texts:
    """A tuple of non-blank single-line strings."""
    return Texts(max_count=max_count, max_chars=max_chars, allow_empty=allow_empty)


def text_rules(cls: type[Any]) -> dict[str, Text | Texts]:
    """The free-text fields of the attrs class `cls` and the rule each holds to (through
    ``attrs.validators.optional`` and ``and_`` too): what docs/limits.md lists."""
    out: dict[str, Text | Texts] = {}
    for field in attrs.fields(cls):
        pending: list[Any] = [field.validator]
        while pending:
            validator = pending.pop()
            if isinstance(validator, (Text, Texts)):
                out[field.name] = validator
            pending.extend(getattr(validator, "_validators", ()))
            if hasattr(validator, "validator"):
                pending.append(validator.validator)
    return out


def instance_of(kind: type[Any] | tuple[type[Any], ...]) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise _fail(attribute, f"must be a {names}, got {_short(value)}")

    return check


def non_negative_int(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(attribute, f"must be a whole number >= 0, got {_short(value)}")


def check_limit(value: object, context: str, path: str = "$.limit") -> int:
    """A query's `limit`: a whole number from 1 to QUERY_LIMIT_MAX, the one rule of every query
    (docs/limits.md); else `InvalidInputError` naming `path`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= QUERY_LIMIT_MAX:
        raise InvalidInputError.field(
            path, f"must be a whole number from 1 to {QUERY_LIMIT_MAX}, got {_short(value)}", context=context
        )
    return value


def check_position(value: object, context: str, path: str = "$.after") -> int:
    """A position to page from (0 for the start): a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError.field(path, f"must be a whole number >= 0, got {_short(value)}", context=context)
    return value


def check_fields(cls: type[Any], context: str, /, **values: Any) -> dict[str, Any]:
    """Convert and validate `values` as fields of the attrs class `cls`, reporting every bad
    field at once (attrs alone stops at the first). Returns the converted values."""
    fields = attrs.fields_dict(cls)
    namespace = types.SimpleNamespace(**values)
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for name, value in values.items():
        attribute = fields[name]
        if isinstance(attribute.validator, Tags) and isinstance(value, (list, tuple)):
            # Tags the caller listed are named by their place in the list, not in the set.
            items = [normalise_tag(t) if isinstance(t, str) else t for t in value]
            found = attribute.validator.errors(f"$.{name}", items)
            if found:
                errors.extend(found)
                out[name] = value
                continue
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
