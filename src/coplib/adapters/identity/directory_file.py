"""Identity directories: one read from a TOML or JSON file (`DirectoryFile`), and a
time-to-live cache in front of any slow directory (`CachingDirectory`).

The file format is documented in ``docs/notifications.md``; `parse_directory` validates it
and reports every bad entry by its path (``$.people[3].email``) in one `InvalidInputError`.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from coplib.adapters.identity.static import StaticDirectory
from coplib.domain import validation as v
from coplib.domain.clock import Clock, SystemClock
from coplib.domain.errors import ConfigurationError, FieldError, InvalidInputError
from coplib.domain.people import (
    KNOWN_ATTRIBUTES,
    LOCALES,
    ORGANISATIONS_MAX,
    AttributeRule,
    Person,
    is_reserved_person_id,
    reserved_id_message,
)
from coplib.notification.messages import check_email_address
from coplib.ports.hookspecs import hookimpl

#: The only version of the file format so far (the optional root key ``version``).
FORMAT_VERSION = 1
FORMATS = ("toml", "json")
ROOT_KEYS = ("version", "people", "aliases")
PERSON_FIELDS = ("id", "display_name", "email", "locale", "active", "organisations", "attributes")
ALIAS_MAX = 320


@attrs.frozen
class DirectoryContents:
    """What a directory file holds once validated: the people, and aliases (host login ->
    person id)."""

    people: tuple[Person, ...]
    aliases: dict[str, str] = attrs.field(factory=dict, hash=False)


def _kind(value: object) -> str:
    names = {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer"}
    return names.get(type(value), type(value).__name__)


class _Checker:
    """Collects every problem of a document, by path."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def identifier(self, path: str, value: object) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"must be an id string, got {_kind(value)}")
            return None
        if not 0 < len(value) <= v.ID_MAX or any(c.isspace() or not c.isprintable() for c in value):
            self.fail(
                path, f"must be an id of 1 to {v.ID_MAX} characters without spaces or controls, got {value!r:.60}"
            )
            return None
        return value

    def name(self, path: str, value: object, max_chars: int = v.NAME_MAX) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {_kind(value)}")
            return None
        if not value.strip():
            self.fail(path, "must not be empty or blank")
            return None
        if len(value) > max_chars:
            self.fail(path, f"must be at most {max_chars} characters, got {len(value)}")
            return None
        fault = v.text_fault(value)  # the rule every Person's text holds to
        if fault is not None:
            self.fail(path, f"{fault}: {value!r:.60}")
            return None
        return value

    def values(self, path: str, value: object) -> tuple[str, ...] | None:
        """An attribute's value: a string or a list of strings."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            self.fail(path, f"must be a string or a list of strings, got {_kind(value)}")
            return None
        out: list[str] = []
        ok = True
        for j, item in enumerate(items):
            item_path = path if isinstance(value, str) else f"{path}[{j}]"
            checked = self.name(item_path, item)
            ok = ok and checked is not None
            if checked is not None:
                out.append(checked)
        return tuple(out) if ok else None


def _locale(check: _Checker, path: str, value: object) -> str | None:
    if not isinstance(value, str):
        check.fail(path, f"must be a string, got {_kind(value)}")
        return None
    language = value.strip().replace("_", "-").split("-", 1)[0].lower()
    if language not in LOCALES:
        check.fail(path, f"must be one of {', '.join(LOCALES)} (or a regional form such as fr-CA), got {value!r:.40}")
        return None
    return language


def _organisations(check: _Checker, path: str, value: object) -> frozenset[str] | None:
    """The organisations a person belongs to: an id or a list of ids (an empty list: none)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        check.fail(path, f"must be an organisation id or a list of them, got {_kind(value)}")
        return None
    if len(items) > ORGANISATIONS_MAX:
        check.fail(path, f"must list at most {ORGANISATIONS_MAX} organisations, got {len(items)}")
        return None
    found = [check.identifier(path if isinstance(value, str) else f"{path}[{j}]", item) for j, item in enumerate(items)]
    return None if None in found else frozenset(item for item in found if item is not None)


