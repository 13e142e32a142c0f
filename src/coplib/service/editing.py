"""Editing: revisions of a contribution (and reading them), retagging a question, taking an
acceptance back, closing, reopening and locking a question's thread (docs/host-api.md)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.clock import ensure_utc
from coplib.domain.community import Community
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    CONTRIBUTION_TYPES,
    Answer,
    Comment,
    Contribution,
    ContributionKind,
    Meeting,
    Question,
    ThreadStatus,
)
from coplib.domain.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from coplib.domain.history import Ref
from coplib.domain.moderation import REVISABLE, RevisedFields, Revision
from coplib.domain.permissions import Action
from coplib.ports.storage import Filter
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_enum, check_id, check_strings, need

_EDITABLE = frozenset(REVISABLE)


class EditingCommands(UseCases):
    """Revisions and a thread's status."""

    def revise(
        self,
        actor: str,
        kind: ContributionKind | str,
        contribution_id: str,
        *,
        title: str | None = None,
        body: str | None = None,
        description: str | None = None,
        location: str | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        tags: Iterable[str] | None = None,
        reason: str = "",
    ) -> Contribution:
        """Edit a question, answer, comment, resource, experience or meeting (its author, a
        facilitator or the documentalist): the fields given (None: unchanged) become a new
        revision, kept with their previous values (`revisions`). A field the kind has not is
        refused; a revision that changes nothing records nothing. New tags on a question are
        a retag (`retag`): the answer guarantee routes it again."""
        given: dict[str, Any] = {
            "title": title,
            "body": body,
            "description": description,
            "location": location,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "tags": tags,
        }
        return self._revise("revise", Action.EDIT_CONTRIBUTION, actor, kind, contribution_id, given, reason)

    def retag(self, actor: str, question_id: str, tags: Iterable[str], *, reason: str = "") -> Question:
        """Give a question new tags (its asker, a facilitator or the documentalist): a revision
        of its tags; the answer guarantee routes it again to the experts of the new tags."""
        found = self._revise(
            "retag",
            Action.RETAG_QUESTION,
            actor,
            ContributionKind.QUESTION,
            question_id,
            {"tags": tags},
            reason,
            id_path="$.question_id",
        )
        assert isinstance(found, Question)
        return found

    def _revise(
        self,
        ctx: str,
        action: Action,
        actor: str,
        kind: object,
        contribution_id: object,
        given: dict[str, Any],
        reason: object,
        *,
        id_path: str = "$.contribution_id",
    ) -> Contribution:
        actor = check_id("$.actor", actor, ctx)
        kind_ = check_enum("$.kind", kind, ContributionKind, ctx)
        cid = check_id(id_path, contribution_id, ctx)
        if kind_ not in _EDITABLE:
            choices = ", ".join(sorted(k.value for k in _EDITABLE))
            raise InvalidInputError.field("$.kind", f"must be one of {choices}; got {kind_.value}", context=ctx)
        v.check_fields(ev.ContributionRevised, ctx, reason=reason)
        values = {name: value for name, value in given.items() if value is not None}
        allowed = REVISABLE[kind_]
        refused = sorted(set(values) - allowed)
        if refused:
            raise InvalidInputError(
                [
                    InvalidInputError.field(f"$.{name}", f"a {kind_.value} has no {name} to edit").errors[0]
                    for name in refused
                ],
                context=ctx,
            )
        if not values:
            fields = ", ".join(sorted(allowed))
            raise InvalidInputError.field("$", f"give at least one field to change: {fields}", context=ctx)
        times: dict[str, datetime] = {}
        for name in ("starts_at", "ends_at"):
            if name in values:
                try:
                    times[name] = ensure_utc(values.pop(name), f"$.{name}")
                except InvalidInputError as exc:
                    raise exc.under("$", context=ctx) from None
        if "tags" in values:
            values["tags"] = check_strings("$.tags", values["tags"], ctx)
        checked = {**v.check_fields(CONTRIBUTION_TYPES[kind_], ctx, **values), **times}

        def unit(uow: UnitOfWork) -> Contribution:
            target, community = self._open_target(
                uow, kind_, cid, _EDITABLE, ctx, action, actor, owner=True, paths=("$.kind", id_path)
            )
            self._refuse_locked_edit(uow, target, community, actor)
            current = {name: getattr(target, name) for name in checked}
            if isinstance(target, Meeting):
                start = checked.get("starts_at", target.starts_at)
                end = checked.get("ends_at", target.ends_at)
                if end < start:
                    raise InvalidInputError.field("$.ends_at", "a meeting cannot end before it starts", context=ctx)
            changed = {name: value for name, value in checked.items() if current[name] != value}
            if not changed:
                return target
            revision = getattr(target, "revision", 0) + 1
            uow.record(
                ev.ContributionRevised(
                    **self._event_base(actor, community.id),
                    contribution_id=target.id,
                    contribution_kind=target.KIND,
                    author_id=target.author_id,
                    revision=revision,
                    changed=RevisedFields(**changed),
                    previous=RevisedFields(**{name: current[name] for name in changed}),
                    reason=str(reason),
                )
            )
            found = uow.get(Ref(target.KIND.value, target.id))
            assert isinstance(found, CONTRIBUTION_CLASSES)
            return found

        return self._run(unit)

    def _refuse_locked_edit(self, uow: UnitOfWork, target: Contribution, community: Community, actor: str) -> None:
        """A locked thread's question, answers and their comments are edited only by whoever
        may lock it (its facilitators): `ConflictError` for anyone else, its authors included."""
        question = _thread_of(uow, target)
        if question is None or question.status is not ThreadStatus.LOCKED:
            return
        try:
            self._authorise(uow, Action.LOCK_THREAD, actor, community, subject=Ref("question", question.id))
        except PermissionDeniedError:
            raise ConflictError(
                f"the thread of question {question.id!r} is locked: only a facilitator edits it",
                kind="question",
                id=question.id,
            ) from None

    def revisions(self, viewer: str, kind: ContributionKind | str, contribution_id: str) -> list[Revision]:
        """The revisions of a contribution, oldest first (its author and the moderators read
        them; to anyone who may not read the community it is unknown). Revision n's
        `previous` holds the values the fields had before it: the text of any earlier
        revision is the current one with the later revisions' `previous` put back."""
        ctx = "revisions"
        viewer = check_id("$.viewer", viewer, ctx)
        kind_ = check_enum("$.kind", kind, ContributionKind, ctx)
        cid = check_id("$.contribution_id", contribution_id, ctx)
        found = self._store.get(Ref(kind_.value, cid))
        if found is None or not isinstance(found.value, CONTRIBUTION_CLASSES):
            raise NotFoundError(kind_.value, cid)
        target = found.value
        community = self._community(target.community_id, ctx)
        subject = Ref(kind_.value, cid)
        self._readable(viewer, community, subject=subject)
        self._readable(viewer, community, Action.READ_REVISIONS, subject=subject, owner_id=target.author_id)
        revisions = [
            r
            for r in self._store.find("revision", Filter(community_id=community.id, parent_id=cid))
            if isinstance(r, Revision) and r.contribution_kind is kind_
        ]
        return sorted(revisions, key=lambda r: r.number)

    # -- acceptance and the thread's status -----------------------------------------------------

    def unaccept(self, actor: str, question_id: str) -> Question:
        """Take back the acceptance of a question's accepted answer (its asker or a
        facilitator): the recognition of the acceptance is reversed."""
        ctx = "unaccept"
        actor = check_id("$.actor", actor, ctx)
        qid = check_id("$.question_id", question_id, ctx)

        def unit(uow: UnitOfWork) -> Question:
            question, community = self._open_question(uow, qid)
            self._authorise(
                uow, Action.UNACCEPT_ANSWER, actor, community, owner_id=question.author_id, subject=Ref("question", qid)
            )
            if question.accepted_answer_id is None:
                raise ConflictError(f"question {qid!r} has no accepted answer", kind="question", id=qid)
            answer = uow.get(Ref("answer", question.accepted_answer_id))
            author = answer.author_id if isinstance(answer, Answer) else question.author_id
            uow.record(
                ev.AnswerUnaccepted(
                    **self._event_base(actor, community.id),
                    question_id=qid,
                    answer_id=question.accepted_answer_id,
                    answer_author_id=author,
                    asker_id=question.author_id,
                )
            )
            return need(uow, "question", qid, Question)

        return self._run(unit)

    def close_thread(self, actor: str, question_id: str, *, reason: str = "") -> Question:
        """Close a question's thread (its asker or a facilitator): it is no longer among the
        unanswered questions, and the answer guarantee stops watching it."""
        return self._set_status("close_thread", actor, question_id, ThreadStatus.CLOSED, reason)

    def lock_thread(self, actor: str, question_id: str, *, reason: str = "") -> Question:
        """Lock a question's thread (a facilitator): closed, and no new answer nor comment."""
        return self._set_status("lock_thread", actor, question_id, ThreadStatus.LOCKED, reason)

    def reopen_thread(self, actor: str, question_id: str, *, reason: str = "") -> Question:
        """Open a closed thread again (its asker or a facilitator; a locked one: a facilitator)."""
        return self._set_status("reopen_thread", actor, question_id, ThreadStatus.OPEN, reason)

    def _open_question(self, uow: UnitOfWork, qid: str) -> tuple[Question, Community]:
        question = need(uow, "question", qid, Question)
        return question, need(uow, "community", question.community_id, Community)

    def _set_status(self, ctx: str, actor: str, question_id: str, status: ThreadStatus, reason: object) -> Question:
        actor = check_id("$.actor", actor, ctx)
        qid = check_id("$.question_id", question_id, ctx)
        v.check_fields(ev.ThreadStatusChanged, ctx, reason=reason)

        def unit(uow: UnitOfWork) -> Question:
            question, community = self._open_question(uow, qid)
            locking = ThreadStatus.LOCKED in (status, question.status)
            action = Action.LOCK_THREAD if locking else Action.CLOSE_THREAD
            self._authorise(uow, action, actor, community, owner_id=question.author_id, subject=Ref("question", qid))
            if question.withdrawn:
                raise ConflictError(f"question {qid!r} was withdrawn", kind="question", id=qid)
            if question.status is status:
                return question
            uow.record(
                ev.ThreadStatusChanged(
                    **self._event_base(actor, community.id),
                    question_id=qid,
                    asker_id=question.author_id,
                    status=status,
                    previous=question.status,
                    reason=str(reason),
                )
            )
            return need(uow, "question", qid, Question)

        return self._run(unit)


def _thread_of(uow: UnitOfWork, target: Contribution) -> Question | None:
    """The question whose thread holds `target` (a question, an answer, a comment on either),
    None for what no thread holds (a resource, an experience, a meeting, a comment on those)."""
    if isinstance(target, Comment):
        if target.target_kind not in (ContributionKind.QUESTION, ContributionKind.ANSWER):
            return None
        parent = uow.get(Ref(target.target_kind.value, target.target_id))
        if not isinstance(parent, (Question, Answer)):
            return None
        target = parent
    if isinstance(target, Answer):
        found = uow.get(Ref("question", target.question_id))
        return found if isinstance(found, Question) else None
    return target if isinstance(target, Question) else None
