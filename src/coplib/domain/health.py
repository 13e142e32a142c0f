"""Community health, computed: the facts a store aggregates for one community, the settings a
charter gives the report, and the indicators, each a pure function of the facts (docs/health.md
states every formula; the anchors of that page are the keys used here).

"If you cannot measure it, you cannot improve it" (seeds/003). The store does the heavy part
(one aggregate query per family of facts, `coplib.ports.storage.ReadQueries.question_facts`,
`contributor_facts` and `member_facts`); what is here only combines their rows, so that every
store gives the same report from the same history.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, NamedTuple

import attrs

from coplib.domain.calendar import DurationUnit, WorkingCalendar
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.guarantee import GuaranteeSettings
from coplib.domain.recognition import SettingsReader
from coplib.domain.value import ValueCycles

# -- the facts a store aggregates -----------------------------------------------------------------
# Rows, as named tuples rather than attrs values: a report on a long history builds hundreds of
# thousands of them, and a tuple is built several times faster.

#: The kinds of aggregate that count as contributions. Endorsements are votes, not
#: contributions: a Stack Exchange import gives them to pseudo-persons, one per rank of vote.
CONTRIBUTION_KINDS: Final = ("question", "answer", "comment", "resource", "experience", "meeting")
#: The kinds that feed the shared repertoire (seeds/002: documents, experience, know-how).
REPERTOIRE_KINDS: Final = ("resource", "experience")


class QuestionFacts(NamedTuple):
    """One live (not withdrawn) question, with what its live answers did for it.

    `first_answer_at` is the earliest answer by someone other than the asker (a self-answer
    is not help received); an author who stands for no one person (see
    `HealthSettings.unattributed`) counts as someone else, on either side. `helpers` are the
    distinct authors of those answers, sorted. `accepted`: its accepted answer is live.
    """

    question_id: str
    asker_id: str
    asked_at: datetime
    first_answer_at: datetime | None
    helpers: tuple[str, ...]
    accepted: bool


class PeriodFacts(NamedTuple):
    """One week (starting on Monday) or one month (UTC) of the period: its live contributions,
    how many are answers, how many people made them, and the answers by the designated experts."""

    start: date
    contributions: int
    answers: int
    active_contributors: int
    answers_by_experts: int


class PersonFacts(NamedTuple):
    """One person who contributed (live contributions before `until`): how much in the period
    (in all, questions, answers, repertoire items), their first and last contributions ever,
    their first question, and, for a person whose first contribution is a question (a
    first-time asker), whether they contributed again within the retention window after it
    (None for everyone else)."""

    person_id: str
    contributions: int
    questions: int
    answers: int
    repertoire: int
    first_at: datetime
    last_at: datetime
    first_question_at: datetime | None
    contributed_again: bool | None


class ContributorFacts(NamedTuple):
    """What `ReadQueries.contributor_facts` returns: the weeks and months of the period that
    have contributions (by start), and the people (by id)."""

    weekly: list[PeriodFacts]
    monthly: list[PeriodFacts]
    people: list[PersonFacts]


class MemberFacts(NamedTuple):
    """An active member: when they joined (None when the membership does not say) and whether
    they hold the expert role (a designated expert, seeds/000)."""

    person_id: str
    joined_at: datetime | None
    expert: bool


def left_out(contribution: object) -> bool:
    """Whether the report leaves a contribution out: withdrawn, or hidden by a moderator and
    not shown again (docs/health.md, "Counting rules")."""
    return bool(getattr(contribution, "withdrawn", False)) or getattr(contribution, "hidden_reason", None) is not None


def question_facts_of(
    questions: Iterable[Any], answers: Iterable[Any], *, until: datetime, unattributed: Sequence[str] = ()
) -> list[QuestionFacts]:
    """`QuestionFacts` from the community's questions and answers themselves (every one,
    whatever its state): what a store without an aggregate query of its own answers (the
    memory store does; `coplib.ports.question_facts_by_finding` from `find`)."""
    unknown = pattern_regex(unattributed)
    helping_by_question: dict[str, list[Any]] = {}
    gone: set[str] = set()  # answers left out: an accepted one leaves its question unaccepted
    for answer in answers:
        if left_out(answer):
            gone.add(answer.id)
        elif answer.created_at < until:
            helping_by_question.setdefault(answer.question_id, []).append(answer)
    facts = []
    for question in questions:
        if left_out(question) or question.created_at >= until:
            continue
        asker = question.author_id
        anyone = unknown is not None and unknown.match(asker) is not None
        helping = [a for a in helping_by_question.get(question.id, ()) if anyone or a.author_id != asker]
        facts.append(
            QuestionFacts(
                question.id,
                asker,
                question.created_at,
                min((a.created_at for a in helping), default=None),
                tuple(sorted({a.author_id for a in helping})),
                question.accepted_answer_id is not None and question.accepted_answer_id not in gone,
            )
        )
    return sorted(facts, key=lambda q: (q.asked_at, q.question_id))


def contributor_facts_of(
    contributions: Iterable[tuple[str, str, datetime]],
    *,
    since: datetime | None,
    until: datetime,
    experts: Iterable[str] = (),
    window: timedelta = timedelta(days=90),
) -> ContributorFacts:
    """`ContributorFacts` from the live contributions themselves, as (kind, author, creation):
    what a store without an aggregate query of its own answers (the memory store does)."""
    experts_ = set(experts)
    start = since or datetime.min.replace(tzinfo=until.tzinfo)
    weeks: dict[date, list[Any]] = {}
    months: dict[date, list[Any]] = {}
    times: dict[str, list[datetime]] = {}
    firsts_q: dict[str, datetime] = {}
    done: dict[str, list[int]] = {}
    for kind, person, created in contributions:
        if created >= until:
            continue
        times.setdefault(person, []).append(created)
        if kind == "question" and (person not in firsts_q or created < firsts_q[person]):
            firsts_q[person] = created
        if created < start:
            continue
        day = created.date()
        counts = done.setdefault(person, [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += kind == "question"
        counts[2] += kind == "answer"
        counts[3] += kind in REPERTOIRE_KINDS
        for table, key in ((weeks, day - timedelta(days=day.weekday())), (months, day.replace(day=1))):
            row = table.setdefault(key, [0, 0, set(), 0])
            row[0] += 1
            row[1] += kind == "answer"
            row[2].add(person)
            row[3] += kind == "answer" and person in experts_

    def periods(table: dict[date, list[Any]]) -> list[PeriodFacts]:
        return [PeriodFacts(k, r[0], r[1], len(r[2]), r[3]) for k, r in sorted(table.items())]

    people = []
    for person, moments in sorted(times.items()):
        moments.sort()
        first_q = firsts_q.get(person)
        again = None
        if first_q is not None and first_q == moments[0]:
            again = len(moments) > 1 and moments[1] <= moments[0] + window
        n, q, a, r = done.get(person, (0, 0, 0, 0))
        people.append(PersonFacts(person, n, q, a, r, moments[0], moments[-1], first_q, again))
    return ContributorFacts(periods(weeks), periods(months), people)


# -- unattributed authors ---------------------------------------------------------------------------

#: Authors who stand for no one person: what coplib's importers give posts without an account
#: (the Stack Exchange importer's ``<site>/anonymous/<hash>`` per display name and
#: ``<site>/former-member``). Patterns: ``*`` stands for any run of characters.
DEFAULT_UNATTRIBUTED: Final = ("*/anonymous/*", "*/former-member")


def pattern_regex(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression matching a whole id against any of `patterns` (``*``: any
    characters, everything else literal), or None for no pattern."""
    parts = ["".join(".*" if piece == "*" else re.escape(piece) for piece in re.split(r"(\*)", p)) for p in patterns]
    return re.compile("(?:" + "|".join(parts) + r")\Z", re.DOTALL) if parts else None


