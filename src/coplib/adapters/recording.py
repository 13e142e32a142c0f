"""A notifier that records what it delivers: the default, and the tests' witness."""

from __future__ import annotations

import threading

import attrs

from coplib.domain.people import Person
from coplib.hookspecs import hookimpl
from coplib.messages import RenderedMessage, render
from coplib.ports import OutboxMessage


@attrs.frozen
class Delivery:
    """One delivered message, with its recipient and its text in their language."""

    message: OutboxMessage
    recipient: Person | None
    rendered: RenderedMessage


class RecordingNotifier:
    """Keeps every delivered message, rendered in the recipient's locale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def to(self, person_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.message.recipient_id == person_id]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    @hookimpl(trylast=True)
    def coplib_deliver(self, message: OutboxMessage, recipient: Person | None) -> None:
        locale = recipient.locale if recipient else "en"
        rendered = render(message.topic, message.params, locale)
        with self._lock:
            self._deliveries.append(Delivery(message, recipient, rendered))
