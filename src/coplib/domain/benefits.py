"""The benefit matrix (DOMAIN.md section 4): each event type placed by who benefits (the one
concerned directly, or everyone) and when (at once, or later).

Collective benefit appears only after many contributions; without a direct, immediate
benefit only altruists contribute. Placing every event type makes both visible, per person
and per community. The placement is the host's to change.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

import attrs

from coplib.domain.errors import FieldError, InvalidInputError


class Beneficiary(enum.StrEnum):
    DIRECT = "direct"  # the one who acts, or the one the event is for
    COLLECTIVE = "collective"  # everyone: the next reader, the shared repertoire


class Horizon(enum.StrEnum):
    IMMEDIATE = "immediate"
    DEFERRED = "deferred"


@attrs.frozen
class Cell:
    """One cell of the matrix."""

    beneficiary: Beneficiary = attrs.field(converter=Beneficiary)
    horizon: Horizon = attrs.field(converter=Horizon)

    def __str__(self) -> str:
        return f"{self.beneficiary.value}/{self.horizon.value}"

    @classmethod
    def parse(cls, text: str) -> Cell:
        """``direct/immediate``, ``collective/deferred``..."""
        beneficiary, _, horizon = text.partition("/")
        try:
            return cls(Beneficiary(beneficiary.strip()), Horizon(horizon.strip()))
        except ValueError:
            raise InvalidInputError.field(
                "$", f"a cell is direct or collective, then /immediate or /deferred; got {text!r:.60}"
            ) from None


DIRECT_IMMEDIATE: Final = Cell(Beneficiary.DIRECT, Horizon.IMMEDIATE)
DIRECT_DEFERRED: Final = Cell(Beneficiary.DIRECT, Horizon.DEFERRED)
COLLECTIVE_IMMEDIATE: Final = Cell(Beneficiary.COLLECTIVE, Horizon.IMMEDIATE)
COLLECTIVE_DEFERRED: Final = Cell(Beneficiary.COLLECTIVE, Horizon.DEFERRED)
CELLS: Final = (DIRECT_IMMEDIATE, DIRECT_DEFERRED, COLLECTIVE_IMMEDIATE, COLLECTIVE_DEFERRED)

#: Where each event type sits; None marks the running of the community (organisation,
#: membership, settings, policy bookkeeping), which is no benefit in itself. Every type of
#: `coplib.domain.events.EVENT_TYPES` has a line: a test fails when a new one has none.
DEFAULT_PLACEMENT: Final[Mapping[str, Cell | None]] = {
    # an answer to my question now (and the promise of one: routed, followed up); feedback
    # and recognition now
    "answer_posted": DIRECT_IMMEDIATE,
    "question_routed": DIRECT_IMMEDIATE,
    "question_escalated": DIRECT_IMMEDIATE,
    "answer_accepted": DIRECT_IMMEDIATE,
    "contribution_endorsed": DIRECT_IMMEDIATE,
    "comment_posted": DIRECT_IMMEDIATE,
    "points_awarded": DIRECT_IMMEDIATE,
    "badge_awarded": DIRECT_IMMEDIATE,
    # my reputation grows
    "participation_level_changed": DIRECT_DEFERRED,
    "participation_level_pinned": DIRECT_DEFERRED,
    # the thread helps the next reader; meeting together
    "question_asked": COLLECTIVE_IMMEDIATE,
    "meeting_scheduled": COLLECTIVE_IMMEDIATE,
    "attendance_recorded": COLLECTIVE_IMMEDIATE,
    # the shared repertoire becomes a knowledge base
    "resource_shared": COLLECTIVE_DEFERRED,
    "experience_recorded": COLLECTIVE_DEFERRED,
    # running the community
    "organisation_created": None,
    "administrator_appointed": None,
    "administrator_withdrawn": None,
    "community_created": None,
    "community_shared": None,
    "community_unshared": None,
    "community_updated": None,
    "community_stage_changed": None,
    "charter_amended": None,
    "member_invited": None,
    "membership_requested": None,
    "membership_approved": None,
    "membership_declined": None,
    "member_joined": None,
    "member_left": None,
    "member_removed": None,
    "role_assigned": None,
    "role_withdrawn": None,
    "contribution_withdrawn": None,
    "preferences_changed": None,
    "policy_reaction_failed": None,
    "policy_reaction_recovered": None,
    "reactions_deferred": None,
    "log_followed": None,
    "points_reversed": None,
    "participation_reviewed": None,
    "watch_closed": None,
    "badge_progressed": None,
    "personal_data_erased": None,
    # editing and moderation: the care of a contribution, not a benefit of its own
    "contribution_revised": None,
    "answer_unaccepted": None,
    "thread_status_changed": None,
    "contribution_flagged": None,
    "contribution_hidden": None,
    "contribution_unhidden": None,
    "flags_dismissed": None,
    # value and launch: a value story is recognition that comes later, to those it credits
    "value_story_told": DIRECT_DEFERRED,
    "value_story_withdrawn": None,
    "value_story_revised": None,
    "community_proposed": None,
    "candidate_revised": None,
    "candidate_launched": None,
    "candidate_dropped": None,
    # lifecycle stage and decline: the policy's judgement of the community, no benefit itself
    "lifecycle_evaluated": None,
    "stage_suggested": None,
    "decline_entered": None,
    "decline_left": None,
}


@attrs.frozen
class BenefitMatrix:
    """A placement of event types in the matrix. `default()` is DOMAIN.md's; a host moves
    event types with `with_placements`."""

    placements: Mapping[str, Cell | None] = attrs.field(hash=False)

    @classmethod
    def default(cls) -> BenefitMatrix:
        return cls(dict(DEFAULT_PLACEMENT))

    def with_placements(self, changes: Mapping[str, Cell | str | None]) -> BenefitMatrix:
        """A copy with `changes` (event type -> cell, its text such as ``"direct/deferred"``,
        or None to take the type out of the matrix). Only known event types may be placed."""
        errors: list[FieldError] = []
        placements = dict(self.placements)
        for event_type, cell in changes.items():
            path = f"$.placements.{event_type}"
            if event_type not in placements:
                errors.append(FieldError(path, "unknown event type: place only the types the matrix lists"))
                continue
            try:
                placements[event_type] = Cell.parse(cell) if isinstance(cell, str) else cell
            except InvalidInputError as exc:
                errors.extend(exc.under(path).errors)
        if errors:
            raise InvalidInputError(errors, context="benefit matrix")
        return BenefitMatrix(placements)

    def cell(self, event_type: str) -> Cell | None:
        """Where `event_type` sits (None: outside the matrix, or not placed)."""
        return self.placements.get(event_type)

    def types_in(self, cell: Cell) -> tuple[str, ...]:
        return tuple(sorted(t for t, c in self.placements.items() if c == cell))

    def by_cell(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Counts per event type summed per cell (named ``direct/immediate``...)."""
        out = {str(c): 0 for c in CELLS}
        for event_type, count in counts.items():
            cell = self.cell(event_type)
            if cell is not None:
                out[str(cell)] += count
        return out
