"""A notifier that records what it delivers: the default, and the tests' witness."""

from __future__ import annotations

import collections
import threading

import attrs

from coplib.domain.errors import InvalidInputError
from coplib.domain.people import Person
from coplib.notification.messages import RenderedMessage, render
from coplib.ports.hookspecs import hookimpl
from coplib.ports.storage import OutboxMessage


@attrs.frozen
class Delivery:
    """One delivered message, with its recipient, its text in their language and the channel
    it was delivered on."""

    message: OutboxMessage
    recipient: Person | None
    rendered: RenderedMessage
    channel: str = ""


class RecordingNotifier:
    """Keeps the delivered messages, rendered in the recipient's locale, whatever their
    channel: registered ``trylast``, it takes what no other notifier took.

    It keeps the last `capacity` deliveries only, so a long-running engine that kept the
    default does not grow without bound; block ``coplib.notifier.recording`` in production
    so that a message no real notifier takes goes to the dead letters instead.
    """

    def __init__(self, *, capacity: int = 10_000) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InvalidInputError.field("$.capacity", f"must be a whole number >= 1, got {capacity!r}")
        self._lock = threading.Lock()
        self._deliveries: collections.deque[Delivery] = collections.deque(maxlen=capacity)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def to(self, person_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.message.recipient_id == person_id]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def on(self, channel: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.channel == channel]

    @hookimpl(trylast=True)
    def coplib_deliver(self, message: OutboxMessage, recipient: Person | None, channel: str) -> bool:
        locale = recipient.locale if recipient else "en"
        rendered = render(message.topic, message.params, locale)
        with self._lock:
            self._deliveries.append(Delivery(message, recipient, rendered, channel))
        return True
