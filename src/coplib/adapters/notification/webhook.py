"""Deliver outbox messages as signed JSON POSTs to a web endpoint, with the standard `urllib`.

The body is signed with HMAC-SHA256 over ``"<timestamp>." + body``; a receiver checks it with
`verify_signature`, which also refuses a stale timestamp (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from coplib.adapters.notification._channel import ChannelNotifier
from coplib.domain.clock import Clock, SystemClock, ensure_utc
from coplib.domain.errors import CoplibError, DeliveryError, FieldError, InvalidInputError
from coplib.domain.people import Person
from coplib.notification.messages import CATALOGUE, check_channel, one_line, render_message
from coplib.ports.storage import OutboxMessage

log = logging.getLogger("coplib.notifier.webhook")

CHANNEL = "webhook"  # the name in `WebhookDeliveryError.channel`, and the default channel answered
SIGNATURE_HEADER = "X-Coplib-Signature"
TIMESTAMP_HEADER = "X-Coplib-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOPIC_HEADER = "X-Coplib-Topic"
#: The version of the JSON body's layout, in its ``version`` field.
PAYLOAD_VERSION = 1
#: How far a signature's timestamp may be from the receiver's clock.
DEFAULT_TOLERANCE = timedelta(minutes=5)
SECRET_MIN_BYTES = 16
TIMEOUT_MAX = 600.0
_RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (SIGNATURE_HEADER, TIMESTAMP_HEADER, IDEMPOTENCY_HEADER, TOPIC_HEADER, "Content-Type", "Content-Length")
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Statuses that say this very message is unacceptable: sending it again cannot help.
_PERMANENT_STATUSES = frozenset({400, 410, 413, 415, 422})
_RESPONSE_READ_MAX = 64 * 1024


class WebhookDeliveryError(DeliveryError):
    """The endpoint could not be reached or did not answer 2xx; the cause is chained.
    `status` is the HTTP status when there was one."""

    def __init__(self, reason: str, *, message_id: str = "", permanent: bool = False, status: int | None = None):
        self.status = status
        super().__init__(reason, message_id=message_id, channel=CHANNEL, permanent=permanent)


class SignatureError(CoplibError):
    """A webhook request's signature does not hold: refuse the request (HTTP 401)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"webhook signature refused: {reason}")


class _HeaderItems(Protocol):
    def items(self) -> Iterable[tuple[str, Any]]: ...


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256, keyed with `secret`,
    of the decimal `timestamp`, a dot, and the raw `body`."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(_secret_bytes(secret), signed, hashlib.sha256).hexdigest()


def _header(headers: _HeaderItems, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value)
    return None


