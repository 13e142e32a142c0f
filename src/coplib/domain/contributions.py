"""Contributions: questions and answers, comments, endorsements, and the shared repertoire."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from coplib.domain import validation as v
from coplib.domain.community import CommunityId
from coplib.domain.errors import InvalidInputError
from coplib.domain.people import PersonId

ContributionId = str


class ContributionKind(enum.StrEnum):
    """The kinds of contribution, by their stable storage names."""

    QUESTION = "question"
    ANSWER = "answer"
    COMMENT = "comment"
    ENDORSEMENT = "endorsement"
    RESOURCE = "resource"
    EXPERIENCE = "experience"
    MEETING = "meeting"


class ResourceKind(enum.StrEnum):
    """What a shared resource is: a document or a link."""

    DOCUMENT = "document"
    LINK = "link"


class ExperienceKind(enum.StrEnum):
    """What an experience tells: a lesson learned or a whole case."""

    LESSON = "lesson"  # a lesson learned
    CASE = "case"  # a case told in full


class ThreadStatus(enum.StrEnum):
    """Where a question's thread stands (`coplib.domain.moderation`)."""

    OPEN = "open"
    CLOSED = "closed"  # settled or off-topic: no longer among the unanswered questions
    LOCKED = "locked"  # closed, and no new answer nor comment is taken


#: A hiding's reason, shown to the author of the hidden contribution.
_HIDDEN = attrs.validators.optional(v.text(max_chars=v.SHORT_TEXT_MAX))


#: The rules of the contributions' texts (their events hold to them too). Titles and
#: locations are one line; bodies, descriptions and comments take line breaks and tabs.
TITLE_TEXT: Final = v.text(max_chars=v.TITLE_MAX)
BODY_TEXT: Final = v.text(max_bytes=v.BODY_MAX_BYTES, multiline=True)
OPTIONAL_BODY_TEXT: Final = v.text(max_bytes=v.BODY_MAX_BYTES, allow_empty=True, multiline=True)
#: A comment's body, in characters.
COMMENT_MAX: Final = v.SHORT_TEXT_MAX * 4
COMMENT_TEXT: Final = v.text(max_chars=COMMENT_MAX, multiline=True)
LOCATION_TEXT: Final = v.text(max_chars=v.SHORT_TEXT_MAX)
OPTIONAL_LOCATION_TEXT: Final = v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True)


@attrs.frozen
class Question:
    """A member's question; `open` while nobody has answered it (the help space to watch)."""

    id: ContributionId = attrs.field(validator=v.identifier)
    community_id: CommunityId = attrs.field(validator=v.identifier)
    author_id: PersonId = attrs.field(validator=v.identifier)
    title: str = attrs.field(validator=TITLE_TEXT)
    body: str = attrs.field(validator=BODY_TEXT)
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    answer_count: int = attrs.field(default=0, validator=v.non_negative_int)
    first_answered_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    accepted_answer_id: ContributionId | None = attrs.field(default=None, validator=v.optional_identifier)
    withdrawn: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Editing and moderation (`coplib.domain.moderation`): how many revisions it had, and
    #: the reason it was hidden by a facilitator (None: shown).
    revision: int = attrs.field(default=0, validator=v.non_negative_int)
    hidden_reason: str | None = attrs.field(default=None, validator=_HIDDEN)
    status: ThreadStatus = attrs.field(default=ThreadStatus.OPEN, validator=attrs.validators.instance_of(ThreadStatus))

    KIND = ContributionKind.QUESTION

    @property
    def open(self) -> bool:
        """Waiting for an answer: the promise of a fast answer is still to keep (neither
        withdrawn, closed, locked nor hidden)."""
        return (
            not self.withdrawn
            and self.answer_count == 0
            and self.status is ThreadStatus.OPEN
            and self.hidden_reason is None
        )

    @property
    def hidden(self) -> bool:
        return self.hidden_reason is not None


@attrs.frozen
class Answer:
    """An answer to a question of the same community."""

    id: ContributionId = attrs.field(validator=v.identifier)
    community_id: CommunityId = attrs.field(validator=v.identifier)
    question_id: ContributionId = attrs.field(validator=v.identifier)
    author_id: PersonId = attrs.field(validator=v.identifier)
    body: str = attrs.field(validator=BODY_TEXT)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    withdrawn: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Editing and moderation (`coplib.domain.moderation`): how many revisions it had, and
    #: the reason it was hidden by a facilitator (None: shown).
    revision: int = attrs.field(default=0, validator=v.non_negative_int)
    hidden_reason: str | None = attrs.field(default=None, validator=_HIDDEN)

    KIND = ContributionKind.ANSWER


@attrs.frozen
class Comment:
    """A comment on a question, an answer, a resource, an experience or a meeting."""

    id: ContributionId = attrs.field(validator=v.identifier)
    community_id: CommunityId = attrs.field(validator=v.identifier)
    target_id: ContributionId = attrs.field(validator=v.identifier)
    target_kind: ContributionKind = attrs.field(validator=attrs.validators.instance_of(ContributionKind))
    author_id: PersonId = attrs.field(validator=v.identifier)
    body: str = attrs.field(validator=COMMENT_TEXT)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    withdrawn: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Editing and moderation (`coplib.domain.moderation`): how many revisions it had, and
    #: the reason it was hidden by a facilitator (None: shown).
    revision: int = attrs.field(default=0, validator=v.non_negative_int)
    hidden_reason: str | None = attrs.field(default=None, validator=_HIDDEN)

    KIND = ContributionKind.COMMENT


