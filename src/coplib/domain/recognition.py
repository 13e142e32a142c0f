"""The recognition ledger: points per person and community, entry by entry, and badges.

Entries are append-only: a withdrawn contribution or a moved acceptance is undone by a
reversal entry, never by changing an entry. A balance is the running sum of its entries,
kept by the same events, so reading it costs one lookup and always equals the sum.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.ids import derived_id

# -- names --------------------------------------------------------------------------------------

_TOKEN: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TOKEN_MAX: Final = 50


def token(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A stable machine name (a points reason, a badge): lower-case letters, digits and ``_.-``."""
    if not isinstance(value, str) or not 0 < len(value) <= TOKEN_MAX or not _TOKEN.match(value):
        raise InvalidInputError.field(
            f"$.{attribute.name}",
            f"must be a name of 1 to {TOKEN_MAX} lower-case letters, digits or _ . - starting with a letter "
            f"or digit, got {value!r:.60}",
        )


def optional_token(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        token(instance, attribute, value)


def is_token(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= TOKEN_MAX and bool(_TOKEN.match(value))


# -- the points table ---------------------------------------------------------------------------

#: Why points are awarded: each reason names who gets them (see docs/recognition-and-participation.md).
QUESTION_ASKED: Final = "question_asked"  # the asker
ANSWER_POSTED: Final = "answer_posted"  # the answerer, not on their own question
ANSWER_ACCEPTED: Final = "answer_accepted"  # the author of the accepted answer, not the asker
ACCEPTED_AN_ANSWER: Final = "accepted_an_answer"  # the asker who accepts someone else's answer
ENDORSEMENT_RECEIVED: Final = "endorsement_received"  # the author of the endorsed contribution
RESOURCE_SHARED: Final = "resource_shared"
EXPERIENCE_RECORDED: Final = "experience_recorded"
MEETING_ATTENDED: Final = "meeting_attended"  # each attendee
VALUE_STORY_CREDITED: Final = "value_story_credited"  # each author a value story credits, not its teller

#: The default points table, in the spirit of Stack Exchange and Apache Answer: the accepted
#: answer pays most, endorsements next (an upvote), sharing to the repertoire a little less,
#: and simply taking part a little, so that contributing pays off at once.
DEFAULT_POINTS: Final[Mapping[str, int]] = {
    QUESTION_ASKED: 1,
    ANSWER_POSTED: 2,
    ANSWER_ACCEPTED: 15,
    ACCEPTED_AN_ANSWER: 2,
    ENDORSEMENT_RECEIVED: 10,
    RESOURCE_SHARED: 5,
    EXPERIENCE_RECORDED: 5,
    MEETING_ATTENDED: 2,
    VALUE_STORY_CREDITED: 5,
}
POINT_REASONS: Final = frozenset(DEFAULT_POINTS)
#: At most this many points per person, community and day (UTC) from capped reasons.
DEFAULT_DAILY_CAP: Final = 200
#: Reasons outside the daily cap: accepted answers, as on Stack Exchange.
DEFAULT_CAP_EXEMPT: Final = frozenset({ANSWER_ACCEPTED, ACCEPTED_AN_ANSWER})

#: Why an entry is reversed.
CONTRIBUTION_WITHDRAWN: Final = "contribution_withdrawn"
ACCEPTANCE_MOVED: Final = "acceptance_moved"
ATTENDANCE_CORRECTED: Final = "attendance_corrected"
MAX_POINTS: Final = 10_000

_ENTRY_NAMESPACE: Final = uuid.UUID("4d3b8a52-92f4-4f0b-a3c7-6a0e1f5c2d18")


def points_entry_id(community_id: str, reason: str, subject_id: str, person_id: str, generation: int) -> str:
    """The id of the `generation`-th award for `reason` on `subject_id` to `person_id`.

    Derived from what causes the award, so the same cause never pays twice: an award is
    recorded at the first generation with no entry yet, and only when the previous one was
    reversed (an answer accepted, unaccepted, then accepted again is paid twice, rightly)."""
    key = f"{community_id}\x00{reason}\x00{subject_id}\x00{person_id}\x00{generation}"
    return derived_id(_ENTRY_NAMESPACE.bytes, key, subject_id)


def reversal_entry_id(entry_id: str) -> str:
    """The id of the entry that reverses `entry_id`: one reversal at most per entry."""
    return derived_id(_ENTRY_NAMESPACE.bytes, f"reversal\x00{entry_id}", entry_id)


def points_balance_id(community_id: str, person_id: str) -> str:
    return f"{community_id}/{person_id}"


def day_of(moment: datetime) -> datetime:
    """The UTC midnight that starts `moment`'s day: the daily cap counts per UTC day."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


@attrs.frozen
class PointsEntry:
    """One line of the ledger: points to a person (negative for a reversal), and why."""

    id: str = attrs.field(validator=v.identifier)
    community_id: str = attrs.field(validator=v.identifier)
    person_id: str = attrs.field(validator=v.identifier)
    points: int = attrs.field(validator=v.instance_of(int))
    reason: str = attrs.field(validator=token)  # what the points were for (a reason of the table)
    subject_id: str = attrs.field(validator=v.identifier)  # the contribution (or meeting) concerned
    cause_event_id: str = attrs.field(validator=v.identifier)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    requested: int = attrs.field(default=0, validator=v.non_negative_int)  # the table's value, before the cap
    capped: bool = attrs.field(default=False, validator=v.instance_of(bool))  # counts toward the daily cap
    reverses: str | None = attrs.field(default=None, validator=v.optional_identifier)
    reversal_reason: str | None = attrs.field(default=None, validator=optional_token)

    @property
    def is_reversal(self) -> bool:
        return self.reverses is not None

    @property
    def author_id(self) -> str:
        """The person credited, under the name the stores index people by (`Store.find`'s
        ``person_id``), so that a person's entries are found like their contributions."""
        return self.person_id


@attrs.frozen
class PointsBalance:
    """A person's points in a community: the sum of their entries, kept by the same events."""

    community_id: str = attrs.field(validator=v.identifier)
    person_id: str = attrs.field(validator=v.identifier)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    updated_at: datetime = attrs.field(validator=v.utc_datetime)
    points: int = attrs.field(default=0, validator=v.instance_of(int))
    awarded: int = attrs.field(default=0, validator=v.non_negative_int)
    reversed: int = attrs.field(default=0, validator=v.non_negative_int)
    entries: int = attrs.field(default=0, validator=v.non_negative_int)
    #: The UTC day `capped_points` counts for: awards from capped reasons that day.
    capped_day: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    capped_points: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def id(self) -> str:
        return points_balance_id(self.community_id, self.person_id)

    @property
    def author_id(self) -> str:
        """The person, under the name the stores index people by (see `PointsEntry.author_id`)."""
        return self.person_id

    def capped_on(self, day: datetime) -> int:
        """Points from capped reasons awarded on `day` (a UTC midnight)."""
        return self.capped_points if self.capped_day == day else 0


def capped_award(balance: PointsBalance | None, requested: int, *, capped: bool, day: datetime, cap: int | None) -> int:
    """How many of `requested` points may be paid on `day` under a daily `cap` (None: no cap).

    An award that would pass the cap is cut to what is left (as Stack Exchange does); a
    reversal gives no room back, so withdrawing and posting again cannot earn more."""
    if not capped or cap is None:
        return requested
    used = balance.capped_on(day) if balance is not None else 0
    return max(0, min(requested, cap - used))


# -- badges -------------------------------------------------------------------------------------


def badge_award_id(community_id: str, person_id: str, badge: str) -> str:
    return f"{community_id}/{person_id}/{badge}"


@attrs.frozen
class BadgeAward:
    """A badge a person earned in a community (once per person, community and badge)."""

    community_id: str = attrs.field(validator=v.identifier)
    person_id: str = attrs.field(validator=v.identifier)
    badge: str = attrs.field(validator=token)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    cause_event_id: str = attrs.field(validator=v.identifier)

    @property
    def id(self) -> str:
        return badge_award_id(self.community_id, self.person_id, self.badge)

    @property
    def author_id(self) -> str:
        """The person, under the name the stores index people by (see `PointsEntry.author_id`)."""
        return self.person_id


def badge_progress_id(community_id: str, person_id: str, badge: str) -> str:
    """A person's progress toward a badge goes by the id its award will have (another kind)."""
    return badge_award_id(community_id, person_id, badge)


#: At most this many items are kept under one key of a badge's progress: a key counts while
#: one of them stands (answering the same newcomer a hundredth time adds nothing).
PROGRESS_ITEMS_MAX: Final = 3


def _check_progress(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise InvalidInputError.field(f"$.{attribute.name}", f"must be a mapping, got {type(value).__name__}")
    for key, items in value.items():
        if not v.is_identifier(key):
            raise InvalidInputError.field(f"$.{attribute.name}", f"keys are ids, got {key!r:.60}")
        if not isinstance(items, tuple) or not items or not all(v.is_identifier(i) for i in items):
            raise InvalidInputError.field(f"$.{attribute.name}.{key}", "must be a non-empty list of ids")


@attrs.frozen
class BadgeProgress:
    """How near a person is to a badge that counts things (`BadgeProgressed`): for each key
    counted (a newcomer helped), the items that show it (the answers)."""

    community_id: str = attrs.field(validator=v.identifier)
    person_id: str = attrs.field(validator=v.identifier)
    badge: str = attrs.field(validator=token)
    progress: dict[str, tuple[str, ...]] = attrs.field(validator=_check_progress, hash=False)
    updated_at: datetime = attrs.field(validator=v.utc_datetime)

    @property
    def id(self) -> str:
        return badge_progress_id(self.community_id, self.person_id, self.badge)

    @property
    def author_id(self) -> str:
        """The person, under the name the stores index people by (see `PointsEntry.author_id`)."""
        return self.person_id


# -- settings -----------------------------------------------------------------------------------


class SettingsReader:
    """Reads a policy's text settings from a charter, collecting each bad one as a
    `FieldError` at ``$.<key>`` (the policy contract's paths), with the value's default
    used in its place so that every error is found in one pass."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self.settings = settings
        self.errors: list[FieldError] = []
        self._read: set[str] = set()

    def _fail(self, key: str, message: str) -> None:
        self.errors.append(FieldError(f"$.{key}", message))

    def whole(self, key: str, default: int, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
        """A whole number from `minimum` to `maximum`."""
        self._read.add(key)
        text = self.settings.get(key)
        if text is None:
            return default
        try:
            value = int(text.strip())
        except ValueError:
            self._fail(key, f"must be a whole number from {minimum} to {maximum}, got {text!r:.60}")
            return default
        if not minimum <= value <= maximum:
            self._fail(key, f"must be a whole number from {minimum} to {maximum}, got {value}")
            return default
        return value

    def optional_whole(
        self, key: str, default: int | None, *, minimum: int = 1, maximum: int = 1_000_000
    ) -> int | None:
        """A whole number, or ``none`` for no limit."""
        self._read.add(key)
        text = self.settings.get(key)
        if text is not None and text.strip().lower() == "none":
            return None
        if text is None:
            return default
        return self.whole(key, default if default is not None else minimum, minimum=minimum, maximum=maximum)

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        self._read.add(key)
        allowed = tuple(choices)
        text = self.settings.get(key)
        if text is None:
            return default
        if text.strip() not in allowed:
            self._fail(key, f"must be one of {', '.join(allowed)}; got {text!r:.60}")
            return default
        return text.strip()

    def names(self, key: str, default: frozenset[str], allowed: frozenset[str] | None = None) -> frozenset[str]:
        """A comma-separated list of names (empty text: none), each among `allowed` if given."""
        self._read.add(key)
        text = self.settings.get(key)
        if text is None:
            return default
        found = frozenset(n.strip() for n in text.split(",") if n.strip())
        bad = sorted(n for n in found if not is_token(n) or (allowed is not None and n not in allowed))
        if bad:
            known = f"; known: {', '.join(sorted(allowed))}" if allowed is not None else ""
            self._fail(key, f"unknown name(s) {', '.join(bad)[:200]}{known}")
            return default
        return found

    def weights(self, key: str, default: Mapping[str, int], allowed: frozenset[str]) -> dict[str, int]:
        """``name:weight`` pairs separated by commas, replacing the defaults they name."""
        self._read.add(key)
        text = self.settings.get(key)
        out = dict(default)
        if text is None:
            return out
        for item in (p.strip() for p in text.split(",") if p.strip()):
            name, sep, weight = item.partition(":")
            name = name.strip()
            if not sep or name not in allowed:
                self._fail(
                    key, f"each item is name:weight with a name among {', '.join(sorted(allowed))}; got {item!r:.60}"
                )
                return dict(default)
            try:
                value = int(weight.strip())
            except ValueError:
                value = -1
            if not 0 <= value <= 1000:
                self._fail(key, f"the weight of {name} must be a whole number from 0 to 1000, got {weight!r:.20}")
                return dict(default)
            out[name] = value
        return out

    def check_unknown(self, policy: str, *, open_prefixes: Iterable[str] = ()) -> None:
        """Report every setting nobody read (a typo would otherwise be silently ignored);
        keys under `open_prefixes` (``name.``) belong to someone else and are let through."""
        prefixes = tuple(open_prefixes)
        for key in sorted(self.settings):
            if key not in self._read and not (prefixes and key.startswith(prefixes)):
                self._fail(key, f"unknown setting for policy {policy!r}")


def invalid_settings(policy: str, community_id: str | None, errors: Iterable[FieldError]) -> InvalidInputError:
    """The error for a charter whose settings for `policy` are wrong: each bad setting named
    under ``$.policy_settings.<policy>`` (errors come with paths from ``$``, as
    `coplib.ports.policy.Policy.settings_errors` gives them)."""
    where = f"charter of community {community_id!r}" if community_id else "charter"
    return InvalidInputError(errors, context=where).under(f"$.policy_settings.{policy}")


@attrs.frozen
class RecognitionSettings:
    """The points table, the daily cap and its exemptions, as a charter sets them."""

    points: Mapping[str, int] = attrs.field(factory=lambda: dict(DEFAULT_POINTS), hash=False)
    daily_cap: int | None = DEFAULT_DAILY_CAP
    cap_exempt: frozenset[str] = DEFAULT_CAP_EXEMPT

    @classmethod
    def read(
        cls, settings: Mapping[str, str], policy: str = "recognition"
    ) -> tuple[RecognitionSettings, list[FieldError]]:
        """The settings a charter gives (text values), and what is wrong with them."""
        reader = SettingsReader(settings)
        points = {
            reason: reader.whole(reason, default, maximum=MAX_POINTS) for reason, default in DEFAULT_POINTS.items()
        }
        cap = reader.optional_whole("daily_cap", DEFAULT_DAILY_CAP, minimum=1, maximum=MAX_POINTS * 10)
        exempt = reader.names("cap_exempt", DEFAULT_CAP_EXEMPT, POINT_REASONS)
        reader.check_unknown(policy)
        return cls(points=points, daily_cap=cap, cap_exempt=exempt), reader.errors
