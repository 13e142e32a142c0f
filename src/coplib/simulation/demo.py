"""A runnable example (`coplib demo`): a mutual-help community's first weeks, driven through
the real engine with a manual clock, then a report computed from the engine's own queries.

The scenario follows DOMAIN.md: an organisation and its portfolio, a community launched with a
charter, experts organised to answer fast (seeds/000), members joining by each admission path,
a charter amendment, a removal, refusals with their reasons, and the messages people receive.
Everything random (who asks, what, how fast the answer comes) comes from one seeded generator,
so the same seed always prints the same story.
"""

from __future__ import annotations

import functools
import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, TextIO

import attrs

import coplib
from coplib.adapters.notification.recording import RecordingNotifier
from coplib.domain.community import (
    Admission,
    Charter,
    CharterRule,
    CollaborationMode,
    CommunityKind,
    LifecycleStage,
    MembershipPolicy,
    Role,
    Visibility,
)
from coplib.domain.contributions import ContributionKind, ExperienceKind, Question, ResourceKind
from coplib.domain.errors import CharterViolationError, ConflictError, NotFoundError, PermissionDeniedError
from coplib.domain.membership import MembershipStatus
from coplib.domain.people import Person
from coplib.domain.permissions import SYSTEM
from coplib.notification.messages import render
from coplib.ports.storage import Period
from coplib.service.engine import Engine

#: The demo's first day: a Monday, so that its weeks are the store's weeks (which start on Monday).
DEMO_START: Final = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
MIN_WEEKS: Final = 2
MAX_WEEKS: Final = 52
DEFAULT_WEEKS: Final = 4
DEFAULT_SEED: Final = 1
#: Where `coplib demo` writes when given no ``--db``: apart from `coplib.DEFAULT_URL`'s file,
#: so that the demo never mixes its organisations into a host's own store.
DEFAULT_DB: Final = "coplib-demo.db"
#: Questions asked by the seeded routine in each week after the first.
ROUTINE_QUESTIONS_PER_WEEK: Final = 3

ORGANISATION_NAME: Final = "Rivière Industries"
COMMUNITY_NAME: Final = "Entraide maintenance"
COMMUNITY_TAGS: Final = ("hydraulics", "pneumatics", "plc", "automation", "vibration", "lubrication")
#: The question nobody answers: asked in the last week on a theme no expert covers yet.
UNANSWERED_TITLE: Final = "Vibration spikes on the cooling tower fan"
UNANSWERED_ASKERS: Final = ("julien", "maya", "nadia", "lucas", "sofia", "karim", "helene")
#: Tom's second question, refused until he has given something (the charter's rule).
TORQUE_TITLE: Final = "Which torque for the P-31 flange bolts?"


def _person(pid: str, name: str, locale: str, **attributes: str) -> Person:
    return Person(id=pid, display_name=name, email=f"{pid}@example.org", locale=locale, attributes=attributes)


#: The people of the organisation (the static identity directory). Ids are first names, so
#: that a message saying "karim invites you" reads well in either language.
PEOPLE: Final = (
    _person("helene", "Hélène Marchand", "fr", department="operations", job="director"),
    _person("karim", "Karim Benali", "fr", department="maintenance", job="maintenance lead", site="Lyon"),
    _person("sofia", "Sofia Rossi", "en", department="engineering", job="hydraulics engineer", site="Turin"),
    _person("lucas", "Lucas Petit", "fr", department="engineering", job="automation engineer", site="Lyon"),
    _person("nadia", "Nadia Haddad", "fr", department="documentation", job="documentalist", site="Lyon"),
    _person("julien", "Julien Morel", "fr", department="maintenance", job="technician", site="Grenoble"),
    _person("tom", "Tom Becker", "en", department="maintenance", job="technician", site="Hamburg"),
    _person("maya", "Maya Okafor", "en", department="maintenance", job="technician", site="Hamburg"),
    _person("ines", "Inès Garcia", "fr", department="maintenance", job="apprentice", site="Lyon"),
    _person("remi", "Rémi Lefort", "fr", department="purchasing", job="supplier liaison"),
    _person("victor", "Victor Lambert", "en", department="finance", job="controller"),
    _person("paul", "Paul Girard", "fr", department="safety", job="safety officer"),
    _person("claire", "Claire Dubois", "fr", department="operations", job="plant manager"),
    _person("bruno", "Bruno Faure", "fr", department="methods", job="lean engineer"),
    Person(id="olivier", display_name="Olivier Roux", locale="fr", active=False),
)
_BY_ID: Final = {p.id: p for p in PEOPLE}

#: The experts the facilitator organises from day one, and the tags each answers for.
EXPERTS: Final = {"sofia": ("hydraulics", "pneumatics"), "lucas": ("automation", "plc")}
#: Members who may ask and answer in the routine weeks, and the week (from 0) they can start.
ROUTINE_MEMBERS: Final = {
    "tom": 2,  # week 2 is scripted for him: refused by give-before-receive, then he gives
    "maya": 0,
    "julien": 0,
    "nadia": 0,
    "sofia": 0,
    "lucas": 0,
    "karim": 0,
    "ines": 2,
}

_TITLES: Final = {
    "hydraulics": (
        "Press {m} loses pressure after warm-up",
        "Oil temperature keeps climbing on press {m}",
        "Hose bursts twice a month on press {m}",
    ),
    "pneumatics": (
        "Cylinder on line {l} jerks at low speed",
        "Air consumption doubled on line {l}",
        "Valve terminal on line {l} clicks but nothing moves",
    ),
    "plc": (
        "PLC of line {l} drops its fieldbus link",
        "How do I back up the PLC program of line {l}?",
        "Watchdog fault after the firmware update on line {l}",
    ),
    "automation": (
        "Robot cell {m} stops at the same step",
        "Light curtain of cell {m} trips for no reason",
        "Which safety relay for the new cell {m}?",
    ),
    "vibration": ("Which sensor to watch bearing wear on pump {m}?", "Fan {m} vibrates above 1,500 rpm"),
    "lubrication": (
        "Grease or oil for the conveyor chains of line {l}?",
        "The lubricator of press {m} empties too fast",
    ),
}
_MACHINES: Final = ("P-12", "P-31", "C-07", "R-04", "F-19", "M-22")
_ANSWERS: Final = (
    "Check the seals before the pump: nine times out of ten that is where it leaks.",
    "We had the same last year; the fix is in the troubleshooting guide, section 4.",
    "Log the values for one shift first, then compare with the commissioning report.",
    "Swap the part with the one from the twin machine: if the fault moves, you have it.",
    "Ask the night shift: they saw it first. Meanwhile lower the cycle rate by 10%.",
)
_COMMENTS: Final = (
    "Same issue on our site last winter.",
    "Could you post a photo of the part?",
    "Thanks, this saves me an afternoon.",
    "Adding this to the guide.",
)


