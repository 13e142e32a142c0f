"""What the built-in notifiers share: each serves one channel, and leaves the others' messages
to the notifiers that serve them."""

from __future__ import annotations

from abc import ABC, abstractmethod

from coplib.domain.people import Person
from coplib.ports.hookspecs import hookimpl
from coplib.ports.storage import OutboxMessage


class ChannelNotifier(ABC):
    """A notifier of one channel (`channel`): its ``coplib_deliver`` delivers, with `deliver`,
    the messages whose recipient is reached on that channel, and answers None for the others
    (pluggy then asks the next notifier)."""

    channel: str

    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person | None, channel: str) -> bool | None:
        if channel != self.channel:
            return None
        self.deliver(message, recipient)
        return True

    @abstractmethod
    def deliver(self, message: OutboxMessage, recipient: Person | None) -> None:
        """Deliver `message` to `recipient` now, whatever the channel; raise `DeliveryError`
        when it cannot be done."""
