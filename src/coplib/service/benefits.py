"""Benefits made visible: what each person gave and received, and the same per community,
placed in the benefit matrix (`coplib.domain.benefits`).

Everything is computed from the store's indexed queries over one period: a person's own
activity, their contributions and what came back to them, the community's event counts by
type. Nothing loads a whole community.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from coplib.domain.benefits import BenefitMatrix
from coplib.domain.clock import ensure_utc
from coplib.domain.contributions import Answer, Comment, Endorsement, Question
from coplib.domain.errors import InvalidInputError
from coplib.domain.history import Ref
from coplib.domain.permissions import Action
from coplib.domain.recognition import BadgeAward, PointsBalance, PointsEntry, points_balance_id
from coplib.ports.storage import Filter, Period, Store
from coplib.service.queries import Queries

#: The contributions that count as help given (as the charter's give-before-receive rule counts them).
HELP_GIVEN: Final = ("answer_posted", "resource_shared", "experience_recorded")
#: The kinds of contribution whose endorsements and comments come back to their author.
_RECEIVING_KINDS: Final = ("question", "answer", "resource", "experience")


@attrs.frozen
class AnswerSpeed:
    """Questions asked in the period and how fast they got a first answer."""

    asked: int = 0
    answered: int = 0
    accepted: int = 0
    median_first_answer: timedelta | None = None
    mean_first_answer: timedelta | None = None

    @classmethod
    def of(cls, questions: Iterable[Question]) -> AnswerSpeed:
        live = [q for q in questions if not q.withdrawn]
        waits = sorted(q.first_answered_at - q.created_at for q in live if q.first_answered_at is not None)
        seconds = [w.total_seconds() for w in waits]
        return cls(
            asked=len(live),
            answered=len(waits),
            accepted=sum(q.accepted_answer_id is not None for q in live),
            median_first_answer=timedelta(seconds=statistics.median(seconds)) if seconds else None,
            mean_first_answer=timedelta(seconds=statistics.fmean(seconds)) if seconds else None,
        )


def _ratio(given: int, received: int) -> float | None:
    return given / received if received else None


@attrs.frozen
class PersonBenefits:
    """What one person gave and received in a community over [since, until).

    `gave` and `received` count events by type (placed in the matrix by `gave_by_cell` and
    `received_by_cell`); `give_before_receive` is help given (answers to others, resources,
    experiences) over help received (answers from others), None when nothing was received.
    """

    community_id: str
    person_id: str
    since: datetime
    until: datetime
    gave: Mapping[str, int] = attrs.field(hash=False)
    received: Mapping[str, int] = attrs.field(hash=False)
    gave_by_cell: Mapping[str, int] = attrs.field(hash=False)
    received_by_cell: Mapping[str, int] = attrs.field(hash=False)
    questions: AnswerSpeed
    points: int  # net points earned in the period
    balance: int  # all-time balance in the community
    badges: tuple[str, ...]  # earned in the period
    help_given: int
    help_received: int

    @property
    def give_before_receive(self) -> float | None:
        return _ratio(self.help_given, self.help_received)


@attrs.frozen
class CommunityBenefits:
    """The same in aggregate for a community over [since, until): events by type and cell,
    how fast questions were answered, recognition given, and help given over help received
    summed over everyone (answers, resources and experiences over answers)."""

    community_id: str
    since: datetime
    until: datetime
    events: Mapping[str, int] = attrs.field(hash=False)
    by_cell: Mapping[str, int] = attrs.field(hash=False)
    questions: AnswerSpeed
    points: int
    badges: int
    help_given: int
    help_received: int

    @property
    def give_before_receive(self) -> float | None:
        return _ratio(self.help_given, self.help_received)


def _period(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    start, end = ensure_utc(since, "$.since"), ensure_utc(until, "$.until")
    if end <= start:
        raise InvalidInputError.field("$.until", "must come after since", context="benefits")
    return start, end


def person_benefits(
    engine: Queries,
    viewer: str,
    community_id: str,
    person_id: str,
    *,
    since: datetime,
    until: datetime,
    matrix: BenefitMatrix | None = None,
) -> PersonBenefits:
    """A person's benefits: they see their own; a facilitator or the sponsor sees anyone's."""
    start, end = _period(since, until)
    store = engine.store
    community = engine._community(community_id, "person_benefits")
    engine._readable(viewer, community, Action.READ_MEMBER_BENEFITS, owner_id=person_id)
    matrix = matrix or BenefitMatrix.default()
    cid = community.id

    gave: Counter[str] = Counter()
    help_given = 0
    for recorded in store.activity(person_id, since=start, until=end, community_id=cid):
        event = recorded.event
        if matrix.cell(event.TYPE) is None:
            continue
        gave[event.TYPE] += 1
        own_question = getattr(event, "asker_id", None) == person_id and event.TYPE == "answer_posted"
        if event.TYPE in HELP_GIVEN and not own_question:
            help_given += 1

    received: Counter[str] = Counter()
    contributions = {
        kind: store.find(kind, Filter(community_id=cid, person_id=person_id, until=end)) for kind in _RECEIVING_KINDS
    }
    help_received = 0
    for question in contributions["question"]:
        for answer in store.find("answer", Filter(parent_id=question.id, since=start, until=end)):
            if isinstance(answer, Answer) and answer.author_id != person_id:
                received["answer_posted"] += 1
                help_received += 1
    for answer in contributions["answer"]:
        if isinstance(answer, Answer) and start <= answer.created_at < end:
            found = store.get(Ref("question", answer.question_id))
            answered = found.value if found is not None else None
            if (
                isinstance(answered, Question)
                and answered.accepted_answer_id == answer.id
                and answered.author_id != person_id
            ):
                received["answer_accepted"] += 1
    for items in contributions.values():
        for item in items:
            for endorsement in store.find("endorsement", Filter(parent_id=item.id, since=start, until=end)):
                if isinstance(endorsement, Endorsement):
                    received["contribution_endorsed"] += 1
            for comment in store.find("comment", Filter(parent_id=item.id, since=start, until=end)):
                if isinstance(comment, Comment) and comment.author_id != person_id and not comment.withdrawn:
                    received["comment_posted"] += 1

    entries = [
        e
        for e in store.find("points_entry", Filter(community_id=cid, person_id=person_id, since=start, until=end))
        if isinstance(e, PointsEntry)
    ]
    received["points_awarded"] += sum(not e.is_reversal for e in entries)
    badges = tuple(
        b.badge
        for b in store.find("badge_award", Filter(community_id=cid, person_id=person_id, since=start, until=end))
        if isinstance(b, BadgeAward)
    )
    received["badge_awarded"] += len(badges)
    found_balance = store.get(Ref("points_balance", points_balance_id(cid, person_id)))
    balance = found_balance.value if found_balance is not None else None

    asked = [q for q in contributions["question"] if isinstance(q, Question) and start <= q.created_at < end]
    received_counts = {k: v for k, v in received.items() if v and matrix.cell(k) is not None}
    return PersonBenefits(
        community_id=cid,
        person_id=person_id,
        since=start,
        until=end,
        gave=dict(gave),
        received=received_counts,
        gave_by_cell=matrix.by_cell(gave),
        received_by_cell=matrix.by_cell(received_counts),
        questions=AnswerSpeed.of(asked),
        points=sum(e.points for e in entries),
        balance=balance.points if isinstance(balance, PointsBalance) else 0,
        badges=badges,
        help_given=help_given,
        help_received=help_received,
    )


def community_benefits(
    engine: Queries,
    viewer: str,
    community_id: str,
    *,
    since: datetime,
    until: datetime,
    matrix: BenefitMatrix | None = None,
) -> CommunityBenefits:
    """A community's benefits, for whoever may read the community."""
    start, end = _period(since, until)
    store = engine.store
    community = engine._community(community_id, "community_benefits")
    engine._readable(viewer, community)
    matrix = matrix or BenefitMatrix.default()
    cid = community.id
    placed = sorted(t for t, cell in matrix.placements.items() if cell is not None)
    events = {t: n for t, n in _count_types(store, cid, start, end, placed, known={}).items() if n}
    questions = [
        q for q in store.find("question", Filter(community_id=cid, since=start, until=end)) if isinstance(q, Question)
    ]
    entries = [
        e
        for e in store.find("points_entry", Filter(community_id=cid, since=start, until=end))
        if isinstance(e, PointsEntry)
    ]
    counts = {**_count_types(store, cid, start, end, (*HELP_GIVEN, "badge_awarded"), known=events), **events}
    return CommunityBenefits(
        community_id=cid,
        since=start,
        until=end,
        events=events,
        by_cell=matrix.by_cell(events),
        questions=AnswerSpeed.of(questions),
        points=sum(e.points for e in entries),
        badges=counts.get("badge_awarded", 0),
        help_given=sum(counts.get(t, 0) for t in HELP_GIVEN),
        help_received=counts.get("answer_posted", 0),
    )


def _count_types(
    store: Store,
    community_id: str,
    since: datetime,
    until: datetime,
    types: Iterable[str],
    *,
    known: Mapping[str, int],
) -> dict[str, int]:
    """Events of each of `types` in [since, until), querying only those `known` lacks."""
    return {
        t: sum(store.count_events(community_id, since=since, until=until, period=Period.MONTH, types=[t]).values())
        for t in types
        if t not in known
    }


class BenefitReads(Queries):
    """The benefit matrix's reads, as engine methods."""

    def person_benefits(
        self,
        viewer: str,
        community_id: str,
        person_id: str,
        *,
        since: datetime,
        until: datetime,
        matrix: BenefitMatrix | None = None,
    ) -> PersonBenefits:
        """What a member gave and received in [since, until): their own, or anyone's for a steward."""
        return person_benefits(self, viewer, community_id, person_id, since=since, until=until, matrix=matrix)

    def community_benefits(
        self,
        viewer: str,
        community_id: str,
        *,
        since: datetime,
        until: datetime,
        matrix: BenefitMatrix | None = None,
    ) -> CommunityBenefits:
        """A community's benefits in [since, until), for whoever may read the community."""
        return community_benefits(self, viewer, community_id, since=since, until=until, matrix=matrix)