def verify_signature(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str] | _HeaderItems,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> None:
    """Check a received webhook request; raise `SignatureError` unless it is genuine and fresh.

    :param secret: the secret shared with the sender.
    :param body: the request body exactly as received (bytes, before any JSON parsing).
    :param headers: the request headers (any mapping, or an `email.message.Message` such as
        `http.server`'s; names are matched without regard to case).
    :param tolerance: how far the signed timestamp may be from `now`, either way.
    :param now: the receiver's time (default: the system clock).

    The check is in constant time. A receiver should also drop a repeated
    ``Idempotency-Key``: a message may be delivered more than once.
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise SignatureError(f"the body must be the raw bytes received, got {type(body).__name__}")
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    if raw_timestamp is None or not raw_timestamp.strip().isascii() or not raw_timestamp.strip().isdigit():
        raise SignatureError(
            f"the {TIMESTAMP_HEADER} header is missing or not a number of seconds: {raw_timestamp!r:.40}"
        )
    timestamp = int(raw_timestamp.strip())
    moment = ensure_utc(now, "$.now") if now is not None else SystemClock().now()
    skew = abs(moment.timestamp() - timestamp)
    if skew > tolerance.total_seconds():
        raise SignatureError(
            f"the timestamp is {skew:.0f} s away from now (tolerance {tolerance.total_seconds():.0f} s): "
            "a replayed request, or a clock out of step"
        )
    received = _header(headers, SIGNATURE_HEADER)
    if not received:
        raise SignatureError(f"the {SIGNATURE_HEADER} header is missing")
    expected = sign(secret, timestamp, bytes(body))
    # Several signatures may come (a secret being rotated): one valid is enough.
    candidates = [c.strip() for c in received.split(",")]
    if not any(hmac.compare_digest(c.encode("ascii", "replace"), expected.encode("ascii")) for c in candidates):
        raise SignatureError(f"no {SIGNATURE_HEADER} value matches the body and timestamp with this secret")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: urllib would turn the POST into a GET without its body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class WebhookNotifier(ChannelNotifier):
    """POSTs each outbox message as JSON to `url`, signed with `secret`.

    :param url: the endpoint, ``https://...``; ``http://`` only for a loopback host unless
        `allow_insecure_http`.
    :param secret: the shared secret (at least 16 bytes; 32 random bytes recommended).
    :param timeout: seconds for the connection and the answer (0 < timeout <= 600).
    :param headers: extra request headers (an API key...); coplib's own cannot be replaced.
    :param ssl_context: TLS settings for ``https`` (default: the system's trusted certificates).
    :param proxies: scheme -> proxy URL; None (default) takes them from the environment,
        ``{}`` uses none.
    :param clock: gives the signature's timestamp.
    :param catalogue: message texts (default `coplib.notification.messages.CATALOGUE`).
    :param channel: the delivery channel this notifier answers (default ``"webhook"``).

    The JSON body holds ``version``, ``id`` (the idempotency key, also in the
    ``Idempotency-Key`` header), ``event_id``, ``topic``, ``created_at``, ``community_id``,
    ``recipient`` (``id``, ``known``, and when known ``display_name``, ``email``, ``locale``,
    ``active``), ``params`` and ``rendered`` (``locale``, ``subject``, ``body``, ``html``, in
    the recipient's locale; null when the catalogue has no text for the topic). Every
    message is posted, whoever the recipient: the receiver decides. A network error or an
    answer other than 2xx (redirects included) raises `WebhookDeliveryError`, so the
    dispatcher tries again later (or gives up at once when the error is permanent).
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | bytes,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        proxies: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
        clock: Clock | None = None,
        catalogue: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
        channel: str = CHANNEL,
    ) -> None:
        errors: list[FieldError] = []
        try:
            self.channel = check_channel(channel, "$.channel")
        except InvalidInputError as exc:
            errors.extend(exc.errors)
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(FieldError("$.url", f"must be an http(s) URL with a host, got {url!r:.80}"))
        elif one_line(url) != url or " " in url:
            errors.append(FieldError("$.url", "must not contain spaces or control characters"))
        elif parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS and not allow_insecure_http:
            errors.append(
                FieldError(
                    "$.url",
                    f"plain http to {parts.hostname} exposes the messages: use https, "
                    "or set allow_insecure_http=True for a trusted network",
                )
            )
        if not isinstance(secret, (str, bytes)) or len(_secret_bytes(secret)) < SECRET_MIN_BYTES:
            errors.append(FieldError("$.secret", f"must be a string or bytes of at least {SECRET_MIN_BYTES} bytes"))
        if not (_is_number(timeout) and 0 < timeout <= TIMEOUT_MAX):
            errors.append(
                FieldError("$.timeout", f"must be seconds above 0 and at most {TIMEOUT_MAX:g}, got {timeout!r:.40}")
            )
        extra: dict[str, str] = {}
        for name, value in (headers or {}).items():
            path = f"$.headers[{json.dumps(name)}]"
            if not isinstance(name, str) or not _HEADER_NAME.match(name):
                errors.append(FieldError(path, "is not a valid header name"))
            elif name.lower() in _RESERVED_HEADERS:
                errors.append(FieldError(path, "is set by coplib and cannot be replaced"))
            elif not isinstance(value, str) or one_line(value, max_chars=8192) != value:
                errors.append(FieldError(path, "must be a one-line string without control characters"))
            else:
                extra[name] = value
        context: object = ssl_context  # checked at run time too: hosts pass settings from files
        if context is not None and not isinstance(context, ssl.SSLContext):
            errors.append(FieldError("$.ssl_context", f"must be an ssl.SSLContext, got {type(context).__name__}"))
        if errors:
            raise InvalidInputError(errors, context="WebhookNotifier settings")

        self.url = url
        self._secret = _secret_bytes(secret)
        self.timeout = float(timeout)
        self._headers = extra
        self._clock: Clock = clock or SystemClock()
        self._catalogue = catalogue if catalogue is not None else CATALOGUE
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(dict(proxies) if proxies is not None else None),
            urllib.request.HTTPSHandler(context=ssl_context or ssl.create_default_context()),
            _NoRedirect(),
        )

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={self.url!r})"

    def payload(self, message: OutboxMessage, recipient: Person | None) -> dict[str, Any]:
        """The JSON document posted for `message` (before encoding)."""
        person: dict[str, Any] = {"id": message.recipient_id, "known": recipient is not None}
        if recipient is not None:
            person |= {
                "display_name": recipient.display_name,
                "email": recipient.email,
                "locale": recipient.locale,
                "active": recipient.active,
            }
        try:
            rendered = render_message(message, recipient, catalogue=self._catalogue)
        except InvalidInputError:
            log.debug("no text for topic %r: message %s is posted without a rendering", message.topic, message.id)
            text: dict[str, str] | None = None
        else:
            text = {
                "locale": rendered.locale,
                "subject": rendered.subject,
                "body": rendered.body,
                "html": rendered.html,
            }
        return {
            "version": PAYLOAD_VERSION,
            "id": message.id,
            "event_id": message.event_id,
            "topic": message.topic,
            "created_at": message.created_at.isoformat(),
            "community_id": message.community_id,
            "recipient": person,
            "params": dict(message.params),
            "rendered": text,
        }

    def deliver(self, message: OutboxMessage, recipient: Person | None) -> None:
        """POST `message` now (whatever the channel)."""
        body = json.dumps(
            self.payload(message, recipient), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode("utf-8")
        timestamp = int(self._clock.now().timestamp())
        request = urllib.request.Request(self.url, data=body, method="POST")
        for name, value in self._headers.items():
            request.add_header(name, value)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", "coplib-webhook")
        request.add_header(IDEMPOTENCY_HEADER, message.id)
        request.add_header(TOPIC_HEADER, one_line(message.topic, max_chars=100))
        request.add_header(TIMESTAMP_HEADER, str(timestamp))
        request.add_header(SIGNATURE_HEADER, sign(self._secret, timestamp, body))
        where = f"the webhook {self._safe_url()}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(_RESPONSE_READ_MAX)
                status = response.status
        except urllib.error.HTTPError as exc:
            detail = _error_body(exc)
            exc.close()
            raise WebhookDeliveryError(
                f"{where} answered {exc.code} {one_line(exc.reason, max_chars=80)}{detail}",
                message_id=message.id,
                permanent=exc.code in _PERMANENT_STATUSES,
                status=exc.code,
            ) from exc
        except urllib.error.URLError as exc:
            raise WebhookDeliveryError(
                f"{where} could not be reached: {one_line(exc.reason, max_chars=200)}", message_id=message.id
            ) from exc
        except (http.client.HTTPException, OSError) as exc:  # timeouts and resets are OSErrors
            raise WebhookDeliveryError(
                f"{where} failed: {type(exc).__name__}: {one_line(exc, max_chars=200)}", message_id=message.id
            ) from exc
        if not 200 <= status < 300:
            raise WebhookDeliveryError(f"{where} answered {status}", message_id=message.id, status=status)
        log.info("message %s posted to %s (%d)", message.id, self._safe_url(), status)

    def _safe_url(self) -> str:
        """The URL without credentials or query (which may hold a token), for messages."""
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _error_body(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    text = one_line(text, max_chars=200)
    return f": {text}" if text else ""
