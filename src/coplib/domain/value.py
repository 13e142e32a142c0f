"""The value a community creates: value stories, and the five cycles of value of Wenger,
Trayner & de Laat (2011), each with indicators from what coplib records (docs/value-and-launch.md).

A **value story** is a member's account of a result in their work that contributions of the
community made possible ("the answer about the press saved two days of downtime"): it links
those contributions to the result, and is the evidence of the *realised* cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from coplib.domain import validation as v
from coplib.domain.contributions import ContributionKind
from coplib.domain.errors import InvalidInputError

#: The kinds of contribution a value story may credit (an endorsement is a vote, not help).
LINKABLE_KINDS: Final = (
    ContributionKind.QUESTION,
    ContributionKind.ANSWER,
    ContributionKind.COMMENT,
    ContributionKind.RESOURCE,
    ContributionKind.EXPERIENCE,
    ContributionKind.MEETING,
)
#: How many contributions one story links at most.
STORY_CONTRIBUTIONS_MAX: Final = 20
#: The result a story tells: free text over lines, within the short-text bound.
RESULT_TEXT: Final = v.text(max_chars=v.SHORT_TEXT_MAX, multiline=True)


@attrs.frozen
class LinkedContribution:
    """One contribution a value story credits: its kind, id and author."""

    kind: ContributionKind = attrs.field(validator=attrs.validators.in_(LINKABLE_KINDS))
    id: str = attrs.field(validator=v.identifier)
    author_id: str = attrs.field(validator=v.identifier)


def linked_contributions(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.members_of(LinkedContribution, max_count=STORY_CONTRIBUTIONS_MAX)(_, attribute, value)
    if not value:
        raise InvalidInputError.field(f"$.{attribute.name}", "a value story links at least one contribution")
    seen: set[tuple[ContributionKind, str]] = set()
    for i, item in enumerate(value):
        key = (item.kind, item.id)
        if key in seen:
            raise InvalidInputError.field(f"$.{attribute.name}[{i}]", f"links {item.kind.value} {item.id!r} twice")
        seen.add(key)


@attrs.frozen
class ValueStory:
    """A member's account (`author_id`, the teller) of a `result` in their work, crediting
    contributions of the same community."""

    id: str = attrs.field(validator=v.identifier)
    community_id: str = attrs.field(validator=v.identifier)
    author_id: str = attrs.field(validator=v.identifier)
    contributions: tuple[LinkedContribution, ...] = attrs.field(converter=v.to_tuple, validator=linked_contributions)
    result: str = attrs.field(validator=RESULT_TEXT)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    #: Taken back by its teller or a facilitator: it counts no more, and credits nobody.
    withdrawn: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    @property
    def credited(self) -> frozenset[str]:
        """The authors of the linked contributions other than the teller: who helped."""
        return frozenset(c.author_id for c in self.contributions) - {self.author_id}


# -- the five cycles ---------------------------------------------------------------------------

#: The cycles, in the order of the framework: from activity to the rethinking of the practice.
CYCLES: Final = ("immediate", "potential", "applied", "realised", "reframing")

#: What each cycle means, and the indicators it reads (docs/value-and-launch.md#cycles).
MEANINGS: Final[Mapping[str, str]] = {
    "immediate": "activities and interactions worth having in themselves: help asked for and given now",
    "potential": "knowledge capital that may be used later: threads, the shared repertoire, new relations",
    "applied": "knowledge capital put to use: answers accepted, contributions vouched for or reused",
    "realised": "results in people's work that they trace back to the community: value stories",
    "reframing": "the community and its sponsors rethink what success is: charter amendments, stage changes",
}
INDICATORS: Final[Mapping[str, tuple[str, ...]]] = {
    "immediate": ("contributions", "active_contributors", "questions_answered", "answered_within_24h", "help_pairs"),
    "potential": ("answers", "repertoire_items", "new_contributors", "gave_and_received"),
    "applied": ("accepted_answers", "endorsements", "contributions_reused"),
    "realised": ("value_stories", "storytellers", "people_credited"),
    "reframing": ("charter_amendments", "stage_changes"),
}


@attrs.frozen
class Cycle:
    """One cycle of value over the period: its indicators (counts) and whether any shows
    evidence (a count above zero)."""

    name: str
    indicators: Mapping[str, int] = attrs.field(hash=False)

    @property
    def evidence(self) -> bool:
        return any(count > 0 for count in self.indicators.values())


@attrs.frozen
class ValueCycles:
    """The five cycles of one community over [since, until)."""

    community_id: str
    since: datetime | None
    until: datetime
    cycles: tuple[Cycle, ...]

    def cycle(self, name: str) -> Cycle:
        return next(c for c in self.cycles if c.name == name)

    @property
    def reached(self) -> tuple[str, ...]:
        """The cycles that show evidence, in the framework's order."""
        return tuple(c.name for c in self.cycles if c.evidence)


def stories_in(stories: Iterable[ValueStory], since: datetime | None, until: datetime) -> list[ValueStory]:
    """The stories told in [since, until)."""
    return [s for s in stories if (since is None or s.created_at >= since) and s.created_at < until]
