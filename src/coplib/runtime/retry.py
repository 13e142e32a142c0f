"""How a unit of work that lost a race is run again: at once the first time, then after a
growing pause with full jitter, until its attempts or its deadline run out.

Several writers of one community (processes sharing a SQLite file, or PostgreSQL clients)
meet `ConcurrencyConflictError` when two units of work read the same aggregate and both
write it: the second commit is refused and nothing of it is written. Running the unit again
from scratch is always safe (it re-reads and re-decides). Pausing a random time before it
does, a little longer after each defeat ("full jitter", as AWS's architecture blog calls
it), lets racing writers drift apart instead of colliding again in lock-step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from coplib.domain.errors import InvalidInputError


def _positive_seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise InvalidInputError.field(f"$.{attribute.name}", f"must be a timedelta >= 0, got {value!r:.60}")


def _attempts(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise InvalidInputError.field(f"$.{attribute.name}", f"must be a whole number from 1 to 100000, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """When to give up on a unit of work that keeps losing races, and how long to pause
    between tries. The defaults let an ordinary contribution win against dozens of writers of
    the same question within a second or two, and still report a store that refuses every
    commit within `deadline`."""

    #: Tries in all (the first one included).
    attempts: int = attrs.field(default=100, validator=_attempts)
    #: Wall-clock time after which no new try starts.
    deadline: timedelta = attrs.field(default=timedelta(seconds=10), validator=_positive_seconds)
    #: The pause before the second try is drawn from [0, first_pause]; it doubles each time...
    first_pause: timedelta = attrs.field(default=timedelta(milliseconds=1), validator=_positive_seconds)
    #: ... up to this bound.
    max_pause: timedelta = attrs.field(default=timedelta(milliseconds=100), validator=_positive_seconds)

    def pause(self, failed_attempts: int, draw: float) -> float:
        """Seconds to wait after `failed_attempts` tries lost (`draw` in [0, 1), at random):
        none after the first defeat, so that a lone conflict costs nothing."""
        if failed_attempts <= 1:
            return 0.0
        bound = min(self.max_pause, self.first_pause * (1 << min(failed_attempts - 2, 30)))
        return float(draw) * bound.total_seconds()
