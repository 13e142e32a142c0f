"""The bulk path: appending an existing history (an import, a replay) in batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from coplib.domain import events as ev
from coplib.domain.errors import (
    InvalidInputError,
)
from coplib.domain.history import touched
from coplib.ports.storage import bulk_session
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases


class BulkImport(UseCases):
    """Bulk appends, for the host's trusted jobs."""

    def import_history(self, events: Iterable[ev.DomainEvent], *, batch_size: int = 500) -> int:
        """Append an existing history (an import, a replay) in batches, one unit of work each.

        Every event goes through the same transitions as a command, so an event that does not
        fit the state (an answer to an unknown question...) is refused with its batch, and
        earlier batches stay. It is a trusted host job: no permission check, and no messages
        (old history is not news). Returns how many events were stored.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= 100_000:
            raise InvalidInputError.field("$.batch_size", f"must be from 1 to 100000, got {batch_size!r}")
        stored = 0
        # A store that knows the batches come together may put off what guards nothing.
        with bulk_session(self._store):
            source = iter(events)
            start = 0
            while batch := list(itertools.islice(source, batch_size)):
                for i, event in enumerate(batch, start):
                    if not isinstance(event, ev.DomainEvent):
                        raise InvalidInputError.field(
                            f"$.events[{i}]", f"must be a DomainEvent, got {type(event).__name__}"
                        )
                uow = UnitOfWork(self._store)
                refs = [touched(event) for event in batch]
                # One read for the whole batch instead of one per aggregate it touches.
                uow.prefetch(ref for each in refs for ref in each)
                for i, (event, its_refs) in enumerate(zip(batch, refs), start):
                    try:
                        uow.record(event, its_refs)
                    except InvalidInputError as exc:
                        raise exc.under(f"$.events[{i}]", context="import_history") from None
                stored += self.runtime.commit_batch(uow)
                start += len(batch)
            return stored
