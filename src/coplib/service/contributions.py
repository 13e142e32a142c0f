"""Contributions: questions and answers, comments, endorsements, the shared repertoire, withdrawal."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import (
    GIVE_BEFORE_RECEIVE_GRACE,
    CharterRule,
    CollaborationMode,
    Community,
)
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    Answer,
    Comment,
    Contribution,
    ContributionKind,
    Endorsement,
    Experience,
    ExperienceKind,
    Question,
    Resource,
    ResourceKind,
    ThreadStatus,
)
from coplib.domain.errors import (
    CharterViolationError,
    ConflictError,
)
from coplib.domain.history import Ref
from coplib.domain.ids import name_based_id
from coplib.domain.permissions import SYSTEM, Action
from coplib.ports.storage import Filter
from coplib.runtime import UnitOfWork
from coplib.service._base import (
    COMMENTABLE,
    ENDORSABLE,
    UseCases,
    check_enum,
    check_id,
    check_strings,
    need,
    prefetch_first_reads,
)

C = TypeVar("C", bound=Contribution)

_ENDORSEMENT_NAMESPACE = uuid.UUID("0f4b8d62-41a5-4f0e-8a43-5f3c9e2d7a90")


def _refuse_locked(question: Question) -> None:
    """A locked thread takes no new answer nor comment (`coplib.service.editing.lock_thread`)."""
    if question.status is ThreadStatus.LOCKED:
        raise ConflictError(
            f"the thread of question {question.id!r} is locked: it takes no new answer nor comment",
            kind="question",
            id=question.id,
        )


class ContributionCommands(UseCases):
    """Commands by which members contribute."""

    def _contribute(
        self,
        context: str,
        actor: str,
        community_id: object,
        mode: CollaborationMode,
        new: Ref,
        cls: type[C],
        event: Callable[[Community], ev.DomainEvent],
        *,
        check: Callable[[Community], None] | None = None,
    ) -> C:
        """The skeleton of a contribution to a community: open it (with the actor's membership
        and the new contribution's ref in one read), ask the decision point, check that the
        charter provides for `mode` (and `check`, a charter rule), record `event`, and return
        the contribution it created, all as one unit of work."""

        def unit(uow: UnitOfWork) -> C:
            community = self._open_community(uow, community_id, context, actor, new)
            self._authorise(uow, Action.CONTRIBUTE, actor, community)
            self._require_mode(community, mode)
            if check is not None:
                check(community)
            uow.record(event(community))
            return need(uow, new.kind, new.id, cls)

        return self._run(unit)

    def _check_give_before_receive(self, community: Community, actor: str) -> None:
        if CharterRule.GIVE_BEFORE_RECEIVE not in community.charter.rules or actor == SYSTEM:
            return
        asked = self._store.count("question", Filter(community_id=community.id, person_id=actor))
        given = sum(
            self._store.count(kind, Filter(community_id=community.id, person_id=actor))
            for kind in ("answer", "resource", "experience")
        )
        if asked >= given + GIVE_BEFORE_RECEIVE_GRACE:
            raise CharterViolationError(
                community.id,
                CharterRule.GIVE_BEFORE_RECEIVE.value,
                f"{actor!r} has asked {asked} question(s) and given {given} contribution(s): "
                "answer a question or share a resource before asking again",
            )

    def ask(self, actor: str, community_id: str, *, title: str, body: str, tags: Iterable[str] = ()) -> Question:
        """Ask a question: the promise of the community is a fast answer."""
        ctx = "ask"
        actor = check_id("$.actor", actor, ctx)
        fields = v.check_fields(Question, ctx, title=title, body=body, tags=check_strings("$.tags", tags, ctx))
        qid = self._new_id()

        return self._contribute(
            ctx,
            actor,
            community_id,
            CollaborationMode.QUESTIONS,
            Ref("question", qid),
            Question,
            lambda community: ev.QuestionAsked(**self._event_base(actor, community.id), question_id=qid, **fields),
            check=lambda community: self._check_give_before_receive(community, actor),
        )

    def answer(self, actor: str, question_id: str, *, body: str) -> Answer:
        """Answer a question."""
        ctx = "answer"
        actor = check_id("$.actor", actor, ctx)
        qid = check_id("$.question_id", question_id, ctx)
        fields = v.check_fields(Answer, ctx, body=body)
        aid = self._new_id()

        def unit(uow: UnitOfWork) -> Answer:
            question = need(uow, "question", qid, Question)
            prefetch_first_reads(uow, question.community_id, actor, Ref("answer", aid))
            community = need(uow, "community", question.community_id, Community)
            self._authorise(uow, Action.CONTRIBUTE, actor, community, subject=Ref("question", qid))
            self._require_mode(community, CollaborationMode.QUESTIONS)
            if question.withdrawn:
                raise ConflictError(f"question {qid!r} was withdrawn", kind="question", id=qid)
            _refuse_locked(question)
            uow.record(
                ev.AnswerPosted(
                    **self._event_base(actor, community.id),
                    answer_id=aid,
                    question_id=qid,
                    asker_id=question.author_id,
                    **fields,
                )
            )
            return need(uow, "answer", aid, Answer)

        return self._run(unit)

    def accept(self, actor: str, answer_id: str) -> Question:
        """Mark an answer as accepted (the asker or a facilitator); another one can replace it."""
        ctx = "accept"
        actor = check_id("$.actor", actor, ctx)
        aid = check_id("$.answer_id", answer_id, ctx)

        def unit(uow: UnitOfWork) -> Question:
            answer = need(uow, "answer", aid, Answer)
            question = need(uow, "question", answer.question_id, Question)
            community = need(uow, "community", question.community_id, Community)
            self._authorise(
                uow, Action.ACCEPT_ANSWER, actor, community, owner_id=question.author_id, subject=Ref("answer", aid)
            )
            if answer.withdrawn or question.withdrawn:
                raise ConflictError("a withdrawn answer or question cannot be accepted", kind="answer", id=aid)
            if question.accepted_answer_id == aid:
                return question
            previous = question.accepted_answer_id
            previous_author = None
            if previous is not None:
                prev = uow.get(Ref("answer", previous))
                previous_author = prev.author_id if isinstance(prev, Answer) else None
            uow.record(
                ev.AnswerAccepted(
                    **self._event_base(actor, community.id),
                    question_id=question.id,
                    answer_id=aid,
                    answer_author_id=answer.author_id,
                    asker_id=question.author_id,
                    previous_answer_id=previous,
                    previous_answer_author_id=previous_author,
                )
            )
            return need(uow, "question", question.id, Question)

        return self._run(unit)

    def comment(self, actor: str, target_kind: ContributionKind | str, target_id: str, *, body: str) -> Comment:
        """Comment on a question, an answer, a resource, an experience or a meeting."""
        ctx = "comment"
        actor = check_id("$.actor", actor, ctx)
        fields = v.check_fields(Comment, ctx, body=body)
        comment_id = self._new_id()

        def unit(uow: UnitOfWork) -> Comment:
            target, community = self._open_target(
                uow, target_kind, target_id, COMMENTABLE, ctx, Action.CONTRIBUTE, actor
            )
            thread = uow.get(Ref("question", target.question_id)) if isinstance(target, Answer) else target
            if isinstance(thread, Question):
                _refuse_locked(thread)
            uow.record(
                ev.CommentPosted(
                    **self._event_base(actor, community.id),
                    comment_id=comment_id,
                    target_id=target.id,
                    target_kind=target.KIND,
                    target_author_id=target.author_id,
                    **fields,
                )
            )
            return need(uow, "comment", comment_id, Comment)

        return self._run(unit)

    def endorse(self, actor: str, target_kind: ContributionKind | str, target_id: str) -> Endorsement:
        """Vouch for someone else's contribution (once per person and contribution)."""
        ctx = "endorse"
        actor = check_id("$.actor", actor, ctx)

        def unit(uow: UnitOfWork) -> Endorsement:
            target, community = self._open_target(uow, target_kind, target_id, ENDORSABLE, ctx, Action.ENDORSE, actor)
            eid = name_based_id(_ENDORSEMENT_NAMESPACE.bytes, f"{target.KIND.value}\x00{target.id}\x00{actor}")
            if uow.get(Ref("endorsement", eid)) is not None:
                raise ConflictError(f"{actor!r} has already endorsed {target.KIND.value} {target.id!r}")
            uow.record(
                ev.ContributionEndorsed(
                    **self._event_base(actor, community.id),
                    endorsement_id=eid,
                    target_id=target.id,
                    target_kind=target.KIND,
                    target_author_id=target.author_id,
                )
            )
            return need(uow, "endorsement", eid, Endorsement)

        return self._run(unit)

    def share_resource(
        self,
        actor: str,
        community_id: str,
        *,
        title: str,
        location: str,
        kind: ResourceKind | str = ResourceKind.LINK,
        description: str = "",
        tags: Iterable[str] = (),
    ) -> Resource:
        """Add a document or a link to the shared repertoire."""
        ctx = "share_resource"
        actor = check_id("$.actor", actor, ctx)
        kind_ = check_enum("$.kind", kind, ResourceKind, ctx)
        fields = v.check_fields(
            Resource,
            ctx,
            title=title,
            location=location,
            description=description,
            tags=check_strings("$.tags", tags, ctx),
        )
        rid = self._new_id()

        return self._contribute(
            ctx,
            actor,
            community_id,
            CollaborationMode.SHARED_REPERTOIRE,
            Ref("resource", rid),
            Resource,
            lambda community: ev.ResourceShared(
                **self._event_base(actor, community.id), resource_id=rid, kind=kind_, **fields
            ),
        )

    def record_experience(
        self,
        actor: str,
        community_id: str,
        *,
        title: str,
        body: str,
        kind: ExperienceKind | str = ExperienceKind.LESSON,
        tags: Iterable[str] = (),
    ) -> Experience:
        """Tell a lesson learned or a case for the others."""
        ctx = "record_experience"
        actor = check_id("$.actor", actor, ctx)
        kind_ = check_enum("$.kind", kind, ExperienceKind, ctx)
        fields = v.check_fields(Experience, ctx, title=title, body=body, tags=check_strings("$.tags", tags, ctx))
        xid = self._new_id()

        return self._contribute(
            ctx,
            actor,
            community_id,
            CollaborationMode.EXPERIENCES,
            Ref("experience", xid),
            Experience,
            lambda community: ev.ExperienceRecorded(
                **self._event_base(actor, community.id), experience_id=xid, kind=kind_, **fields
            ),
        )

    def withdraw(
        self, actor: str, kind: ContributionKind | str, contribution_id: str, *, reason: str = ""
    ) -> Contribution:
        """Take a contribution back (its author, a facilitator or the documentalist)."""
        ctx = "withdraw"
        actor = check_id("$.actor", actor, ctx)
        v.check_fields(ev.ContributionWithdrawn, ctx, reason=reason)
        withdrawable = frozenset(ContributionKind) - {ContributionKind.ENDORSEMENT}

        def unit(uow: UnitOfWork) -> Contribution:
            target, community = self._open_target(
                uow,
                kind,
                contribution_id,
                withdrawable,
                ctx,
                Action.WITHDRAW_CONTRIBUTION,
                actor,
                owner=True,
                paths=("$.kind", "$.contribution_id"),
            )
            uow.record(
                ev.ContributionWithdrawn(
                    **self._event_base(actor, community.id),
                    contribution_id=target.id,
                    contribution_kind=target.KIND,
                    author_id=target.author_id,
                    question_id=target.question_id if isinstance(target, Answer) else None,
                    reason=reason,
                )
            )
            found = uow.get(Ref(target.KIND.value, target.id))
            assert isinstance(found, CONTRIBUTION_CLASSES)
            return found

        return self._run(unit)
