"""The indexed fields of each aggregate: one definition shared by every storage adapter,
so that all of them answer the port's queries with the same semantics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from coplib.domain.community import CharterVersion, Community, Organisation
from coplib.domain.contributions import Answer, Comment, Endorsement, Question
from coplib.domain.history import Aggregate, Ref
from coplib.domain.membership import Membership
from coplib.domain.moderation import Flag, Revision


@attrs.frozen
class IndexRow:
    kind: str
    id: str
    community_id: str | None
    person_id: str | None  # a contribution's author, a membership's person
    parent_id: str | None  # an answer's question, a comment's or endorsement's target
    created_at: datetime | None
    open_since: datetime | None  # set on open questions only: drives the unanswered query
    status: str | None  # a membership's status, a flag's (open flags make the moderation queue)
    tags: frozenset[str]  # a contribution's tags, a membership's expertise
    roles: frozenset[str]  # a membership's roles
    sort_name: str | None  # a community's name, for the portfolio
    due_at: datetime | None = None  # when a timer aggregate (a `due_at` attribute) needs attention


def index_row(ref: Ref, value: Aggregate) -> IndexRow:
    """The indexed fields of `value` (stored under `ref`)."""
    fast = _FAST.get(type(value))
    return fast(ref, value) if fast is not None else generic_index_row(ref, value)


_NO_TAGS: frozenset[str] = frozenset()


def _question_row(ref: Ref, value: Aggregate) -> IndexRow:
    assert isinstance(value, Question)
    open_since = value.created_at if value.open else None
    return IndexRow(
        ref.kind, ref.id, value.community_id, value.author_id, None, value.created_at, open_since, None,
        value.tags, _NO_TAGS, None, None,
    )  # fmt: skip


def _answer_row(ref: Ref, value: Aggregate) -> IndexRow:
    assert isinstance(value, Answer)
    return IndexRow(
        ref.kind, ref.id, value.community_id, value.author_id, value.question_id, value.created_at, None, None,
        _NO_TAGS, _NO_TAGS, None, None,
    )  # fmt: skip


#: The kinds written most often, read without the generic lookups (a property test checks
#: that each gives what `generic_index_row` gives).
_FAST: dict[type, Callable[[Ref, Aggregate], IndexRow]] = {Question: _question_row, Answer: _answer_row}


def generic_index_row(ref: Ref, value: Aggregate) -> IndexRow:
    """`index_row` for any aggregate, by its attributes."""
    community_id: str | None = getattr(value, "community_id", None)
    person_id: str | None = getattr(value, "author_id", None) or getattr(value, "person_id", None)
    parent_id: str | None = None
    created_at: datetime | None = getattr(value, "created_at", None)
    open_since = None
    status = None
    tags: frozenset[str] = getattr(value, "tags", frozenset())
    roles: frozenset[str] = frozenset()
    sort_name = None
    match value:
        case Organisation():
            community_id = None
        case Community():
            community_id = value.id
            sort_name = value.name
        case CharterVersion():
            created_at = value.amended_at
            person_id = value.amended_by
        case Membership():
            person_id = value.person_id
            created_at = value.joined_at or value.since
            status = value.status.value
            tags = value.expertise
            roles = frozenset(r.value for r in value.roles)
        case Question():
            open_since = value.created_at if value.open else None
        case Answer():
            parent_id = value.question_id
        case Comment() | Endorsement():
            parent_id = value.target_id
        # editing and moderation: a contribution's revisions and flags, by the contribution
        case Revision():
            parent_id = value.contribution_id
            person_id = value.revised_by
            created_at = value.revised_at
        case Flag():
            parent_id = value.contribution_id
            status = value.status.value
    return IndexRow(
        kind=ref.kind,
        id=ref.id,
        community_id=community_id,
        person_id=person_id,
        parent_id=parent_id,
        created_at=created_at,
        open_since=open_since,
        status=status,
        tags=tags,
        roles=roles,
        sort_name=sort_name,
        due_at=getattr(value, "due_at", None),
    )
