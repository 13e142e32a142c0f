"""The webhook notifier against a real HTTP server on loopback: the body, its signature
checked with `verify_signature`, the headers, and errors on anything but 2xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest

from coplib import AdapterError, InvalidInputError, ManualClock, Person
from coplib.adapters.notification.webhook import (
    SignatureError,
    WebhookDeliveryError,
    WebhookNotifier,
    sign,
    verify_signature,
)
from coplib.domain.errors import DeliveryError

from .conftest import ALICE, BOB, LOOPBACK, HttpServer, outbox_message

SECRET = "a-shared-secret-of-32-bytes-long"
NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def webhook(url: str, **settings: Any) -> WebhookNotifier:
    options: dict[str, Any] = {"secret": SECRET, "timeout": 10, "proxies": {}, "clock": ManualClock(NOW)}
    return WebhookNotifier(url, **(options | settings))


def test_a_message_is_posted_as_signed_json(http_server: HttpServer) -> None:
    webhook(http_server.url).deliver(outbox_message(), ALICE)

    (request,) = http_server.requests
    assert request.method == "POST"
    assert request.path == "/hooks/coplib"
    verify_signature(SECRET, request.body, request.headers, now=NOW)
    assert json.loads(request.body) == {
        "version": 1,
        "id": "4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a",
        "event_id": "event-1",
        "topic": "answer_posted",
        "created_at": "2025-03-04T09:30:00+00:00",
        "community_id": "welding",
        "recipient": {
            "id": "alice",
            "known": True,
            "display_name": "Alice Martin",
            "email": "alice@example.org",
            "locale": "fr",
            "active": True,
        },
        "params": {"community": "Soudeurs de Lyon", "actor": "Bruno", "title": "Quel gaz pour le TIG ?"},
        "rendered": {
            "locale": "fr",
            "subject": "Nouvelle réponse à « Quel gaz pour le TIG ? »",
            "body": "Bruno a répondu à votre question « Quel gaz pour le TIG ? » dans Soudeurs de Lyon.",
            "html": "<p>Bruno a répondu à votre question « Quel gaz pour le TIG ? » dans Soudeurs de Lyon.</p>",
        },
    }


def test_the_request_carries_the_idempotency_key_timestamp_and_signature_headers(http_server: HttpServer) -> None:
    webhook(http_server.url, headers={"Authorization": "Bearer token-1"}).deliver(outbox_message(), BOB)

    (request,) = http_server.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["idempotency-key"] == "4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-coplib-topic"] == "answer_posted"
    assert headers["x-coplib-timestamp"] == str(int(NOW.timestamp()))
    assert headers["authorization"] == "Bearer token-1"
    expected = hmac.new(SECRET.encode(), f"{int(NOW.timestamp())}.".encode() + request.body, hashlib.sha256)
    assert headers["x-coplib-signature"] == "sha256=" + expected.hexdigest()


def test_an_unknown_recipient_is_posted_with_known_false(http_server: HttpServer) -> None:
    webhook(http_server.url).deliver(outbox_message(recipient_id="ghost"), None)

    body = json.loads(http_server.requests[0].body)
    assert body["recipient"] == {"id": "ghost", "known": False}
    assert body["rendered"]["locale"] == "en"


def test_a_topic_without_text_is_posted_without_a_rendering(http_server: HttpServer) -> None:
    webhook(http_server.url).deliver(outbox_message(topic="weekly_digest"), BOB)

    body = json.loads(http_server.requests[0].body)
    assert body["topic"] == "weekly_digest"
    assert body["rendered"] is None


def test_the_same_message_posted_twice_keeps_its_idempotency_key(http_server: HttpServer) -> None:
    notifier = webhook(http_server.url)
    notifier.deliver(outbox_message(), BOB)
    notifier.deliver(outbox_message(), BOB)

    keys = {r.headers["Idempotency-Key"] for r in http_server.requests}
    assert keys == {"4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a"}
    assert len(http_server.requests) == 2


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False), (404, False), (400, True)])
def test_an_answer_other_than_2xx_is_an_adapter_error(http_server: HttpServer, status: int, permanent: bool) -> None:
    http_server.status = status
    http_server.answer = b'{"error": "nope"}'
    with pytest.raises(WebhookDeliveryError, match=rf"answered {status} .*: {{\"error\": \"nope\"}}") as caught:
        webhook(http_server.url).deliver(outbox_message(), BOB)
    assert isinstance(caught.value, DeliveryError)
    assert isinstance(caught.value, AdapterError)
    assert caught.value.status == status
    assert caught.value.permanent is permanent
    assert caught.value.__cause__ is not None


def test_a_redirect_is_an_error_not_a_silent_get(http_server: HttpServer) -> None:
    http_server.status = 302
    http_server.extra_headers = {"Location": "/elsewhere"}
    with pytest.raises(WebhookDeliveryError, match="answered 302") as caught:
        webhook(http_server.url).deliver(outbox_message(), BOB)
    assert caught.value.status == 302
    assert [r.method for r in http_server.requests] == ["POST"]


def test_a_success_status_other_than_200_is_accepted(http_server: HttpServer) -> None:
    http_server.status = 202
    webhook(http_server.url).deliver(outbox_message(), BOB)
    assert len(http_server.requests) == 1


def test_an_endpoint_that_is_down_is_an_adapter_error_with_its_cause() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and has no listener
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    with pytest.raises(WebhookDeliveryError, match="could not be reached") as caught:
        webhook(f"http://{LOOPBACK}:{port}/hook").deliver(outbox_message(), BOB)
    assert caught.value.status is None
    assert not caught.value.permanent
    assert caught.value.__cause__ is not None


def test_an_endpoint_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen(1)
        url = f"http://{LOOPBACK}:{silent.getsockname()[1]}/hook"
        with pytest.raises(WebhookDeliveryError, match="timed out"):
            webhook(url, timeout=0.3).deliver(outbox_message(), BOB)


def test_error_messages_do_not_show_the_query_string_or_credentials(http_server: HttpServer) -> None:
    http_server.status = 500
    url = http_server.url.replace("http://", "http://user:pw@") + "?token=abc"
    with pytest.raises(WebhookDeliveryError) as caught:
        webhook(url).deliver(outbox_message(), BOB)
    assert "token=abc" not in str(caught.value)
    assert "pw" not in str(caught.value)


# -- verify_signature -------------------------------------------------------------------------


def signed_headers(body: bytes, *, at: datetime = NOW, secret: str = SECRET) -> dict[str, str]:
    timestamp = int(at.timestamp())
    return {"X-Coplib-Timestamp": str(timestamp), "X-Coplib-Signature": sign(secret, timestamp, body)}


def test_a_genuine_request_is_accepted_whatever_the_header_case() -> None:
    body = b'{"id": "m1"}'
    headers = {k.lower(): v for k, v in signed_headers(body).items()}
    verify_signature(SECRET, body, headers, now=NOW + timedelta(seconds=30))
    verify_signature(SECRET.encode(), body, headers, now=NOW)


def test_an_http_server_header_object_is_accepted() -> None:
    body = b"{}"
    message = Message()
    for name, value in signed_headers(body).items():
        message[name] = value
    verify_signature(SECRET, body, message, now=NOW)


def test_a_changed_body_is_refused() -> None:
    headers = signed_headers(b'{"id": "m1"}')
    with pytest.raises(SignatureError, match="no X-Coplib-Signature value matches"):
        verify_signature(SECRET, b'{"id": "m2"}', headers, now=NOW)


def test_another_secret_is_refused() -> None:
    body = b"{}"
    with pytest.raises(SignatureError, match="no X-Coplib-Signature value matches"):
        verify_signature(SECRET, body, signed_headers(body, secret="another-secret-of-some-length"), now=NOW)


def test_a_replayed_request_is_refused_after_the_tolerance() -> None:
    body = b"{}"
    with pytest.raises(SignatureError, match=r"the timestamp is 301 s away from now \(tolerance 300 s\)"):
        verify_signature(SECRET, body, signed_headers(body), now=NOW + timedelta(seconds=301))


def test_a_timestamp_changed_to_look_fresh_breaks_the_signature() -> None:
    body = b"{}"
    headers = signed_headers(body, at=NOW - timedelta(hours=1))
    headers["X-Coplib-Timestamp"] = str(int(NOW.timestamp()))
    with pytest.raises(SignatureError, match="matches"):
        verify_signature(SECRET, body, headers, now=NOW)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "the X-Coplib-Timestamp header is missing"),
        ({"X-Coplib-Timestamp": "soon"}, "not a number of seconds"),
        ({"X-Coplib-Timestamp": "-5"}, "not a number of seconds"),
        ({"X-Coplib-Timestamp": str(int(NOW.timestamp()))}, "the X-Coplib-Signature header is missing"),
    ],
)
def test_a_request_without_proper_headers_is_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify_signature(SECRET, b"{}", headers, now=NOW)


def test_one_valid_signature_among_several_is_enough_during_a_secret_rotation() -> None:
    body = b"{}"
    headers = signed_headers(body)
    headers["X-Coplib-Signature"] = "sha256=" + "0" * 64 + ", " + headers["X-Coplib-Signature"]
    verify_signature(SECRET, body, headers, now=NOW)


def test_a_parsed_body_instead_of_raw_bytes_is_refused() -> None:
    with pytest.raises(SignatureError, match="the body must be the raw bytes received, got dict"):
        verify_signature(SECRET, {"id": "m1"}, signed_headers(b"{}"), now=NOW)  # type: ignore[arg-type]


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "settings", "path", "message"),
    [
        ("ftp://example.org/x", {}, "$.url", "must be an http(s) URL with a host"),
        ("https:///nohost", {}, "$.url", "must be an http(s) URL with a host"),
        ("http://hooks.example.org/x", {}, "$.url", "plain http to hooks.example.org exposes the messages"),
        ("https://example.org/a b", {}, "$.url", "must not contain spaces"),
        ("https://example.org/x", {"secret": "short"}, "$.secret", "at least 16 bytes"),
        ("https://example.org/x", {"timeout": 0}, "$.timeout", "above 0"),
        ("https://example.org/x", {"headers": {"Idempotency-Key": "x"}}, '$.headers["Idempotency-Key"]', "set by"),
        ("https://example.org/x", {"headers": {"X-Api": "a\r\nb"}}, '$.headers["X-Api"]', "one-line"),
        ("https://example.org/x", {"headers": {"Bad Name": "a"}}, '$.headers["Bad Name"]', "not a valid header"),
    ],
)
def test_bad_settings_are_refused_at_construction_by_path(
    url: str, settings: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match="invalid WebhookNotifier settings") as caught:
        WebhookNotifier(url, **({"secret": SECRET} | settings))
    assert [e.path for e in caught.value.errors] == [path]
    assert message in caught.value.errors[0].message


def test_plain_http_is_allowed_on_loopback_or_when_asked() -> None:
    assert WebhookNotifier("http://localhost:8080/x", secret=SECRET).url == "http://localhost:8080/x"
    insecure = WebhookNotifier("http://hooks.internal/x", secret=SECRET, allow_insecure_http=True)
    assert insecure.url == "http://hooks.internal/x"


def test_the_secret_never_shows_in_the_notifiers_repr() -> None:
    assert SECRET not in repr(WebhookNotifier("https://example.org/x", secret=SECRET))


def test_an_inactive_recipient_is_still_posted_with_its_state(http_server: HttpServer) -> None:
    gone = Person("carol", "Carol", email="carol@example.org", active=False)
    webhook(http_server.url).deliver(outbox_message(recipient_id="carol"), gone)
    assert json.loads(http_server.requests[0].body)["recipient"]["active"] is False
