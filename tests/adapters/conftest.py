"""Real servers on loopback for the notification adapters' tests: an SMTP server (aiosmtpd)
and an HTTP server (`http.server`), each on 127.0.0.1 and an ephemeral port, plus a
self-signed certificate made for the test session."""

from __future__ import annotations

import email
import email.policy
import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from coplib import OutboxMessage, Person
from coplib.domain._build import build

LOOPBACK = "127.0.0.1"
USER = "coplib-notifier"
PASSWORD = "s3cret-for-tests"


# -- shared samples ---------------------------------------------------------------------------


def unchecked_person(person_id: str, display_name: str, *, email: str = "", locale: str = "en") -> Person:
    """A person made without `Person`'s validators (which refuse hostile text), as a careless
    identity plugin might make one: the renderer keeps its own defences all the same."""
    return build(
        Person, id=person_id, display_name=display_name, email=email, locale=locale, active=True, attributes={}
    )


def outbox_message(
    topic: str = "answer_posted",
    *,
    message_id: str = "4f2c0e4d9b8a4c1e8f3a2b1c0d9e8f7a",
    recipient_id: str = "alice",
    **params: str,
) -> OutboxMessage:
    values = {"community": "Soudeurs de Lyon", "actor": "Bruno", "title": "Quel gaz pour le TIG ?"} | params
    return OutboxMessage(
        id=message_id,
        event_id="event-1",
        recipient_id=recipient_id,
        topic=topic,
        community_id="welding",
        params=values,
        created_at=datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
    )


#: Every header a notification e-mail has, and no other.
EXPECTED_HEADERS = (
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "X-Coplib-Topic",
    "MIME-Version",
    "Content-Type",
    "Content-Language",
)

ALICE = Person("alice", "Alice Martin", email="alice@example.org", locale="fr")
BOB = Person("bob", "Bob Smith", email="bob@example.org", locale="en")


# -- TLS --------------------------------------------------------------------------------------


@attrs.frozen
class TlsFiles:
    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate only (host names are checked)."""
        return ssl.create_default_context(cafile=str(self.certificate))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl command
    (the `cryptography` package is not a dependency of coplib's tests)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS tests need the openssl command to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return TlsFiles(cert, key)


# -- SMTP -------------------------------------------------------------------------------------


@attrs.frozen
class Received:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    connection: int
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Mailbox:
    """An aiosmtpd handler that keeps what it receives; `refuse_data` and `refuse_rcpt` make
    it answer with an error instead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self.refuse_data: str | None = None
        self.refuse_rcpt: str | None = None

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_data:
            return self.refuse_data
        transport = server.transport
        tls = session.ssl is not None or (transport is not None and transport.get_extra_info("ssl_object") is not None)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        content = envelope.original_content or b""
        with self._lock:
            self._received.append(
                Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), content, id(server), tls, login)
            )
        return "250 Message accepted for delivery"


def check_password(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (USER.encode(), PASSWORD.encode())
    # handled=False: aiosmtpd then answers 535 itself on failure.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class LoopbackController(Controller):
    """aiosmtpd's threaded controller on an ephemeral port: the port the system chose is read
    back from the listening socket before the controller's own readiness check."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@attrs.define
class SmtpServer:
    controller: LoopbackController
    mailbox: Mailbox
    running: bool = True

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.controller.stop()


SmtpServerFactory = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server_factory() -> Iterator[SmtpServerFactory]:
    """Start SMTP servers on 127.0.0.1 (``port=0``: an ephemeral one); all stop at teardown.

    Keyword arguments go to aiosmtpd's SMTP class (``tls_context``, ``authenticator``...);
    ``ssl_context`` makes it an implicit-TLS server.
    """
    started: list[SmtpServer] = []

    def start(*, port: int = 0, mailbox: Mailbox | None = None, **options: Any) -> SmtpServer:
        box = mailbox or Mailbox()
        controller = LoopbackController(
            box, hostname=LOOPBACK, port=port, server_hostname="mail.test", ready_timeout=10.0, **options
        )
        controller.start()
        server = SmtpServer(controller, box)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: SmtpServerFactory) -> SmtpServer:
    """A plain SMTP server (no TLS, no authentication) on loopback."""
    return smtp_server_factory()


# -- HTTP -------------------------------------------------------------------------------------


@attrs.frozen
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HttpServer:
    """A threaded `http.server` on 127.0.0.1 that records each request and answers with
    `status` (a test changes it between requests)."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.status = 200
        self.answer = b'{"ok": true}'
        self.extra_headers: dict[str, str] = {}
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(min(length, 1_000_000))
                recorder.requests.append(HttpRequest(self.command, self.path, dict(self.headers.items()), body))
                self.send_response(recorder.status)
                for name, value in recorder.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(recorder.answer)))
                self.end_headers()
                self.wfile.write(recorder.answer)

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
                return

        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}/hooks/coplib"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer()
    yield server
    server.close()
