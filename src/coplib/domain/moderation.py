"""Editing and moderation: revisions of a contribution, a thread's status, flags.

A contribution is edited by a revision (`Revision`, one aggregate per revision: who, when,
why, which fields changed, their values before and after); a question's thread is open,
closed (no longer waiting for an answer) or locked (no new answer nor comment); a member
flags a contribution with a reason (`Flag`), and the facilitators, from the moderation queue
of open flags, hide the contribution with a reason (visible to its author) or dismiss the
flags. See docs/host-api.md.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from coplib.domain import validation as v
from coplib.domain.contributions import (
    BODY_TEXT,
    OPTIONAL_BODY_TEXT,
    OPTIONAL_LOCATION_TEXT,
    TITLE_TEXT,
    ContributionKind,
    ThreadStatus,
)

__all__ = ["REVISABLE", "Flag", "FlagStatus", "RevisedFields", "Revision", "ThreadStatus", "revision_id"]


class FlagStatus(enum.StrEnum):
    """Where a flag stands in the moderation queue."""

    OPEN = "open"
    UPHELD = "upheld"  # the contribution was hidden
    DISMISSED = "dismissed"


#: The fields a revision may change, per kind of contribution.
REVISABLE: Final[dict[ContributionKind, frozenset[str]]] = {
    ContributionKind.QUESTION: frozenset({"title", "body", "tags"}),
    ContributionKind.ANSWER: frozenset({"body"}),
    ContributionKind.COMMENT: frozenset({"body"}),
    ContributionKind.RESOURCE: frozenset({"title", "location", "description", "tags"}),
    ContributionKind.EXPERIENCE: frozenset({"title", "body", "tags"}),
    ContributionKind.MEETING: frozenset({"title", "description", "location", "starts_at", "ends_at", "tags"}),
}
#: Reasons (of a flag, a hiding, a revision) are short texts.
REASON_MAX: Final = v.SHORT_TEXT_MAX


def _optional(check: v.Validator) -> v.Validator:
    def run(instance: object, attribute: attrs.Attribute[object], value: object) -> None:
        if value is not None:
            check(instance, attribute, value)

    return run


def _optional_tags(value: object) -> frozenset[str] | None:
    return None if value is None else v.to_tags(value)


@attrs.frozen(kw_only=True)
class RevisedFields:
    """Values of the revisable fields; a field left None is not part of the revision. Each
    rule is the widest of the kinds' (a comment's body and a resource's location are checked
    more narrowly, against the kind's own fields, by the command and by the transition that
    applies the revision)."""

    title: str | None = attrs.field(default=None, validator=_optional(TITLE_TEXT))
    body: str | None = attrs.field(default=None, validator=_optional(BODY_TEXT))
    description: str | None = attrs.field(default=None, validator=_optional(OPTIONAL_BODY_TEXT))
    location: str | None = attrs.field(default=None, validator=_optional(OPTIONAL_LOCATION_TEXT))
    starts_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    ends_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    tags: frozenset[str] | None = attrs.field(default=None, converter=_optional_tags, validator=_optional(v.tags()))

    def names(self) -> tuple[str, ...]:
        """The fields this revision sets, in a stable order."""
        return tuple(f.name for f in attrs.fields(RevisedFields) if getattr(self, f.name) is not None)


def revision_id(kind: ContributionKind | str, contribution_id: str, number: int) -> str:
    return f"{ContributionKind(kind).value}:{contribution_id}#{number:06d}"


@attrs.frozen
class Revision:
    """Revision `number` (1 for the first edit) of a contribution: who made it, when, why,
    and the fields it changed, with their values before (`previous`) and after (`changed`)."""

    community_id: str = attrs.field(validator=v.identifier)
    contribution_id: str = attrs.field(validator=v.identifier)
    contribution_kind: ContributionKind = attrs.field(validator=attrs.validators.instance_of(ContributionKind))
    number: int = attrs.field(validator=v.non_negative_int)
    revised_by: str = attrs.field(validator=v.identifier)
    revised_at: datetime = attrs.field(validator=v.utc_datetime)
    changed: RevisedFields = attrs.field(validator=attrs.validators.instance_of(RevisedFields))
    previous: RevisedFields = attrs.field(validator=attrs.validators.instance_of(RevisedFields))
    reason: str = attrs.field(default="", validator=v.text(max_chars=REASON_MAX, allow_empty=True))

    @property
    def id(self) -> str:
        return revision_id(self.contribution_kind, self.contribution_id, self.number)


@attrs.frozen
class Flag:
    """A member's report that a contribution breaks the charter, with a reason; open until a
    facilitator hides the contribution or dismisses the flag."""

    id: str = attrs.field(validator=v.identifier)
    community_id: str = attrs.field(validator=v.identifier)
    contribution_id: str = attrs.field(validator=v.identifier)
    contribution_kind: ContributionKind = attrs.field(validator=attrs.validators.instance_of(ContributionKind))
    author_id: str = attrs.field(validator=v.identifier)  # who flagged
    target_author_id: str = attrs.field(validator=v.identifier)
    reason: str = attrs.field(validator=v.text(max_chars=REASON_MAX))
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    status: FlagStatus = attrs.field(default=FlagStatus.OPEN, validator=attrs.validators.instance_of(FlagStatus))
    reviewed_by: str | None = attrs.field(default=None, validator=v.optional_identifier)
    reviewed_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    note: str = attrs.field(default="", validator=v.text(max_chars=REASON_MAX, allow_empty=True))

    @property
    def open(self) -> bool:
        return self.status is FlagStatus.OPEN
