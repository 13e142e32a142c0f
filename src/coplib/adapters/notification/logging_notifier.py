"""A notifier that writes each delivery to the standard `logging` module: for development,
for hosts that ship their logs elsewhere, and as a trace beside the real channels."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from coplib.adapters.notification._channel import ChannelNotifier
from coplib.domain.errors import InvalidInputError
from coplib.domain.people import Person
from coplib.notification.messages import CATALOGUE, check_channel, one_line, render_message
from coplib.ports.storage import OutboxMessage

LOGGER_NAME = "coplib.notify"
CHANNEL = "log"


class LoggingNotifier(ChannelNotifier):
    """Logs one record per delivered message on the ``coplib.notify`` logger (or `logger`).

    The record reads ``message <id> to <recipient> [<locale>] <topic>: <subject>``, all on
    one line (nothing a member typed can forge another log line), and carries the fields as
    attributes for structured handlers: ``coplib_message_id``, ``coplib_recipient_id``,
    ``coplib_topic``, ``coplib_community_id``, ``coplib_locale``, ``coplib_subject`` (and
    ``coplib_body`` when `include_body`). Bodies are left out by default: they may hold
    what members wrote, which logs should not keep.

    It delivers the messages whose channel is `channel` (default ``"log"``).
    """

    def __init__(
        self,
        *,
        logger: logging.Logger | None = None,
        level: int = logging.INFO,
        include_body: bool = False,
        catalogue: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
        channel: str = CHANNEL,
    ) -> None:
        if isinstance(level, bool) or not isinstance(level, int) or level < 0:
            raise InvalidInputError.field("$.level", f"must be a logging level such as logging.INFO, got {level!r}")
        self.channel = check_channel(channel, "$.channel")
        self.logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self.level = level
        self.include_body = include_body
        self._catalogue = catalogue if catalogue is not None else CATALOGUE

    def deliver(self, message: OutboxMessage, recipient: Person | None) -> None:
        """Write the record for `message` (whatever the channel)."""
        if not self.logger.isEnabledFor(self.level):
            return
        try:
            rendered = render_message(message, recipient, catalogue=self._catalogue)
        except InvalidInputError:
            # A topic without text is still worth a trace: log its parameters' names instead.
            locale, subject, body = "-", f"(no text for this topic; params: {', '.join(sorted(message.params))})", ""
        else:
            locale, subject, body = rendered.locale, rendered.subject, rendered.body
        if recipient is None:
            who = f"{message.recipient_id} (unknown)"
        else:
            who = recipient.id if recipient.active else f"{recipient.id} (inactive)"
        extra = {
            "coplib_message_id": message.id,
            "coplib_recipient_id": message.recipient_id,
            "coplib_topic": message.topic,
            "coplib_community_id": message.community_id,
            "coplib_locale": locale,
            "coplib_subject": subject,
        }
        if self.include_body:
            extra["coplib_body"] = body
        self.logger.log(
            self.level,
            "message %s to %s [%s] %s: %s",
            one_line(message.id, max_chars=200),
            one_line(who, max_chars=200),
            locale,
            one_line(message.topic, max_chars=100),
            one_line(subject),
            extra=extra,
        )
