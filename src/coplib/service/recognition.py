"""Recognition, read: a member's points and badges, for whoever may read the community. The
recognition and badges policies (`coplib.policies`) keep them as members act."""

from __future__ import annotations

from coplib.domain.recognition import PointsBalance
from coplib.policies import badges as _badges
from coplib.policies import recognition as _recognition
from coplib.service._base import UseCases, check_id


class RecognitionReads(UseCases):
    """Points and badges, each read through the permission decision point."""

    def points_balance(self, viewer: str, community_id: str, person_id: str) -> PointsBalance | None:
        """A person's points in a community (None before their first points)."""
        ctx = "points_balance"
        pid = check_id("$.person_id", person_id, ctx)
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        return _recognition.balance(self._store, community.id, pid)

    def points_balances(self, viewer: str, community_id: str) -> list[PointsBalance]:
        """Every balance of a community, highest first."""
        community = self._community(community_id, "points_balances")
        self._readable(check_id("$.viewer", viewer, "points_balances"), community)
        return _recognition.balances(self._store, community.id)

    def badges_of(self, viewer: str, community_id: str, person_id: str) -> list[str]:
        """The badges a person holds in a community, in the order earned."""
        ctx = "badges_of"
        pid = check_id("$.person_id", person_id, ctx)
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        return _badges.badges_of(self._store, community.id, pid)
