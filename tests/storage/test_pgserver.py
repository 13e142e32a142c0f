"""The throwaway PostgreSQL server of `coplib.testing.pgserver`: loopback only, durable
settings on, everything removed afterwards, and a clear error when PostgreSQL is missing."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from coplib.domain.errors import ConfigurationError
from coplib.testing import pgserver
from coplib.testing.pgserver import URL_ENV, PostgresServer, postgres_server, with_search_path

pytestmark = pytest.mark.postgres


def _accepts_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_started_server_listens_on_loopback_only_with_durability_on_and_is_removed_when_stopped() -> None:
    server = PostgresServer.start(database="pgserver_check")
    try:
        assert server.url.startswith("postgresql://postgres@127.0.0.1:")
        with psycopg.connect(server.url) as conn:
            settings = {
                name: value
                for name in ("listen_addresses", "fsync", "synchronous_commit", "full_page_writes")
                for (value,) in conn.execute(f"SHOW {name}")
            }
            database = conn.execute("SELECT current_database()").fetchone()
        assert settings == {
            "listen_addresses": "127.0.0.1",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
        }
        assert database == ("pgserver_check",)
        assert server.root.is_dir()
    finally:
        server.stop()
    assert not server.root.exists()
    assert not _accepts_connections(server.port)
    server.stop()  # stopping twice is harmless


def test_missing_binaries_are_a_configuration_error_saying_how_to_install_postgresql(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pgserver, "_candidate_bindirs", lambda: iter([tmp_path]))
    with pytest.raises(ConfigurationError, match=r"initdb, pg_ctl, createdb.*apt-get install postgresql.*"):
        PostgresServer.start()


def test_a_configured_server_url_is_used_as_it_is_and_nothing_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_ENV, "postgresql://ci@db.example:5432/coplib_ci")
    monkeypatch.setattr(PostgresServer, "start", lambda **_: pytest.fail("a server was started"))
    with postgres_server() as url:
        assert url == "postgresql://ci@db.example:5432/coplib_ci"


def test_with_search_path_adds_to_the_options_already_in_the_url() -> None:
    url = "postgresql://u@h:5432/db?options=-c%20statement_timeout%3D5000&sslmode=disable"
    query = parse_qs(urlsplit(with_search_path(url, "tenant_a")).query)
    assert query["options"] == ["-c statement_timeout=5000 -csearch_path=tenant_a"]
    assert query["sslmode"] == ["disable"]
