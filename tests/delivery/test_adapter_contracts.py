"""The built-in notifiers and identity directories pass the conformance kit: the recording
and logging notifiers, SMTP against aiosmtpd on loopback, the webhook against an HTTP server
on loopback; the static directory, the directory file (TOML and JSON) and the cache."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest

from coplib import ManualClock, Person, RecordingNotifier, StaticDirectory
from coplib.adapters.identity.directory_file import CachingDirectory, DirectoryFile
from coplib.adapters.notification.logging_notifier import LoggingNotifier
from coplib.adapters.notification.smtp import SmtpNotifier
from coplib.adapters.notification.webhook import WebhookNotifier
from coplib.testing.identity_contract import DirectoryFactory, IdentityContract
from coplib.testing.notifier_contract import Arrival, NotifierContract

from ..adapters.conftest import LOOPBACK, HttpServer, SmtpServer

SECRET = "contract-secret-0123456789abcdef"


# -- notifiers ----------------------------------------------------------------------------------


class TestRecordingNotifier(NotifierContract):
    @pytest.fixture
    def notifier(self) -> RecordingNotifier:
        return RecordingNotifier()

    @pytest.fixture
    def channel(self) -> str:
        return "email"

    @pytest.fixture
    def arrivals(self, notifier: RecordingNotifier) -> Callable[[], list[Arrival]]:
        return lambda: [Arrival(d.message.id, d.rendered.subject, d.rendered.body) for d in notifier.deliveries]

    @pytest.fixture
    def takes_every_channel(self) -> bool:
        return True

    def test_it_takes_every_channel_since_it_is_the_last_resort(self, notifier: RecordingNotifier) -> None:
        from coplib.testing.notifier_contract import ALICE, sample_message

        for channel in ("email", "sms", "carrier-pigeon"):
            assert self.deliver(notifier, sample_message(), ALICE, channel) is True
        assert [d.channel for d in notifier.deliveries] == ["email", "sms", "carrier-pigeon"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class TestLoggingNotifier(NotifierContract):
    @pytest.fixture
    def handler(self) -> Iterator[_Records]:
        logger = logging.getLogger("coplib.test.contract")
        handler = _Records()
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        yield handler
        logger.removeHandler(handler)

    @pytest.fixture
    def notifier(self, handler: _Records) -> LoggingNotifier:
        return LoggingNotifier(logger=logging.getLogger("coplib.test.contract"), include_body=True)

    @pytest.fixture
    def channel(self) -> str:
        return "log"

    @pytest.fixture
    def arrivals(self, handler: _Records) -> Callable[[], list[Arrival]]:
        return lambda: [
            Arrival(r.coplib_message_id, r.coplib_subject, r.coplib_body)  # type: ignore[attr-defined]
            for r in handler.records
        ]


class TestSmtpNotifier(NotifierContract):
    @pytest.fixture
    def notifier(self, smtp_server: SmtpServer) -> SmtpNotifier:
        return SmtpNotifier(
            LOOPBACK,
            port=smtp_server.port,
            mode="plain",
            sender="communities@example.org",
            timeout=10,
            clock=ManualClock(datetime(2026, 1, 5, 9, tzinfo=UTC)),
        )

    @pytest.fixture
    def channel(self) -> str:
        return "email"

    @pytest.fixture
    def arrivals(self, smtp_server: SmtpServer) -> Callable[[], list[Arrival]]:
        def read() -> list[Arrival]:
            found = []
            for received in smtp_server.mailbox.received:
                mail = received.message
                key = parseaddr(str(mail["Message-ID"]))[1].rpartition("@")[0]
                plain = mail.get_body(preferencelist=("plain",))
                assert plain is not None
                found.append(Arrival(key, str(mail["Subject"]), plain.get_content()))
            return found

        return read

    @pytest.fixture
    def outage(self, smtp_server: SmtpServer) -> Callable[[], AbstractContextManager[None]]:
        @contextlib.contextmanager
        def busy() -> Iterator[None]:
            smtp_server.mailbox.refuse_data = "451 4.3.0 Mailbox busy, try again"
            try:
                yield
            finally:
                smtp_server.mailbox.refuse_data = None

        return busy


class _Refusals:
    """Which requests the HTTP server answered with an error: they did not arrive."""

    def __init__(self) -> None:
        self.indexes: set[int] = set()
        self.since: int | None = None


class TestWebhookNotifier(NotifierContract):
    @pytest.fixture
    def notifier(self, http_server: HttpServer) -> WebhookNotifier:
        return WebhookNotifier(http_server.url, secret=SECRET, proxies={}, timeout=10)

    @pytest.fixture
    def channel(self) -> str:
        return "webhook"

    @pytest.fixture
    def refusals(self) -> _Refusals:
        return _Refusals()

    @pytest.fixture
    def arrivals(self, http_server: HttpServer, refusals: _Refusals) -> Callable[[], list[Arrival]]:
        def read() -> list[Arrival]:
            found = []
            for index, request in enumerate(http_server.requests):
                if index in refusals.indexes or (refusals.since is not None and index >= refusals.since):
                    continue
                rendered = json.loads(request.body)["rendered"]
                found.append(Arrival(request.headers["Idempotency-Key"], rendered["subject"], rendered["body"]))
            return found

        return read

    @pytest.fixture
    def outage(self, http_server: HttpServer, refusals: _Refusals) -> Callable[[], AbstractContextManager[None]]:
        @contextlib.contextmanager
        def unavailable() -> Iterator[None]:
            http_server.status = 503
            refusals.since = len(http_server.requests)
            try:
                yield
            finally:
                http_server.status = 200
                refusals.indexes.update(range(refusals.since, len(http_server.requests)))
                refusals.since = None

        return unavailable


class TestWebhookNotifierOnItsOwnChannelName(TestWebhookNotifier):
    """A host may run several webhooks, each answering its own channel."""

    @pytest.fixture
    def notifier(self, http_server: HttpServer) -> WebhookNotifier:
        return WebhookNotifier(http_server.url, secret=SECRET, proxies={}, timeout=10, channel="chat")

    @pytest.fixture
    def channel(self) -> str:
        return "chat"


# -- identity directories -----------------------------------------------------------------------


class TestStaticDirectory(IdentityContract):
    @pytest.fixture
    def make_directory(self) -> DirectoryFactory:
        return lambda people, aliases: StaticDirectory(people, aliases=dict(aliases))


def _entry(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "display_name": person.display_name,
        **({"email": person.email} if person.email else {}),
        "locale": person.locale,
        "active": person.active,
        **({"organisations": sorted(person.organisations)} if person.organisations is not None else {}),
        "attributes": {name: list(values) for name, values in person.attributes.items()},
    }


class TestDirectoryFileInJson(IdentityContract):
    @pytest.fixture
    def make_directory(self, tmp_path: Path) -> DirectoryFactory:
        def make(people: Sequence[Person], aliases: Mapping[str, str]) -> DirectoryFile:
            path = tmp_path / "people.json"
            document = {"version": 1, "people": [_entry(p) for p in people], "aliases": dict(aliases)}
            path.write_text(json.dumps(document), encoding="utf-8")
            return DirectoryFile(path)

        return make


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


class TestDirectoryFileInToml(IdentityContract):
    @pytest.fixture
    def make_directory(self, tmp_path: Path) -> DirectoryFactory:
        def make(people: Sequence[Person], aliases: Mapping[str, str]) -> DirectoryFile:
            lines = ["version = 1", ""]
            for person in people:
                lines.append("[[people]]")
                for key, value in _entry(person).items():
                    if key == "attributes":
                        continue
                    if isinstance(value, bool):
                        shown = "true" if value else "false"
                    elif isinstance(value, list):
                        shown = f"[{', '.join(_toml_string(v) for v in value)}]"
                    else:
                        shown = _toml_string(value)
                    lines.append(f"{key} = {shown}")
                for name, values in person.attributes.items():
                    lines.append(f"{name} = [{', '.join(_toml_string(v) for v in values)}]")
                lines.append("")
            lines.append("[aliases]")
            lines.extend(f"{_toml_string(login)} = {_toml_string(pid)}" for login, pid in aliases.items())
            path = tmp_path / "people.toml"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return DirectoryFile(path)

        return make


class TestCachingDirectory(IdentityContract):
    @pytest.fixture
    def make_directory(self) -> DirectoryFactory:
        clock = ManualClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
        return lambda people, aliases: CachingDirectory(
            StaticDirectory(people, aliases=dict(aliases)), ttl=timedelta(minutes=5), clock=clock
        )
