"""The five cycles of value computed from a community's health report and three counts of the
store (docs/value-and-launch.md#cycles): apart from `coplib.domain.value`, which the health
report's own module reads."""

from __future__ import annotations

from collections.abc import Sequence

from coplib.domain.health import CommunityHealth
from coplib.domain.value import CYCLES, Cycle, ValueCycles, ValueStory, stories_in


def compute_value_cycles(
    *,
    health: CommunityHealth,
    endorsements: int,
    stories: Sequence[ValueStory],
    charter_amendments: int,
    stage_changes: int,
) -> ValueCycles:
    """The cycles of the community of `health` over its period: the immediate and potential
    cycles read the health report; `endorsements` (of contributions, in the period),
    `stories` (any: those told in the period count), `charter_amendments` and
    `stage_changes` (in the period) come from the store."""
    told = stories_in(stories, health.since, health.until)
    r, a, i = health.responsiveness, health.activity, health.interaction
    values: dict[str, dict[str, int]] = {
        "immediate": {
            "contributions": a.contributions,
            "active_contributors": a.active_contributors,
            "questions_answered": r.answered,
            "answered_within_24h": r.answered_within_24h,
            "help_pairs": i.help_pairs,
        },
        "potential": {
            "answers": a.answers,
            "repertoire_items": a.repertoire,
            "new_contributors": a.new_contributors,
            "gave_and_received": i.gave_and_received,
        },
        "applied": {
            "accepted_answers": r.accepted,
            "endorsements": endorsements,
            "contributions_reused": len({(c.kind, c.id) for s in told for c in s.contributions}),
        },
        "realised": {
            "value_stories": len(told),
            "storytellers": len({s.author_id for s in told}),
            "people_credited": len(frozenset().union(*(s.credited for s in told))),
        },
        "reframing": {"charter_amendments": charter_amendments, "stage_changes": stage_changes},
    }
    return ValueCycles(
        community_id=health.community_id,
        since=health.since,
        until=health.until,
        cycles=tuple(Cycle(name, values[name]) for name in CYCLES),
    )
