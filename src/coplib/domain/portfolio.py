"""The portfolio of an organisation (seeds/004): its communities ranked by health, the declining
ones first, and the communities recommended to a person, each recommendation with its reasons
("the multiplicity of communities lets each person find theirs"). Pure: the engine gathers the
facts (docs/value-and-launch.md#portfolio).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from coplib.domain.community import Community, LifecycleStage
from coplib.domain.health import CommunityHealth
from coplib.domain.lifecycle import LifecycleReport
from coplib.domain.people import AttributeRule, Person

# -- ranking by health ---------------------------------------------------------------------------


def stage_of(report: CommunityHealth, community: Community) -> LifecycleStage:
    """The stage to show for a community: its lifecycle's (the suggested stage, or the
    confirmed one for a closed community or before the first complete month) when the report
    carries one, else the stage set on the community."""
    lifecycle = report.lifecycle
    return lifecycle.stage if isinstance(lifecycle, LifecycleReport) else community.stage


def declining_of(report: CommunityHealth) -> bool:
    """Whether the report says the community is running out of steam: the decline detector's
    state at the end of its history (`coplib.domain.lifecycle.LifecycleReport.declining`),
    False when the report carries no lifecycle. This is the one place the portfolio reads the
    decline signal from."""
    lifecycle = report.lifecycle
    return isinstance(lifecycle, LifecycleReport) and lifecycle.declining


@attrs.frozen
class PortfolioEntry:
    """One community of the portfolio: its stage as set on the community, its health index
    over the period, whether it is declining, and the report itself."""

    community_id: str
    name: str
    stage: LifecycleStage
    index: float | None
    declining: bool
    health: CommunityHealth = attrs.field(eq=False, repr=False)


def rank_portfolio(entries: Iterable[PortfolioEntry]) -> list[PortfolioEntry]:
    """The declining communities first; within each group the highest health index first (a
    community without an index last), then by name and id: a total, stable order."""
    return sorted(
        entries,
        key=lambda e: (not e.declining, e.index is None, -(e.index or 0.0), e.name, e.community_id),
    )


# -- recommendations -----------------------------------------------------------------------------

#: The directory attributes whose shared values suggest a community (docs/value-and-launch.md).
SHARED_ATTRIBUTES: Final = ("department", "site", "job")
#: The directory attribute whose values are compared with a community's tags.
SKILLS: Final = "skills"
#: Each kind of reason counts at most this many items (tags, members, people).
ITEMS_MAX: Final = 3


@attrs.frozen
class RecommendationReason:
    """Why a community is recommended: a stable `code`, its `weight` in the score, and the
    sentence shown to the person, by locale."""

    code: str
    weight: int
    text: Mapping[str, str] = attrs.field(hash=False)


@attrs.frozen
class Recommendation:
    """A community recommended to a person: its score (the sum of its reasons' weights) and reasons."""

    community_id: str
    name: str
    score: int
    reasons: tuple[RecommendationReason, ...]


@attrs.frozen
class CommunityProfile:
    """What the recommendation reads of one community the person may see and is not in:
    its tags, its membership rule, its active members and the directory attributes of those
    members (attribute -> value -> how many members hold it)."""

    community_id: str
    name: str
    tags: frozenset[str]
    rule: AttributeRule | None
    members: frozenset[str]
    member_attributes: Mapping[str, Mapping[str, int]] = attrs.field(hash=False)


def as_tag(text: str) -> str:
    """A directory value compared with tags: lower case, spaces as hyphens."""
    return "-".join(text.strip().lower().split())


def _listing(items: Sequence[str]) -> str:
    return ", ".join(items[:ITEMS_MAX])


def reasons_for(
    person: Person, profile: CommunityProfile, *, contribution_tags: Mapping[str, int], partners: frozenset[str]
) -> tuple[RecommendationReason, ...]:
    """Why `profile` fits `person`, from the directory's attributes and from what the person
    does: the tags of their contributions (tag -> how many) and the people they helped or who
    helped them (`partners`)."""
    out: list[RecommendationReason] = []
    if profile.rule is not None and profile.rule.matches(person):
        out.append(
            RecommendationReason(
                "membership_rule",
                5,
                {
                    "en": "you match its membership rule: it is meant for people like you",
                    "fr": "vous correspondez à sa règle d'adhésion : elle s'adresse à des personnes comme vous",
                },
            )
        )
    skills = sorted({as_tag(s) for s in person.attribute(SKILLS)} & profile.tags)
    if skills:
        out.append(
            RecommendationReason(
                "skills",
                2 * min(len(skills), ITEMS_MAX),
                {
                    "en": f"its topics match your skills: {_listing(skills)}",
                    "fr": f"ses thèmes rejoignent vos compétences : {_listing(skills)}",
                },
            )
        )
    topics = sorted(set(contribution_tags) & profile.tags, key=lambda t: (-contribution_tags[t], t))
    if topics:
        out.append(
            RecommendationReason(
                "contribution_tags",
                2 * min(len(topics), ITEMS_MAX),
                {
                    "en": f"you already contribute on {_listing(topics)}",
                    "fr": f"vous contribuez déjà sur {_listing(topics)}",
                },
            )
        )
    for attribute in SHARED_ATTRIBUTES:
        held = profile.member_attributes.get(attribute, {})
        for value in person.attribute(attribute):
            count = held.get(value, 0)
            if count:
                out.append(
                    RecommendationReason(
                        f"same_{attribute}",
                        min(count, ITEMS_MAX),
                        {
                            "en": f"{count} member(s) share your {attribute} ({value})",
                            "fr": f"{count} membre(s) partagent votre {_FRENCH[attribute]} ({value})",
                        },
                    )
                )
    known = partners & profile.members
    if known:
        out.append(
            RecommendationReason(
                "people_you_work_with",
                2 * min(len(known), ITEMS_MAX),
                {
                    "en": f"{len(known)} person(s) you helped or who helped you are members",
                    "fr": f"{len(known)} personne(s) que vous avez aidées ou qui vous ont aidé en sont membres",
                },
            )
        )
    return tuple(out)


_FRENCH: Final = {"department": "service", "site": "site", "job": "métier"}


def recommend(
    person: Person,
    profiles: Iterable[CommunityProfile],
    *,
    contribution_tags: Mapping[str, int],
    partners: frozenset[str],
    limit: int = 10,
) -> list[Recommendation]:
    """The communities among `profiles` with at least one reason, best score first (then by
    name and id), at most `limit`."""
    found = []
    for profile in profiles:
        reasons = reasons_for(person, profile, contribution_tags=contribution_tags, partners=partners)
        if reasons:
            found.append(Recommendation(profile.community_id, profile.name, sum(r.weight for r in reasons), reasons))
    found.sort(key=lambda r: (-r.score, r.name, r.community_id))
    return found[:limit]
