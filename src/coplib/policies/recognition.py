"""The recognition ledger's policy: contributing pays off at once, in points.

It reacts to contributions inside their unit of work and credits the people concerned from
the charter's points table, within a daily cap; a withdrawn contribution or a moved
acceptance is reversed by a new entry. Read balances with `balance` and entries with
`entries`; export them for HR with `coplib.service.recognition_export`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from coplib.domain import events as ev
from coplib.domain import recognition as rc
from coplib.domain.contributions import ContributionKind, Endorsement, Meeting, Question
from coplib.domain.errors import FieldError
from coplib.domain.history import Ref
from coplib.domain.recognition import PointsBalance, PointsEntry, RecognitionSettings
from coplib.ports.hookspecs import hookimpl
from coplib.ports.policy import POLICY_ACTOR, BasePolicy, Policy, PolicyContext, SettingsMemo
from coplib.ports.storage import Filter, Store

#: Past this many awards for one reason, subject and person, something is wrong: stop.
_MAX_GENERATIONS = 1_000

#: Contributions whose withdrawal takes back the points they earned, by the reason paid.
_WITHDRAWN_REASON = {
    ContributionKind.QUESTION: rc.QUESTION_ASKED,
    ContributionKind.ANSWER: rc.ANSWER_POSTED,
    ContributionKind.RESOURCE: rc.RESOURCE_SHARED,
    ContributionKind.EXPERIENCE: rc.EXPERIENCE_RECORDED,
}


def _fields(ctx: PolicyContext, community_id: str) -> dict[str, Any]:
    """`PolicyContext.event_fields`, typed for the event constructors."""
    return ctx.event_fields(community_id)


class _Ledger:
    """The ledger as one reaction sees it: awards and reversals for one cause."""

    def __init__(self, ctx: PolicyContext, settings: RecognitionSettings, cause: ev.DomainEvent) -> None:
        assert cause.community_id is not None
        self.ctx = ctx
        self.settings = settings
        self.cause = cause
        self.community_id: str = cause.community_id

    def _entry(self, entry_id: str) -> PointsEntry | None:
        found = self.ctx.get(Ref("points_entry", entry_id))
        return found if isinstance(found, PointsEntry) else None

    def _live(self, reason: str, subject_id: str, person_id: str) -> tuple[PointsEntry | None, int]:
        """The award in force for (reason, subject, person), if any, and the first free
        generation (where the next award would go)."""
        for generation in range(_MAX_GENERATIONS):
            entry = self._entry(rc.points_entry_id(self.community_id, reason, subject_id, person_id, generation))
            if entry is None:
                return None, generation
            if self._entry(rc.reversal_entry_id(entry.id)) is None:
                return entry, generation
        raise RuntimeError(
            f"{_MAX_GENERATIONS} awards for {reason} on {subject_id!r} to {person_id!r} in "
            f"{self.community_id!r}: refusing to record more"
        )

    def award(self, reason: str, subject_id: str, person_id: str) -> None:
        """Credit `person_id` for `reason` on `subject_id`, unless an award is in force already."""
        requested = self.settings.points.get(reason, 0)
        if requested <= 0 or person_id == POLICY_ACTOR:
            return
        live, generation = self._live(reason, subject_id, person_id)
        if live is not None:
            return
        capped = reason not in self.settings.cap_exempt
        found = self.ctx.get(Ref("points_balance", rc.points_balance_id(self.community_id, person_id)))
        balance = found if isinstance(found, PointsBalance) else None
        points = rc.capped_award(
            balance, requested, capped=capped, day=rc.day_of(self.ctx.now), cap=self.settings.daily_cap
        )
        self.ctx.record(
            ev.PointsAwarded(
                **_fields(self.ctx, self.community_id),
                entry_id=rc.points_entry_id(self.community_id, reason, subject_id, person_id, generation),
                person_id=person_id,
                reason=reason,
                points=points,
                requested=requested,
                capped=capped,
                subject_id=subject_id,
                cause_event_id=self.cause.id,
            )
        )

    def reverse(self, reason: str, subject_id: str, person_id: str, why: str) -> None:
        """Take back the award in force for (reason, subject, person), if there is one."""
        live, _ = self._live(reason, subject_id, person_id)
        if live is None:
            return
        self.ctx.record(
            ev.PointsReversed(
                **_fields(self.ctx, self.community_id),
                entry_id=rc.reversal_entry_id(live.id),
                reversed_entry_id=live.id,
                person_id=person_id,
                points=live.points,
                reason=why,
                awarded_for=reason,
                subject_id=subject_id,
                cause_event_id=self.cause.id,
            )
        )


class RecognitionPolicy(BasePolicy):
    """Points per person and community from the charter's table (policy name ``recognition``).

    Settings (``policy_settings["recognition"]``, text values): one per reason of the table
    (``answer_accepted = "15"``...; ``"0"`` pays nothing), ``daily_cap`` (a whole number, or
    ``none``) and ``cap_exempt`` (reasons outside the cap, comma-separated).
    """

    name = "recognition"
    follows_log = True  # its reactions may follow the commit (BasePolicy.follows_log)
    interests = frozenset(
        {
            ev.QuestionAsked,
            ev.AnswerPosted,
            ev.AnswerAccepted,
            ev.ContributionEndorsed,
            ev.ResourceShared,
            ev.ExperienceRecorded,
            ev.AttendanceRecorded,
            ev.ContributionWithdrawn,
            # editing and moderation: an acceptance taken back takes its points back (an edit
            # changes no points: ContributionRevised is not listened to)
            ev.AnswerUnaccepted,
            ev.ValueStoryTold,
            ev.ValueStoryWithdrawn,
        }
    )

    def __init__(self) -> None:
        self._read = SettingsMemo(lambda settings: RecognitionSettings.read(settings, self.name))

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        return list(self._read(settings)[1])

    def settings_for(self, ctx: PolicyContext, community_id: str | None) -> RecognitionSettings:
        """The community's settings; `InvalidInputError` naming each bad one otherwise."""
        settings, errors = self._read(ctx.settings(community_id))
        if errors:
            raise rc.invalid_settings(self.name, community_id, errors)
        return settings

    def reads(self, event: ev.DomainEvent) -> Iterable[Ref]:
        cid = event.community_id
        if cid is None:
            return ()
        match event:
            case ev.QuestionAsked():
                reason, subject_id, person_id = rc.QUESTION_ASKED, event.question_id, event.actor_id
            case ev.AnswerPosted() if event.actor_id != event.asker_id:
                reason, subject_id, person_id = rc.ANSWER_POSTED, event.answer_id, event.actor_id
            case _:
                return ()
        return [
            Ref("points_entry", rc.points_entry_id(cid, reason, subject_id, person_id, 0)),
            Ref("points_balance", rc.points_balance_id(cid, person_id)),
        ]

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        if event.community_id is None:
            return
        ledger = _Ledger(ctx, self.settings_for(ctx, event.community_id), event)
        match event:
            case ev.QuestionAsked():
                ledger.award(rc.QUESTION_ASKED, event.question_id, event.actor_id)
            case ev.AnswerPosted() if event.actor_id != event.asker_id:
                ledger.award(rc.ANSWER_POSTED, event.answer_id, event.actor_id)
            case ev.AnswerAccepted():
                self._accepted(ledger, event)
            case ev.ContributionEndorsed() if event.actor_id != event.target_author_id:
                ledger.award(rc.ENDORSEMENT_RECEIVED, event.endorsement_id, event.target_author_id)
            case ev.ResourceShared():
                ledger.award(rc.RESOURCE_SHARED, event.resource_id, event.actor_id)
            case ev.ExperienceRecorded():
                ledger.award(rc.EXPERIENCE_RECORDED, event.experience_id, event.actor_id)
            case ev.AttendanceRecorded():
                self._attendance(ctx, ledger, event)
            case ev.ContributionWithdrawn():
                self._withdrawn(ctx, ledger, event)
            case ev.AnswerUnaccepted():
                ledger.reverse(rc.ANSWER_ACCEPTED, event.answer_id, event.answer_author_id, rc.ACCEPTANCE_MOVED)
                ledger.reverse(rc.ACCEPTED_AN_ANSWER, event.question_id, event.asker_id, rc.ACCEPTANCE_MOVED)
            case ev.ValueStoryTold():
                for author in sorted({c.author_id for c in event.contributions} - {event.actor_id}):
                    ledger.award(rc.VALUE_STORY_CREDITED, event.story_id, author)
            case ev.ValueStoryWithdrawn():
                for author in event.credited:
                    ledger.reverse(rc.VALUE_STORY_CREDITED, event.story_id, author, rc.CONTRIBUTION_WITHDRAWN)

    @staticmethod
    def _accepted(ledger: _Ledger, event: ev.AnswerAccepted) -> None:
        if event.previous_answer_id is not None and event.previous_answer_author_id is not None:
            ledger.reverse(
                rc.ANSWER_ACCEPTED, event.previous_answer_id, event.previous_answer_author_id, rc.ACCEPTANCE_MOVED
            )
        if event.answer_author_id == event.asker_id:
            # Accepting one's own answer earns nothing, and ends the +2 of accepting someone else's.
            ledger.reverse(rc.ACCEPTED_AN_ANSWER, event.question_id, event.asker_id, rc.ACCEPTANCE_MOVED)
            return
        ledger.award(rc.ANSWER_ACCEPTED, event.answer_id, event.answer_author_id)
        if event.actor_id == event.asker_id:
            ledger.award(rc.ACCEPTED_AN_ANSWER, event.question_id, event.asker_id)

    @staticmethod
    def _attendance(ctx: PolicyContext, ledger: _Ledger, event: ev.AttendanceRecorded) -> None:
        for person in sorted(event.attendees):
            ledger.award(rc.MEETING_ATTENDED, event.meeting_id, person)
        # The list replaces the earlier one: whoever it drops loses their points. The earlier
        # list is the committed one (on a retry by tick, the drops were already missed).
        before = ctx.store.get(Ref("meeting", event.meeting_id))
        earlier = before.value.attendees if before is not None and isinstance(before.value, Meeting) else frozenset()
        for person in sorted(earlier - event.attendees):
            ledger.reverse(rc.MEETING_ATTENDED, event.meeting_id, person, rc.ATTENDANCE_CORRECTED)

    @staticmethod
    def _withdrawn(ctx: PolicyContext, ledger: _Ledger, event: ev.ContributionWithdrawn) -> None:
        why = rc.CONTRIBUTION_WITHDRAWN
        kind, cid, author = event.contribution_kind, event.contribution_id, event.author_id
        if kind in _WITHDRAWN_REASON:
            ledger.reverse(_WITHDRAWN_REASON[kind], cid, author, why)
        if kind is ContributionKind.QUESTION:
            ledger.reverse(rc.ACCEPTED_AN_ANSWER, cid, author, why)
        if kind is ContributionKind.ANSWER:
            ledger.reverse(rc.ANSWER_ACCEPTED, cid, author, why)
            question = ctx.get(Ref("question", event.question_id)) if event.question_id else None
            if isinstance(question, Question) and question.accepted_answer_id is None:
                ledger.reverse(rc.ACCEPTED_AN_ANSWER, question.id, question.author_id, why)
        if kind is ContributionKind.MEETING:
            meeting = ctx.get(Ref("meeting", cid))
            for person in sorted(meeting.attendees if isinstance(meeting, Meeting) else ()):
                ledger.reverse(rc.MEETING_ATTENDED, cid, person, why)
        for endorsement in ctx.store.find("endorsement", Filter(parent_id=cid)):
            if isinstance(endorsement, Endorsement):
                ledger.reverse(rc.ENDORSEMENT_RECEIVED, endorsement.id, endorsement.target_author_id, why)


