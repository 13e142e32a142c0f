"""Deliver outbox messages by e-mail through an SMTP server, with the standard `smtplib`.

Register an `SmtpNotifier` as a plugin. Each message becomes one e-mail (see
`coplib.notification.messages.build_email`) whose ``Message-ID`` is the message's idempotency key.
"""

from __future__ import annotations

import enum
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from types import TracebackType

from coplib.adapters.notification._channel import ChannelNotifier
from coplib.domain.clock import Clock, SystemClock
from coplib.domain.errors import DeliveryError, FieldError, InvalidInputError
from coplib.domain.people import Person
from coplib.notification.messages import (
    CATALOGUE,
    build_email,
    check_channel,
    check_domain,
    check_email_address,
    one_line,
)
from coplib.ports.storage import OutboxMessage

log = logging.getLogger("coplib.notifier.smtp")

CHANNEL = "smtp"  # the name in `SmtpDeliveryError.channel`
#: The delivery channel an `SmtpNotifier` answers by default.
DEFAULT_CHANNEL = "email"
TIMEOUT_MAX = 600.0
KEEP_ALIVE_MAX = 3600.0


class SmtpMode(enum.StrEnum):
    """How the connection to the server is protected."""

    #: No encryption at all: only for a relay on a trusted network (or loopback).
    PLAIN = "plain"
    #: A plain connection upgraded with STARTTLS before anything is sent (port 587).
    STARTTLS = "starttls"
    #: TLS from the first byte, "implicit TLS" or SMTPS (port 465).
    TLS = "tls"


DEFAULT_PORTS: Mapping[SmtpMode, int] = {SmtpMode.PLAIN: 25, SmtpMode.STARTTLS: 587, SmtpMode.TLS: 465}


class SmtpDeliveryError(DeliveryError):
    """The SMTP server could not be reached, refused us, or refused the message; the cause is
    chained. `smtp_code` is the server's reply code when there was one."""

    def __init__(
        self, reason: str, *, message_id: str = "", permanent: bool = False, smtp_code: int | None = None
    ) -> None:
        self.smtp_code = smtp_code
        super().__init__(reason, message_id=message_id, channel=CHANNEL, permanent=permanent)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _reply_text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return one_line(text, max_chars=200)


