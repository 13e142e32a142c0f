"""Clocks: the engine asks one for the time, so tests and simulations can control it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from coplib.domain.errors import InvalidInputError


class Clock(Protocol):
    """Anything that tells the time (timezone-aware UTC): `SystemClock`, `ManualClock`."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def ensure_utc(value: datetime, path: str = "$") -> datetime:
    """`value` in UTC; a naive datetime is refused rather than guessed."""
    if not isinstance(value, datetime):
        raise InvalidInputError.field(path, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError.field(path, f"must be timezone-aware, got the naive datetime {value.isoformat()}")
    return value.astimezone(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests and simulations. Thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start, "$.start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise InvalidInputError.field("$.delta", "a clock does not go backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> datetime:
        moment = ensure_utc(moment, "$.moment")
        with self._lock:
            if moment < self._now:
                raise InvalidInputError.field("$.moment", "a clock does not go backwards")
            self._now = moment
            return self._now
