"""Shared fixtures for coplib's own test suite."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from coplib.domain.errors import CoplibError

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database on the session's throwaway PostgreSQL server (or ``$COPLIB_TEST_POSTGRES_URL``).

    A server that cannot start fails the PostgreSQL tests: they are never skipped.
    """
    from coplib.testing.pgserver import postgres_server

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except CoplibError as exc:
            pytest.fail(f"the PostgreSQL test server could not start: {exc}", pytrace=False)
        yield url


@pytest.fixture(scope="session")
def _postgres_admin(postgres_url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def fresh_postgres_url(postgres_url: str, _postgres_admin: Any) -> Iterator[str]:
    """A URL whose sessions work in a new, empty schema, dropped after the test (a schema
    costs well under a millisecond where a database costs tens)."""
    from coplib.testing.pgserver import with_search_path

    schema = f"coplib_test_{uuid.uuid4().hex[:16]}"
    _postgres_admin.execute(f'CREATE SCHEMA "{schema}"')
    yield with_search_path(postgres_url, schema)
    _postgres_admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


# -- CI guard: the PostgreSQL suite must have run ------------------------------------------------

_postgres_passed = 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Mark the report of a test that was handed the server (it asked for `postgres_url`,
    directly or through another fixture): only those count for the guard below. A report's
    user properties travel from an xdist worker to the controller."""
    report = yield
    if "postgres_url" in getattr(item, "fixturenames", ()):
        report.user_properties.append(("used_postgres", True))
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    if report.when == "call" and report.passed and ("used_postgres", True) in report.user_properties:
        _postgres_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, a run in which no test that used the PostgreSQL server passed is a failure,
    whatever else happened and whatever was selected (``-m``, ``-k``, paths): a missing server,
    or a command that leaves the PostgreSQL tests out, must never turn into a green run."""
    if not os.environ.get("CI") or hasattr(session.config, "workerinput"):
        return  # only the controller of a CI run decides
    if _postgres_passed == 0 and session.testscollected > 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nCI: no test that used the PostgreSQL server passed in this run: the PostgreSQL suite must run in CI")