class SmtpNotifier(ChannelNotifier):
    """Sends each outbox message as an e-mail to its recipient.

    :param host: the SMTP server's host name or address.
    :param sender: the ``From`` address (also the envelope sender).
    :param port: default 25, 587 or 465 after `mode`.
    :param mode: ``"starttls"`` (default), ``"tls"`` (implicit TLS) or ``"plain"``.
    :param sender_name: the display name in ``From``.
    :param username: with `password`, log in after the TLS handshake.
    :param allow_plain_auth: allow a login on a ``plain`` connection (the password then
        crosses the network in clear); refused otherwise.
    :param timeout: seconds for each network operation (0 < timeout <= 600).
    :param ssl_context: the TLS settings; by default the system's trusted certificates and
        host-name checking (`ssl.create_default_context`).
    :param keep_alive: 0 (default): one connection per message, closed after it. More: the
        connection stays open for the next message if it comes within `keep_alive` seconds,
        so that a dispatch batch shares one connection; call `close` (or use the notifier as
        a context manager) when the batch is done.
    :param local_hostname: the name given in EHLO (default: this machine's FQDN).
    :param message_id_domain: the right side of the ``Message-ID`` (default: the sender's
        domain).
    :param reply_to: an optional ``Reply-To`` address.
    :param clock: gives the ``Date`` header.
    :param catalogue: message texts by topic and locale (default `coplib.notification.messages.CATALOGUE`).
    :param channel: the delivery channel this notifier answers (default ``"email"``).

    Raises `InvalidInputError` listing every bad setting. A recipient who is unknown to the
    directory, inactive, or without an e-mail address cannot get mail: a permanent
    `SmtpDeliveryError` says why (the message goes to the dead letters, to requeue once the
    directory is fixed). Any SMTP or network failure raises `SmtpDeliveryError` so that the
    dispatcher tries again later.
    """

    def __init__(
        self,
        host: str,
        *,
        sender: str,
        port: int | None = None,
        mode: SmtpMode | str = SmtpMode.STARTTLS,
        sender_name: str = "",
        username: str | None = None,
        password: str | None = None,
        allow_plain_auth: bool = False,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: float = 0.0,
        local_hostname: str | None = None,
        message_id_domain: str | None = None,
        reply_to: str | None = None,
        clock: Clock | None = None,
        catalogue: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> None:
        errors: list[FieldError] = []

        def check(path: str, ok: bool, message: str) -> None:
            if not ok:
                errors.append(FieldError(path, message))

        def check_with(check_fn: Callable[[object, str], str], value: object, path: str) -> str:
            try:
                return check_fn(value, path)
            except InvalidInputError as exc:
                errors.extend(exc.errors)
                return ""

        check(
            "$.host",
            isinstance(host, str) and 0 < len(host) <= 253 and one_line(host) == host and " " not in host,
            f"must be a host name or address without spaces, got {host!r:.60}",
        )
        try:
            mode_ = SmtpMode(mode)
        except ValueError:
            choices = ", ".join(m.value for m in SmtpMode)
            errors.append(FieldError("$.mode", f"must be one of {choices}; got {mode!r:.60}"))
            mode_ = SmtpMode.STARTTLS
        if port is None:
            port = DEFAULT_PORTS[mode_]
        check(
            "$.port",
            isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535,
            f"must be a TCP port from 1 to 65535, got {port!r:.60}",
        )
        sender_ = check_with(check_email_address, sender, "$.sender")
        check("$.sender_name", isinstance(sender_name, str), f"must be a string, got {type(sender_name).__name__}")
        if (username is None) != (password is None):
            errors.append(FieldError("$.password" if password is None else "$.username", "give both or neither"))
        for path, value in (("$.username", username), ("$.password", password)):
            check(path, value is None or (isinstance(value, str) and value != ""), "must be a non-empty string")
        if username is not None and mode_ is SmtpMode.PLAIN and not allow_plain_auth:
            errors.append(
                FieldError(
                    "$.mode",
                    "logging in on a plain connection sends the password in clear: use mode starttls or tls, "
                    "or set allow_plain_auth=True for a trusted network",
                )
            )
        check(
            "$.timeout",
            _is_number(timeout) and 0 < timeout <= TIMEOUT_MAX,
            f"must be a number of seconds above 0 and at most {TIMEOUT_MAX:g}, got {timeout!r:.60}",
        )
        check(
            "$.keep_alive",
            _is_number(keep_alive) and 0 <= keep_alive <= KEEP_ALIVE_MAX,
            f"must be a number of seconds from 0 to {KEEP_ALIVE_MAX:g}, got {keep_alive!r:.60}",
        )
        if ssl_context is not None:
            check(
                "$.ssl_context",
                isinstance(ssl_context, ssl.SSLContext),
                f"must be an ssl.SSLContext, got {type(ssl_context).__name__}",
            )
            check(
                "$.ssl_context",
                mode_ is not SmtpMode.PLAIN,
                "mode plain uses no TLS, so a TLS context has no effect: choose mode starttls or tls",
            )
        check(
            "$.local_hostname",
            local_hostname is None or (isinstance(local_hostname, str) and one_line(local_hostname) == local_hostname),
            f"must be a host name, got {local_hostname!r:.60}",
        )
        domain = check_with(check_domain, message_id_domain, "$.message_id_domain") if message_id_domain else None
        reply = check_with(check_email_address, reply_to, "$.reply_to") if reply_to is not None else None
        channel_ = check_with(check_channel, channel, "$.channel")
        if errors:
            raise InvalidInputError(errors, context="SmtpNotifier settings")

        self.host = host
        self.channel = channel_
        self.port: int = port
        self.mode = mode_
        self.sender = sender_
        self.sender_name = sender_name
        self.username = username
        self._password = password
        self.timeout = float(timeout)
        self.keep_alive = float(keep_alive)
        self.local_hostname = local_hostname
        self.message_id_domain = domain
        self.reply_to = reply
        self._ssl_context = (ssl_context or ssl.create_default_context()) if mode_ is not SmtpMode.PLAIN else None
        self._clock: Clock = clock or SystemClock()
        self._catalogue = catalogue if catalogue is not None else CATALOGUE
        self._lock = threading.Lock()
        self._session: smtplib.SMTP | None = None
        self._last_used = 0.0

    def __repr__(self) -> str:
        user = f", username={self.username!r}" if self.username else ""
        return (
            f"SmtpNotifier(host={self.host!r}, port={self.port}, mode={self.mode.value!r}, "
            f"sender={self.sender!r}{user})"
        )

    # -- the hook ---------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, recipient: Person | None) -> None:
        """Send `message` to `recipient` by e-mail now (whatever the channel)."""
        reason = _skip_reason(message, recipient)
        if reason is not None or recipient is None:
            log.info("message %s not sent by e-mail: %s", message.id, reason)
            raise SmtpDeliveryError(
                f"{reason}: fix the directory, then requeue the message", message_id=message.id, permanent=True
            )
        mail = self.compose(message, recipient)
        self._send(mail, message.id, recipient.email)
        log.info("message %s sent by e-mail to %s", message.id, recipient.id)

    def compose(self, message: OutboxMessage, recipient: Person) -> EmailMessage:
        """The e-mail this notifier would send for `message` (raises `SmtpDeliveryError`,
        permanent, when it cannot be built: a malformed address...)."""
        try:
            return build_email(
                message,
                recipient,
                sender=self.sender,
                sender_name=self.sender_name,
                domain=self.message_id_domain,
                date=self._clock.now(),
                reply_to=self.reply_to,
                catalogue=self._catalogue,
            )
        except InvalidInputError as exc:
            raise SmtpDeliveryError(str(exc), message_id=message.id, permanent=True) from exc

    # -- connection -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the kept-alive connection, if any (harmless otherwise)."""
        with self._lock:
            self._close_session()

    def __enter__(self) -> SmtpNotifier:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _send(self, mail: EmailMessage, message_id: str, to_addr: str) -> None:
        with self._lock:
            reusing = self._session is not None and time.monotonic() - self._last_used <= self.keep_alive
            if not reusing:
                self._close_session()
            try:
                try:
                    self._transmit(mail, to_addr)
                except smtplib.SMTPServerDisconnected:
                    if not reusing:
                        raise
                    # The server dropped the idle connection we kept: open a new one, once.
                    self._close_session()
                    self._transmit(mail, to_addr)
            except smtplib.SMTPRecipientsRefused as exc:
                self._close_session()
                code, reply = next(iter(exc.recipients.values()), (0, b""))
                raise SmtpDeliveryError(
                    f"{self._where()} refused the recipient: {code} {_reply_text(reply)}",
                    message_id=message_id,
                    permanent=500 <= code < 600,
                    smtp_code=code,
                ) from exc
            except smtplib.SMTPResponseException as exc:
                self._close_session()
                what = "refused the login" if isinstance(exc, smtplib.SMTPAuthenticationError) else "answered"
                # Only a refusal of this message's content is final for it; a refused login or
                # sender is the settings' fault and would refuse every message alike.
                raise SmtpDeliveryError(
                    f"{self._where()} {what}: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                    message_id=message_id,
                    permanent=isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600,
                    smtp_code=exc.smtp_code,
                ) from exc
            except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError and timeouts are OSErrors
                self._close_session()
                raise SmtpDeliveryError(
                    f"{self._where()} failed: {type(exc).__name__}: {one_line(exc, max_chars=200)}",
                    message_id=message_id,
                ) from exc
            except BaseException:
                self._close_session()
                raise
            if self.keep_alive > 0:
                self._last_used = time.monotonic()
            else:
                self._close_session()

    def _where(self) -> str:
        return f"the SMTP server {self.host}:{self.port} ({self.mode.value})"

    def _transmit(self, mail: EmailMessage, to_addr: str) -> None:
        if self._session is None:
            self._session = self._connect()
        # Explicit envelope: the recipients come from the directory, never from the headers.
        self._session.send_message(mail, from_addr=self.sender, to_addrs=[to_addr])

    def _connect(self) -> smtplib.SMTP:
        session: smtplib.SMTP
        if self.mode is SmtpMode.TLS:
            session = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._ssl_context,
            )
        else:
            session = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
        try:
            session.ehlo()
            if self.mode is SmtpMode.STARTTLS:
                if not session.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "the server does not offer STARTTLS, and mode starttls never sends in clear"
                    )
                session.starttls(context=self._ssl_context)
                session.ehlo()
            if self.username is not None and self._password is not None:
                session.login(self.username, self._password)
        except BaseException:
            session.close()
            raise
        return session

    def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            session.quit()
        except (smtplib.SMTPException, OSError):
            session.close()


def _skip_reason(message: OutboxMessage, recipient: Person | None) -> str | None:
    if recipient is None:
        return f"recipient {message.recipient_id!r} is unknown to the directory"
    if not recipient.active:
        return f"recipient {recipient.id!r} is inactive"
    if not recipient.email:
        return f"recipient {recipient.id!r} has no e-mail address"
    return None
