"""Keeping memberships in step with the identity directory (`Engine.sync_directory`, on the runtime).

Run by the host as a trusted job (cron, or after its directory changed): people matching a
community's attribute rule (and of its organisations) join it, rule members who no longer
match leave, a person the directory no longer knows, or says has left the organisation, leaves
every community, and one it no longer places in a community's organisations leaves that one.
Each change is one event in its own unit of work, recorded by `coplib.SYSTEM`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs

from coplib.domain import events as ev
from coplib.domain.community import Admission, Community, LifecycleStage
from coplib.domain.errors import CoplibError, PluginError
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.domain.people import AttributeRule, Person
from coplib.domain.permissions import SYSTEM, within_organisations
from coplib.runtime import Runtime, UnitOfWork

#: Why a member the directory no longer places in any of the community's organisations leaves it.
OUTSIDE = "no longer one of the people of the community's organisations"

#: Memberships a person who left the organisation loses.
_OPEN_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.INVITED, MembershipStatus.PENDING)


@attrs.frozen
class SyncReport:
    """What a directory sync changed, as (community id, person id) pairs, each one event."""

    #: People who matched a community's rule and joined it.
    joined: tuple[tuple[str, str], ...] = ()
    #: Rule members who no longer match the rule, and left.
    left: tuple[tuple[str, str], ...] = ()
    #: Memberships (active, invited or pending) of people the directory no longer knows or
    #: says have left the organisation, ended.
    deactivated: tuple[tuple[str, str], ...] = ()
    #: Communities admitting by rule for which no identity plugin lists people: their rule
    #: members were left as they are.
    unanswered: tuple[str, ...] = ()
    #: Memberships (active, invited or pending) of people the directory no longer places in
    #: any of the community's organisations, ended.
    outside: tuple[tuple[str, str], ...] = ()

    @property
    def events(self) -> int:
        """How many events the sync recorded."""
        return len(self.joined) + len(self.left) + len(self.deactivated) + len(self.outside)


class _Directory:
    """The identity hooks, asked once per person and rule in a sync. A plugin that raises
    stops the sync with a `PluginError` before anything is decided from a wrong answer."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._people: dict[str, Person | None] = {}

    def person(self, person_id: str) -> Person | None:
        if person_id not in self._people:
            try:
                found = self._runtime.person(person_id)
            except CoplibError:
                raise
            except Exception as exc:
                raise PluginError(
                    f"the identity directory failed on {person_id!r}: {type(exc).__name__}: {exc}; "
                    "the directory sync stopped without deciding on this person"
                ) from exc
            self._people[person_id] = found if isinstance(found, Person) else None
        return self._people[person_id]

    def matching(self, community: Community, rule: AttributeRule) -> set[str] | None:
        try:
            found = self._runtime.plugin_manager.hook.coplib_find_people(rule=rule)
        except CoplibError:
            raise
        except Exception as exc:
            raise PluginError(
                f"the identity directory failed to list the people matching the rule of {community.id!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if found is None:
            return None
        # Trust, but check: only active people who match, of the community's organisations, join by rule.
        return {p.id for p in found if isinstance(p, Person) and rule.matches(p) and within_organisations(p, community)}


def sync_directory(runtime: Runtime) -> SyncReport:
    """See `Engine.sync_directory`, on the runtime. Each change commits on its own, so a sync stopped half
    way (a directory that fails) keeps what it did, and the next run does the rest."""
    directory = _Directory(runtime)
    joined: list[tuple[str, str]] = []
    left: list[tuple[str, str]] = []
    deactivated: list[tuple[str, str]] = []
    outside: list[tuple[str, str]] = []
    unanswered: list[str] = []
    for community in runtime.store.communities():
        gone: set[str] = set()
        for membership in runtime.store.members(community.id, statuses=_OPEN_STATUSES):
            person = directory.person(membership.person_id)
            if person is not None and person.active and within_organisations(person, community):
                continue
            if person is not None and person.active:
                if _leave(runtime, community.id, membership.person_id, _OPEN_STATUSES, via=None, reason=OUTSIDE):
                    outside.append((community.id, membership.person_id))
            else:
                why = "unknown to the directory" if person is None else "left the organisation"
                if _leave(runtime, community.id, membership.person_id, _OPEN_STATUSES, via=None, reason=why):
                    deactivated.append((community.id, membership.person_id))
            gone.add(membership.person_id)
        policy = community.charter.membership_policy
        if policy.admission is not Admission.RULE or policy.rule is None or community.stage is LifecycleStage.CLOSED:
            continue
        matching = directory.matching(community, policy.rule)
        if matching is None:
            unanswered.append(community.id)
            continue
        for pid in sorted(matching - gone):
            if _join_by_rule(runtime, community.id, pid):
                joined.append((community.id, pid))
        for membership in runtime.store.members(community.id):
            pid = membership.person_id
            if membership.via != "rule" or pid in matching or pid in gone:
                continue
            if _leave(
                runtime, community.id, pid, (MembershipStatus.ACTIVE,), via="rule", reason="no longer matches the rule"
            ):
                left.append((community.id, pid))
    return SyncReport(tuple(joined), tuple(left), tuple(deactivated), tuple(unanswered), tuple(outside))


def _membership(uow: UnitOfWork, community_id: str, person_id: str) -> Membership | None:
    found = uow.get(Ref("membership", membership_id(community_id, person_id)))
    return found if isinstance(found, Membership) else None


def _leave(
    runtime: Runtime,
    community_id: str,
    person_id: str,
    statuses: Sequence[MembershipStatus],
    *,
    via: str | None,
    reason: str,
) -> bool:
    """Record that `person_id` leaves, if their membership is still in `statuses` (and began
    `via`, when given): the unit of work re-reads it, so a concurrent change is respected."""

    def unit(uow: UnitOfWork) -> bool:
        current = _membership(uow, community_id, person_id)
        if current is None or current.status not in statuses or (via is not None and current.via != via):
            return False
        uow.record(ev.MemberLeft(**runtime.event_base(SYSTEM, community_id), person_id=person_id, reason=reason))
        return True

    return runtime.run(unit)


def _join_by_rule(runtime: Runtime, community_id: str, person_id: str) -> bool:
    """Record that `person_id` joins by rule, unless they are active already, were removed
    (a steward's decision a rule does not overturn) or left of their own accord."""

    def unit(uow: UnitOfWork) -> bool:
        current = _membership(uow, community_id, person_id)
        if current is not None:
            if current.active or current.status is MembershipStatus.REMOVED:
                return False
            if current.status is MembershipStatus.LEFT and _left_of_own_accord(runtime, current):
                return False
        uow.record(ev.MemberJoined(**runtime.event_base(SYSTEM, community_id), person_id=person_id, via="rule"))
        return True

    return runtime.run(unit)


def _left_of_own_accord(runtime: Runtime, membership: Membership) -> bool:
    """Whether the person themselves recorded the departure (not the sync, nor a host job):
    their own ``member_left`` event at the moment the membership changed last."""
    events = runtime.store.activity(
        membership.person_id,
        since=membership.since,
        until=membership.since + timedelta(microseconds=1),
        community_id=membership.community_id,
    )
    return any(isinstance(r.event, ev.MemberLeft) and r.event.person_id == membership.person_id for r in events)
