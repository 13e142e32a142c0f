"""The SMTP notifier against a real SMTP server on loopback (aiosmtpd): what arrives is parsed
and checked, in plain, STARTTLS and implicit-TLS modes, with and without authentication."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from datetime import UTC, datetime
from typing import Any

import pytest

from coplib import AdapterError, InvalidInputError, ManualClock, Person
from coplib.adapters.notification.smtp import SmtpDeliveryError, SmtpMode, SmtpNotifier
from coplib.domain.errors import DeliveryError

from .conftest import (
    ALICE,
    BOB,
    EXPECTED_HEADERS,
    LOOPBACK,
    PASSWORD,
    USER,
    Received,
    SmtpServer,
    SmtpServerFactory,
    TlsFiles,
    check_password,
    outbox_message,
    unchecked_person,
)

SENDER = "communities@example.org"
NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def notifier(server: SmtpServer, **settings: Any) -> SmtpNotifier:
    options: dict[str, Any] = {
        "port": server.port,
        "mode": "plain",
        "sender": SENDER,
        "sender_name": "Communautés de pratique",
        "timeout": 10,
        "clock": ManualClock(NOW),
    }
    return SmtpNotifier(LOOPBACK, **(options | settings))


def only(server: SmtpServer) -> Received:
    received = server.mailbox.received
    assert len(received) == 1, received
    return received[0]


def text_of(received: Received, subtype: str) -> str:
    part = received.message.get_body(preferencelist=(subtype,))
    assert part is not None
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


# -- what arrives -----------------------------------------------------------------------------


def test_a_message_arrives_with_its_headers_and_both_parts(smtp_server: SmtpServer) -> None:
    notifier(smtp_server).deliver(outbox_message(), ALICE)

    received = only(smtp_server)
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("alice@example.org",)
    mail = received.message
    assert mail["Subject"] == "Nouvelle réponse à « Quel gaz pour le TIG ? »"
    assert str(mail["From"]) == "Communautés de pratique <communities@example.org>"
    assert str(mail["To"]) == "Alice Martin <alice@example.org>"
    assert mail["Message-ID"] == "<4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a@example.org>"
    assert mail["Date"].datetime == NOW
    assert mail.get_content_type() == "multipart/alternative"
    assert "Bruno a répondu à votre question « Quel gaz pour le TIG ? » dans Soudeurs de Lyon." in text_of(
        received, "plain"
    )
    assert "<p>Bruno a répondu à votre question" in text_of(received, "html")
    assert not received.tls


def test_an_english_recipient_gets_the_english_text(smtp_server: SmtpServer) -> None:
    notifier(smtp_server).deliver(outbox_message(), BOB)

    received = only(smtp_server)
    assert received.message["Subject"] == "New answer to “Quel gaz pour le TIG ?”"
    assert text_of(received, "plain").startswith("Hello Bob Smith,\n\nBruno answered your question")


def test_what_members_typed_is_escaped_in_the_html_part(smtp_server: SmtpServer) -> None:
    message = outbox_message(title="<img src=x onerror=alert(1)>", actor="<b>Bruno</b>", community="R&D")
    notifier(smtp_server).deliver(message, BOB)

    html = text_of(only(smtp_server), "html")
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;Bruno&lt;/b&gt;" in html
    assert "R&amp;D" in html


@pytest.mark.parametrize(
    "hostile",
    [
        "Eve\r\nBcc: victim@example.org",
        "Eve\nTo: victim@example.org\n\nfake body",
        "=?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Eorg?=",
    ],
)
def test_a_hostile_name_or_title_adds_no_header_and_no_recipient(smtp_server: SmtpServer, hostile: str) -> None:
    eve = unchecked_person("eve", hostile, email="eve@example.org", locale="en")
    notifier(smtp_server, sender_name=hostile).deliver(outbox_message(title=hostile), eve)

    received = only(smtp_server)
    assert received.rcpt_tos == ("eve@example.org",)
    mail = received.message
    assert mail["Bcc"] is None
    assert [a.addr_spec for a in mail["To"].addresses] == ["eve@example.org"]
    assert [a.addr_spec for a in mail["From"].addresses] == [SENDER]
    assert "victim" not in "".join(mail.keys())
    assert sorted(mail.keys()) == sorted(EXPECTED_HEADERS)


# -- TLS --------------------------------------------------------------------------------------


def test_starttls_mode_upgrades_the_connection_before_sending(
    smtp_server_factory: SmtpServerFactory, tls_files: TlsFiles
) -> None:
    server = smtp_server_factory(tls_context=tls_files.server_context(), require_starttls=True)
    notifier(server, mode="starttls", ssl_context=tls_files.client_context()).deliver(outbox_message(), BOB)

    received = only(server)
    assert received.tls
    assert received.message["Message-ID"] == "<4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a@example.org>"


def test_starttls_mode_refuses_a_certificate_it_does_not_trust(
    smtp_server_factory: SmtpServerFactory, tls_files: TlsFiles
) -> None:
    server = smtp_server_factory(tls_context=tls_files.server_context())
    with pytest.raises(SmtpDeliveryError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        notifier(server, mode="starttls").deliver(outbox_message(), BOB)
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert server.mailbox.received == []


def test_starttls_mode_never_falls_back_to_clear_text(smtp_server: SmtpServer, tls_files: TlsFiles) -> None:
    with pytest.raises(SmtpDeliveryError, match="does not offer STARTTLS") as caught:
        notifier(smtp_server, mode="starttls", ssl_context=tls_files.client_context()).deliver(outbox_message(), BOB)
    assert isinstance(caught.value.__cause__, smtplib.SMTPNotSupportedError)
    assert smtp_server.mailbox.received == []


def test_tls_mode_speaks_tls_from_the_first_byte(smtp_server_factory: SmtpServerFactory, tls_files: TlsFiles) -> None:
    server = smtp_server_factory(ssl_context=tls_files.server_context())
    notifier(server, mode="tls", ssl_context=tls_files.client_context()).deliver(outbox_message(), ALICE)

    received = only(server)
    assert received.tls
    assert received.message["Subject"] == "Nouvelle réponse à « Quel gaz pour le TIG ? »"


def test_tls_mode_against_a_plain_server_fails_without_sending(smtp_server: SmtpServer, tls_files: TlsFiles) -> None:
    with pytest.raises(SmtpDeliveryError) as caught:
        notifier(smtp_server, mode="tls", ssl_context=tls_files.client_context(), timeout=5).deliver(
            outbox_message(), BOB
        )
    assert isinstance(caught.value.__cause__, (ssl.SSLError, OSError))
    assert smtp_server.mailbox.received == []


# -- authentication ---------------------------------------------------------------------------


def auth_server(factory: SmtpServerFactory, tls_files: TlsFiles) -> SmtpServer:
    return factory(
        tls_context=tls_files.server_context(),
        require_starttls=True,
        authenticator=check_password,
        auth_required=True,
    )


def test_the_notifier_logs_in_after_starttls(smtp_server_factory: SmtpServerFactory, tls_files: TlsFiles) -> None:
    server = auth_server(smtp_server_factory, tls_files)
    smtp = notifier(server, mode="starttls", ssl_context=tls_files.client_context(), username=USER, password=PASSWORD)
    smtp.deliver(outbox_message(), BOB)

    received = only(server)
    assert received.login == USER
    assert received.tls


def test_a_wrong_password_is_an_error_that_keeps_the_message_pending(
    smtp_server_factory: SmtpServerFactory, tls_files: TlsFiles
) -> None:
    server = auth_server(smtp_server_factory, tls_files)
    smtp = notifier(server, mode="starttls", ssl_context=tls_files.client_context(), username=USER, password="wrong")
    with pytest.raises(SmtpDeliveryError, match="refused the login: 535") as caught:
        smtp.deliver(outbox_message(), BOB)
    assert caught.value.smtp_code == 535
    assert not caught.value.permanent
    assert isinstance(caught.value.__cause__, smtplib.SMTPAuthenticationError)
    assert server.mailbox.received == []


def test_a_server_that_requires_a_login_refuses_an_anonymous_notifier(
    smtp_server_factory: SmtpServerFactory, tls_files: TlsFiles
) -> None:
    server = auth_server(smtp_server_factory, tls_files)
    with pytest.raises(SmtpDeliveryError, match="530") as caught:
        notifier(server, mode="starttls", ssl_context=tls_files.client_context()).deliver(outbox_message(), BOB)
    assert caught.value.smtp_code == 530
    assert server.mailbox.received == []


def test_the_notifier_logs_in_over_implicit_tls(smtp_server_factory: SmtpServerFactory, tls_files: TlsFiles) -> None:
    # aiosmtpd only counts STARTTLS as TLS for AUTH; on an implicit-TLS socket it must be told.
    server = smtp_server_factory(
        ssl_context=tls_files.server_context(), authenticator=check_password, auth_require_tls=False
    )
    smtp = notifier(server, mode="tls", ssl_context=tls_files.client_context(), username=USER, password=PASSWORD)
    smtp.deliver(outbox_message(), BOB)

    assert only(server).login == USER


# -- recipients who cannot get mail ------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient", "reason"),
    [
        (None, "recipient 'alice' is unknown to the directory"),
        (Person("alice", "Alice Martin"), "recipient 'alice' has no e-mail address"),
        (Person("alice", "Alice Martin", email="alice@example.org", active=False), "recipient 'alice' is inactive"),
    ],
)
def test_a_recipient_who_cannot_get_mail_is_a_permanent_error_with_a_logged_reason(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture, recipient: Person | None, reason: str
) -> None:
    with caplog.at_level(logging.INFO, logger="coplib.notifier.smtp"), pytest.raises(SmtpDeliveryError) as caught:
        notifier(smtp_server).deliver(outbox_message(), recipient)

    assert caught.value.permanent  # the dispatcher sends it to the dead letters at once
    assert reason in str(caught.value)
    assert smtp_server.mailbox.received == []
    assert f"message 4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a not sent by e-mail: {reason}" in caplog.messages


def test_a_malformed_address_is_a_permanent_error(smtp_server: SmtpServer) -> None:
    broken = unchecked_person("alice", "Alice", email="alice@example.org\r\nBcc: victim@example.org")
    with pytest.raises(SmtpDeliveryError, match=r"@ \$\.recipient\.email") as caught:
        notifier(smtp_server).deliver(outbox_message(), broken)
    assert caught.value.permanent
    assert isinstance(caught.value.__cause__, InvalidInputError)
    assert smtp_server.mailbox.received == []


# -- failures ---------------------------------------------------------------------------------


def test_a_server_that_is_down_raises_an_adapter_error_with_its_cause(smtp_server: SmtpServer) -> None:
    smtp = notifier(smtp_server)
    smtp_server.stop()
    with pytest.raises(SmtpDeliveryError, match=r"the SMTP server 127\.0\.0\.1:\d+ \(plain\) failed") as caught:
        smtp.deliver(outbox_message(), BOB)
    assert isinstance(caught.value, DeliveryError)
    assert isinstance(caught.value, AdapterError)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert caught.value.message_id == "4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a"
    assert caught.value.channel == "smtp"
    assert not caught.value.permanent


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen(1)
        smtp = SmtpNotifier(LOOPBACK, port=silent.getsockname()[1], mode="plain", sender=SENDER, timeout=0.3)
        with pytest.raises(SmtpDeliveryError, match="timed out") as caught:
            smtp.deliver(outbox_message(), BOB)
    # smtplib reports a read timeout as a disconnection, raised while handling the timeout.
    assert isinstance(caught.value.__cause__, smtplib.SMTPServerDisconnected)
    assert isinstance(caught.value.__cause__.__context__, TimeoutError)


def test_a_temporary_refusal_is_retried_later(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse_data = "451 4.3.0 Try again later"
    with pytest.raises(SmtpDeliveryError, match=r"answered: 451 4\.3\.0 Try again later") as caught:
        notifier(smtp_server).deliver(outbox_message(), BOB)
    assert caught.value.smtp_code == 451
    assert not caught.value.permanent


def test_a_refused_message_is_a_permanent_error(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse_data = "554 5.6.0 Message refused"
    with pytest.raises(SmtpDeliveryError) as caught:
        notifier(smtp_server).deliver(outbox_message(), BOB)
    assert caught.value.smtp_code == 554
    assert caught.value.permanent


def test_a_refused_recipient_is_a_permanent_error(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse_rcpt = "550 5.1.1 No such user"
    with pytest.raises(SmtpDeliveryError, match=r"refused the recipient: 550 5\.1\.1 No such user") as caught:
        notifier(smtp_server).deliver(outbox_message(), BOB)
    assert caught.value.permanent
    assert isinstance(caught.value.__cause__, smtplib.SMTPRecipientsRefused)


# -- connections ------------------------------------------------------------------------------


def test_by_default_each_message_has_its_own_connection(smtp_server: SmtpServer) -> None:
    smtp = notifier(smtp_server)
    for i in range(3):
        smtp.deliver(outbox_message(message_id=f"m{i}"), BOB)

    assert len({r.connection for r in smtp_server.mailbox.received}) == 3


def test_keep_alive_sends_a_batch_over_one_connection(smtp_server: SmtpServer) -> None:
    with notifier(smtp_server, keep_alive=30) as smtp:
        for i in range(3):
            smtp.deliver(outbox_message(message_id=f"m{i}"), BOB)

    received = smtp_server.mailbox.received
    assert [r.message["Message-ID"] for r in received] == [f"<m{i}@example.org>" for i in range(3)]
    assert len({r.connection for r in received}) == 1


def test_keep_alive_opens_a_new_connection_when_the_server_dropped_the_old_one(
    smtp_server_factory: SmtpServerFactory,
) -> None:
    first = smtp_server_factory()
    smtp = notifier(first, keep_alive=30)
    smtp.deliver(outbox_message(message_id="m1"), BOB)
    first.stop()
    second = smtp_server_factory(port=first.port)
    smtp.deliver(outbox_message(message_id="m2"), BOB)
    smtp.close()

    assert [r.message["Message-ID"] for r in second.mailbox.received] == ["<m2@example.org>"]


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "port"), [(SmtpMode.PLAIN, 25), (SmtpMode.STARTTLS, 587), (SmtpMode.TLS, 465), ("tls", 465)]
)
def test_the_default_port_follows_the_mode(mode: SmtpMode | str, port: int) -> None:
    assert SmtpNotifier("mail.example.org", sender=SENDER, mode=mode).port == port


@pytest.mark.parametrize(
    ("settings", "path", "message"),
    [
        ({"port": 0}, "$.port", "must be a TCP port from 1 to 65535, got 0"),
        ({"port": 70000}, "$.port", "must be a TCP port from 1 to 65535"),
        ({"port": True}, "$.port", "must be a TCP port"),
        ({"port": "25"}, "$.port", "must be a TCP port"),
        ({"mode": "ssl"}, "$.mode", "must be one of plain, starttls, tls; got 'ssl'"),
        ({"sender": "nobody"}, "$.sender", "must be an address like name@example.org"),
        ({"timeout": 0}, "$.timeout", "must be a number of seconds above 0"),
        ({"timeout": 601}, "$.timeout", "at most 600"),
        ({"keep_alive": -1}, "$.keep_alive", "from 0 to 3600"),
        ({"username": "u"}, "$.password", "give both or neither"),
        ({"password": "p"}, "$.username", "give both or neither"),
        ({"mode": "plain", "username": "u", "password": "p"}, "$.mode", "sends the password in clear"),
        ({"mode": "plain", "ssl_context": ssl.create_default_context()}, "$.ssl_context", "has no effect"),
        ({"message_id_domain": "bad domain"}, "$.message_id_domain", "is not a valid host name"),
        ({"reply_to": "x"}, "$.reply_to", "must be an address"),
        ({"local_hostname": "a\r\nb"}, "$.local_hostname", "must be a host name"),
    ],
)
def test_bad_settings_are_refused_at_construction_by_path(settings: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid SmtpNotifier settings") as caught:
        SmtpNotifier("mail.example.org", **({"sender": SENDER} | settings))
    assert [e.path for e in caught.value.errors] == [path]
    assert message in caught.value.errors[0].message


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(InvalidInputError) as caught:
        SmtpNotifier("mail host", sender="nobody", port=-1, mode="carrier-pigeon", timeout=-5)
    assert [e.path for e in caught.value.errors] == ["$.host", "$.mode", "$.port", "$.sender", "$.timeout"]


def test_plain_authentication_can_be_allowed_for_a_trusted_network() -> None:
    smtp = SmtpNotifier(
        "relay.internal", sender=SENDER, mode="plain", username="u", password="p", allow_plain_auth=True
    )
    assert smtp.username == "u"


def test_the_password_never_shows_in_the_notifiers_repr() -> None:
    smtp = SmtpNotifier("mail.example.org", sender=SENDER, username="mailer", password="hunter2-secret")
    assert "hunter2-secret" not in repr(smtp)
    assert repr(smtp) == (
        "SmtpNotifier(host='mail.example.org', port=587, mode='starttls', "
        "sender='communities@example.org', username='mailer')"
    )