def _person(check: _Checker, path: str, entry: object) -> dict[str, Any] | None:
    """The arguments of a `Person` for one entry of ``people``, or None after recording why not."""
    if not isinstance(entry, dict):
        check.fail(path, f"must be a table (an object in JSON) describing a person, got {_kind(entry)}")
        return None
    before = len(check.errors)
    for key in entry:
        if key not in PERSON_FIELDS and key not in KNOWN_ATTRIBUTES:
            check.fail(
                v.key_path(path, str(key)),
                f"unknown field; a person has {', '.join(PERSON_FIELDS + KNOWN_ATTRIBUTES)}: "
                "put other attributes under attributes",
            )
    args: dict[str, Any] = {}
    for key in ("id", "display_name"):
        if key not in entry:
            check.fail(f"{path}.{key}", "is required")
    if "id" in entry:
        args["id"] = check.identifier(f"{path}.id", entry["id"])
        if args["id"] is not None and is_reserved_person_id(args["id"]):
            check.fail(f"{path}.id", reserved_id_message(args["id"]))
            args["id"] = None
    if "display_name" in entry:
        args["display_name"] = check.name(f"{path}.display_name", entry["display_name"])
    email = entry.get("email", "")
    if email != "":
        try:
            args["email"] = check_email_address(email, f"{path}.email")
        except InvalidInputError as exc:
            check.errors.extend(exc.errors)
    if "locale" in entry:
        args["locale"] = _locale(check, f"{path}.locale", entry["locale"])
    if "active" in entry:
        if isinstance(entry["active"], bool):
            args["active"] = entry["active"]
        else:
            check.fail(f"{path}.active", f"must be true or false, got {_kind(entry['active'])}")
    if "organisations" in entry:
        args["organisations"] = _organisations(check, f"{path}.organisations", entry["organisations"])
    attributes: dict[str, tuple[str, ...]] = {}
    for key in KNOWN_ATTRIBUTES:
        if key in entry:
            found = check.values(f"{path}.{key}", entry[key])
            if found is not None:
                attributes[key] = found
    others = entry.get("attributes", {})
    if not isinstance(others, dict):
        check.fail(f"{path}.attributes", f"must be a table of attribute name to value(s), got {_kind(others)}")
    else:
        for key, value in others.items():
            key_path = v.key_path(f"{path}.attributes", str(key))
            if key in KNOWN_ATTRIBUTES and key in entry:
                check.fail(key_path, f"{key} is given twice: here and as the person's own field {key}")
                continue
            if check.name(key_path, key) is None:
                continue
            found = check.values(key_path, value)
            if found is not None:
                attributes[key] = found
    args["attributes"] = attributes
    if len(check.errors) > before:
        return None
    return args


def parse_directory(data: object) -> DirectoryContents:
    """Validate a directory document (parsed TOML or JSON) and build its people.

    Raises `InvalidInputError` listing every problem by path: unknown or missing fields,
    malformed e-mails and locales, duplicate ids or e-mails, managers and aliases that name
    nobody in the directory.
    """
    check = _Checker()
    if not isinstance(data, dict):
        raise InvalidInputError.field("$", f"a directory is a table (an object in JSON), got {_kind(data)}")
    for key in data:
        if key not in ROOT_KEYS:
            check.fail(v.key_path("$", str(key)), f"unknown field; a directory has {', '.join(ROOT_KEYS)}")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        check.fail("$.version", f"must be {FORMAT_VERSION}, the only format version so far; got {version!r:.40}")
    entries = data.get("people")
    if entries is None:
        check.fail("$.people", "is required: the list of the organisation's people (it may be empty)")
        entries = []
    elif not isinstance(entries, list):
        check.fail("$.people", f"must be a list of people ([[people]] tables in TOML), got {_kind(entries)}")
        entries = []

    accepted: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    first_path: dict[str, str] = {}
    email_path: dict[str, str] = {}
    for i, entry in enumerate(entries):
        path = f"$.people[{i}]"
        args = _person(check, path, entry)
        pid = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(pid, str):
            if pid in first_path:
                check.fail(f"{path}.id", f"duplicate person id {pid!r}: already used by {first_path[pid]}")
                continue
            first_path[pid] = path
        if args is None:
            continue
        email = args.get("email", "")
        if email:
            if email.lower() in email_path:
                check.fail(f"{path}.email", f"e-mail {email!r} is already used by {email_path[email.lower()]}")
                continue
            email_path[email.lower()] = path
        accepted.append((path, args, entry))

    for path, args, entry in accepted:
        raw_manager = entry.get("manager", entry.get("attributes", {}).get("manager"))
        for j, manager in enumerate(args["attributes"].get("manager", ())):
            where = v.key_path(path, "manager") if "manager" in entry else f"{path}.attributes.manager"
            where = where if isinstance(raw_manager, str) else f"{where}[{j}]"
            if manager == args["id"]:
                check.fail(where, "a person cannot be their own manager")
            elif manager not in first_path:
                check.fail(where, f"names no person of this directory: {manager!r:.60}")

    aliases: dict[str, str] = {}
    raw_aliases = data.get("aliases", {})
    if not isinstance(raw_aliases, dict):
        check.fail("$.aliases", f"must be a table of host login to person id, got {_kind(raw_aliases)}")
    else:
        for alias, target in raw_aliases.items():
            path = v.key_path("$.aliases", str(alias))
            if check.name(path, alias, max_chars=ALIAS_MAX) is None:
                continue
            if alias in first_path:
                check.fail(path, f"{alias!r} is a person's id already: an alias must not shadow it")
            elif not isinstance(target, str):
                check.fail(path, f"must be a person id string, got {_kind(target)}")
            elif is_reserved_person_id(target):
                check.fail(path, reserved_id_message(target))
            elif target not in first_path:
                check.fail(path, f"names no person of this directory: {target!r:.60}")
            else:
                aliases[alias] = target

    people: list[Person] = []
    if not check.errors:
        for path, args, _ in accepted:
            try:
                people.append(Person(**args))
            except InvalidInputError as exc:  # a backstop: the checks above should catch it all
                check.errors.extend(exc.under(path).errors)
    if check.errors:
        raise InvalidInputError(check.errors, context="directory")
    return DirectoryContents(tuple(people), aliases)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in an object")
        out[key] = value
    return out


