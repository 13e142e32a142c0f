"""The portfolio of an organisation (docs/value-and-launch.md#portfolio): its communities ranked
by health, the declining ones first, and the communities recommended to a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar, cast

from coplib.domain import validation as v
from coplib.domain.community import Admission, Community
from coplib.domain.contributions import Answer, Question
from coplib.domain.errors import CoplibError, NotFoundError
from coplib.domain.health import CommunityHealth
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, membership_id
from coplib.domain.permissions import Action
from coplib.domain.portfolio import (
    SHARED_ATTRIBUTES,
    CommunityProfile,
    PortfolioEntry,
    Recommendation,
    declining_of,
    rank_portfolio,
    recommend,
    stage_of,
)
from coplib.ports.storage import Filter
from coplib.service._base import UseCases, check_id
from coplib.service.health import HealthReads

__all__ = ["PortfolioReads"]

#: How many of a person's own questions and answers the recommendation reads, the most recent
#: first, and how many members of each community it reads the directory entries of.
RECENT_MAX = 500
MEMBERS_MAX = 500
#: The kinds whose tags say what a person works on.
_TAGGED = ("question", "resource", "experience", "meeting")


class PortfolioReads(UseCases):
    """The portfolio's health and recommendations, as engine methods."""

    #: Whether a community's report says it is declining: the one place the ranking reads the
    #: decline signal from (`coplib.domain.portfolio.declining_of` by default).
    _decline_signal: ClassVar[Callable[[CommunityHealth], bool]] = staticmethod(declining_of)

    def portfolio_health(
        self,
        viewer: str,
        organisation_id: str,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
    ) -> list[PortfolioEntry]:
        """The communities of the organisation's portfolio that the viewer may read, ranked:
        the declining ones first, then by health index (highest first), each with its stage
        (the one its lifecycle shows: the suggestion, or the confirmed stage) and report. An
        organisation the viewer may not know of is unknown."""
        health = cast("HealthReads", self)
        reports = health.health_reports(viewer, organisation_id, since=since, until=until)
        found = self._store.get_many([Ref("community", r.community_id) for r in reports]) if reports else {}
        communities = {s.value.id: s.value for s in found.values() if isinstance(s.value, Community)}
        return rank_portfolio(
            PortfolioEntry(
                community_id=r.community_id,
                name=r.name,
                stage=stage_of(r, communities[r.community_id]),
                index=r.index,
                declining=type(self)._decline_signal(r),
                health=r,
            )
            for r in reports
        )

    def recommend_communities(
        self, viewer: str, person_id: str, *, organisation_id: str | None = None, limit: int = 10
    ) -> list[Recommendation]:
        """Communities for a person to join (the person themselves reads them), each with its
        reasons: from the directory's attributes (department, site, job, skills, the charter's
        membership rule) and from what they do (the tags of their contributions, the people
        they helped or who helped them). Only communities the person may see, is not in, and
        that are not closed; of `organisation_id`'s portfolio when given."""
        ctx = "recommend_communities"
        viewer = check_id("$.viewer", viewer, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        v.check_limit(limit, ctx)
        self.runtime.authorise(None, Action.READ_RECOMMENDATIONS, viewer, None, owner_id=pid)
        person = self.person(pid)
        if person is None:
            raise NotFoundError("person", pid)
        if organisation_id is not None:
            organisation = self._organisation(organisation_id, ctx)
            self._authorise_in_organisation(None, Action.SEE_ORGANISATION, pid, organisation)
            shared = self._store.get_many([Ref("community", c) for c in sorted(organisation.shared_communities)])
            pool: list[Any] = [*self._store.communities(organisation.id), *(s.value for s in shared.values())]
        else:
            pool = list(self._store.communities(None))
        profiles = []
        for community in pool:
            if not isinstance(community, Community) or community.closed:
                continue
            try:
                self._readable(pid, community, Action.SEE)
            except CoplibError:
                continue
            found = self._store.get(Ref("membership", membership_id(community.id, pid)))
            if found is not None and isinstance(found.value, Membership):
                continue  # a member, invited, pending, or one who left or was removed: not news
            profiles.append(self._profile(community))
        return recommend(
            person, profiles, contribution_tags=self._tags_of(pid), partners=self._partners_of(pid), limit=limit
        )

    def _profile(self, community: Community) -> CommunityProfile:
        members = self._store.members(community.id)
        attributes: dict[str, dict[str, int]] = {a: {} for a in SHARED_ATTRIBUTES}
        for membership in members[:MEMBERS_MAX]:
            member = self.person(membership.person_id)
            if member is None:
                continue
            for attribute in SHARED_ATTRIBUTES:
                for value in set(member.attribute(attribute)):
                    attributes[attribute][value] = attributes[attribute].get(value, 0) + 1
        policy = community.charter.membership_policy
        return CommunityProfile(
            community_id=community.id,
            name=community.name,
            tags=community.tags,
            rule=policy.rule if policy.admission is Admission.RULE else None,
            members=frozenset(m.person_id for m in members),
            member_attributes=attributes,
        )

    def _tags_of(self, person_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for kind in _TAGGED:
            for item in self._store.find(kind, Filter(person_id=person_id))[-RECENT_MAX:]:
                if getattr(item, "withdrawn", False):
                    continue
                for tag in getattr(item, "tags", ()):
                    counts[tag] = counts.get(tag, 0) + 1
        return counts

    def _partners_of(self, person_id: str) -> frozenset[str]:
        """The people `person_id` answered, and those who answered them."""
        partners: set[str] = set()
        answers = [a for a in self._store.find("answer", Filter(person_id=person_id)) if isinstance(a, Answer)]
        asked = self._store.get_many([Ref("question", a.question_id) for a in answers[-RECENT_MAX:]])
        partners.update(q.value.author_id for q in asked.values() if isinstance(q.value, Question))
        questions = self._store.find("question", Filter(person_id=person_id))[-RECENT_MAX:]
        for question in questions:
            partners.update(
                a.author_id
                for a in self._store.find("answer", Filter(parent_id=question.id))
                if isinstance(a, Answer) and not a.withdrawn
            )
        partners.discard(person_id)
        return frozenset(partners)
