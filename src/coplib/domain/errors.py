"""coplib's error families: one root, a few families, each carrying its context.

Every error raised at a public entry point is a `CoplibError`; its message says what was
wrong, where, and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


class CoplibError(Exception):
    """Root of every error coplib raises on purpose."""


class NotFoundError(CoplibError, LookupError):
    """An id names nothing that exists (or nothing the caller may know about)."""

    def __init__(self, kind: str, id: str) -> None:
        self.kind = kind
        self.id = id
        super().__init__(f"no {kind} with id {id!r}: check the id, or create the {kind} first")


class PermissionDeniedError(CoplibError):
    """The actor may not do this; `reason` says why. A `concealed` refusal is one the engine
    turns into the `NotFoundError` of an unknown id before it reaches the host (a community
    of another organisation, a private one the actor may not see)."""

    def __init__(
        self, action: str, actor: str, community_id: str | None, reason: str, *, concealed: bool = False
    ) -> None:
        self.action = action
        self.actor = actor
        self.community_id = community_id
        self.reason = reason
        self.concealed = concealed
        where = f" in community {community_id!r}" if community_id else ""
        super().__init__(f"{actor!r} may not {action}{where}: {reason}")


@attrs.frozen
class FieldError:
    """One bad field: where it is (`path`, e.g. ``$.tags[3]``) and what is wrong with it; for
    input read from a file, also the `line` it is on (1 for the first), when it is known."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line is not None else self.path
        return f"{self.message} @ {where}"


class InvalidInputError(CoplibError, ValueError):
    """Input that cannot be accepted; `errors` lists every bad field by its path."""

    def __init__(self, errors: Iterable[FieldError], *, context: str = "") -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        self.context = context
        lines = "; ".join(str(e) for e in self.errors) or "invalid input"
        prefix = f"invalid {context}: " if context else "invalid input: "
        super().__init__(prefix + lines)

    @classmethod
    def field(cls, path: str, message: str, *, context: str = "") -> InvalidInputError:
        return cls([FieldError(path, message)], context=context)

    def under(self, prefix: str, *, context: str | None = None) -> InvalidInputError:
        """The same errors with their paths re-rooted under `prefix` (``$`` replaced)."""
        moved = [FieldError(_reroot(e.path, prefix), e.message, e.line) for e in self.errors]
        return InvalidInputError(moved, context=self.context if context is None else context)


def _reroot(path: str, prefix: str) -> str:
    if path.startswith("$"):
        return prefix + path[1:]
    return f"{prefix}.{path}"


class ConflictError(CoplibError):
    """The state changed under the caller, or the change contradicts the current state."""

    def __init__(self, message: str, *, kind: str = "", id: str = "") -> None:
        self.kind = kind
        self.id = id
        super().__init__(message)


class ConcurrencyConflictError(ConflictError):
    """Another writer changed an aggregate between read and commit (optimistic locking)."""

    def __init__(self, kind: str, id: str, expected: int, actual: int | None) -> None:
        self.expected = expected
        self.actual = actual
        got = "it does not exist" if actual is None else f"it is at version {actual}"
        super().__init__(
            f"{kind} {id!r} changed concurrently: expected version {expected}, but {got}; read it again and retry",
            kind=kind,
            id=id,
        )


class CharterViolationError(CoplibError):
    """The change breaks a rule of the community's charter."""

    def __init__(self, community_id: str, rule: str, message: str) -> None:
        self.community_id = community_id
        self.rule = rule
        super().__init__(f"charter of community {community_id!r}, rule {rule!r}: {message}")


class AdapterError(CoplibError):
    """A storage, notification or identity adapter failed (the cause is chained)."""


class StorageError(AdapterError):
    """The store failed or refused to open; nothing was half written."""


class PluginError(AdapterError):
    """A plugin could not be loaded or misbehaved."""


class ConfigurationError(CoplibError, ValueError):
    """The engine was opened with settings that cannot work (bad URL, unknown scheme...)."""


class MissingExtraError(ConfigurationError):
    """A feature needs a package that is not installed (`package`, from coplib's extra
    `extra`): the message says what to install. Raised by the importers and the simulation."""

    def __init__(self, package: str, extra: str, why: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{why} needs the package {package}: install it with pip install 'coplib[{extra}]'")


class DeliveryError(AdapterError):
    """A notifier could not deliver a message. The engine keeps the message pending and tries
    again; `permanent` says that trying again cannot help (an address the server refuses...)."""

    def __init__(self, reason: str, *, message_id: str = "", channel: str = "", permanent: bool = False) -> None:
        self.reason = reason
        self.message_id = message_id
        self.channel = channel
        self.permanent = permanent
        where = f"{channel} delivery" if channel else "delivery"
        which = f" of message {message_id}" if message_id else ""
        super().__init__(f"{where}{which} failed: {reason}")