def load_directory_file(path: str | os.PathLike[str], *, format: str | None = None) -> DirectoryContents:
    """Read and validate a directory file.

    :param format: ``"toml"`` or ``"json"``; by default from the file's suffix.
    Raises `ConfigurationError` when the file cannot be read or its format is unknown, and
    `InvalidInputError` (context names the file) when its content is not a valid directory.
    """
    file = Path(path)
    chosen = format if format is not None else file.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise ConfigurationError(
            f"cannot tell the format of the directory file {file}: name it .toml or .json, or pass format='toml'"
        )
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"the directory file {file} cannot be read: {exc.strerror or exc}") from exc
    context = f"directory file {file}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError.field("$", f"is not UTF-8 text (byte {exc.start})", context=context) from None
    try:
        data = tomllib.loads(text) if chosen == "toml" else json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise InvalidInputError.field("$", f"is not valid {chosen.upper()}: {exc}", context=context) from None
    try:
        return parse_directory(data)
    except InvalidInputError as exc:
        lines = _source_lines(text, chosen)
        located = [FieldError(e.path, e.message, _line_of(e.path, lines)) for e in exc.errors]
        raise InvalidInputError(located, context=context) from None


# -- where a path is in the file ----------------------------------------------------------------
#
# A directory is validated as parsed data, where paths are all there is; a person editing the
# file wants the line too. Neither tomllib nor json tells where a value was, so the text is
# read once more, only when it was refused, to map each path to the line of its key (or of
# its table). This is best effort: a path it cannot place is reported without a line.


def _line_of(path: str, lines: Mapping[str, int]) -> int | None:
    """The line of `path`, or of the nearest enclosing place known (a missing field is
    reported on its table's line)."""
    while path and path != "$":
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return None
        path = path[:cut]
    return None


def _source_lines(text: str, format: str) -> dict[str, int]:
    try:
        return _json_lines(text) if format == "json" else _toml_lines(text)
    except (ValueError, IndexError, RecursionError):  # never hide the real error behind ours
        return {}


class _Lines:
    """Line numbers of positions in a text (1 for the first line)."""

    def __init__(self, text: str) -> None:
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def at(self, position: int) -> int:
        return bisect.bisect_right(self._starts, position)


_scan_string: Callable[[str, int], tuple[str, int]] = getattr(json.decoder, "scanstring")  # noqa: B009 (untyped)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_lines(text: str) -> dict[str, int]:
    """Each path of a JSON document -> the line of its key (members) or its first character."""
    out: dict[str, int] = {}
    lines = _Lines(text)
    decoder = json.JSONDecoder()

    def skip(position: int) -> int:
        found = _JSON_SPACE.match(text, position)
        return found.end() if found else position

    def value(position: int, path: str) -> int:
        position = skip(position)
        out.setdefault(path, lines.at(position))
        opening = text[position]
        if opening not in "{[":
            return int(decoder.raw_decode(text, position)[1])
        closing = "}" if opening == "{" else "]"
        position = skip(position + 1)
        index = 0
        while text[position] != closing:
            if opening == "{":
                key, end = _scan_string(text, position + 1)
                child = v.key_path(path, key)
                out[child] = lines.at(position)
                position = skip(end) + 1  # past the colon
            else:
                child = f"{path}[{index}]"
                index += 1
            position = skip(value(position, child))
            if text[position] == ",":
                position = skip(position + 1)
        return position + 1

    value(0, "$")
    return out


