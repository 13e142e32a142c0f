"""The logging notifier: one record per delivery on the ``coplib.notify`` logger."""

from __future__ import annotations

import logging

import pytest

from coplib import InvalidInputError, Person
from coplib.adapters.notification.logging_notifier import LoggingNotifier

from .conftest import ALICE, BOB, outbox_message


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "coplib.notify"]


def test_a_delivery_is_logged_in_the_recipients_locale(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="coplib.notify"):
        LoggingNotifier().deliver(outbox_message(), ALICE)

    (record,) = records(caplog)
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "message 4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a to alice [fr] answer_posted: "
        "Nouvelle réponse à « Quel gaz pour le TIG ? »"
    )


def test_the_record_carries_the_fields_for_structured_handlers(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="coplib.notify"):
        LoggingNotifier().deliver(outbox_message(), BOB)

    (record,) = records(caplog)
    assert record.coplib_message_id == "4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a"  # type: ignore[attr-defined]
    assert record.coplib_recipient_id == "alice"  # type: ignore[attr-defined]
    assert record.coplib_topic == "answer_posted"  # type: ignore[attr-defined]
    assert record.coplib_community_id == "welding"  # type: ignore[attr-defined]
    assert record.coplib_locale == "en"  # type: ignore[attr-defined]
    assert record.coplib_subject == "New answer to “Quel gaz pour le TIG ?”"  # type: ignore[attr-defined]
    assert not hasattr(record, "coplib_body")


def test_the_body_is_logged_only_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="coplib.notify"):
        LoggingNotifier(include_body=True).deliver(outbox_message(), BOB)

    (record,) = records(caplog)
    assert record.coplib_body == "Bruno answered your question “Quel gaz pour le TIG ?” in Soudeurs de Lyon."  # type: ignore[attr-defined]


def test_a_title_cannot_forge_another_log_line(caplog: pytest.LogCaptureFixture) -> None:
    forged = "x\n2025-03-04 INFO coplib.notify message m9 to admin: forged"
    with caplog.at_level(logging.INFO, logger="coplib.notify"):
        LoggingNotifier().deliver(outbox_message(title=forged), BOB)

    (record,) = records(caplog)
    assert "\n" not in record.getMessage()
    assert record.getMessage().endswith("“x 2025-03-04 INFO coplib.notify message m9 to admin: forged”")


def test_unknown_and_inactive_recipients_are_marked(caplog: pytest.LogCaptureFixture) -> None:
    gone = Person("carol", "Carol", active=False)
    with caplog.at_level(logging.INFO, logger="coplib.notify"):
        LoggingNotifier().deliver(outbox_message(recipient_id="ghost"), None)
        LoggingNotifier().deliver(outbox_message(recipient_id="carol"), gone)

    assert [r.getMessage().split(" [")[0] for r in records(caplog)] == [
        "message 4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a to ghost (unknown)",
        "message 4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a to carol (inactive)",
    ]


def test_a_topic_without_text_is_still_traced(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="coplib.notify"):
        LoggingNotifier().deliver(outbox_message(topic="weekly_digest"), BOB)

    (record,) = records(caplog)
    assert record.getMessage().endswith("weekly_digest: (no text for this topic; params: actor, community, title)")


def test_the_logger_and_level_can_be_chosen(caplog: pytest.LogCaptureFixture) -> None:
    mine = logging.getLogger("host.deliveries")
    with caplog.at_level(logging.DEBUG, logger="host.deliveries"):
        LoggingNotifier(logger=mine, level=logging.DEBUG).deliver(outbox_message(), BOB)

    (record,) = [r for r in caplog.records if r.name == "host.deliveries"]
    assert record.levelno == logging.DEBUG


def test_nothing_is_rendered_when_the_level_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="coplib.notify"):
        LoggingNotifier().deliver(outbox_message(topic="weekly_digest"), BOB)
    assert records(caplog) == []


def test_a_level_that_is_not_a_logging_level_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"must be a logging level .*, got 'INFO' @ \$\.level"):
        LoggingNotifier(level="INFO")  # type: ignore[arg-type]