# -- the report -------------------------------------------------------------------------------


@attrs.frozen
class QuestionStat:
    """One question as the report shows it: when, by whom, and how fast it got an answer."""

    title: str
    tags: tuple[str, ...]
    asker: str
    asked_at: datetime
    first_answer_after: timedelta | None
    first_answerer: str | None
    answers: int
    accepted: bool


@attrs.frozen
class Refusal:
    """An action the engine refused, with the reason it gave."""

    at: datetime
    actor: str
    attempt: str
    error: str
    reason: str


@attrs.frozen
class MessageLine:
    """A message delivered by `Engine.dispatch`, as its recipient read it."""

    at: datetime
    recipient: str
    locale: str
    topic: str
    subject: str
    body: str
    params: dict[str, str] = attrs.field(hash=False)


@attrs.frozen
class DemoReport:
    """What the demo did, computed from the engine's queries after the run (refusals and
    messages are what the scenario saw happen)."""

    url: str
    run: int
    seed: int
    weeks: int
    organisation_id: str
    organisation_name: str
    community_id: str
    community_name: str
    start: datetime
    end: datetime
    portfolio: tuple[str, ...]
    charter_versions: tuple[tuple[int, str, str], ...]
    members_by_role: dict[str, tuple[str, ...]]
    memberships_by_status: dict[str, int]
    joined_via: dict[str, int]
    contributions: dict[str, int]
    withdrawn: dict[str, int]
    questions: tuple[QuestionStat, ...]
    unanswered: tuple[str, ...]
    events_per_week: tuple[tuple[date, int], ...]
    total_events: int
    messages: tuple[MessageLine, ...]
    refusals: tuple[Refusal, ...]

    @property
    def answered(self) -> int:
        return sum(1 for q in self.questions if q.first_answer_after is not None)

    @property
    def answer_rate(self) -> float:
        return self.answered / len(self.questions) if self.questions else 0.0


# -- helpers ----------------------------------------------------------------------------------


def name(person_id: str) -> str:
    """A person's first name as the demo prints it."""
    person = _BY_ID.get(person_id)
    return person.display_name.split()[0] if person else person_id


