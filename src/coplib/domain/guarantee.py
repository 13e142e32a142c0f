"""The answer guarantee's domain: its settings in a charter (the escalation ladder, the target,
the working calendar) and the `Watch` kept on each open question.

"Ask, and you get a fast answer" (seeds/000): a question goes at once to the experts of its
tags, and while nobody answers it climbs a ladder of steps, each notifying more people.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from coplib.domain import validation as v
from coplib.domain.calendar import Duration, DurationUnit, WorkingCalendar
from coplib.domain.community import Role
from coplib.domain.errors import FieldError, InvalidInputError

#: The policy's name: the key of its settings in `Charter.policy_settings` and of its switch
#: in `Charter.disabled_policies`.
POLICY_NAME: Final = "answer_guarantee"
#: The audience that means "the experts the question was routed to".
EXPERTS: Final = "experts"
#: Roles that cannot be a step's audience: everyone holds the first two, and the experts
#: of a question are the ``experts`` audience.
_NOT_AN_AUDIENCE: Final = frozenset({Role.MEMBER, Role.NEWCOMER, Role.EXPERT})
AUDIENCES: Final = (EXPERTS, *(r.value for r in Role if r not in _NOT_AN_AUDIENCE))
LADDER_MAX_STEPS: Final = 10
MAX_EXPERTS_LIMIT: Final = 50


class Route(enum.StrEnum):
    """Whom a question was routed to, in order of preference."""

    TAG_EXPERTS = "tag_experts"  # experts of one of its tags
    COMMUNITY_EXPERTS = "community_experts"  # no tag matched: the community's experts
    FACILITATORS = "facilitators"  # no expert at all: the facilitators
    NOBODY = "nobody"  # nobody but the asker holds any of these roles


class CloseReason(enum.StrEnum):
    """Why a watch ended."""

    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"  # the question was withdrawn
    EXHAUSTED = "exhausted"  # every step of the ladder was taken
    DISABLED = "disabled"  # the community switched the policy off
    COMMUNITY_CLOSED = "community_closed"
    ASKER_REMOVED = "asker_removed"  # the asker was removed from the community: nobody owes them an answer
    MODERATED = "moderated"  # the thread was closed or locked, or the question hidden


@attrs.frozen
class Step:
    """One rung of the ladder: once `delay` has passed since the question was asked without
    an answer, notify `audience` (``experts`` and role names)."""

    delay: Duration
    audience: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.delay}: {', '.join(self.audience)}"


@attrs.frozen
class Setting:
    """A key of the policy's settings, its default text and what it means."""

    key: str
    default: str
    meaning: str


#: Every setting the answer guarantee reads from ``Charter.policy_settings["answer_guarantee"]``.
SETTINGS: Final[tuple[Setting, ...]] = (
    Setting(
        "ladder",
        "4wh: experts, facilitator; 1wd: coach, sponsor",
        "steps separated by ';', each 'DELAY: audience, audience'; a delay counts from the question; "
        f"an audience is one of {', '.join(AUDIENCES)}; 'none' for no escalation",
    ),
    Setting("target", "4wh", "the promised time to a first answer, for the watch list and the measures"),
    Setting("timezone", "UTC", "the community's IANA time zone, e.g. Europe/Paris"),
    Setting("working_days", "mon-fri", "working days: names (mon...sun or lun...dim) and ranges"),
    Setting("working_hours", "09:00-18:00", "working hours of a working day, e.g. '09:00-12:30, 13:30-18:00'"),
    Setting("holidays", "", "days off: dates (2026-05-01) or month-days every year (12-25)"),
    Setting("max_experts", "5", f"at most this many experts are asked at once (1 to {MAX_EXPERTS_LIMIT})"),
)
DEFAULTS: Final[dict[str, str]] = {s.key: s.default for s in SETTINGS}


def parse_ladder(text: object, path: str = "$.ladder") -> tuple[Step, ...]:
    """``"4wh: experts, facilitator; 1wd: coach, sponsor"`` as steps (``"none"``: no step)."""
    if not isinstance(text, str):
        raise InvalidInputError.field(path, f"must be text such as '4wh: experts', got {type(text).__name__}")
    if text.strip().lower() in ("", "none"):
        return ()
    items = [item.strip() for item in text.split(";") if item.strip()]
    if len(items) > LADDER_MAX_STEPS:
        raise InvalidInputError.field(path, f"at most {LADDER_MAX_STEPS} steps, got {len(items)}")
    errors: list[FieldError] = []
    steps: list[Step] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        delay_text, colon, who = item.partition(":")
        if not colon:
            errors.append(
                FieldError(where, f"a step is 'DELAY: audience, ...' such as '4wh: experts', got {item!r:.60}")
            )
            continue
        try:
            delay = Duration.parse(delay_text, where)
        except InvalidInputError as exc:
            errors.extend(exc.errors)
            continue
        audience = [a.strip().lower() for a in re.split(r"[,\s]+", who) if a.strip()]
        unknown = [a for a in audience if a not in AUDIENCES]
        if not audience or unknown:
            shown = f"unknown audience {', '.join(unknown)!r:.60}" if unknown else "no audience"
            errors.append(FieldError(where, f"{shown}; choose among {', '.join(AUDIENCES)}"))
            continue
        steps.append(Step(delay, tuple(dict.fromkeys(audience))))
    for i, (before, after) in enumerate(itertools.pairwise(steps), start=1):
        if before.delay.working == after.delay.working and _minutes(after.delay) <= _minutes(before.delay):
            errors.append(
                FieldError(
                    f"{path}[{i}]", f"each step comes later than the one before: {after.delay} after {before.delay}"
                )
            )
    if errors:
        raise InvalidInputError(errors)
    return tuple(steps)


