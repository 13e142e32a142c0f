"""Example counts for the property tests that fix their own: scaled by the thorough
hypothesis profile (``HYPOTHESIS_PROFILE=thorough``) like every other property test, so that a
long run is long everywhere; as written under the default and CI profiles."""

from __future__ import annotations

import os

#: How many times more examples the thorough profile runs (1,000 against the default 30: about 33).
THOROUGH_FACTOR = 33


def examples(count: int) -> int:
    """`count` examples, or `THOROUGH_FACTOR` times as many under the thorough profile."""
    thorough = os.environ.get("HYPOTHESIS_PROFILE") == "thorough" and not os.environ.get("CI")
    return count * THOROUGH_FACTOR if thorough else count