_TOML_KEY = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*""")


def _toml_keys(text: str, position: int) -> tuple[list[str], int]:
    """The dotted key at `position` of a line (``a."b c".d``) and where it ends."""
    keys = []
    while True:
        found = _TOML_KEY.match(text, position)
        if found is None:
            raise ValueError("no key")
        raw = found.group(1)
        keys.append(json.loads(raw) if raw.startswith('"') else raw.strip("'"))
        position = found.end()
        if position >= len(text) or text[position] != ".":
            return keys, position
        position += 1


def _toml_depth(line: str, depth: int) -> tuple[int, bool]:
    """The bracket depth after `line` (inside an array or inline table spread over lines),
    and whether a multi-line string opens on it and stays open."""
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 2
                continue
            if char == quote:
                quote = ""
        elif line.startswith('"""', i) or line.startswith("'''", i):
            closing = line.find(line[i : i + 3], i + 3)
            if closing < 0:
                return depth, True
            i = closing + 3
            continue
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        i += 1
    return depth, False


def _toml_lines(text: str) -> dict[str, int]:
    """Each table and key of a TOML document -> its line (keys inside multi-line values and
    inline tables are placed at the line of the key that holds them)."""
    out: dict[str, int] = {}
    counts: dict[str, int] = {}
    base = "$"
    depth = 0
    in_string = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if in_string in line:
                in_string = ""
            continue
        stripped = line.strip()
        if depth == 0 and stripped.startswith("["):
            array = stripped.startswith("[[")
            keys, _ = _toml_keys(stripped, 2 if array else 1)
            base = "$"
            for key in keys[:-1]:
                base = v.key_path(base, key)
                if base in counts:
                    base = f"{base}[{counts[base] - 1}]"
            base = v.key_path(base, keys[-1])
            if array:
                counts[base] = counts.get(base, 0) + 1
                base = f"{base}[{counts[base] - 1}]"
            out.setdefault(base, number)
            continue
        if depth == 0 and stripped and not stripped.startswith("#"):
            keys, end = _toml_keys(line, 0)
            path = base
            for key in keys:
                path = v.key_path(path, key)
            out.setdefault(path, number)
            depth, opened = _toml_depth(line[end:], depth)
        else:
            depth, opened = _toml_depth(line, depth)
        if opened:
            in_string = '"""' if '"""' in line else "'''"
    return out


class DirectoryFile:
    """The people of the organisation as listed in a TOML or JSON file. Register it as a
    plugin; it answers the identity hooks (``coplib_get_person``, ``coplib_find_people``,
    ``coplib_authenticate``).

    The file is read at construction; `reload` (or `reload_if_changed`, for a host that
    polls) reads it again, and keeps the previous people if the new file is invalid. Its hook
    implementations are not ``trylast``: registered by the host, it answers before the
    built-in static directory.
    """

    def __init__(self, path: str | os.PathLike[str], *, format: str | None = None) -> None:
        self.path = Path(path)
        self.format = format
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        contents, stamp = self._read()
        self._install(contents, stamp)

    def _read(self) -> tuple[DirectoryContents, tuple[int, int] | None]:
        stamp = self._file_stamp()
        return load_directory_file(self.path, format=self.format), stamp

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _install(self, contents: DirectoryContents, stamp: tuple[int, int] | None) -> None:
        directory = StaticDirectory(contents.people, aliases=contents.aliases)
        with self._lock:
            self._directory = directory
            self._contents = contents
            self._stamp = stamp

    def reload(self) -> None:
        """Read the file again. On any error the previous people stay, and the error is raised."""
        contents, stamp = self._read()
        self._install(contents, stamp)

    def reload_if_changed(self) -> bool:
        """Reload when the file's modification time or size changed; True if it was reloaded."""
        with self._lock:
            known = self._stamp
        if self._file_stamp() == known:
            return False
        self.reload()
        return True

    @property
    def people(self) -> tuple[Person, ...]:
        with self._lock:
            return self._contents.people

    @property
    def aliases(self) -> dict[str, str]:
        with self._lock:
            return dict(self._contents.aliases)

    def _current(self) -> StaticDirectory:
        with self._lock:
            return self._directory

    @hookimpl
    def coplib_get_person(self, person_id: str) -> Person | None:
        return self._current().coplib_get_person(person_id)

    @hookimpl
    def coplib_find_people(self, rule: AttributeRule) -> Sequence[Person] | None:
        return self._current().coplib_find_people(rule)

    @hookimpl
    def coplib_authenticate(self, principal: str) -> str | None:
        return self._current().coplib_authenticate(principal)