@attrs.frozen
class Endorsement:
    """One person vouching for another's contribution (at most one per person and target)."""

    id: ContributionId = attrs.field(validator=v.identifier)
    community_id: CommunityId = attrs.field(validator=v.identifier)
    target_id: ContributionId = attrs.field(validator=v.identifier)
    target_kind: ContributionKind = attrs.field(validator=attrs.validators.instance_of(ContributionKind))
    target_author_id: PersonId = attrs.field(validator=v.identifier)
    author_id: PersonId = attrs.field(validator=v.identifier)
    created_at: datetime = attrs.field(validator=v.utc_datetime)

    KIND = ContributionKind.ENDORSEMENT


@attrs.frozen
class Resource:
    """A document or a link in the community's shared repertoire."""

    id: ContributionId = attrs.field(validator=v.identifier)
    community_id: CommunityId = attrs.field(validator=v.identifier)
    author_id: PersonId = attrs.field(validator=v.identifier)
    title: str = attrs.field(validator=TITLE_TEXT)
    kind: ResourceKind = attrs.field(validator=attrs.validators.instance_of(ResourceKind))
    location: str = attrs.field(validator=LOCATION_TEXT)
    description: str = attrs.field(validator=OPTIONAL_BODY_TEXT)
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    withdrawn: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Editing and moderation (`coplib.domain.moderation`): how many revisions it had, and
    #: the reason it was hidden by a facilitator (None: shown).
    revision: int = attrs.field(default=0, validator=v.non_negative_int)
    hidden_reason: str | None = attrs.field(default=None, validator=_HIDDEN)

    KIND = ContributionKind.RESOURCE


@attrs.frozen
class Experience:
    """A lesson learned or a case, told for the others."""

    id: ContributionId = attrs.field(validator=v.identifier)
    community_id: CommunityId = attrs.field(validator=v.identifier)
    author_id: PersonId = attrs.field(validator=v.identifier)
    title: str = attrs.field(validator=TITLE_TEXT)
    body: str = attrs.field(validator=BODY_TEXT)
    kind: ExperienceKind = attrs.field(validator=attrs.validators.instance_of(ExperienceKind))
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    withdrawn: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Editing and moderation (`coplib.domain.moderation`): how many revisions it had, and
    #: the reason it was hidden by a facilitator (None: shown).
    revision: int = attrs.field(default=0, validator=v.non_negative_int)
    hidden_reason: str | None = attrs.field(default=None, validator=_HIDDEN)

    KIND = ContributionKind.EXPERIENCE


@attrs.frozen
class Meeting:
    """An event of the community (a meeting, a call to all), with its attendance."""

    id: ContributionId = attrs.field(validator=v.identifier)
    community_id: CommunityId = attrs.field(validator=v.identifier)
    author_id: PersonId = attrs.field(validator=v.identifier)  # the organiser
    title: str = attrs.field(validator=TITLE_TEXT)
    description: str = attrs.field(validator=OPTIONAL_BODY_TEXT)
    starts_at: datetime = attrs.field(validator=v.utc_datetime)
    ends_at: datetime = attrs.field(validator=v.utc_datetime)
    location: str = attrs.field(validator=OPTIONAL_LOCATION_TEXT)
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    attendees: frozenset[PersonId] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=v.members_of(str, max_count=v.ATTENDEES_MAX)
    )
    withdrawn: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Editing and moderation (`coplib.domain.moderation`): how many revisions it had, and
    #: the reason it was hidden by a facilitator (None: shown).
    revision: int = attrs.field(default=0, validator=v.non_negative_int)
    hidden_reason: str | None = attrs.field(default=None, validator=_HIDDEN)

    KIND = ContributionKind.MEETING

    @ends_at.validator
    def _after_start(self, attribute: attrs.Attribute[datetime], value: datetime) -> None:
        if isinstance(value, datetime) and isinstance(self.starts_at, datetime) and value < self.starts_at:
            raise InvalidInputError.field("$.ends_at", "a meeting cannot end before it starts")


Contribution = Question | Answer | Comment | Endorsement | Resource | Experience | Meeting

CONTRIBUTION_TYPES: dict[ContributionKind, type[Contribution]] = {
    ContributionKind.QUESTION: Question,
    ContributionKind.ANSWER: Answer,
    ContributionKind.COMMENT: Comment,
    ContributionKind.ENDORSEMENT: Endorsement,
    ContributionKind.RESOURCE: Resource,
    ContributionKind.EXPERIENCE: Experience,
    ContributionKind.MEETING: Meeting,
}

#: The contribution classes, for ``isinstance`` checks.
CONTRIBUTION_CLASSES: tuple[type[Contribution], ...] = tuple(CONTRIBUTION_TYPES.values())
