"""The answer guarantee, a built-in policy: "ask, and you get a fast answer" (seeds/000).

A new question goes at once to the experts of its tags (else the community's experts, else
its facilitators) and the asker is told to whom; while nobody answers, the question climbs
the community's escalation ladder, one event and a few messages per step. Facilitators
follow the help space through `watch_list`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from coplib.domain import events as ev
from coplib.domain.community import Community, Role
from coplib.domain.contributions import ContributionKind, Question, ThreadStatus
from coplib.domain.errors import FieldError, InvalidInputError, NotFoundError
from coplib.domain.guarantee import (
    EXPERTS,
    POLICY_NAME,
    CloseReason,
    GuaranteeSettings,
    Route,
    Step,
    Watch,
    settings_errors,
)
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.ports.hookspecs import hookimpl
from coplib.ports.policy import POLICY_ACTOR, BasePolicy, Policy, PolicyContext, SettingsMemo

__all__ = [
    "AnswerGuarantee",
    "AnswerGuaranteePlugin",
    "guarantee_settings",
]

log = logging.getLogger("coplib.policies.guarantee")

#: Message topics of the guarantee (texts in `coplib.notification.messages.CATALOGUE`).
TOPICS = (
    "question_routed",
    "question_unrouted",
    "question_for_expert",
    "question_for_facilitator",
    "question_reminder",
    "question_escalated",
    "question_still_waiting",
)


def guarantee_settings(community: Community) -> GuaranteeSettings:
    """The community's answer guarantee as its charter sets it (defaults for what it leaves
    out). Settings that cannot be read (a charter stored before they were checked) give the
    defaults, with a warning on the ``coplib.policies.guarantee`` logger."""
    return _read_settings(community.charter.policy_settings.get(POLICY_NAME, {}))


def _read_settings(settings: Mapping[str, str]) -> GuaranteeSettings:
    try:
        return GuaranteeSettings.parse(settings)
    except InvalidInputError as exc:
        log.warning("unreadable %s settings %s, using the defaults: %s", POLICY_NAME, dict(settings), exc)
        return GuaranteeSettings.parse({})


def _spread(question_id: str, person_id: str) -> str:
    # A stable order that differs from question to question, so that equally good experts
    # share the questions rather than the first by name getting them all.
    return hashlib.sha256(f"{question_id}\x00{person_id}".encode()).hexdigest()


def _fields(ctx: PolicyContext, community_id: str) -> dict[str, Any]:
    """The common fields of an event this policy records now (`PolicyContext.event_fields`,
    typed for the event constructors)."""
    return {"id": ctx.new_id(), "actor_id": POLICY_ACTOR, "community_id": community_id, "occurred_at": ctx.now}


def _hours(delta: timedelta) -> str:
    return str(round(delta.total_seconds() / 3600))


class AnswerGuarantee(BasePolicy):
    """Routes each question to its experts at once, and escalates it up the community's
    ladder while it stays unanswered (settings: `coplib.domain.guarantee.SETTINGS`)."""

    name = POLICY_NAME
    interests = frozenset(
        {
            ev.QuestionAsked,
            ev.AnswerPosted,
            ev.ContributionWithdrawn,
            # editing and moderation: a retagged question is routed again; a closed, locked or
            # hidden one is watched no more, until it is reopened or shown again
            ev.ContributionRevised,
            ev.ThreadStatusChanged,
            ev.ContributionHidden,
            ev.ContributionUnhidden,
        }
    )
    #: How many due watches one tick takes on; the others wait for the next tick.
    batch = 200

    def __init__(self) -> None:
        self._read = SettingsMemo(_read_settings)  # a charter's settings are parsed once (and warned about once)

    def interested_in(self, event: ev.DomainEvent) -> bool:
        if isinstance(event, (ev.ContributionWithdrawn, ev.ContributionHidden, ev.ContributionUnhidden)):
            return event.contribution_kind is ContributionKind.QUESTION
        if isinstance(event, ev.ContributionRevised):
            return event.contribution_kind is ContributionKind.QUESTION and event.changed.tags is not None
        return type(event) in self.interests

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        return settings_errors(settings)

    def _settings(self, community: Community) -> GuaranteeSettings:
        return self._read(community.charter.policy_settings.get(POLICY_NAME, {}))

    # -- reactions ------------------------------------------------------------------------------

    def reads(self, event: ev.DomainEvent) -> Iterable[Ref]:
        match event:
            case ev.QuestionAsked() | ev.AnswerPosted():
                return [Ref("answer_watch", event.question_id), Ref("question", event.question_id)]
            case ev.ContributionWithdrawn() | ev.ContributionHidden():
                return [Ref("answer_watch", event.contribution_id)]
            case ev.ContributionRevised() | ev.ContributionUnhidden():
                return [Ref("answer_watch", event.contribution_id), Ref("question", event.contribution_id)]
            case ev.ThreadStatusChanged():
                return [Ref("answer_watch", event.question_id), Ref("question", event.question_id)]
        return ()

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        match event:
            case ev.QuestionAsked():
                self._route(ctx, event)
            case ev.AnswerPosted():
                self._close(ctx, event.question_id, CloseReason.ANSWERED)
            case ev.ContributionWithdrawn():
                self._close(ctx, event.contribution_id, CloseReason.WITHDRAWN)
            case ev.ContributionRevised():
                self._reroute(ctx, event)
            case ev.ThreadStatusChanged() if event.status is ThreadStatus.OPEN:
                self._resume(ctx, event.question_id, event.id)
            case ev.ThreadStatusChanged():
                self._close(ctx, event.question_id, CloseReason.MODERATED)
            case ev.ContributionHidden():
                self._close(ctx, event.contribution_id, CloseReason.MODERATED)
            case ev.ContributionUnhidden():
                self._resume(ctx, event.contribution_id, event.id)

    def _resume(self, ctx: PolicyContext, question_id: str, cause: str) -> None:
        """A thread reopened, or a question shown again, that still waits for its answer: its
        watch, closed by the moderation, starts over (routed anew, the ladder from its first
        step, due from now), and the experts chosen are told again."""
        question = ctx.get(Ref("question", question_id))
        watch = ctx.get(Ref("answer_watch", question_id))
        if not isinstance(question, Question) or not question.open:
            return
        if not isinstance(watch, Watch) or watch.closed_because is not CloseReason.MODERATED:
            return  # never watched (the policy was off), still watched, or ended for another reason
        community = ctx.community(question.community_id)
        if community is None:
            raise NotFoundError("community", question.community_id)
        if community.closed or not ctx.enabled(community.id):
            return
        settings = self._settings(community)
        chosen, route = self._choose(ctx, community.id, question.author_id, question.tags, question.id, settings)
        routed = self._record_routing(ctx, community, question, chosen, route, settings.due_at(ctx.now, 0))
        topic = "question_for_facilitator" if route is Route.FACILITATORS else "question_for_expert"
        params = {
            "community": community.name,
            "title": question.title,
            "asker": self._names(ctx, [question.author_id]),
            "tags": ", ".join(sorted(question.tags)),
        }
        for person_id in chosen:
            ctx.message(
                person_id,
                topic,
                params,
                key=f"{question.id}:resumed:{cause}",
                community_id=community.id,
                event_id=routed.id,
            )

    def _reroute(self, ctx: PolicyContext, event: ev.ContributionRevised) -> None:
        """A retagged question still waiting for its answer goes to the experts of its new
        tags: the watch keeps its ladder (steps taken, next step due), the experts change, and
        the new ones are told."""
        question = ctx.get(Ref("question", event.contribution_id))
        watch = ctx.get(Ref("answer_watch", event.contribution_id))
        if not isinstance(question, Question) or not question.open:
            return
        if not isinstance(watch, Watch) or not watch.open:
            return
        community = ctx.community(question.community_id)
        if community is None:
            raise NotFoundError("community", question.community_id)
        settings = self._settings(community)
        chosen, route = self._choose(ctx, community.id, question.author_id, question.tags, question.id, settings)
        if chosen == watch.experts and route is watch.route:
            return
        routed = self._record_routing(ctx, community, question, chosen, route, watch.due_at)
        asker = self._names(ctx, [question.author_id])
        topic = "question_for_facilitator" if route is Route.FACILITATORS else "question_for_expert"
        params = {"community": community.name, "title": question.title, "asker": asker}
        for person_id in chosen:
            if person_id in watch.experts:
                continue  # told already when first routed
            ctx.message(
                person_id,
                topic,
                {**params, "tags": ", ".join(sorted(question.tags))},
                key=f"{question.id}:rerouted:{event.revision}",
                community_id=community.id,
                event_id=routed.id,
            )

    @staticmethod
    def _record_routing(
        ctx: PolicyContext,
        community: Community,
        question: Question,
        chosen: tuple[str, ...],
        route: Route,
        due_at: datetime | None,
    ) -> ev.QuestionRouted:
        """Record that `question` is routed to `chosen` (a new watch, or its watch routed again)."""
        routed = ev.QuestionRouted(
            **_fields(ctx, community.id),
            question_id=question.id,
            asker_id=question.author_id,
            asked_at=question.created_at,
            experts=chosen,
            route=route,
            due_at=due_at,
        )
        ctx.record(routed)
        return routed

    def _route(self, ctx: PolicyContext, event: ev.QuestionAsked) -> None:
        community = ctx.community(event.community_id)
        if community is None:
            raise NotFoundError("community", event.community_id or "")
        question = ctx.get(Ref("question", event.question_id))
        if not isinstance(question, Question) or not question.open:
            return  # a retried routing, and the question was answered or withdrawn meanwhile
        settings = self._settings(community)
        chosen, route = self._choose(ctx, community.id, event.actor_id, event.tags, event.question_id, settings)
        routed = self._record_routing(ctx, community, question, chosen, route, settings.due_at(event.occurred_at, 0))
        params = {"community": community.name, "title": event.title}
        key = f"{event.question_id}:routed"

        def send(recipient: str, topic: str, extra: Mapping[str, str]) -> None:
            ctx.message(recipient, topic, {**params, **extra}, key=key, community_id=community.id, event_id=routed.id)

        if chosen:
            send(event.actor_id, "question_routed", {"people": self._names(ctx, chosen)})
        elif not self._holds(ctx, community.id, event.actor_id, Role.FACILITATOR):
            # A facilitator asking where nobody else could take the question knows it already.
            send(event.actor_id, "question_unrouted", {})
        topic = "question_for_facilitator" if route is Route.FACILITATORS else "question_for_expert"
        asker = self._names(ctx, [event.actor_id])
        for person_id in chosen:
            send(person_id, topic, {"asker": asker, "tags": ", ".join(sorted(event.tags))})

    def _reachable(self, ctx: PolicyContext, people: Iterable[str]) -> list[str]:
        out = []
        for person_id in people:
            person = ctx.engine.person(person_id)
            if person is not None and person.active:
                out.append(person_id)
        return out

    def _choose(
        self,
        ctx: PolicyContext,
        community_id: str,
        asker: str,
        tags: Iterable[str],
        question_id: str,
        settings: GuaranteeSettings,
    ) -> tuple[tuple[str, ...], Route]:
        """Experts of the question's tags (those matching more tags first), else the
        community's experts, else its facilitators: reachable people other than the asker."""
        # The community's experts are listed once (a role is held by few): those of the tags
        # are among them, by their expertise; the facilitators are listed only when needed.
        experts = ctx.store.members(community_id, role=Role.EXPERT)
        wanted = frozenset(tags)
        matches = {m.person_id: len(wanted & m.expertise) for m in experts}

        def candidates() -> Iterator[tuple[Route, dict[str, int]]]:
            yield Route.TAG_EXPERTS, {p: n for p, n in matches.items() if n > 0}
            yield Route.COMMUNITY_EXPERTS, dict.fromkeys(matches, 0)
            yield Route.FACILITATORS, {m.person_id: 0 for m in ctx.store.members(community_id, role=Role.FACILITATOR)}

        for route, found in candidates():
            found.pop(asker, None)
            reachable = self._reachable(ctx, found)
            if reachable:
                ranked = sorted(reachable, key=lambda p: (-found[p], _spread(question_id, p)))
                return tuple(ranked[: settings.max_experts]), route
        return (), Route.NOBODY

    def _names(self, ctx: PolicyContext, people: Iterable[str]) -> str:
        names = []
        for person_id in people:
            person = ctx.engine.person(person_id)
            names.append(person.display_name if person is not None else person_id)
        return ", ".join(names)

    def _close(self, ctx: PolicyContext, question_id: str, reason: CloseReason) -> int:
        watch = ctx.get(Ref("answer_watch", question_id))
        if not isinstance(watch, Watch) or not watch.open:
            return 0
        ctx.record(ev.WatchClosed(**_fields(ctx, watch.community_id), question_id=question_id, reason=reason))
        return 1

    # -- the passage of time --------------------------------------------------------------------

    def due(self, ctx: PolicyContext) -> int:
        """Escalate every question whose next step has come: one event per step, messages to
        the step's people. The step moves the watch's ``due_at`` on (or closes the watch), so
        the same moment ticked again finds nothing; a worker that raced another one conflicts
        on the watch's version, and its retry finds nothing either. A question whose step
        fails is logged and stays due (a strict engine raises instead)."""
        done = 0
        holders = _Holders(ctx)  # who holds a role, asked once per community and role in a tick
        for found in ctx.store.find_due("answer_watch", before=ctx.now, limit=self.batch):
            if not isinstance(found, Watch):
                continue
            # Read again through the unit of work: its version is what the commit checks.
            watch = ctx.get(Ref("answer_watch", found.question_id))
            if not isinstance(watch, Watch) or watch.due_at is None or watch.due_at > ctx.now:
                continue
            try:
                done += self._advance(ctx, watch, holders)
            except Exception:
                # One question that cannot climb must not hold back the others: what it staged
                # so far is consistent (one event at a time) and it stays due for the next tick.
                if ctx.engine.strict:
                    raise
                log.exception("answer guarantee: question %s could not be escalated; next tick retries", watch.id)
        return done

    def _advance(self, ctx: PolicyContext, watch: Watch, holders: _Holders) -> int:
        community = ctx.community(watch.community_id)
        question = ctx.get(Ref("question", watch.question_id))
        reason = None
        if community is None or community.closed:
            reason = CloseReason.COMMUNITY_CLOSED
        elif not ctx.enabled(community.id):
            reason = CloseReason.DISABLED
        elif not isinstance(question, Question) or question.withdrawn:
            reason = CloseReason.WITHDRAWN
        elif not question.open:
            reason = CloseReason.ANSWERED
        elif self._asker_removed(ctx, community.id, question.author_id):
            reason = CloseReason.ASKER_REMOVED
        if reason is not None:
            return self._close(ctx, watch.question_id, reason)
        assert community is not None and isinstance(question, Question)
        settings = self._settings(community)
        done = 0
        ref = Ref("answer_watch", watch.question_id)
        while watch.open and watch.due_at is not None and watch.due_at <= ctx.now:
            index = watch.steps_taken
            if index >= len(settings.ladder):  # the ladder was shortened since
                return done + self._close(ctx, watch.question_id, CloseReason.EXHAUSTED)
            self._escalate(ctx, community, question, watch, settings, index, holders)
            done += 1
            current = ctx.get(ref)
            assert isinstance(current, Watch)
            watch = current
            if watch.due_at is None:
                done += self._close(ctx, watch.question_id, CloseReason.EXHAUSTED)
        return done

    @staticmethod
    def _asker_removed(ctx: PolicyContext, community_id: str, asker_id: str) -> bool:
        """Whether the asker was removed from the community: their question stops climbing
        the ladder (the charter gives a removed member no right there, a fast answer included)."""
        membership = ctx.get(Ref("membership", membership_id(community_id, asker_id)))
        return isinstance(membership, Membership) and membership.status is MembershipStatus.REMOVED

    def _escalate(
        self,
        ctx: PolicyContext,
        community: Community,
        question: Question,
        watch: Watch,
        settings: GuaranteeSettings,
        index: int,
        holders: _Holders,
    ) -> None:
        step = settings.ladder[index]
        audience = self._audience(ctx, community, question, watch, step, settings, holders)
        escalated = ev.QuestionEscalated(
            **_fields(ctx, community.id),
            question_id=question.id,
            step=index + 1,
            audience=step.audience,
            notified=tuple(audience),
            next_due_at=settings.due_at(watch.asked_at, index + 1, not_before=watch.due_at),
        )
        ctx.record(escalated)
        key = f"{question.id}:step:{index + 1}"
        params = {
            "community": community.name,
            "title": question.title,
            "hours": _hours(settings.calendar.working_time_between(watch.asked_at, ctx.now)),
            "step": str(index + 1),
            "asker": self._names(ctx, [watch.asker_id]),
        }
        for person_id, why in audience.items():
            topic, extra = ("question_reminder", {}) if why == EXPERTS else ("question_escalated", {"role": why})
            ctx.message(
                person_id, topic, {**params, **extra}, key=key, community_id=community.id, event_id=escalated.id
            )
        if audience:
            ctx.message(
                watch.asker_id,
                "question_still_waiting",
                {**params, "people": self._names(ctx, audience)},
                key=key,
                community_id=community.id,
                event_id=escalated.id,
            )

    def _audience(
        self,
        ctx: PolicyContext,
        community: Community,
        question: Question,
        watch: Watch,
        step: Step,
        settings: GuaranteeSettings,
        holders: _Holders,
    ) -> dict[str, str]:
        """Whom a step notifies, each with the reason (``experts`` or a role), in order."""
        chosen: dict[str, str] = {}
        for who in step.audience:
            if who == EXPERTS:
                people = [p for p in watch.experts if self._still_member(ctx, community.id, p)]
                people = self._reachable(ctx, people)
                if not people:  # the routed experts are gone: route again
                    people = list(
                        self._choose(ctx, community.id, watch.asker_id, question.tags, question.id, settings)[0]
                    )
            else:
                people = self._reachable(ctx, holders.of(community.id, Role(who)))
            for person_id in people:
                if person_id != watch.asker_id:
                    chosen.setdefault(person_id, who)
        return chosen

    def _still_member(self, ctx: PolicyContext, community_id: str, person_id: str) -> bool:
        found = ctx.get(Ref("membership", membership_id(community_id, person_id)))
        return isinstance(found, Membership) and found.active

    def _holds(self, ctx: PolicyContext, community_id: str, person_id: str, role: Role) -> bool:
        found = ctx.get(Ref("membership", membership_id(community_id, person_id)))
        return isinstance(found, Membership) and found.holds(role)


class _Holders:
    """The active holders of each role of a community, read once per tick."""

    def __init__(self, ctx: PolicyContext) -> None:
        self._ctx = ctx
        self._found: dict[tuple[str, Role], list[str]] = {}

    def of(self, community_id: str, role: Role) -> list[str]:
        key = (community_id, role)
        if key not in self._found:
            self._found[key] = [m.person_id for m in self._ctx.store.members(community_id, role=role)]
        return self._found[key]


class AnswerGuaranteePlugin:
    """The built-in answer guarantee, registered as ``coplib.policy.answer_guarantee``: block
    that name to run a policy of your own under the name ``answer_guarantee``."""

    @hookimpl(trylast=True)
    def coplib_policies(self) -> list[Policy]:
        # `Policy.name` is an instance attribute in the protocol, a class variable here.
        return [cast(Policy, AnswerGuarantee())]