# -- reading the ledger -------------------------------------------------------------------------


def balance(store: Store, community_id: str, person_id: str) -> PointsBalance | None:
    """A person's balance in a community (one lookup), or None before their first entry."""
    found = store.get(Ref("points_balance", rc.points_balance_id(community_id, person_id)))
    return found.value if found is not None and isinstance(found.value, PointsBalance) else None


def entries(
    store: Store,
    community_id: str,
    *,
    person_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PointsEntry]:
    """Ledger entries of a community (of one person), oldest first, created in [since, until)."""
    found = store.find("points_entry", Filter(community_id=community_id, person_id=person_id, since=since, until=until))
    return [e for e in found if isinstance(e, PointsEntry)]


def balances(store: Store, community_id: str) -> list[PointsBalance]:
    """Every balance of a community, highest first (then by person)."""
    found = [b for b in store.find("points_balance", Filter(community_id=community_id)) if isinstance(b, PointsBalance)]
    return sorted(found, key=lambda b: (-b.points, b.person_id))


class RecognitionPlugin:
    """The default plugin (name ``coplib.policy.recognition``): block it to go without points."""

    @hookimpl(trylast=True)
    def coplib_policies(self) -> Iterable[Policy]:
        # `Policy.name` is an instance attribute in the protocol, a class variable here.
        return [cast(Policy, RecognitionPolicy())]
