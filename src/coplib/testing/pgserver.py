"""A throwaway PostgreSQL server for tests: coplib's own suite and plugin authors' suites.

`postgres_server()` initialises a cluster in a temporary directory, starts it on a free
loopback port, creates a database and yields its ``postgresql://`` URL; everything is
stopped and removed afterwards. When ``COPLIB_TEST_POSTGRES_URL`` is set, that server is
used instead and nothing is started. `fresh_schema(url)` gives one test an empty schema::

    with postgres_server() as url, fresh_schema(url) as test_url:
        store = coplib.open(test_url)

Durability settings (``fsync``, ``synchronous_commit``, ``full_page_writes``) stay on, so
that fault-injection tests measure what a real deployment does.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from coplib.domain.errors import ConfigurationError, StorageError

__all__ = [
    "SERVER_USER_ENV",
    "URL_ENV",
    "PostgresServer",
    "find_bindir",
    "fresh_schema",
    "postgres_server",
    "with_search_path",
]

#: Use this running server (a ``postgresql://`` URL) instead of starting one.
URL_ENV = "COPLIB_TEST_POSTGRES_URL"
#: Where to look first for initdb and pg_ctl (a directory).
BINDIR_ENV = "COPLIB_TEST_POSTGRES_BINDIR"
#: The unprivileged system user that runs the server when the tests run as root.
SERVER_USER_ENV = "COPLIB_TEST_POSTGRES_USER"

_INSTALL_HINT = (
    "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: "
    "dnf install postgresql-server; macOS: brew install postgresql), put its bin directory on "
    f"PATH or in {BINDIR_ENV}, or point {URL_ENV} at a running server"
)
_START_TIMEOUT = 60
_SUPERUSER = "postgres"


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(path))) or (0,)


def _candidate_bindirs() -> Iterator[Path]:
    configured = os.environ.get(BINDIR_ENV)
    if configured:
        yield Path(configured)
    on_path = shutil.which("initdb")
    if on_path:
        # Resolve a symlink such as a PATH shim: the real directory also holds createdb.
        yield Path(on_path).resolve().parent
        yield Path(on_path).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            yield Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    # The standard install locations of the common packagings, newest version first.
    for parent, pattern in (
        ("/usr/lib/postgresql", "*/bin"),  # Debian, Ubuntu
        ("/usr", "pgsql-*/bin"),  # the PGDG packages for Fedora, RHEL
        ("/opt/homebrew/opt", "postgresql@*/bin"),  # Homebrew
    ):
        if Path(parent).is_dir():
            yield from sorted(Path(parent).glob(pattern), key=_version_key, reverse=True)
    yield Path("/usr/local/pgsql/bin")


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``createdb``.

    Raises `ConfigurationError`, saying how to install PostgreSQL, when none is found.
    """
    searched: list[str] = []
    for candidate in _candidate_bindirs():
        if str(candidate) in searched:
            continue
        searched.append(str(candidate))
        if all(os.access(candidate / name, os.X_OK) for name in ("initdb", "pg_ctl", "createdb")):
            return candidate
    raise ConfigurationError(
        "the PostgreSQL server binaries (initdb, pg_ctl, createdb) were not found in "
        f"{', '.join(searched) or 'PATH'}: {_INSTALL_HINT}"
    )


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One throwaway PostgreSQL cluster in a temporary directory, on loopback only.

    Use `PostgresServer.start()` and `stop()`, or the `postgres_server()` context manager.
    """

    def __init__(self, bindir: Path, root: Path, port: int, database: str, run_as: str | None) -> None:
        self.bindir = bindir
        self.root = root
        self.data_dir = root / "data"
        self.log_file = root / "server.log"
        self.port = port
        self.database = database
        self._run_as = run_as
        self._running = False

    @property
    def url(self) -> str:
        """The URL of the test database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    @classmethod
    def start(cls, *, database: str = "coplib_test") -> PostgresServer:
        """Initialise, start and create `database`. Raises `ConfigurationError` when the
        binaries are missing and `StorageError` (with the server log) when it cannot start."""
        bindir = find_bindir()
        run_as = _server_user()
        root = Path(tempfile.mkdtemp(prefix="coplib-pg-"))
        server: PostgresServer | None = None
        try:
            if run_as is not None:
                shutil.chown(root, user=run_as)
            for _attempt in range(3):
                server = cls(bindir, root, _free_loopback_port(), database, run_as)
                if not server.data_dir.exists():
                    server._initdb()
                if server._pg_ctl_start():
                    break
                # Another process took the port between our probe and the bind: try another.
                if "could not bind" not in server._log_tail() and "in use" not in server._log_tail():
                    raise StorageError(f"the test PostgreSQL server did not start:\n{server._log_tail()}")
            else:
                assert server is not None
                raise StorageError(f"the test PostgreSQL server found no free port:\n{server._log_tail()}")
            server._running = True
            atexit.register(server.stop)
            server._run(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(server.port), "-U", _SUPERUSER, database]
            )
            return server
        except BaseException:
            if server is not None:
                server.stop()
            shutil.rmtree(root, ignore_errors=True)
            raise

    def stop(self) -> None:
        """Stop the server and remove its directory (safe to call twice)."""
        if self._running:
            self._running = False
            with contextlib.suppress(StorageError):
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------

    def _initdb(self) -> None:
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                _SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )

    def _pg_ctl_start(self) -> bool:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.root}",
                # Stated explicitly: durability tests depend on a server that really syncs.
                "-c fsync=on",
                "-c synchronous_commit=on",
                "-c full_page_writes=on",
                "-c max_connections=100",
            ]
        )
        command = [
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            str(_START_TIMEOUT),
            "start",
        ]
        try:
            self._run(command)
        except StorageError:
            return False
        return True

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _run(self, command: list[str]) -> None:
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            # PostgreSQL refuses to run as root: drop to the unprivileged user for every tool.
            kwargs.update(user=self._run_as, group=_primary_group(self._run_as), extra_groups=[])
        try:
            done = subprocess.run(
                command,
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=_START_TIMEOUT + 30,
                check=False,
                env={**os.environ, "LC_ALL": "C"},
                **kwargs,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise StorageError(f"running {Path(command[0]).name} failed: {exc}") from exc
        if done.returncode != 0:
            output = done.stderr.strip() or done.stdout.strip()
            raise StorageError(f"{Path(command[0]).name} failed with exit code {done.returncode}: {output}")


def _primary_group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def _server_user() -> str | None:
    """None when we may run the server ourselves; else the unprivileged user to run it as."""
    if os.geteuid() != 0:
        return None
    import pwd

    wanted = os.environ.get(SERVER_USER_ENV)
    for name in [wanted] if wanted else ["postgres", "nobody"]:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ConfigurationError(
        "the tests run as root and PostgreSQL refuses to run as root, but no unprivileged user "
        f"was found (tried {wanted or 'postgres, nobody'}): create one or set {SERVER_USER_ENV}"
    )


@contextlib.contextmanager
def postgres_server(*, database: str = "coplib_test") -> Iterator[str]:
    """Yield the URL of a database on a throwaway server (or on ``$COPLIB_TEST_POSTGRES_URL``)."""
    configured = os.environ.get(URL_ENV)
    if configured:
        yield configured
        return
    server = PostgresServer.start(database=database)
    try:
        yield server.url
    finally:
        server.stop()


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq's ``options`` set so that the session works in `schema`."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    setting = f"-csearch_path={schema}"
    kept = [(k, v) for k, v in query if k != "options"]
    existing = " ".join(v for k, v in query if k == "options")
    kept.append(("options", f"{existing} {setting}".strip()))
    return urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote)))


@contextlib.contextmanager
def fresh_schema(url: str, *, prefix: str = "coplib_test_") -> Iterator[str]:
    """Create an empty schema on the server at `url`, yield a URL working in it, drop it.

    Much faster than a database per test (well under a millisecond). Needs psycopg.
    """
    import psycopg

    schema = f"{prefix}{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
