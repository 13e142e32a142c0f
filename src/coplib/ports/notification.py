"""The notification port: what a message composer returns. Notifiers implement the
``coplib_deliver`` hook (`coplib.ports.hookspecs`) and raise `coplib.DeliveryError`."""

from __future__ import annotations

import attrs

from coplib.domain.errors import DeliveryError

__all__ = ["DeliveryError", "MessageDraft"]


@attrs.frozen
class MessageDraft:
    """A message a policy wants sent: to whom, on which topic, with which parameters."""

    recipient_id: str
    topic: str
    params: dict[str, str] = attrs.field(factory=dict, hash=False)
