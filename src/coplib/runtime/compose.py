"""Message composition: what the ``coplib_compose_messages`` hooks make of a unit of work's
events, turned into outbox messages with idempotent ids, beside those the policies left."""

from __future__ import annotations

import uuid

import pluggy

from coplib.domain.errors import PluginError
from coplib.domain.ids import derived_id
from coplib.ports.notification import MessageDraft
from coplib.ports.storage import OutboxMessage
from coplib.runtime.unit_of_work import StagedView, UnitOfWork

_MESSAGE_NAMESPACE_BYTES = uuid.UUID("6c0b3c1e-8d3e-4a39-9f54-7d1f0a5e2b11").bytes


def compose_messages(pm: pluggy.PluginManager, uow: UnitOfWork) -> list[OutboxMessage]:
    """The outbox messages of `uow`: the composers' drafts for each event (one message per
    event, recipient and topic, whose id derives from them, so a retry writes the same ids),
    then the messages policies left (the first with an id wins)."""
    view = StagedView(uow)
    messages: dict[str, OutboxMessage] = {}
    for event in uow.events:
        for drafts in pm.hook.coplib_compose_messages(event=event, store=view):
            for draft in drafts or ():
                if not isinstance(draft, MessageDraft):
                    raise PluginError(f"coplib_compose_messages returned {draft!r}, not a MessageDraft")
                key = derived_id(
                    _MESSAGE_NAMESPACE_BYTES, f"{event.id}\x00{draft.recipient_id}\x00{draft.topic}", event.id
                )
                messages.setdefault(
                    key,
                    OutboxMessage(
                        id=key,
                        event_id=event.id,
                        recipient_id=draft.recipient_id,
                        topic=draft.topic,
                        community_id=event.community_id,
                        params=dict(draft.params),
                        created_at=event.occurred_at,
                    ),
                )
    for message in uow.messages.values():
        messages.setdefault(message.id, message)
    return list(messages.values())
