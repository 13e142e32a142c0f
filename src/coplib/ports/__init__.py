"""The ports: what coplib asks of the outside world and of its plugins.

- `coplib.ports.storage`: the store, split by capability (aggregates, event log, outbox,
  timers, read queries), and the values that cross it;
- `coplib.ports.hookspecs`: the catalogue of plugin hooks;
- `coplib.ports.policy`: what a policy plugin is.

Ports import only the domain.
"""

from coplib.ports.storage import (
    ACTIVE_ONLY,
    Changeset,
    DeliveryStatus,
    OutboxEntry,
    OutboxMessage,
    Outcome,
    Period,
    RecordedEvent,
    Store,
    Versioned,
    Write,
    check_limit,
)

__all__ = [
    "ACTIVE_ONLY",
    "Changeset",
    "DeliveryStatus",
    "OutboxEntry",
    "OutboxMessage",
    "Outcome",
    "Period",
    "RecordedEvent",
    "Store",
    "Versioned",
    "Write",
    "check_limit",
]