def format_duration(delta: timedelta) -> str:
    """``25 min``, ``3 h 10 min``, ``2 d 4 h``: as a member would say it."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _daytime(moment: datetime) -> datetime:
    """`moment`, or the next morning when it falls in the night: people act by day."""
    if moment.hour < 8:
        return moment.replace(hour=8)
    if moment.hour >= 19:
        return (moment + timedelta(days=1)).replace(hour=8)
    return moment


def _when(moment: datetime) -> str:
    week = (moment - DEMO_START).days // 7 + 1
    return f"w{week} {moment:%a %H:%M}"


class SeededIds:
    """The engine's id factory: 16 hex digits from a generator seeded by the demo's seed and
    run number, so that ids repeat for the same seed and never collide between runs."""

    def __init__(self) -> None:
        self._rng = random.Random(0)

    def reseed(self, seed: int, run: int) -> None:
        self._rng = random.Random(f"coplib-demo:{seed}:{run}")

    def __call__(self) -> str:
        return f"{self._rng.getrandbits(64):016x}"


class _Agenda:
    """What happens when: actions run in time order, each at its moment on the manual clock
    (ties keep the order they were planned in). Actions may plan further actions."""

    def __init__(self, clock: coplib.ManualClock, end: datetime) -> None:
        self._clock = clock
        self.end = end
        self._queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._planned = 0

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        if moment < self.end:  # what would happen after the demo's last day does not
            self._planned += 1
            heapq.heappush(self._queue, (moment, self._planned, action))

    def run(self, after_each: Callable[[], None]) -> None:
        while self._queue:
            moment, _, action = heapq.heappop(self._queue)
            if moment > self._clock.now():  # never backwards: a late action runs at once
                self._clock.set(moment)
            action()
            after_each()
        self._clock.set(self.end)


# -- the scenario -----------------------------------------------------------------------------


class _Scenario:
    def __init__(self, engine: Engine, clock: coplib.ManualClock, *, weeks: int, seed: int, out: TextIO) -> None:
        self.engine = engine
        self.clock = clock
        self.weeks = weeks
        self.rng = random.Random(seed)
        self.out = out
        self.agenda = _Agenda(clock, DEMO_START + timedelta(weeks=weeks))
        self.org_id = ""
        self.cid = ""
        self.questions: dict[str, str] = {}  # scenario key -> question id
        self.refusals: list[Refusal] = []
        self.messages: list[MessageLine] = []
        self.portfolio: tuple[str, ...] = ()
        self._titles: set[str] = set()
        self._notifier = next(p for p in engine.plugin_manager.get_plugins() if isinstance(p, RecordingNotifier))
        self._seen = 0
        self._week_messages: Counter[str] = Counter()

    # -- printing ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        print(f"[{_when(self.clock.now())}] {text}", file=self.out)

    def note(self, text: str) -> None:
        print(f"    {text}", file=self.out)

    def heading(self, text: str) -> None:
        print(f"\n== {text} ==", file=self.out)

    # -- time -------------------------------------------------------------------------------

    @staticmethod
    def t(week: int, day: int, hour: int, minute: int = 0) -> datetime:
        return DEMO_START + timedelta(weeks=week, days=day, hours=hour, minutes=minute)

    # -- delivery ---------------------------------------------------------------------------

    def deliver(self) -> None:
        """Run the dispatcher as a host's worker would after each change, and show what
        people received: one by one in the first two weeks, as a tally afterwards."""
        for _ in range(1_000):  # bounded, whatever a notifier plugin does
            if not self.engine.dispatch(limit=100):
                break
        deliveries = self._notifier.deliveries
        fresh, self._seen = deliveries[self._seen :], len(deliveries)
        # Messages of one moment leave in the outbox's id order, which differs between runs:
        # show them in an order that depends on the story only.
        fresh.sort(key=lambda d: (d.message.created_at, d.message.recipient_id, d.message.topic))
        for d in fresh:
            if d.message.community_id != self.cid:
                continue
            line = MessageLine(
                at=self.clock.now(),
                recipient=d.message.recipient_id,
                locale=d.rendered.locale,
                topic=d.message.topic,
                subject=d.rendered.subject,
                body=d.rendered.body,
                params=dict(d.message.params),
            )
            self.messages.append(line)
            if self.clock.now() < self.t(2, 0, 0):
                self.note(f"✉ to {name(line.recipient)} [{line.locale}]: {line.subject}")
            else:
                self._week_messages[line.topic] += 1

    def tick(self) -> None:
        report = self.engine.tick()
        done = {policy: n for policy, n in sorted(report.done.items()) if n}
        if done:
            self.say("engine.tick(): " + ", ".join(f"{policy} acted on {n}" for policy, n in done.items()))
        for error in report.errors:
            self.note(f"a policy failed: {error}")

    def week_summary(self, week: int) -> None:
        if self._week_messages:
            tally = ", ".join(f"{topic} {n}" for topic, n in sorted(self._week_messages.items()))
            self.say(f"week {week + 1}: {sum(self._week_messages.values())} messages delivered ({tally})")
        self._week_messages.clear()

    # -- refusals ---------------------------------------------------------------------------

    def refused(self, actor: str, attempt: str, command: Callable[[], object]) -> None:
        """Run a command the scenario expects the engine to refuse, and show why it did."""
        try:
            command()
        except PermissionDeniedError as exc:
            self._refusal(actor, attempt, "permission denied", exc.reason)
        except CharterViolationError as exc:
            self._refusal(actor, attempt, "charter violation", str(exc).split(": ", 1)[-1])
        except ConflictError as exc:
            self._refusal(actor, attempt, "conflict", str(exc))
        else:
            raise AssertionError(f"the engine accepted what the demo expected it to refuse: {attempt}")

    def _refusal(self, actor: str, attempt: str, error: str, reason: str) -> None:
        self.refusals.append(Refusal(self.clock.now(), actor, attempt, error, reason))
        self.say(f"{name(actor)} tries to {attempt}: REFUSED ({error})")
        self.note(f"reason: {reason}")

    # -- the story ----------------------------------------------------------------------------

    def plan(self) -> None:
        last = self.weeks - 1
        at = self.agenda.at
        t = self.t
        at(t(0, 0, 9, 30), self.launch)
        at(t(0, 0, 9, 40), self.organise_roles)
        at(t(0, 0, 10, 0), self.invite_core)
        at(t(0, 0, 11, 0), lambda: self.join_invited("nadia", Role.DOCUMENTALIST))
        at(t(0, 0, 14, 0), lambda: self.join_invited("julien", Role.CORE_GROUP))
        at(t(0, 0, 15, 0), self.open_joins)
        at(t(0, 0, 16, 0), self.schedule_kickoff)
        at(t(0, 0, 16, 30), self.show_portfolio)
        at(t(0, 1, 9, 10), self.share_guide)
        at(t(0, 1, 10, 0), self.fast_question)
        at(t(0, 1, 14, 0), self.advertising)
        at(t(0, 1, 14, 30), self.removal)
        at(t(0, 2, 9, 0), self.outsider_posts)
        at(t(0, 2, 9, 30), self.removed_member_answers)
        at(t(0, 2, 10, 0), self.slow_question)
        at(t(0, 3, 15, 10), self.kickoff_attendance)
        at(t(0, 3, 16, 0), self.member_amends_charter)
        at(t(0, 4, 11, 0), self.experience)
        at(t(0, 4, 15, 0), self.slow_answer)
        at(t(0, 4, 16, 0), functools.partial(self.accept, "maya", "slow"))
        at(t(0, 4, 16, 30), self.departed_person_joins)
        at(t(1, 0, 9, 0), self.amend_charter)
        at(t(1, 0, 10, 0), self.give_before_receive)
        at(t(1, 0, 11, 0), self.tom_gives)
        at(t(1, 0, 11, 30), self.tom_asks_again)
        at(t(1, 1, 9, 0), self.request_membership)
        at(t(1, 1, 11, 0), self.approval)
        at(t(last, 3, 10, 0), self.unanswered_question)
        for week in range(1, self.weeks):
            self.plan_routine_week(week)
        for week in range(self.weeks):
            at(t(week, 6, 20, 0), functools.partial(self.week_summary, week))
            # The host's scheduler: policies act on what is due every working hour.
            for day in range(5):
                for hour in range(8, 20):
                    at(t(week, day, hour, 0), self.tick)

    def setup_organisation(self, org: coplib.Organisation) -> None:
        """Before the community: the organisation and the rest of its portfolio."""
        self.org_id = org.id
        self.heading(f"{org.name} and its portfolio")
        self.say(f"Hélène creates the organisation {org.name}")
        others = (
            ("paul", "Sécurité des sites", CommunityKind.PRACTICE, Visibility.RESTRICTED, Admission.APPROVAL),
            ("claire", "Direction d'usine", CommunityKind.PRACTICE, Visibility.PRIVATE, Admission.INVITATION),
            ("bruno", "Club lean", CommunityKind.INTEREST, Visibility.OPEN, Admission.OPEN),
        )
        vocations = {
            "paul": "Safety officers share incidents and near misses",
            "claire": "Plant managers compare notes in confidence",
            "bruno": "Anyone curious about lean methods",
        }
        for founder, title, kind, visibility, admission in others:
            self.engine.create_community(
                founder,
                self.org_id,
                name=title,
                kind=kind,
                visibility=visibility,
                charter=Charter(vocation=vocations[founder], membership_policy=MembershipPolicy(admission)),
            )
            self.say(f"{name(founder)} creates {title} ({kind.value}, {visibility.value}, admission {admission.value})")

    def launch(self) -> None:
        self.heading(f"Week 1: launching {COMMUNITY_NAME}")
        charter = Charter(
            vocation="Maintenance technicians of every site help each other fix breakdowns fast",
            member_profiles=(
                "maintenance technicians of every site",
                "automation and hydraulics engineers",
                "apprentices and newcomers to the trade",
            ),
            roles=frozenset(
                {
                    Role.SPONSOR,
                    Role.FACILITATOR,
                    Role.EXPERT,
                    Role.DOCUMENTALIST,
                    Role.CORE_GROUP,
                    Role.MEMBER,
                    Role.NEWCOMER,
                }
            ),
            resources=("troubleshooting guides", "machine manuals", "lessons learned from breakdowns"),
            collaboration_modes=frozenset(
                {
                    CollaborationMode.QUESTIONS,
                    CollaborationMode.SHARED_REPERTOIRE,
                    CollaborationMode.EXPERIENCES,
                    CollaborationMode.MEETINGS,
                    CollaborationMode.ASYNCHRONOUS,
                }
            ),
            rules=frozenset({CharterRule.SINGLE_VENUE}),
            membership_policy=MembershipPolicy(Admission.OPEN),
            common_culture="No question is silly; we answer within the hour when we can",
            individual_interest="Less time stuck on a breakdown; recognition for the help given",
        )
        community = self.engine.create_community(
            "karim",
            self.org_id,
            name=COMMUNITY_NAME,
            charter=charter,
            kind=CommunityKind.MUTUAL_HELP,
            visibility=Visibility.OPEN,
            tags=COMMUNITY_TAGS,
        )
        self.cid = community.id
        self.say(
            f"Karim creates {community.name} ({community.kind.value}, {community.visibility.value}); he animates it"
        )
        self.note(f"vocation: {charter.vocation}")
        self.note(f"member profiles: {'; '.join(charter.member_profiles)}")
        self.note(f"roles: {', '.join(sorted(r.value for r in charter.roles))}")
        self.note(f"resources: {'; '.join(charter.resources)}")
        self.note(f"collaboration modes: {', '.join(sorted(m.value for m in charter.collaboration_modes))}")
        self.note(f"rules: {', '.join(sorted(r.value for r in charter.rules))}")
        self.note(f"membership policy: admission {charter.membership_policy.admission.value}")
        self.note(f"themes: {', '.join(sorted(community.tags))}")
        self.engine.change_stage("karim", self.cid, LifecycleStage.COALESCING)
        self.note("stage: potential -> coalescing")

    def organise_roles(self) -> None:
        self.engine.join("helene", self.cid)
        self.engine.assign_role("karim", self.cid, "helene", Role.SPONSOR)
        self.say("Hélène joins (open admission) and becomes the sponsor")
        for expert, tags in EXPERTS.items():
            self.engine.join(expert, self.cid)
            self.engine.assign_role("karim", self.cid, expert, Role.EXPERT, tags=tags)
            self.say(f"{name(expert)} joins and is organised as the expert for {', '.join(tags)}")

    def invite_core(self) -> None:
        for person in ("nadia", "julien"):
            self.engine.invite("karim", self.cid, person)
        self.say("Karim invites Nadia and Julien")

    def join_invited(self, person: str, role: Role) -> None:
        self.engine.join(person, self.cid)
        self.engine.assign_role("karim", self.cid, person, role)
        self.say(f"{name(person)} accepts the invitation and becomes {role.value.replace('_', ' ')}")

    def open_joins(self) -> None:
        for person in ("tom", "maya", "remi"):
            self.engine.join(person, self.cid)
        self.engine.assign_role("karim", self.cid, "tom", Role.NEWCOMER)
        self.say("Tom, Maya and Rémi join by the open policy; Tom is marked as a newcomer")

    def schedule_kickoff(self) -> None:
        meeting = self.engine.schedule_meeting(
            "karim",
            self.cid,
            title="Kick-off: how we help each other",
            starts_at=self.t(0, 3, 14),
            ends_at=self.t(0, 3, 15),
            location="Lyon, room B2, and online",
        )
        self.questions["kickoff"] = meeting.id
        self.say(f"Karim schedules “{meeting.title}” for Thursday 14:00")

    def show_portfolio(self) -> None:
        visible = self.engine.portfolio("tom", self.org_id)
        everything = self.engine.portfolio(SYSTEM, self.org_id)
        self.portfolio = tuple(c.name for c in everything)
        self.say(f"the portfolio of {ORGANISATION_NAME} as Tom sees it:")
        for c in visible:
            self.note(f"{c.name} ({c.kind.value}, {c.visibility.value})")
        hidden = len(everything) - len(visible)
        self.note(f"({hidden} private community hidden from him; {len(everything)} in all)")

    def share_guide(self) -> None:
        self.engine.share_resource(
            "nadia",
            self.cid,
            title="Troubleshooting guide for hydraulic presses",
            location="https://intranet.example.org/maintenance/press-guide.pdf",
            kind=ResourceKind.DOCUMENT,
            tags=["hydraulics"],
        )
        self.say("Nadia shares the troubleshooting guide for hydraulic presses")

    def fast_question(self) -> None:
        q = self.engine.ask(
            "tom",
            self.cid,
            title="Hydraulic press loses pressure overnight",
            body="Press P-12 is at 180 bar in the evening and 140 in the morning. Where do I start?",
            tags=["hydraulics"],
        )
        self.questions["fast"] = q.id
        self.say(f"Tom asks “{q.title}” [hydraulics]")
        self.agenda.at(self.t(0, 1, 10, 25), self.fast_answer)

    def fast_answer(self) -> None:
        a = self.engine.answer(
            "sofia",
            self.questions["fast"],
            body="A slow leak inside: check the check valve and the cylinder seals. Section 4 of Nadia's guide.",
        )
        self.say("Sofia answers 25 minutes later")
        self.questions["fast-answer"] = a.id
        self.agenda.at(self.t(0, 1, 10, 40), self.comment_fast)
        self.agenda.at(self.t(0, 1, 11, 0), functools.partial(self.accept, "tom", "fast"))
        self.agenda.at(self.t(0, 1, 11, 5), self.endorse_fast)

    def comment_fast(self) -> None:
        self.engine.comment(
            "maya", ContributionKind.ANSWER, self.questions["fast-answer"], body="Same on our line 2: the check valve."
        )
        self.say("Maya comments on the answer")

    def accept(self, asker: str, key: str) -> None:
        thread = self.engine.question(SYSTEM, self.questions[key])
        first = min(thread.answers, key=lambda a: (a.created_at, a.id))
        self.engine.accept(asker, first.id)
        self.say(f"{name(asker)} accepts {name(first.author_id)}'s answer")

    def endorse_fast(self) -> None:
        self.engine.endorse("lucas", ContributionKind.ANSWER, self.questions["fast-answer"])
        self.say("Lucas endorses it")

    def advertising(self) -> None:
        ad = self.engine.share_resource(
            "remi",
            self.cid,
            title="20% off our bearings this month",
            location="https://supplier.example.org/offer",
            description="Order before Friday.",
        )
        self.questions["advert"] = ad.id
        self.say("Rémi shares “20% off our bearings this month”")

    def removal(self) -> None:
        reason = "advertising: the help space is no shop"
        self.engine.withdraw("karim", ContributionKind.RESOURCE, self.questions["advert"], reason=reason)
        self.engine.remove("karim", self.cid, "remi", reason="advertising goes against the charter")
        self.say("Karim withdraws the advert and removes Rémi from the community")

    def outsider_posts(self) -> None:
        self.refused(
            "victor",
            "ask a question without being a member",
            lambda: self.engine.ask("victor", self.cid, title="Budget codes for spare parts?", body="Which code?"),
        )

    def removed_member_answers(self) -> None:
        self.refused(
            "remi",
            "answer a question after his removal",
            lambda: self.engine.answer("remi", self.questions["fast"], body="Our seals are the best."),
        )

    def slow_question(self) -> None:
        q = self.engine.ask(
            "maya",
            self.cid,
            title="PLC of line 3 drops its fieldbus link",
            body="Every two hours or so the link drops for a few seconds, then the line restarts.",
            tags=["plc"],
        )
        self.questions["slow"] = q.id
        self.say(f"Maya asks “{q.title}” [plc]")

    def kickoff_attendance(self) -> None:
        present = ["karim", "helene", "sofia", "lucas", "nadia", "julien", "tom", "maya"]
        self.engine.record_attendance("karim", self.questions["kickoff"], present)
        self.say(f"the kick-off took place; Karim records {len(present)} attendees")

    def member_amends_charter(self) -> None:
        community = self.engine.community("tom", self.cid)
        self.refused(
            "tom",
            "amend the charter",
            lambda: self.engine.amend_charter("tom", self.cid, community.charter, reason="I would like fewer rules"),
        )

    def experience(self) -> None:
        self.engine.record_experience(
            "sofia",
            self.cid,
            title="A worn seal, not the pump: what the Turin press taught us",
            body="We changed the pump twice before measuring the leak rate of each seal. Measure first.",
            kind=ExperienceKind.LESSON,
            tags=["hydraulics"],
        )
        self.say("Sofia records a lesson learned")

    def slow_answer(self) -> None:
        a = self.engine.answer(
            "lucas",
            self.questions["slow"],
            body="A shielding problem: the cable runs next to the new drive. Re-route it or add ferrites.",
        )
        asked = self.engine.question(SYSTEM, a.question_id).question.created_at
        self.say(f"Lucas answers Maya, {format_duration(self.clock.now() - asked)} after she asked")

    def departed_person_joins(self) -> None:
        self.refused("olivier", "join (he left the company last month)", lambda: self.engine.join("olivier", self.cid))

    def amend_charter(self) -> None:
        self.heading("Week 2: the charter changes")
        current = self.engine.community(SYSTEM, self.cid).charter
        amended = attrs.evolve(
            current,
            membership_policy=MembershipPolicy(Admission.APPROVAL),
            rules=current.rules | {CharterRule.GIVE_BEFORE_RECEIVE},
        )
        reason = (
            "The network now spans every site: newcomers are welcomed one by one, "
            "and everyone gives before asking again"
        )
        version = self.engine.amend_charter("helene", self.cid, amended, reason=reason)
        self.say(f"Hélène amends the charter (version {version.number})")
        self.note("admission: open -> approval; rules: + give_before_receive")
        for v in self.engine.charter_history(SYSTEM, self.cid):
            self.note(f"version {v.number} by {name(v.amended_by)} on {v.amended_at:%a %d %b}: {v.reason}")

    def _ask_torque(self) -> Question:
        return self.engine.ask(
            "tom", self.cid, title=TORQUE_TITLE, body="The manual gives two values.", tags=["hydraulics"]
        )

    def give_before_receive(self) -> None:
        self.refused("tom", "ask a second question before giving anything", self._ask_torque)

    def tom_gives(self) -> None:
        self.engine.answer("tom", self.questions["slow"], body="On line 1 it was a loose connector: check it too.")
        self.say("Tom answers Maya's question first (a loose connector on line 1)...")

    def tom_asks_again(self) -> None:
        q = self._ask_torque()
        self.say(f"...and may now ask again: “{q.title}”")
        self.agenda.at(q.created_at + timedelta(minutes=40), functools.partial(self.answer_torque, q.id))

    def answer_torque(self, question_id: str) -> None:
        self.engine.answer("sofia", question_id, body="210 N·m, in a star pattern, in three passes.")
        self.say("Sofia answers Tom 40 minutes later")

    def request_membership(self) -> None:
        self.engine.request_membership("ines", self.cid)
        self.say("Inès requests membership (admission is now on approval)")

    def approval(self) -> None:
        self.engine.approve("karim", self.cid, "ines")
        self.engine.assign_role("karim", self.cid, "ines", Role.NEWCOMER)
        self.say("Karim approves her request; she is a newcomer")

    def unanswered_question(self) -> None:
        body = "The spikes come at dusk, above 1,500 rpm. No expert covers vibration yet: who can help?"
        # Under give-before-receive the first member allowed to ask does (Julien, usually).
        for asker in UNANSWERED_ASKERS:
            try:
                q = self.engine.ask(asker, self.cid, title=UNANSWERED_TITLE, body=body, tags=["vibration"])
            except CharterViolationError:
                continue
            self.say(f"{name(asker)} asks “{q.title}” [vibration]; nobody answers before the end of the demo")
            return
        raise AssertionError("nobody in the community may ask a question")  # pragma: no cover

    # -- the seeded routine ---------------------------------------------------------------------

    def plan_routine_week(self, week: int) -> None:
        rng = self.rng
        for _ in range(ROUTINE_QUESTIONS_PER_WEEK):
            moment = self.t(week, rng.randrange(3), rng.randrange(8, 17), rng.randrange(60))
            tag = rng.choice(COMMUNITY_TAGS)
            title = self._new_title(tag)
            self.agenda.at(moment, functools.partial(self.routine_question, week, tag, title))
        if rng.random() < 0.5:
            moment = self.t(week, rng.randrange(5), rng.randrange(9, 17))
            author = rng.choice(("sofia", "lucas", "julien", "maya"))
            tag = rng.choice(COMMUNITY_TAGS)
            self.agenda.at(moment, functools.partial(self.routine_experience, author, tag))
        if rng.random() < 0.5:
            moment = self.t(week, rng.randrange(5), rng.randrange(9, 17))
            tag = rng.choice(COMMUNITY_TAGS)
            self.agenda.at(moment, functools.partial(self.routine_resource, tag))
        if week % 2 == 1:
            self.agenda.at(self.t(week, 0, 9, 15), functools.partial(self.routine_clinic, week))

    def _new_title(self, tag: str) -> str:
        title = ""
        for _ in range(20):  # a title not asked yet, if the bank has one left
            title = self.rng.choice(_TITLES[tag]).format(m=self.rng.choice(_MACHINES), l=self.rng.randrange(1, 10))
            if title not in self._titles:
                break
        self._titles.add(title)
        return title

    def _members_now(self, week: int, *, besides: Iterable[str] = ()) -> list[str]:
        excluded = set(besides)
        return [p for p, since in ROUTINE_MEMBERS.items() if since <= week and p not in excluded]

    def routine_question(self, week: int, tag: str, title: str) -> None:
        candidates = self._members_now(week)
        self.rng.shuffle(candidates)
        for asker in candidates:
            try:
                q = self.engine.ask(
                    asker, self.cid, title=title, body=f"Seen on {self.clock.now():%A}: {title}.", tags=[tag]
                )
            except CharterViolationError:
                continue  # give before you receive: someone else asks instead
            self.say(f"{name(asker)} asks “{title}” [{tag}]")
            self._plan_answers(week, q)
            return

    def _plan_answers(self, week: int, q: Question) -> None:
        rng = self.rng
        experts = [e for e, tags in EXPERTS.items() if set(tags) & q.tags and e != q.author_id]
        # Organised experts answer most questions at first; others take over week by week.
        expert_share = max(0.25, 0.85 - 0.15 * week)
        if experts and rng.random() < expert_share:
            answerer = rng.choice(experts)
            delay = timedelta(minutes=rng.randrange(10, 180))
        else:
            answerer = rng.choice(self._members_now(week, besides=[q.author_id]))
            delay = timedelta(minutes=rng.randrange(30, 30 * 60))
        first_at = _daytime(q.created_at + delay)

        def plan(moment: datetime, action: Callable[[], None]) -> None:
            self.agenda.at(_daytime(moment), action)

        plan(first_at, functools.partial(self.routine_answer, q.id, answerer, q.author_id))
        if rng.random() < 0.35:
            commenter = rng.choice(self._members_now(week, besides=[q.author_id]))
            body = rng.choice(_COMMENTS)
            later = q.created_at + timedelta(minutes=rng.randrange(5, 60))
            plan(later, functools.partial(self.routine_comment, q.id, commenter, body))
        if rng.random() < 0.25:
            second = rng.choice(self._members_now(week, besides=[q.author_id, answerer]))
            later = first_at + timedelta(minutes=rng.randrange(60, 360))
            plan(later, functools.partial(self.routine_answer, q.id, second, q.author_id))
        if rng.random() < 0.75:
            plan(first_at + timedelta(minutes=rng.randrange(60, 480)), functools.partial(self.routine_accept, q.id))
        if rng.random() < 0.5:
            endorser = rng.choice(self._members_now(week, besides=[q.author_id, answerer]))
            later = first_at + timedelta(minutes=rng.randrange(120, 1200))
            plan(later, functools.partial(self.routine_endorse, q.id, endorser, answerer))

    def routine_answer(self, question_id: str, answerer: str, asker: str) -> None:
        answer = self.engine.answer(answerer, question_id, body=self.rng.choice(_ANSWERS))
        title = self.engine.question(SYSTEM, answer.question_id).question.title
        self.say(f"{name(answerer)} answers {name(asker)} about “{title}”")

    def routine_comment(self, question_id: str, commenter: str, body: str) -> None:
        self.engine.comment(commenter, ContributionKind.QUESTION, question_id, body=body)
        self.say(f"{name(commenter)} comments on a question")

    def routine_accept(self, question_id: str) -> None:
        thread = self.engine.question(SYSTEM, question_id)
        if not thread.answers:
            return
        chosen = self.rng.choice(thread.answers)
        self.engine.accept(thread.question.author_id, chosen.id)
        self.say(f"{name(thread.question.author_id)} accepts {name(chosen.author_id)}'s answer")

    def routine_endorse(self, question_id: str, endorser: str, answerer: str) -> None:
        thread = self.engine.question(SYSTEM, question_id)
        mine = [a for a in thread.answers if a.author_id == answerer]
        if mine:
            self.engine.endorse(endorser, ContributionKind.ANSWER, mine[0].id)
            self.say(f"{name(endorser)} endorses {name(answerer)}'s answer")

    def routine_experience(self, author: str, tag: str) -> None:
        self.engine.record_experience(
            author,
            self.cid,
            title=f"What we learned this week about {tag}",
            body="Measure before you replace; write down what you measured.",
            kind=ExperienceKind.CASE,
            tags=[tag],
        )
        self.say(f"{name(author)} records a case about {tag}")

    def routine_resource(self, tag: str) -> None:
        self.engine.share_resource(
            "nadia",
            self.cid,
            title=f"Checklist: {tag}",
            location=f"https://intranet.example.org/maintenance/checklists/{tag}",
            kind=ResourceKind.LINK,
            tags=[tag],
        )
        self.say(f"Nadia shares a {tag} checklist")

    def routine_clinic(self, week: int) -> None:
        meeting = self.engine.schedule_meeting(
            "julien",
            self.cid,
            title=f"Breakdown clinic #{week // 2 + 1}",
            starts_at=self.t(week, 4, 13),
            ends_at=self.t(week, 4, 14),
            location="online",
        )
        self.say(f"Julien (core group) schedules “{meeting.title}” for Friday 13:00")
        people = self._members_now(week, besides=["julien"])
        present = ["julien", *sorted(self.rng.sample(people, k=self.rng.randrange(2, len(people))))]
        self.agenda.at(self.t(week, 4, 14, 5), functools.partial(self.routine_attendance, meeting.id, present))

    def routine_attendance(self, meeting_id: str, present: Sequence[str]) -> None:
        self.engine.record_attendance("julien", meeting_id, present)
        self.say(f"the clinic took place: {len(present)} attendees")


# -- the report, from the engine's queries ------------------------------------------------------


def _build_report(
    scenario: _Scenario, *, url: str, run: int, seed: int, weeks: int, start: datetime, end: datetime
) -> DemoReport:
    engine, cid = scenario.engine, scenario.cid
    community = engine.community(SYSTEM, cid)
    versions = tuple((v.number, v.amended_by, v.reason) for v in engine.charter_history(SYSTEM, cid))

    by_role: dict[str, tuple[str, ...]] = {}
    for role in Role:
        if role in community.charter.roles:
            held = engine.members(SYSTEM, cid, role=role)
            by_role[role.value] = tuple(m.person_id for m in held)
    everyone = engine.members(SYSTEM, cid, statuses=tuple(MembershipStatus))
    statuses = Counter(m.status.value for m in everyone)

    history = []
    after = 0
    while page := engine.history(SYSTEM, cid, after=after, limit=1000):
        history.extend(page)
        after = page[-1].position
    joined_via: Counter[str] = Counter()
    for recorded in history:
        event = recorded.event
        if event.TYPE == "member_joined":
            joined_via[getattr(event, "via", "?")] += 1
        elif event.TYPE == "membership_approved":
            joined_via["approval"] += 1

    # The engine has no "contributions of a community" query: gather them person by person.
    contributions: Counter[str] = Counter()
    withdrawn: Counter[str] = Counter()
    questions: list[coplib.Question] = []
    for membership in everyone:
        for item in engine.contributions_of(SYSTEM, membership.person_id, community_id=cid):
            contributions[item.KIND.value] += 1
            if getattr(item, "withdrawn", False):
                withdrawn[item.KIND.value] += 1
            if isinstance(item, coplib.Question):
                questions.append(item)

    stats = []
    for q in sorted(questions, key=lambda q: (q.created_at, q.id)):
        thread = engine.question(SYSTEM, q.id)
        first = min(thread.answers, key=lambda a: (a.created_at, a.id), default=None)
        stats.append(
            QuestionStat(
                title=q.title,
                tags=tuple(sorted(q.tags)),
                asker=q.author_id,
                asked_at=q.created_at,
                first_answer_after=(q.first_answered_at - q.created_at) if q.first_answered_at else None,
                first_answerer=first.author_id if first else None,
                answers=len(thread.answers),
                accepted=thread.accepted_answer is not None,
            )
        )
    unanswered = tuple(q.id for q in engine.unanswered_questions(SYSTEM, cid, limit=10_000))
    per_week = engine.count_events(SYSTEM, cid, since=start, until=end, period=Period.WEEK)
    return DemoReport(
        url=url,
        run=run,
        seed=seed,
        weeks=weeks,
        organisation_id=scenario.org_id,
        organisation_name=ORGANISATION_NAME,
        community_id=cid,
        community_name=community.name,
        start=start,
        end=end,
        portfolio=scenario.portfolio,
        charter_versions=versions,
        members_by_role=by_role,
        memberships_by_status=dict(sorted(statuses.items())),
        joined_via=dict(sorted(joined_via.items())),
        contributions={k.value: contributions[k.value] for k in ContributionKind},
        withdrawn=dict(sorted(withdrawn.items())),
        questions=tuple(stats),
        unanswered=tuple(_title_of(engine, qid) for qid in unanswered),
        events_per_week=tuple(sorted(per_week.items())),
        total_events=len(history),
        messages=tuple(scenario.messages),
        refusals=tuple(scenario.refusals),
    )


def _title_of(engine: Engine, question_id: str) -> str:
    return engine.question(SYSTEM, question_id).question.title


def format_report(report: DemoReport) -> str:
    """The report as the demo prints it at the end."""
    lines: list[str] = []
    add = lines.append
    weeks = "week" if report.weeks == 1 else "weeks"
    add(f"\n== Report: {report.community_name} after {report.weeks} {weeks} ==")

    add(f"\nPortfolio of {report.organisation_name}: {', '.join(report.portfolio)}")
    add("\nCharter versions:")
    for number, by, reason in report.charter_versions:
        add(f"  v{number}  by {name(by):<7} {reason}")

    add("\nMembers by role (active members):")
    for role, people in report.members_by_role.items():
        shown = ", ".join(name(p) for p in people) if people else "-"
        add(f"  {role.replace('_', ' '):<15} {len(people):>2}  {shown}")
    add("Memberships by status: " + ", ".join(f"{s} {n}" for s, n in report.memberships_by_status.items()))
    add("How members came in: " + ", ".join(f"{via} {n}" for via, n in report.joined_via.items()))

    add("\nContributions by kind:")
    for kind, count in report.contributions.items():
        gone = report.withdrawn.get(kind, 0)
        add(f"  {kind:<12} {count:>3}" + (f"  ({gone} withdrawn)" if gone else ""))

    add("\nQuestions and time to first answer:")
    for q in report.questions:
        if q.first_answer_after is None:
            speed = "unanswered"
        else:
            speed = f"{format_duration(q.first_answer_after)} by {name(q.first_answerer or '')}"
        accepted = ", accepted" if q.accepted else ""
        add(f"  [{_when(q.asked_at)}] {q.title} [{', '.join(q.tags)}], asked by {name(q.asker)}: {speed}{accepted}")
    delays = sorted(q.first_answer_after for q in report.questions if q.first_answer_after is not None)
    median = f"; median time to first answer {format_duration(delays[len(delays) // 2])}" if delays else ""
    rate = f"{report.answered} of {len(report.questions)} questions answered ({report.answer_rate:.0%})"
    add(f"Answer rate: {rate}{median}")
    add("Unanswered questions: " + ("; ".join(f"“{t}”" for t in report.unanswered) or "none"))

    add("\nEvents per week:")
    peak = max((n for _, n in report.events_per_week), default=1)
    for monday, count in report.events_per_week:
        week = (monday - report.start.date()).days // 7 + 1
        add(f"  week {week:>2} (from {monday:%a %d %b %Y}) {count:>4}  {'#' * max(1, round(40 * count / peak))}")
    add(f"  {report.total_events} events in all, every one of them replayable")

    add(f"\nMessages delivered by engine.dispatch(): {len(report.messages)}")
    by_locale = Counter(m.locale for m in report.messages)
    by_topic = Counter(m.topic for m in report.messages)
    add("  by language: " + ", ".join(f"{loc} {n}" for loc, n in sorted(by_locale.items())))
    add("  by topic: " + ", ".join(f"{t} {n}" for t, n in sorted(by_topic.items())))
    example = next((m for m in report.messages if m.topic == "answer_posted"), None)
    if example is not None:
        add(f"  one message in both languages (sent to {name(example.recipient)} in {example.locale}):")
        for locale in ("fr", "en"):
            rendered = render(example.topic, example.params, locale)
            add(f"    [{locale}] {rendered.subject} | {rendered.body}")

    add(f"\nRefused actions: {len(report.refusals)}")
    for r in report.refusals:
        add(f"  [{_when(r.at)}] {name(r.actor)} tried to {r.attempt}: {r.error}: {r.reason}")

    add(
        f"\nStored in {report.url} as organisation {report.organisation_id} "
        f"(run {report.run} on this store, seed {report.seed})"
    )
    return "\n".join(lines) + "\n"


# -- running it -----------------------------------------------------------------------------------


def run_demo(
    url: str,
    *,
    weeks: int = DEFAULT_WEEKS,
    seed: int = DEFAULT_SEED,
    out: TextIO,
) -> DemoReport:
    """Run the scenario on the store at `url`, printing its journal and then the report to
    `out`. Each run adds a new organisation (``demo-1``, ``demo-2``...), so that running again
    on the same store works and leaves earlier runs readable."""
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not MIN_WEEKS <= weeks <= MAX_WEEKS:
        raise coplib.InvalidInputError.field("$.weeks", f"must be a whole number from {MIN_WEEKS} to {MAX_WEEKS}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise coplib.InvalidInputError.field("$.seed", "must be a whole number >= 0")
    clock = coplib.ManualClock(DEMO_START + timedelta(hours=9))
    ids = SeededIds()
    # The demo's people read their messages from a recording notifier: nothing is sent.
    with coplib.open(url, people=PEOPLE, clock=clock, id_factory=ids, plugins=[RecordingNotifier()]) as engine:
        run, org = _create_organisation(engine, ids, seed)
        start, end = DEMO_START, DEMO_START + timedelta(weeks=weeks)
        print(
            f"coplib demo: a mutual-help community's first {weeks} weeks (seed {seed})\n"
            f"People: {', '.join(name(p.id) for p in PEOPLE if p.active)}",
            file=out,
        )
        scenario = _Scenario(engine, clock, weeks=weeks, seed=seed, out=out)
        scenario.setup_organisation(org)
        scenario.plan()
        scenario.agenda.run(after_each=scenario.deliver)
        report = _build_report(
            scenario, url=engine.store.url or url, run=run, seed=seed, weeks=weeks, start=start, end=end
        )
    print(format_report(report), file=out, end="")
    return report


def _create_organisation(engine: Engine, ids: SeededIds, seed: int) -> tuple[int, coplib.Organisation]:
    """Create this run's organisation, ``demo-N`` for the first N free in the store."""
    run = 1
    while True:
        try:
            engine.organisation(coplib.SYSTEM, f"demo-{run}")
        except NotFoundError:
            ids.reseed(seed, run)
            try:
                return run, engine.create_organisation("helene", ORGANISATION_NAME, organisation_id=f"demo-{run}")
            except ConflictError:  # a run beside this one took the number first
                pass
        run += 1


__all__ = [
    "DEFAULT_DB",
    "DEFAULT_SEED",
    "DEFAULT_WEEKS",
    "DEMO_START",
    "MAX_WEEKS",
    "MIN_WEEKS",
    "PEOPLE",
    "UNANSWERED_TITLE",
    "DemoReport",
    "MessageLine",
    "QuestionStat",
    "Refusal",
    "format_duration",
    "format_report",
    "run_demo",
]