# -- caching ----------------------------------------------------------------------------------

_IDENTITY_HOOKS = ("coplib_get_person", "coplib_find_people", "coplib_authenticate")


class CachingDirectory:
    """A time-to-live cache in front of a slow identity directory (an LDAP or HR service).

    :param directory: any object with some of the identity hook methods
        (``coplib_get_person(person_id=...)``, ``coplib_find_people(rule=...)``,
        ``coplib_authenticate(principal=...)``), such as another directory plugin. Register
        the cache as the plugin, not the wrapped directory, or the directory is asked
        directly each time the cache has no answer.
    :param ttl: how long an answer is reused.
    :param negative_ttl: how long a "not known" (None) answer is reused; default `ttl`.
    :param clock: the clock that ages entries (a `coplib.ManualClock` in tests).
    :param max_entries: beyond it, the least recently used answers are dropped.

    Errors raised by the directory are not cached: they reach the caller, and the next call
    asks again. Thread-safe; the directory is called outside the cache's lock.
    """

    def __init__(
        self,
        directory: object,
        *,
        ttl: timedelta = timedelta(minutes=5),
        negative_ttl: timedelta | None = None,
        clock: Clock | None = None,
        max_entries: int = 10_000,
    ) -> None:
        errors: list[FieldError] = []
        if not any(callable(getattr(directory, name, None)) for name in _IDENTITY_HOOKS):
            errors.append(FieldError("$.directory", f"exposes none of the identity hooks {', '.join(_IDENTITY_HOOKS)}"))
        for path, value in (("$.ttl", ttl), ("$.negative_ttl", negative_ttl)):
            if value is None and path == "$.negative_ttl":
                continue
            if not isinstance(value, timedelta) or value <= timedelta(0):
                errors.append(FieldError(path, f"must be a positive datetime.timedelta, got {value!r:.60}"))
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            errors.append(FieldError("$.max_entries", f"must be a positive integer, got {max_entries!r:.40}"))
        if errors:
            raise InvalidInputError(errors, context="CachingDirectory settings")
        self.directory = directory
        self.ttl = ttl
        self.negative_ttl = negative_ttl if negative_ttl is not None else ttl
        self.max_entries = max_entries
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, Hashable], tuple[datetime, Any]] = OrderedDict()

    def __repr__(self) -> str:
        return f"CachingDirectory({self.directory!r}, ttl={self.ttl})"

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._entries.clear()

    def invalidate(self, person_id: str) -> None:
        """Forget what concerns one person: their entry, the rule results (which may list
        them) and the logins that map to them."""
        with self._lock:
            for key in list(self._entries):
                hook, arg = key
                value = self._entries[key][1]
                if (
                    (hook == "coplib_get_person" and arg == person_id)
                    or hook == "coplib_find_people"
                    or (hook == "coplib_authenticate" and value == person_id)
                ):
                    del self._entries[key]

    def _cached(self, hook: str, arg: Hashable, ask: Callable[[Any], Any]) -> Any:
        key = (hook, arg)
        now = self._clock.now()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now < found[0]:
                self._entries.move_to_end(key)
                return found[1]
        method = getattr(self.directory, hook, None)
        if not callable(method):
            return None
        value = ask(method)
        expires = now + (self.ttl if value is not None else self.negative_ttl)
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    @hookimpl
    def coplib_get_person(self, person_id: str) -> Person | None:
        found: Person | None = self._cached("coplib_get_person", person_id, lambda m: m(person_id=person_id))
        return found

    @hookimpl
    def coplib_find_people(self, rule: AttributeRule) -> Sequence[Person] | None:
        found = self._cached("coplib_find_people", rule, lambda m: _frozen_list(m(rule=rule)))
        return list(found) if found is not None else None

    @hookimpl
    def coplib_authenticate(self, principal: str) -> str | None:
        found: str | None = self._cached("coplib_authenticate", principal, lambda m: m(principal=principal))
        return found


def _frozen_list(value: Sequence[Person] | None) -> tuple[Person, ...] | None:
    return tuple(value) if value is not None else None
