"""How a command that lost a race is tried again: the pauses, the bounds, the settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coplib import InvalidInputError, RetryPolicy
from coplib.domain.errors import ConcurrencyConflictError
from coplib.ports.storage import Changeset, RecordedEvent
from tests.unit.support import open_engine


@given(
    failed=st.integers(min_value=1, max_value=10_000),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_a_pause_is_never_longer_than_the_doubling_window_nor_the_maximum(failed: int, draw: float) -> None:
    policy = RetryPolicy()
    pause = policy.pause(failed, draw)

    window = 0.0 if failed == 1 else min(0.1, 0.001 * 2 ** min(failed - 2, 30))
    assert 0.0 <= pause <= window


def test_the_first_defeat_is_retried_at_once() -> None:
    assert RetryPolicy().pause(1, 0.99) == 0.0


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"attempts": 0}, "$.attempts"),
        ({"attempts": True}, "$.attempts"),
        ({"deadline": timedelta(seconds=-1)}, "$.deadline"),
        ({"max_pause": 0.1}, "$.max_pause"),
    ],
)
def test_bad_retry_settings_are_refused_naming_the_setting(settings: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        RetryPolicy(**settings)

    assert [e.path for e in caught.value.errors] == [path]


def test_a_store_that_keeps_refusing_commits_is_reported_once_the_tries_run_out() -> None:
    engine = open_engine(retry=RetryPolicy(attempts=5))
    slept: list[float] = []
    engine.runtime._sleep = slept.append
    calls = []

    def refuse(changes: Changeset) -> list[RecordedEvent]:
        calls.append(changes)
        raise ConcurrencyConflictError("organisation", "acme", 0, 1)

    engine.store.commit = refuse  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyConflictError):
        engine.create_organisation("eve", "Acme", organisation_id="acme")

    assert len(calls) == 5
    assert len(slept) == 3  # no pause after the first defeat, none after the last
    assert all(0.0 <= s <= 0.1 for s in slept)


def test_a_store_that_keeps_refusing_commits_is_reported_once_the_deadline_passes() -> None:
    engine = open_engine(retry=RetryPolicy(attempts=100_000, deadline=timedelta(0)))
    calls = []

    def refuse(changes: Changeset) -> list[RecordedEvent]:
        calls.append(changes)
        raise ConcurrencyConflictError("organisation", "acme", 0, 1)

    engine.store.commit = refuse  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyConflictError):
        engine.create_organisation("eve", "Acme", organisation_id="acme")

    assert len(calls) == 1
