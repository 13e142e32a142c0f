"""Rendering messages per locale to plain text and HTML, and building the e-mail of an
outbox message (coplib.notification.messages)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coplib import InvalidInputError, Person
from coplib.notification.messages import (
    CATALOGUE,
    RenderedMessage,
    build_email,
    choose_locale,
    header_text,
    message_id_header,
    one_line,
    render,
    render_message,
)

from .conftest import ALICE, BOB, EXPECTED_HEADERS, outbox_message, unchecked_person

SENT_AT = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


HOSTILE = [
    "Eve\r\nBcc: victim@example.org",
    "Eve\nBcc: victim@example.org",
    "Eve\rBcc: victim@example.org",
    "Eve\u2028Bcc: victim@example.org",
    "Eve\x85Bcc: victim@example.org",
    "Eve\r\n\r\n<html>body injected</html>",
    'Mallory <attacker@evil.example>, "x" <y@z>',
    "=?utf-8?q?Bcc=3A_victim=40example=2Eorg?=",
    # An encoded word that decodes to CR LF: the email package of some Python versions would
    # write it into the header as is (CVE-2024-6923).
    "=?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Eorg?=",
    "x =?utf-8?b?RXZlDQpCY2M6IHZpY3RpbUBleGFtcGxlLm9yZw==?= y",
]


def parsed(mail: EmailMessage) -> EmailMessage:
    """The message as a receiver sees it: serialized the way smtplib sends it, parsed back."""
    data = mail.as_bytes(policy=email.policy.SMTP)
    found = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def parts(mail: EmailMessage) -> tuple[str, str]:
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    # On the wire every line ends with CRLF; compare texts with plain new lines.
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


# -- rendering --------------------------------------------------------------------------------


def test_render_keeps_its_positional_signature_and_fills_the_text() -> None:
    rendered = render("membership_approved", {"community": "Soudeurs"}, "fr")
    assert rendered == RenderedMessage(
        subject="Bienvenue dans Soudeurs",
        body="Votre demande pour rejoindre Soudeurs est acceptée. Bienvenue !",
        locale="fr",
        html="<p>Votre demande pour rejoindre Soudeurs est acceptée. Bienvenue !</p>",
    )


def test_every_topic_has_french_and_english_texts() -> None:
    for topic, texts in CATALOGUE.items():
        assert {"fr", "en"} <= set(texts), topic


def test_a_message_is_rendered_in_the_recipients_locale() -> None:
    assert render_message(outbox_message(), ALICE).subject == "Nouvelle réponse à « Quel gaz pour le TIG ? »"
    assert render_message(outbox_message(), BOB).subject == "New answer to “Quel gaz pour le TIG ?”"


def test_an_unknown_recipient_gets_english() -> None:
    assert render_message(outbox_message(), None).locale == "en"


@pytest.mark.parametrize(
    ("requested", "chosen"),
    [("fr", "fr"), ("fr-CA", "fr"), ("fr_FR", "fr"), ("FR", "fr"), ("de", "en"), ("", "en"), (None, "en")],
)
def test_a_locale_falls_back_to_its_language_then_to_english(requested: str | None, chosen: str) -> None:
    assert choose_locale(requested, {"fr": 1, "en": 2}) == chosen


def test_a_locale_falls_back_to_the_first_available_when_english_is_missing() -> None:
    assert choose_locale("de", {"fr": 1, "es": 2}) == "es"


def test_a_role_is_named_in_the_recipients_language() -> None:
    rendered = render("role_assigned", {"community": "Soudeurs", "role": "facilitator"}, "fr")
    assert rendered.body == "Vous êtes désormais animateur dans Soudeurs."


def test_every_parameter_is_escaped_in_html_and_kept_as_typed_in_plain_text() -> None:
    rendered = render(
        "answer_posted", {"actor": "<b>Bruno</b>", "title": '"><script>alert(1)</script>', "community": "R&D"}, "en"
    )
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&lt;b&gt;Bruno&lt;/b&gt;" in rendered.html
    assert "R&amp;D" in rendered.html
    assert "&quot;&gt;" in rendered.html
    assert rendered.body == 'Bruno answered your question “"><script>alert(1)</script>” in R&D.'.replace(
        "Bruno", "<b>Bruno</b>"
    )


def test_a_subject_is_one_line_whatever_the_title_holds() -> None:
    rendered = render("answer_posted", {"title": "two\r\nlines\u2028and more", "community": "c", "actor": "a"}, "en")
    assert rendered.subject == "New answer to “two lines and more”"


def test_an_unknown_topic_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="no message text for topic 'nope'; known topics: ") as caught:
        render("nope", {}, "en")

    listed = str(caught.value).split("known topics: ", 1)[1].split(" @ ")[0].split(", ")
    assert listed == sorted(CATALOGUE) and "answer_accepted" in listed


def test_a_host_catalogue_can_add_a_topic() -> None:
    catalogue = {"digest": {"en": ("Your digest", "$count new questions."), "fr": ("Votre résumé", "$count.")}}
    assert render("digest", {"count": "3"}, "en", catalogue=catalogue).body == "3 new questions."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb", "a b"),
        ("a\u2028b\u2029c", "a b c"),
        ("a\x85b\x0bc\x0cd", "a b c d"),
        ("  spaced \t out  ", "spaced out"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("rtl\u202eoverride", "rtloverride"),
    ],
)
def test_one_line_removes_every_kind_of_line_break_and_control(raw: str, expected: str) -> None:
    assert one_line(raw) == expected


def test_header_text_leaves_no_encoded_word_to_decode() -> None:
    text = header_text("=?utf-8?q?a=0D=0Ab?=")
    assert "=?" not in text
    assert text.replace("\u2060", "") == "=?utf-8?q?a=0D=0Ab?="


def test_one_line_cuts_long_text_with_an_ellipsis() -> None:
    assert one_line("x" * 500, max_chars=10) == "x" * 9 + "…"


# -- e-mail -----------------------------------------------------------------------------------


def test_the_email_carries_the_standard_headers_and_both_parts() -> None:
    mail = parsed(
        build_email(outbox_message(), ALICE, sender="noreply@example.org", sender_name="Communautés", date=SENT_AT)
    )
    assert mail["Subject"] == "Nouvelle réponse à « Quel gaz pour le TIG ? »"
    assert mail["From"].addresses[0].display_name == "Communautés"
    assert mail["From"].addresses[0].addr_spec == "noreply@example.org"
    assert mail["To"].addresses[0].display_name == "Alice Martin"
    assert mail["To"].addresses[0].addr_spec == "alice@example.org"
    assert mail["Message-ID"] == "<4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a@example.org>"
    assert mail["Date"].datetime == SENT_AT
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Content-Language"] == "fr"
    assert mail["X-Coplib-Topic"] == "answer_posted"
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = parts(mail)
    assert plain.startswith("Bonjour Alice Martin,\n\nBruno a répondu à votre question « Quel gaz pour le TIG ? »")
    assert "Ce message vous est envoyé par la communauté Soudeurs de Lyon." in plain
    assert '<html lang="fr">' in html
    assert "<p>Bruno a répondu à votre question « Quel gaz pour le TIG ? » dans Soudeurs de Lyon.</p>" in html


def test_the_same_message_always_has_the_same_message_id() -> None:
    first = build_email(outbox_message(), BOB, sender="noreply@example.org", date=SENT_AT)
    again = build_email(outbox_message(), BOB, sender="noreply@example.org", date=datetime.now(UTC))
    assert first["Message-ID"] == again["Message-ID"] == "<4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a@example.org>"


def test_the_message_id_domain_can_be_chosen_and_is_idna_encoded() -> None:
    mail = build_email(outbox_message(), BOB, sender="noreply@example.org", domain="communautés.example")
    assert mail["Message-ID"] == "<4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a@xn--communauts-j7a.example>"


@pytest.mark.parametrize("bad_id", ["has space", "a\r\nb", "<x>", "a..b", ".lead", "x" * 201, ""])
def test_a_message_id_that_cannot_be_a_message_id_header_is_refused_not_altered(bad_id: str) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot be the left part of a Message-ID .* @ \$\.message\.id"):
        message_id_header(bad_id, "example.org")


def test_a_non_ascii_display_name_is_encoded_and_reads_back_the_same() -> None:
    person = Person("zoe", "Zoé Lefèvre-Ørsted", email="zoe@example.org", locale="fr")
    raw = build_email(outbox_message(), person, sender="noreply@example.org").as_bytes(policy=email.policy.SMTP)
    assert raw.isascii()
    to = email.message_from_bytes(raw, policy=email.policy.default)["To"]
    assert to.addresses[0].display_name == "Zoé Lefèvre-Ørsted"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_no_cr_or_lf_from_a_display_name_reaches_a_header(hostile: str) -> None:
    person = unchecked_person("eve", hostile, email="eve@example.org", locale="en")
    mail = build_email(outbox_message(), person, sender="noreply@example.org", sender_name=hostile, date=SENT_AT)
    received = parsed(mail)
    assert received["Bcc"] is None
    assert [a.addr_spec for a in received["To"].addresses] == ["eve@example.org"]
    assert [a.addr_spec for a in received["From"].addresses] == ["noreply@example.org"]
    # The email package may fold a long word with a space; the text is otherwise intact.
    assert received["To"].addresses[0].display_name.replace(" ", "") == header_text(hostile).replace(" ", "")
    for name, value in mail.items():
        assert "\r" not in str(value) and "\n" not in str(value), name


@pytest.mark.parametrize("hostile", HOSTILE)
def test_no_cr_or_lf_from_a_title_reaches_the_subject(hostile: str) -> None:
    mail = build_email(outbox_message(title=hostile), BOB, sender="noreply@example.org", date=SENT_AT)
    received = parsed(mail)
    assert received["Bcc"] is None
    assert received["Subject"] == f"New answer to “{header_text(hostile)}”"
    assert sorted(received.keys()) == sorted(EXPECTED_HEADERS)


@given(name=st.text(min_size=1, max_size=80).filter(str.strip), title=st.text(max_size=200))
def test_any_display_name_and_title_give_exactly_the_expected_headers(name: str, title: str) -> None:
    person = unchecked_person("eve", name, email="eve@example.org", locale="en")
    received = parsed(build_email(outbox_message(title=title), person, sender="noreply@example.org", date=SENT_AT))
    assert [a.addr_spec for a in received["To"].addresses] == ["eve@example.org"]
    assert sorted(received.keys()) == sorted(EXPECTED_HEADERS)
    assert received["Message-ID"] == "<4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a@example.org>"


def test_a_recipient_without_email_and_a_bad_sender_are_both_reported() -> None:
    person = Person("nomail", "No Mail")
    with pytest.raises(InvalidInputError) as caught:
        build_email(outbox_message(), person, sender="not an address")
    assert [e.path for e in caught.value.errors] == ["$.sender", "$.recipient.email"]
    assert "'nomail' has no e-mail address" in str(caught.value)


@pytest.mark.parametrize(
    "address", ["alice@example.org\r\nBcc: v@example.org", "alice", "a@b@c", "<alice@example.org>", "a b@example.org"]
)
def test_a_malformed_recipient_address_is_refused(address: str) -> None:
    person = unchecked_person("alice", "Alice", email=address)
    with pytest.raises(InvalidInputError, match=r"@ \$\.recipient\.email"):
        build_email(outbox_message(), person, sender="noreply@example.org")