# -- the settings of the report, in a charter ---------------------------------------------------------

#: A fast answer: within 24 hours (answered_within_24h, the retention split). Fixed, so that
#: the figures of two communities, or of coplib and another tool, compare.
FAST: Final = timedelta(hours=24)

#: The key of the report's settings in `Charter.policy_settings`.
POLICY_NAME: Final = "community_health"

#: The components of the health index, each a share from 0 to 1 (docs/health.md#index).
COMPONENTS: Final = ("answered", "fast", "solved", "retention", "participation", "reciprocity", "spread", "takeover")
DEFAULT_WEIGHTS: Final[Mapping[str, int]] = {
    "answered": 20,
    "fast": 20,
    "solved": 5,
    "retention": 20,
    "participation": 10,
    "reciprocity": 10,
    "spread": 5,
    "takeover": 10,
}
#: Participation levels by contributions in the period (Wenger-Trayner's names); a member
#: below the lowest threshold is peripheral (reads, does not write).
LEVELS: Final = ("core_group", "active", "occasional")
DEFAULT_LEVELS: Final[Mapping[str, int]] = {"core_group": 20, "active": 5, "occasional": 1}


@attrs.frozen
class Setting:
    """A key of the report's settings, its default text and what it means."""

    key: str
    default: str
    meaning: str


SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("retention_days", "90", "a first-time asker is retained when they contribute again within this many days"),
    Setting("inactive_days", "90", "a member who contributed before but not in this many days is inactive"),
    Setting(
        "unattributed",
        ", ".join(DEFAULT_UNATTRIBUTED),
        "authors who stand for no one person (* is any characters): their answers and questions never make "
        "a self-answer",
    ),
    Setting(
        "weights",
        ", ".join(f"{k}: {v}" for k, v in DEFAULT_WEIGHTS.items()),
        f"the weight of each component of the health index ({', '.join(COMPONENTS)})",
    ),
    Setting(
        "levels",
        ", ".join(f"{k}: {v}" for k, v in DEFAULT_LEVELS.items()),
        "contributions in the period that make a member core_group, active, occasional (else peripheral)",
    ),
)


@attrs.frozen
class HealthSettings:
    """The report's settings for one community, as its charter sets them
    (``policy_settings["community_health"]``), defaults for what it leaves out."""

    retention_window: timedelta = timedelta(days=90)
    inactive_after: timedelta = timedelta(days=90)
    unattributed: tuple[str, ...] = DEFAULT_UNATTRIBUTED
    weights: Mapping[str, int] = attrs.field(factory=lambda: dict(DEFAULT_WEIGHTS), hash=False)
    levels: Mapping[str, int] = attrs.field(factory=lambda: dict(DEFAULT_LEVELS), hash=False)

    @classmethod
    def parse(cls, settings: Mapping[str, str]) -> HealthSettings:
        """The settings from their text. Raises `InvalidInputError` naming every bad or
        unknown key (``$.weights``...)."""
        if not isinstance(settings, Mapping):
            raise InvalidInputError.field("$", f"settings are a mapping of text, got {type(settings).__name__}")
        read = SettingsReader(settings)
        retention = read.whole("retention_days", 90, minimum=1, maximum=3650)
        inactive = read.whole("inactive_days", 90, minimum=1, maximum=3650)
        unattributed = _patterns(read, settings)
        weights = read.weights("weights", DEFAULT_WEIGHTS, frozenset(COMPONENTS))
        levels = read.weights("levels", DEFAULT_LEVELS, frozenset(LEVELS))
        if not read.errors and not levels["core_group"] >= levels["active"] >= levels["occasional"] >= 1:
            read.errors.append(
                FieldError("$.levels", f"needs core_group >= active >= occasional >= 1, got {_pairs(levels)}")
            )
        read.check_unknown(POLICY_NAME)
        if read.errors:
            raise InvalidInputError(read.errors)
        return cls(
            retention_window=timedelta(days=retention),
            inactive_after=timedelta(days=inactive),
            unattributed=unattributed,
            weights=weights,
            levels=levels,
        )


def _pairs(values: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in values.items())


def _patterns(read: SettingsReader, settings: Mapping[str, str]) -> tuple[str, ...]:
    read.names("unattributed", frozenset())  # marks the key as read; the check is below
    read.errors[:] = [e for e in read.errors if e.path != "$.unattributed"]
    text = settings.get("unattributed")
    if text is None:
        return DEFAULT_UNATTRIBUTED
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in patterns if any(c.isspace() for c in p) or p.strip("*") == ""]
    if bad:
        read.errors.append(
            FieldError("$.unattributed", f"patterns are ids with * for any characters, not only *: {bad[0]!r:.60}")
        )
        return DEFAULT_UNATTRIBUTED
    return patterns


def settings_errors(settings: Mapping[str, str]) -> list[FieldError]:
    """What is wrong with a charter's settings of the health report (empty when nothing)."""
    try:
        HealthSettings.parse(settings)
    except InvalidInputError as exc:
        return list(exc.errors)
    return []


# -- pure measures ----------------------------------------------------------------------------------