def _minutes(duration: Duration) -> int:
    # Comparable within one family; a working day counts as a day here, which keeps the order.
    factor = {"m": 1, "h": 60, "d": 1440}[duration.unit.value[-1]]
    return duration.amount * factor


def _check_has_working_time(calendar: WorkingCalendar) -> None:
    # Holidays can leave a calendar (almost) no working time: find one working day ahead now,
    # rather than when a question is asked.
    try:
        calendar.add_working_time(datetime.now(UTC), calendar.day_length)
    except InvalidInputError:
        raise InvalidInputError.field(
            "$.holidays", "the working days and holidays leave no working time: remove some holidays"
        ) from None


def _parse_max_experts(text: object) -> int:
    if not isinstance(text, str) or not text.strip().isdigit() or not 1 <= int(text) <= MAX_EXPERTS_LIMIT:
        raise InvalidInputError.field(
            "$.max_experts", f"must be a whole number from 1 to {MAX_EXPERTS_LIMIT}, got {text!r:.30}"
        )
    return int(text)


@attrs.frozen
class GuaranteeSettings:
    """The answer guarantee of one community, parsed from its charter."""

    ladder: tuple[Step, ...] = attrs.field(factory=lambda: parse_ladder(DEFAULTS["ladder"]))
    target: Duration = attrs.field(factory=lambda: Duration(4, DurationUnit.WORKING_HOURS))
    calendar: WorkingCalendar = attrs.field(factory=WorkingCalendar)
    max_experts: int = 5

    @classmethod
    def parse(cls, settings: Mapping[str, str]) -> GuaranteeSettings:
        """The settings from their text (defaults for the keys not given). Raises
        `InvalidInputError` naming every bad or unknown key (``$.ladder[1]``, ``$.timezone``...)."""
        errors: list[FieldError] = []
        if not isinstance(settings, Mapping):
            raise InvalidInputError.field("$", f"settings are a mapping of text, got {type(settings).__name__}")
        unknown = sorted(k for k in settings if k not in DEFAULTS)
        errors.extend(
            FieldError(f"$.{k}", f"unknown setting of {POLICY_NAME}; known settings: {', '.join(DEFAULTS)}")
            for k in unknown
        )
        text = {**DEFAULTS, **{k: val for k, val in settings.items() if k in DEFAULTS}}
        values: dict[str, Any] = {}

        def attempt(name: str, parse: Any, *args: Any, **kwargs: Any) -> None:
            try:
                values[name] = parse(*args, **kwargs)
            except InvalidInputError as exc:
                errors.extend(exc.errors)

        attempt("ladder", parse_ladder, text["ladder"])
        attempt("target", Duration.parse, text["target"], "$.target")
        attempt(
            "calendar",
            WorkingCalendar.from_settings,
            timezone=text["timezone"],
            working_days=text["working_days"],
            working_hours=text["working_hours"],
            holidays=text["holidays"],
        )
        attempt("max_experts", _parse_max_experts, text["max_experts"])
        if "calendar" in values:
            try:
                _check_has_working_time(values["calendar"])
            except InvalidInputError as exc:
                errors.extend(exc.errors)
        if errors:
            raise InvalidInputError(errors, context=f"settings of {POLICY_NAME}")
        return cls(**values)

    def due_at(self, asked_at: datetime, index: int, *, not_before: datetime | None = None) -> datetime | None:
        """When step `index` (0 for the first) of a question asked at `asked_at` falls, never
        before `not_before` (the previous step); None when the ladder has no such step."""
        if not 0 <= index < len(self.ladder):
            return None
        due = self.calendar.add(asked_at, self.ladder[index].delay)
        return max(due, not_before) if not_before is not None else due

    def target_at(self, asked_at: datetime) -> datetime:
        """When a question asked at `asked_at` should have its first answer."""
        return self.calendar.add(asked_at, self.target)


def settings_errors(settings: Mapping[str, str]) -> list[FieldError]:
    """What is wrong with a charter's settings of the answer guarantee (empty when nothing)."""
    try:
        GuaranteeSettings.parse(settings)
    except InvalidInputError as exc:
        return list(exc.errors)
    return []


# -- the watch on a question ------------------------------------------------------------------


#: attrs validator: a tuple of person ids (empty allowed).
person_ids = v.identifiers(allow_empty=True, what="a person id")


@attrs.frozen
class Watch:
    """The guarantee's watch on one question (kind ``answer_watch``, same id as the question):
    whom it was routed to, how far up the ladder it went, and when the next step falls.

    `due_at` is None once the watch is closed: answered, withdrawn, or the ladder exhausted.
    """

    question_id: str = attrs.field(validator=v.identifier)
    community_id: str = attrs.field(validator=v.identifier)
    asker_id: str = attrs.field(validator=v.identifier)
    asked_at: datetime = attrs.field(validator=v.utc_datetime)
    experts: tuple[str, ...] = attrs.field(converter=v.to_tuple, validator=person_ids)
    route: Route = attrs.field(validator=attrs.validators.instance_of(Route))
    due_at: datetime | None = attrs.field(validator=v.optional_utc_datetime)
    #: Steps taken so far, which is also the index of the next step in the ladder.
    steps_taken: int = attrs.field(default=0, validator=v.non_negative_int)
    last_escalated_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    closed_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    closed_because: CloseReason | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(CloseReason))
    )

    @property
    def id(self) -> str:
        return self.question_id

    @property
    def open(self) -> bool:
        return self.closed_at is None
