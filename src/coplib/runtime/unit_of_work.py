"""The unit of work: what one command reads and records, committed all at once.

It reads through an identity map (each aggregate once per unit), stages the state every
recorded event produces (through `coplib.domain.history.apply`, the one transition function
that replay uses too), and builds the changeset the store commits atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from coplib.domain import events as ev
from coplib.domain.history import Aggregate, Ref, apply, touched
from coplib.ports.storage import Changeset, OutboxMessage, Store, Versioned, Write


class UnitOfWork:
    """Reads through an identity map, stages the state each event produces, and builds the
    changeset that commits it all."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._loaded: dict[Ref, tuple[Aggregate | None, int]] = {}
        self._staged: dict[Ref, Aggregate] = {}
        self.events: list[ev.DomainEvent] = []
        self.messages: dict[str, OutboxMessage] = {}

    def get(self, ref: Ref) -> Aggregate | None:
        # One hash of the ref per map (policies read through here many times per command).
        staged = self._staged.get(ref)
        if staged is not None:
            return staged
        loaded = self._loaded.get(ref)
        if loaded is None:
            found = self.store.get(ref)
            loaded = self._loaded[ref] = (found.value, found.version) if found else (None, 0)
        return loaded[0]

    def prefetch(self, refs: Iterable[Ref]) -> None:
        """Read the refs not seen yet in one `get_many` (a bulk import's batch)."""
        wanted = [ref for ref in dict.fromkeys(refs) if ref not in self._staged and ref not in self._loaded]
        if not wanted:
            return
        found = self.store.get_many(wanted)
        for ref in wanted:
            hit = found.get(ref)
            self._loaded[ref] = (hit.value, hit.version) if hit is not None else (None, 0)

    def record(self, event: ev.DomainEvent, refs: Sequence[Ref] | None = None) -> None:
        """Apply `event` to every aggregate it touches (`refs`, when the caller has them
        already: ``touched(event)``) and keep it for the commit."""
        for ref in touched(event) if refs is None else refs:
            self._staged[ref] = apply(ref, self.get(ref), event)
        self.events.append(event)

    def record_first(self, event: ev.DomainEvent) -> None:
        """Record `event` before every event recorded so far (a marker that says what the
        events after it in the commit are: `ReactionsDeferred`)."""
        for ref in touched(event):
            self._staged[ref] = apply(ref, self.get(ref), event)
        self.events.insert(0, event)

    def add_message(self, message: OutboxMessage) -> None:
        """Queue an outbox message (the first one with a given id wins)."""
        self.messages.setdefault(message.id, message)

    def snapshot(self) -> tuple[dict[Ref, Aggregate], int, dict[str, OutboxMessage]]:
        """What has been staged so far, to undo a failed policy reaction with `restore`."""
        return dict(self._staged), len(self.events), dict(self.messages)

    def restore(self, snapshot: tuple[dict[Ref, Aggregate], int, dict[str, OutboxMessage]]) -> None:
        staged, count, messages = snapshot
        self._staged = staged
        del self.events[count:]
        self.messages = messages

    def changeset(self, messages: Sequence[OutboxMessage]) -> Changeset:
        writes = tuple(Write(ref, value, self._loaded[ref][1]) for ref, value in self._staged.items())
        return Changeset(writes=writes, events=tuple(self.events), messages=tuple(messages))


class StagedView:
    """What message composers read: the store, with `get` seeing the unit of work's changes."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def get(self, ref: Ref) -> Any:
        value = self._uow.get(ref)
        return Versioned(value, 0) if value is not None else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow.store, name)
