"""From a command to a mail on a real SMTP server: the engine writes the message to the
outbox, `dispatch` delivers it through the notifier plugins, and a failure keeps it pending
until a later attempt (after its backoff) delivers it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import coplib
from coplib import SYSTEM, Engine, ManualClock, Person
from coplib.adapters.identity.directory_file import DirectoryFile
from coplib.adapters.notification.smtp import SmtpNotifier
from coplib.adapters.notification.webhook import WebhookNotifier, verify_signature
from coplib.bootstrap.open import default_plugins
from coplib.domain import events as ev
from coplib.domain._build import build
from coplib.domain.validation import text_fault

from .conftest import LOOPBACK, HttpServer, SmtpServer, SmtpServerFactory

PEOPLE = [
    Person("alice", "Alice Martin", email="alice@example.org", locale="fr"),
    Person("bruno", "Bruno Keller", email="bruno@example.org", locale="en"),
]
SECRET = "end-to-end-secret-0123456789abcdef"
#: The built-in policies write messages of their own (routing notices, badges): blocked here,
#: where the answer notice is followed alone.
POLICIES = tuple(name for name, _ in default_plugins() if name.startswith("coplib.policy."))
#: Longer than any backoff of the default delivery policy's first attempts.
LATER = timedelta(hours=1)


def open_engine(*plugins: object, people: list[Person] | None = None) -> tuple[Engine, ManualClock]:
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    engine = coplib.open(
        "memory://", plugins=list(plugins), people=PEOPLE if people is None else people, clock=clock, block=POLICIES
    )
    return engine, clock


def smtp_notifier(port: int) -> SmtpNotifier:
    return SmtpNotifier(LOOPBACK, port=port, mode="plain", sender="communities@example.org", timeout=10)


def question_answered(engine: Engine, *, title: str = "Quel gaz pour le TIG <inox> ?") -> str:
    """Alice asks in her community, Bruno answers: Alice is to be told. Returns the outbox id.

    A title the text rule refuses today (a line break...) is put in as a question stored
    before coplib refused such text: such rows stay readable, and must reach no header."""
    organisation = engine.create_organisation(SYSTEM, "Acme")
    community = engine.create_community("alice", organisation.id, name="Soudeurs de Lyon", vocation="Souder mieux")
    engine.join("bruno", community.id)
    if text_fault(title) is None:
        question_id = engine.ask("alice", community.id, title=title, body="Argon pur ou mélange ?").id
    else:
        question_id = engine.new_id()
        stored_long_ago = build(
            ev.QuestionAsked,
            id=engine.new_id(),
            actor_id="alice",
            community_id=community.id,
            occurred_at=engine.clock.now(),
            question_id=question_id,
            title=title,
            body="Argon pur ou mélange ?",
            tags=frozenset(),
        )
        engine.import_history([stored_long_ago])
    engine.answer("bruno", question_id, body="Argon pur.")
    (pending,) = engine.store.pending_messages()
    assert (pending.recipient_id, pending.topic) == ("alice", "answer_posted")
    return pending.id


def test_an_answer_reaches_the_asker_by_mail_in_her_language(smtp_server: SmtpServer) -> None:
    engine, _ = open_engine(smtp_notifier(smtp_server.port))
    key = question_answered(engine)

    assert engine.dispatch().delivered == 1

    (received,) = smtp_server.mailbox.received
    assert received.rcpt_tos == ("alice@example.org",)
    mail = received.message
    assert mail["Message-ID"] == f"<{key}@example.org>"
    assert mail["Subject"] == "Nouvelle réponse à « Quel gaz pour le TIG <inox> ? »"
    assert str(mail["To"]) == "Alice Martin <alice@example.org>"
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    assert "« Quel gaz pour le TIG &lt;inox&gt; ? »" in html.get_content()
    assert engine.store.pending_messages() == []
    assert engine.dispatch().delivered == 0
    assert len(smtp_server.mailbox.received) == 1


def test_a_message_stays_pending_while_the_smtp_server_is_down(smtp_server_factory: SmtpServerFactory) -> None:
    server = smtp_server_factory()
    port = server.port
    engine, clock = open_engine(smtp_notifier(port))
    key = question_answered(engine)
    server.stop()

    report = engine.dispatch()
    assert (report.delivered, report.retried) == (0, 1)
    assert [m.id for m in engine.store.pending_messages()] == [key]
    (entry,) = engine.store.outbox()
    assert entry.attempts == 1
    assert entry.last_error

    back = smtp_server_factory(port=port)
    assert engine.dispatch().delivered == 0  # not before its backoff has passed
    clock.advance(LATER)
    assert engine.dispatch().delivered == 1
    (received,) = back.mailbox.received
    assert received.message["Message-ID"] == f"<{key}@example.org>"
    assert engine.store.pending_messages() == []


def test_a_temporary_refusal_is_delivered_on_a_later_dispatch(smtp_server: SmtpServer) -> None:
    engine, clock = open_engine(smtp_notifier(smtp_server.port))
    question_answered(engine)
    smtp_server.mailbox.refuse_data = "451 4.3.0 Mailbox busy, try again"

    assert engine.dispatch().retried == 1
    smtp_server.mailbox.refuse_data = None
    clock.advance(LATER)
    assert engine.dispatch().delivered == 1
    assert len(smtp_server.mailbox.received) == 1


def test_a_webhook_retry_repeats_the_same_idempotency_key_and_signature(
    http_server: HttpServer, tmp_path: Path
) -> None:
    directory = tmp_path / "people.json"
    directory.write_text(
        json.dumps(
            {
                "people": [
                    {"id": "alice", "display_name": "Alice Martin", "email": "alice@example.org", "locale": "fr"},
                    {"id": "bruno", "display_name": "Bruno Keller", "email": "bruno@example.org"},
                ]
            }
        ),
        encoding="utf-8",
    )
    hook = WebhookNotifier(http_server.url, secret=SECRET, proxies={}, timeout=10)
    engine, clock = open_engine(DirectoryFile(directory), hook, people=[])
    engine.set_preferences("alice", "alice", channel="webhook")
    key = question_answered(engine)
    http_server.status = 503

    assert engine.dispatch().retried == 1
    http_server.status = 200
    clock.advance(LATER)
    assert engine.dispatch().delivered == 1

    # Sent twice, as the same message: a receiver that keeps idempotency keys drops the repeat.
    assert [r.headers["Idempotency-Key"] for r in http_server.requests] == [key, key]
    last = http_server.requests[-1]
    verify_signature(SECRET, last.body, last.headers)
    assert json.loads(last.body)["recipient"]["display_name"] == "Alice Martin"


@pytest.mark.parametrize("hostile", ["Eve\r\nBcc: victim@example.org", "=?utf-8?q?x=0D=0ABcc:_victim@example.org?="])
def test_a_hostile_question_title_reaches_no_header_end_to_end(smtp_server: SmtpServer, hostile: str) -> None:
    engine, _ = open_engine(smtp_notifier(smtp_server.port))
    question_answered(engine, title=hostile)

    assert engine.dispatch().delivered == 1
    (received,) = smtp_server.mailbox.received
    assert received.rcpt_tos == ("alice@example.org",)
    assert received.message["Bcc"] is None
