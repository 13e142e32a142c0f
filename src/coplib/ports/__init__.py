"""The ports: what coplib asks of the outside world and of its plugins.

- `coplib.ports.storage`: the store, split by capability (aggregates, event log, outbox,
  timers, read queries), and the values that cross it;
- `coplib.ports.hookspecs`: the catalogue of plugin hooks;
- `coplib.ports.policy`: what a policy plugin is.

Ports import only the domain.
"""

from coplib.ports.storage import (
    ACTIVE_ONLY,
    EVERYTHING,
    AggregateStore,
    Changeset,
    DeliveryStatus,
    EventLog,
    Filter,
    Outbox,
    OutboxEntry,
    OutboxMessage,
    Outcome,
    Period,
    ReadQueries,
    RecordedEvent,
    Store,
    Timers,
    Versioned,
    Write,
    check_limit,
    contributor_facts_by_finding,
    count_by_finding,
    member_facts_by_finding,
    open_flags_by_finding,
    question_facts_by_finding,
)

__all__ = [
    "ACTIVE_ONLY",
    "EVERYTHING",
    "AggregateStore",
    "Changeset",
    "DeliveryStatus",
    "EventLog",
    "Filter",
    "Outbox",
    "OutboxEntry",
    "OutboxMessage",
    "Outcome",
    "Period",
    "ReadQueries",
    "RecordedEvent",
    "Store",
    "Timers",
    "Versioned",
    "Write",
    "check_limit",
    "contributor_facts_by_finding",
    "count_by_finding",
    "member_facts_by_finding",
    "open_flags_by_finding",
    "question_facts_by_finding",
]
