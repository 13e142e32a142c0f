"""The digest, in French and in English: its subject names the period and the count, its
body lists each message, and what members typed stays text in the HTML part and off the
headers."""

from __future__ import annotations

from datetime import UTC, datetime

from coplib import Person
from coplib.notification.messages import DIGEST_TOPIC, build_email, render
from coplib.ports.storage import OutboxMessage

ITEMS = "\n".join(
    [
        "• Ben Carter a répondu à votre question « Argon ? » dans Soudeurs de Lyon.",
        "• Chloé Petit vous invite à rejoindre la communauté <Peintres & Co>.",
    ]
)


def digest(period: str = "daily", items: str = ITEMS, count: str = "2") -> OutboxMessage:
    return OutboxMessage(
        id="d1935e0c8a4b5f2e9c7d6b5a4f3e2d1c",
        event_id="d1935e0c8a4b5f2e9c7d6b5a4f3e2d1c",
        recipient_id="ana",
        topic=DIGEST_TOPIC,
        community_id=None,
        params={"items": items, "count": count, "period": period, "message_ids": "m-1 m-2"},
        created_at=datetime(2026, 1, 6, 8, 0, tzinfo=UTC),
    )


def test_a_daily_digest_in_french_lists_each_item() -> None:
    rendered = render(DIGEST_TOPIC, digest().params, "fr")
    assert rendered.subject == "Votre résumé quotidien (2)"
    assert rendered.body == ("Voici ce qui s'est passé dans vos communautés depuis votre dernier résumé :\n\n" + ITEMS)


def test_a_weekly_digest_in_english_names_its_period() -> None:
    rendered = render(DIGEST_TOPIC, digest("weekly", count="5").params, "en")
    assert rendered.subject == "Your weekly digest (5)"
    assert rendered.body.startswith("Here is what happened in your communities since your last digest:\n\n• ")


def test_a_regional_locale_reads_the_digest_in_its_language() -> None:
    assert render(DIGEST_TOPIC, digest("weekly").params, "fr-CA").subject == "Votre résumé hebdomadaire (2)"


def test_each_item_is_a_line_of_the_html_part_with_what_members_typed_escaped() -> None:
    html = render(DIGEST_TOPIC, digest().params, "fr").html
    assert html == (
        "<p>Voici ce qui s&#x27;est passé dans vos communautés depuis votre dernier résumé :</p>\n"
        "<p>• Ben Carter a répondu à votre question « Argon ? » dans Soudeurs de Lyon.<br>\n"
        "• Chloé Petit vous invite à rejoindre la communauté &lt;Peintres &amp; Co&gt;.</p>"
    )


def test_a_digest_e_mail_has_the_general_footer_and_its_idempotency_key_as_message_id() -> None:
    ana = Person("ana", "Ana Durand", email="ana@example.org", locale="fr")
    mail = build_email(digest(), ana, sender="communities@example.org")
    assert mail["Subject"] == "Votre résumé quotidien (2)"
    assert mail["Message-ID"] == "<d1935e0c8a4b5f2e9c7d6b5a4f3e2d1c@example.org>"
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "Ce message vous est envoyé par vos communautés de pratique." in text
    assert "« Argon ? »" in text


def test_the_period_of_a_digest_cannot_forge_a_header() -> None:
    rendered = render(DIGEST_TOPIC, digest("daily\r\nBcc: victim@example.org").params, "en")
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
