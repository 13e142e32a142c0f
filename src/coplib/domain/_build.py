"""Building state from values already checked, without checking them again.

An aggregate's validators run when a host or a command builds one from outside input. The
transition function (`coplib.domain.history`) builds aggregates only from an event, which was
validated when it was made, and from the aggregate's previous state, which was valid: running
every validator again costs most of a transition and can find nothing. `build` and `evolve`
here set the fields directly. They take the same keyword arguments as the class's ``__init__``
and `attrs.evolve`; a name that is not a field is a programming error (TypeError), as there.

Property tests check that every state a transition builds this way passes the class's own
validators and equals what its ``__init__`` would build (tests/properties).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

_Builder = Callable[[dict[str, Any]], Any]
_Evolver = Callable[[Any, dict[str, Any]], Any]

_BUILDERS: dict[type, _Builder] = {}
_EVOLVERS: dict[type, _Evolver] = {}


def build(cls: type[T], /, **fields: Any) -> T:
    """An instance of the attrs class `cls` holding `fields` (defaults for the others), with
    no validator or converter run: `fields` must already be valid and converted."""
    maker = _BUILDERS.get(cls)
    if maker is None:
        maker = _BUILDERS[cls] = _compile(cls, evolve=False)
    built: T = maker(fields)
    return built


def evolve(instance: T, /, **changes: Any) -> T:
    """A copy of the attrs instance `instance` with `changes`, with no validator or converter
    run: `changes` must already be valid and converted."""
    cls = type(instance)
    maker = _EVOLVERS.get(cls)
    if maker is None:
        maker = _EVOLVERS[cls] = _compile(cls, evolve=True)
    changed: T = maker(instance, changes)
    return changed


def default_source(cls: type, field: attrs.Attribute[Any], index: int, env: dict[str, Any]) -> str:
    """The expression, in code generated for `cls`, that gives `field`'s default (a factory
    is called each time); what it names is put in `env`. A default that takes ``self`` cannot
    be given before the instance exists: TypeError."""
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            raise TypeError(f"no generated builder for {cls!r}: the default of {field.name} takes self")
        env[f"f{index}"] = default.factory
        return f"f{index}()"
    env[f"v{index}"] = default
    return f"v{index}"


def _compile(cls: type, *, evolve: bool) -> Any:
    """The source of a builder (or evolver) for `cls`, generated from its field names (which
    are identifiers): each field set with ``object.__setattr__`` on a new instance."""
    fields = attrs.fields(cls)
    env: dict[str, Any] = {"new": object.__new__, "set_": object.__setattr__, "cls": cls}
    env["names"] = frozenset(f.name for f in fields)
    head = "def make(old, given):" if evolve else "def make(given):"
    lines = [
        head,
        "    if not names.issuperset(given):",
        "        raise TypeError(f'{cls.__name__} has no field(s) {sorted(set(given) - names)}')",
        "    obj = new(cls)",
    ]
    for i, field in enumerate(fields):
        if not field.init:
            raise TypeError(f"cannot build {cls!r} directly: {field.name} is set outside __init__")
        name = field.name
        if evolve:
            lines.append(f"    set_(obj, {name!r}, given[{name!r}] if {name!r} in given else old.{name})")
            continue
        default = field.default
        if default is attrs.NOTHING:
            lines.append(f"    if {name!r} not in given:")
            lines.append(f"        raise TypeError('{cls.__name__} needs a value for {name}')")
            lines.append(f"    set_(obj, {name!r}, given[{name!r}])")
            continue
        fallback = default_source(cls, field, i, env)
        lines.append(f"    set_(obj, {name!r}, given[{name!r}] if {name!r} in given else {fallback})")
    lines.append("    return obj")
    exec("\n".join(lines) + "\n", env)
    return env["make"]