def median(ordered: Sequence[float]) -> float | None:
    """The median of sorted values: the middle one, or the mean of the two middle ones."""
    n = len(ordered)
    if not n:
        return None
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def percentile(ordered: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted values: the smallest value with at least
    `share` of the values at or below it (the 90th: ``share=0.9``)."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def absence_factor(contributions: Iterable[int]) -> int:
    """CHAOSS's contributor absence factor: the fewest people whose contributions make at least
    half of all contributions (0 when there are none)."""
    counts = sorted((c for c in contributions if c > 0), reverse=True)
    total = sum(counts)
    running = 0
    for people, count in enumerate(counts, start=1):
        running += count
        if 2 * running >= total:
            return people
    return 0


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def health_index(scores: Mapping[str, float | None], weights: Mapping[str, int]) -> float | None:
    """100 times the weighted mean of the components that have a score (a component without
    one, such as the response time of a period without questions, is left out and the weights
    of the others share its place); None when no weighted component has a score."""
    weighted = [(weights.get(k, 0), s) for k, s in scores.items() if s is not None and weights.get(k, 0) > 0]
    total = sum(w for w, _ in weighted)
    if not total:
        return None
    return 100 * sum(w * s for w, s in weighted) / total


# -- the charter's target, fast ----------------------------------------------------------------------


class TargetCheck:
    """Whether a first answer came by the charter's target (the answer guarantee's ``target``):
    at or before ``GuaranteeSettings.target_at(asked)``, without walking the calendar for each
    question: a working-time target reads cumulative working time from a table of the
    calendar's days, built once and extended as needed. Where the working time is within a
    millisecond of the target, the calendar decides exactly."""

    def __init__(self, settings: GuaranteeSettings) -> None:
        self.settings = settings
        self.calendar: WorkingCalendar = settings.calendar
        self.working = settings.target.working
        self.by_day = settings.target.unit is DurationUnit.DAYS  # local calendar days: the calendar decides
        self.length = self.calendar.length_of(settings.target).total_seconds()
        self._zone = None if self.calendar.timezone == "UTC" else self.calendar.zone
        self._first = 0  # ordinal of the first day of the table
        self._before: list[float] = []  # working seconds from the table's start to each day
        self._spans: list[tuple[tuple[float, float], ...]] = []

    def __call__(self, asked: datetime, answered: datetime) -> bool:
        if self.by_day:
            return answered <= self.settings.target_at(asked)
        wait = (answered - asked).total_seconds()
        if wait <= self.length:  # working time never runs faster than the clock
            return True
        if not self.working:
            return False
        start = self._working(asked)  # first: the table may start again from its day
        done = self._working(answered) - start
        if abs(done - self.length) > 1e-3:
            return done < self.length
        return answered <= self.settings.target_at(asked)

    def _working(self, moment: datetime) -> float:
        """Working seconds from the start of the table to `moment`."""
        ordinal = (moment if self._zone is None else moment.astimezone(self._zone)).toordinal()
        i = ordinal - self._first
        if not 0 <= i < len(self._spans):
            i = self._cover(ordinal)
        at = moment.timestamp()
        done = self._before[i]
        for start, end in self._spans[i]:
            if at > start:
                done += (at if at < end else end) - start
        return done

    def _cover(self, ordinal: int) -> int:
        if not self._spans:
            self._first = ordinal
            self._add_day(ordinal)
        elif ordinal < self._first:  # earlier than the table: build it again from there
            last = self._first + len(self._spans) - 1
            self._first, self._before, self._spans = ordinal, [], []
            for day in range(ordinal, last + 1):
                self._add_day(day)
        while ordinal >= self._first + len(self._spans):
            self._add_day(self._first + len(self._spans))
        return ordinal - self._first

    def _add_day(self, ordinal: int) -> None:
        before = self._before[-1] + sum(e - s for s, e in self._spans[-1]) if self._spans else 0.0
        spans = tuple((a.timestamp(), b.timestamp()) for a, b in self.calendar.spans_on(date.fromordinal(ordinal)))
        self._before.append(before)
        self._spans.append(spans)


# -- the report ---------------------------------------------------------------------------------------


@attrs.frozen
class Responsiveness:
    """docs/health.md#responsiveness: how fast and how often questions get a first answer."""

    questions: int
    answered: int
    share_answered: float | None
    median_hours_to_first_answer: float | None
    p90_hours_to_first_answer: float | None
    answered_within_24h: int
    share_within_24h: float | None
    target: str
    answered_within_target: int
    share_within_target: float | None
    accepted: int
    share_accepted: float | None
    unanswered: int
    unanswered_median_age_days: float | None
    unanswered_oldest_age_days: float | None


@attrs.frozen
class Activity:
    """docs/health.md#activity: how much happens, and by how many people."""

    questions: int
    answers: int
    repertoire: int
    contributions: int
    active_contributors: int
    new_contributors: int


@attrs.frozen
class RetentionGroup:
    """First-time askers of one group: how many, how many of them are retained, the share."""

    askers: int
    retained: int
    share_retained: float | None


@attrs.frozen
class Retention:
    """docs/health.md#retention: the seed's thesis measured. First-time askers (whose first
    contribution is a question asked in the period), retained when they contribute again
    within the window, split by how their first question was answered."""

    window_days: int
    fast_hours: int
    first_time_askers: int
    pending: int  # their window has not ended yet: not counted below
    all: RetentionGroup
    answered_fast: RetentionGroup
    answered_later: RetentionGroup
    never_answered: RetentionGroup


@attrs.frozen
class Interaction:
    """docs/health.md#interaction: who helps whom."""

    help_pairs: int
    mutual_pairs: int
    givers: int
    receivers: int
    gave_and_received: int
    reciprocity: float | None  # of the members
    reciprocity_of_participants: float | None  # of those who gave or received


@attrs.frozen
class MonthOfExperts:
    """Answers of one month by the designated experts and by the other members."""

    month: str  # YYYY-MM
    by_experts: int
    by_others: int
    share_by_others: float | None


@attrs.frozen
class Concentration:
    """docs/health.md#concentration: whether a few carry the community."""

    absence_factor: int
    contributors: int
    designated_experts: int
    answers_by_experts: int
    answers_by_others: int
    share_by_others: float | None
    by_month: tuple[MonthOfExperts, ...]


@attrs.frozen
class Members:
    """docs/health.md#members: the members, inactive ones, and levels of participation."""

    members: int
    inactive_days: int
    inactive: int
    never_contributed: int
    levels: Mapping[str, int] = attrs.field(hash=False)


@attrs.frozen
class SeriesPoint:
    """One week (starting on Monday, UTC) or one month of the period."""

    start: date
    questions: int
    answered: int
    answered_within_24h: int
    median_hours_to_first_answer: float | None
    answers: int
    contributions: int
    active_contributors: int
    new_contributors: int


@attrs.frozen
class Group:
    """A named group of indicators (a Wenger dimension, an axis of seeds/003): the indicators
    it reads (keys of the report) and the score of its index components (0 to 100)."""

    name: str
    indicators: tuple[str, ...]
    components: tuple[str, ...]
    score: float | None


@attrs.frozen
class CommunityHealth:
    """The health report of one community over [since, until): every indicator of
    docs/health.md, the weekly and monthly series, the groups and the index."""

    community_id: str
    name: str
    since: datetime | None
    until: datetime
    responsiveness: Responsiveness
    activity: Activity
    retention: Retention
    interaction: Interaction
    concentration: Concentration
    members: Members
    weekly: tuple[SeriesPoint, ...]
    monthly: tuple[SeriesPoint, ...]
    components: Mapping[str, float | None] = attrs.field(hash=False)
    weights: Mapping[str, int] = attrs.field(hash=False)
    index: float | None
    dimensions: tuple[Group, ...]
    axes: tuple[Group, ...]
    #: The five cycles of value over the period (`coplib.domain.value`), added by the engine.
    value: ValueCycles | None = attrs.field(default=None, eq=False)
    #: Where the community stands and where it is going (a `coplib.domain.lifecycle.
    #: LifecycleReport`, typed loosely here: that module builds on this one), when the
    #: engine's read adds it.
    lifecycle: Any = attrs.field(default=None, eq=False, hash=False)

    @property
    def questions_per_month(self) -> dict[str, int]:
        return {p.start.strftime("%Y-%m"): p.questions for p in self.monthly}


#: Wenger's three dimensions (seeds/004) and the three axes of seeds/003, as groups of the
#: report's indicators and of the index's components.
DIMENSIONS: Final = (
    (
        "mutual_engagement",
        ("activity.active_contributors", "interaction.help_pairs", "interaction.reciprocity", "retention.all"),
        ("participation", "reciprocity", "retention"),
    ),
    (
        "joint_enterprise",
        (
            "responsiveness.share_answered",
            "responsiveness.median_hours_to_first_answer",
            "responsiveness.share_within_target",
            "responsiveness.unanswered",
        ),
        ("answered", "fast"),
    ),
    (
        "shared_repertoire",
        ("responsiveness.accepted", "activity.answers", "activity.repertoire", "concentration.share_by_others"),
        ("solved", "takeover"),
    ),
)
AXES: Final = (
    (
        "social",
        (
            "activity.active_contributors",
            "activity.new_contributors",
            "interaction.reciprocity",
            "retention.all",
            "members.inactive",
        ),
        ("participation", "reciprocity", "retention", "spread"),
    ),
    (
        "intellectual",
        ("activity.answers", "activity.repertoire", "responsiveness.accepted", "concentration.share_by_others"),
        ("solved", "takeover"),
    ),
    (
        "performance",
        (
            "responsiveness.share_answered",
            "responsiveness.median_hours_to_first_answer",
            "responsiveness.share_within_24h",
            "responsiveness.share_within_target",
        ),
        ("answered", "fast"),
    ),
)


def start_of_day(day: date) -> datetime:
    """The first instant of a UTC day."""
    return datetime.combine(day, time(0), tzinfo=UTC)
