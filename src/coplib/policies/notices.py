"""Membership and answer notices: tell people at once what concerns them."""

from __future__ import annotations

from collections.abc import Iterable

from coplib.domain import events as ev
from coplib.domain.community import Community, Organisation, Role
from coplib.domain.contributions import Question
from coplib.domain.history import Ref
from coplib.domain.moderation import Flag
from coplib.domain.permissions import GATEKEEPERS
from coplib.ports.hookspecs import hookimpl
from coplib.ports.notification import MessageDraft
from coplib.ports.storage import Store


def _community_name(store: Store, community_id: str | None) -> str:
    if community_id is None:
        return ""
    found = store.get(Ref("community", community_id))
    return found.value.name if found and isinstance(found.value, Community) else community_id


def _organisation_name(store: Store, organisation_id: str) -> str:
    found = store.get(Ref("organisation", organisation_id))
    return found.value.name if found and isinstance(found.value, Organisation) else organisation_id


def _sharing_notices(
    event: ev.CommunityShared | ev.CommunityUnshared, store: Store, base: dict[str, str]
) -> list[MessageDraft]:
    """The community's facilitators and the administrators of the organisation it is (no
    longer) shared with learn of it; whoever did it is not told."""
    topic = "community_shared" if isinstance(event, ev.CommunityShared) else "community_unshared"
    told: set[str] = set()
    if event.community_id:
        told.update(m.person_id for m in store.members(event.community_id, role=Role.FACILITATOR))
    found = store.get(Ref("organisation", event.organisation_id))
    if found and isinstance(found.value, Organisation):
        told.update(found.value.administrators)
    told.discard(event.actor_id)
    params = {**base, "organisation": _organisation_name(store, event.organisation_id)}
    return [MessageDraft(pid, topic, params) for pid in sorted(told)]


def _question_title(store: Store, question_id: str) -> str:
    found = store.get(Ref("question", question_id))
    return found.value.title if found and isinstance(found.value, Question) else question_id


def _flag_outcomes(
    store: Store, flag_ids: Iterable[str], outcome: str, note: str, base: dict[str, str]
) -> list[MessageDraft]:
    found = store.get_many([Ref("flag", f) for f in flag_ids])
    people = sorted({stored.value.author_id for stored in found.values() if isinstance(stored.value, Flag)})
    topic = "flag_upheld" if outcome == "upheld" else "flag_dismissed"
    return [MessageDraft(pid, topic, {**base, "note": note}) for pid in people]


class Notices:
    """The default notices. Replace or block this plugin (name ``coplib.notices``) to change them."""

    @hookimpl(trylast=True)
    def coplib_compose_messages(self, event: ev.DomainEvent, store: Store) -> Iterable[MessageDraft]:
        community = _community_name(store, event.community_id)
        base = {"community": community, "actor": event.actor_id}
        match event:
            case ev.MemberInvited():
                return [MessageDraft(event.person_id, "member_invited", base)]
            case ev.MembershipRequested() if event.community_id:
                gatekeepers: set[str] = set()
                for role in sorted(GATEKEEPERS):
                    gatekeepers.update(m.person_id for m in store.members(event.community_id, role=Role(role)))
                return [
                    MessageDraft(pid, "membership_requested", {**base, "person": event.person_id})
                    for pid in sorted(gatekeepers)
                ]
            case ev.MembershipApproved():
                return [MessageDraft(event.person_id, "membership_approved", base)]
            case ev.MembershipDeclined():
                return [MessageDraft(event.person_id, "membership_declined", {**base, "reason": event.reason})]
            case ev.RoleAssigned() if event.role is not Role.MEMBER and event.actor_id != event.person_id:
                return [MessageDraft(event.person_id, "role_assigned", {**base, "role": event.role.value})]
            case ev.AnswerPosted() if event.asker_id != event.actor_id:
                title = _question_title(store, event.question_id)
                return [MessageDraft(event.asker_id, "answer_posted", {**base, "title": title})]
            case ev.AnswerAccepted() if event.answer_author_id != event.actor_id:
                title = _question_title(store, event.question_id)
                return [MessageDraft(event.answer_author_id, "answer_accepted", {**base, "title": title})]
            case ev.AdministratorAppointed() | ev.AdministratorWithdrawn() if event.actor_id != event.person_id:
                topic = event.TYPE
                organisation = _organisation_name(store, event.organisation_id)
                return [MessageDraft(event.person_id, topic, {**base, "organisation": organisation})]
            case ev.CommunityShared() | ev.CommunityUnshared():
                return _sharing_notices(event, store, base)
            # editing and moderation: the author of a hidden contribution is told why; the
            # authors of the flags reviewed are told the outcome
            case ev.ContributionHidden():
                kind = event.contribution_kind.value
                drafts = [
                    MessageDraft(event.author_id, "contribution_hidden", {**base, "kind": kind, "reason": event.reason})
                ]
                return drafts + _flag_outcomes(store, event.flag_ids, "upheld", event.reason, base)
            case ev.FlagsDismissed():
                return _flag_outcomes(store, event.flag_ids, "dismissed", event.note, base)
            case ev.ContributionFlagged() if event.community_id:
                facilitators = sorted(m.person_id for m in store.members(event.community_id, role=Role.FACILITATOR))
                params = {**base, "kind": event.contribution_kind.value, "reason": event.reason}
                return [
                    MessageDraft(pid, "contribution_flagged", params) for pid in facilitators if pid != event.actor_id
                ]
        return []
