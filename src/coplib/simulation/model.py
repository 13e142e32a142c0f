"""The simulation model: personas driving the real engine on a simulated clock.

Every action of a persona is an engine command (`ask`, `answer`, `accept`, `comment`,
`endorse`, `share_resource`, `join`, `leave`); the policies run as in production, inside the
commands and on `engine.tick()` every simulated hour; the outbox is dispatched to a
`RecordingNotifier` after each tick and each persona reads what was delivered to it. Nothing
here knows what a policy does: a persona hears of a question only from the help space it
browses or a message it receives.

`CommunityModel` has the shape Mesa's users know (a seeded ``random``, ``agents``, ``step()``
for one week, ``datacollector`` rows per week), without depending on Mesa: see
docs/dependencies.md.
"""

from __future__ import annotations

import functools
import heapq
import importlib.metadata
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

import attrs

from coplib.adapters.notification.recording import Delivery, RecordingNotifier
from coplib.bootstrap.open import open_engine
from coplib.domain.clock import ManualClock
from coplib.domain.community import Admission, Charter, MembershipPolicy, Role, Visibility
from coplib.domain.contributions import ContributionKind, ResourceKind
from coplib.domain.errors import CharterViolationError, ConflictError, NotFoundError, PermissionDeniedError
from coplib.domain.health import CommunityHealth
from coplib.domain.people import Person
from coplib.domain.permissions import SYSTEM
from coplib.service.engine import Engine
from coplib.simulation.personas import RECOGNITION_TOPICS, REQUEST_TOPICS, Persona
from coplib.simulation.scenario import Group, Scenario

__all__ = ["CommunityModel", "DataCollector", "RunResult", "coplib_version", "run_model"]

#: Hours of the day at which the host's scheduler ticks and dispatches (every day of the week).
TICK_HOURS: Final = tuple(range(7, 21))
#: How many open questions a visit of the help space shows (oldest first).
VISIT_DEPTH: Final = 20
#: Figures in the JSON output are rounded to this many decimals.
DECIMALS: Final = 6
_REFUSALS = (PermissionDeniedError, CharterViolationError, ConflictError, NotFoundError)


def coplib_version() -> str:
    try:
        return importlib.metadata.version("coplib")
    except importlib.metadata.PackageNotFoundError:  # a source tree, not installed
        return "unknown"


class SeededIds:
    """The engine's id factory for one run: 16 hex digits from a generator seeded by the run's seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"coplib-simulation-ids:{seed}")

    def __call__(self) -> str:
        return f"{self._rng.getrandbits(64):016x}"


class DataCollector:
    """Per-week figures of the model (Mesa's ``DataCollector`` with model reporters): one row
    a week, each a mapping of reporter name to value."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def collect(self, row: Mapping[str, Any]) -> None:
        self.rows.append(dict(row))

    def model_vars(self) -> dict[str, list[Any]]:
        """The rows by column (Mesa's ``get_model_vars_dataframe`` without pandas)."""
        columns: dict[str, list[Any]] = {}
        for row in self.rows:
            for key, value in row.items():
                columns.setdefault(key, []).append(value)
        return columns


@attrs.frozen
class _Question:
    id: str
    community: str
    tags: frozenset[str]
    asker: str


class _Agenda:
    """Actions in time order on the manual clock (ties in the order they were planned)."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._seq = 0

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (moment, self._seq, action))

    def run_until(self, end: datetime) -> None:
        while self._queue and self._queue[0][0] < end:
            moment, _, action = heapq.heappop(self._queue)
            if moment > self._clock.now():
                self._clock.set(moment)
            action()
        if end > self._clock.now():
            self._clock.set(end)


class CommunityModel:
    """One run of a scenario with one seed, on an engine it opens (``memory://`` by default;
    `block` names built-in plugins to leave out, as `coplib.open` does).

    ``step()`` simulates one week; ``run()`` every week of the horizon and returns the
    `RunResult`. `engine` gives access to the store afterwards (close the model when done:
    it is a context manager)."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        *,
        url: str = "memory://",
        block: Sequence[str] = (),
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.url = url
        self.random = random.Random(f"coplib-simulation:{self.seed}")
        self.start = scenario.start_moment
        self.clock = ManualClock(self.start)
        self.notifier = RecordingNotifier(capacity=1_000_000)
        self.people: list[Person] = []
        self.agents: list[Persona] = []
        self._pool: dict[str, list[Persona]] = {}  # arrivals not yet there, by group
        self._build_population()
        self.engine: Engine = open_engine(
            url,
            people=self.people,
            clock=self.clock,
            id_factory=SeededIds(self.seed),
            plugins=[self.notifier],
            block=block,
        )
        self._by_id = {a.id: a for a in self.agents}
        for waiting in self._pool.values():
            self._by_id.update({a.id: a for a in waiting})
        self.agenda = _Agenda(self.clock)
        self.datacollector = DataCollector()
        self.week = 0
        self.questions: dict[str, _Question] = {}  # by title
        self.commands: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self._week: Counter[str] = Counter()
        self._days: defaultdict[date, list[int]] = defaultdict(lambda: [0, 0])  # questions, answers by day
        self._titles = 0
        self._pending: set[tuple[str, str]] = set()  # (person, question id) answers planned
        self._community_ids: dict[str, str] = {}
        self._setup()

    # -- the population ------------------------------------------------------------------------------

    def _persona(self, group: Group, number: int) -> Persona:
        pid = f"{group.key}-{number:04d}"
        rng = random.Random(f"coplib-simulation:{self.seed}:{pid}")
        expertise = frozenset(rng.sample(group.expertise, k=group.tags_per_person)) if group.expertise else frozenset()
        self.people.append(
            Person(id=pid, display_name=f"{group.persona.title()} {group.key} {number}", locale=group.locale)
        )
        return Persona(
            id=pid,
            persona=group.persona,
            group=group.key,
            behaviour=self.scenario.behaviours[group.persona],
            reactions=self.scenario.reactions[group.persona],
            expertise=expertise,
            communities=group.communities,
            working_hours=group.working_hours,
            working_days=group.working_days,
            absence=group.absence,
            rng=rng,
        )

    def _build_population(self) -> None:
        for group in self.scenario.population:
            for n in range(1, group.count + 1):
                self.agents.append(self._persona(group, n))
            self._pool[group.key] = [self._persona(group, group.count + n) for n in range(1, group.max_arrivals + 1)]

    def _setup(self) -> None:
        engine, scenario = self.engine, self.scenario
        org = engine.create_organisation(SYSTEM, scenario.organisation, organisation_id=f"sim-{self.seed}")
        for spec in scenario.communities:
            disabled = set(spec.disabled_policies)
            if not spec.answer_guarantee:
                disabled.add("answer_guarantee")
            charter = Charter(
                vocation=spec.vocation,
                rules=spec.rules,
                membership_policy=MembershipPolicy(Admission.OPEN),
                policy_settings={k: dict(v) for k, v in spec.policy_settings.items()},
                disabled_policies=frozenset(disabled),
            )
            community = engine.create_community(
                SYSTEM,
                org.id,
                name=spec.name,
                charter=charter,
                kind=spec.kind,
                visibility=Visibility.OPEN,
                tags=spec.tags,
                community_id=f"{org.id}-{spec.key}",
            )
            self._community_ids[spec.key] = community.id
        for agent in self.agents:
            self._join(agent)

    def _join(self, agent: Persona) -> None:
        engine = self.engine
        for key in agent.communities:
            cid = self._community_ids[key]
            engine.join(agent.id, cid)
            self.commands["join"] += 1
            role = {"facilitator": Role.FACILITATOR, "sponsor": Role.SPONSOR, "newcomer": Role.NEWCOMER}.get(
                agent.persona
            )
            if agent.persona == "expert" and self.scenario.community(key).organise_experts:
                engine.assign_role(SYSTEM, cid, agent.id, Role.EXPERT, tags=sorted(agent.expertise))
                self.commands["assign_role"] += 1
            elif role is not None:
                engine.assign_role(SYSTEM, cid, agent.id, role)
                self.commands["assign_role"] += 1
        if agent.behaviour.digest != "immediate":
            engine.set_preferences(agent.id, agent.id, frequency=agent.behaviour.digest)
            self.commands["set_preferences"] += 1

    # -- time ------------------------------------------------------------------------------------------

    def _moment(self, agent: Persona, week_start: datetime) -> datetime:
        """A moment of the agent's working time in the week starting at `week_start`."""
        days = sorted(agent.working_days)
        day = agent.rng.choice(days)
        low, high = agent.working_hours
        return week_start + timedelta(days=day, minutes=agent.rng.randrange(low, high))

    def _later(self, agent: Persona, moment: datetime, hours: float) -> datetime:
        """`hours` of the agent's working time after `moment` (a persona acts when it works)."""
        remaining = timedelta(hours=hours)
        low, high = agent.working_hours
        current = moment
        for _ in range(400):  # at most a year of days, whatever the calendar
            day = current.replace(hour=0, minute=0, second=0, microsecond=0)
            open_, close = day + timedelta(minutes=low), day + timedelta(minutes=high)
            if current.weekday() in agent.working_days and current < close:
                begin = max(current, open_)
                if begin + remaining <= close:
                    return begin + remaining
                remaining -= close - begin
            current = day + timedelta(days=1)
        return current

    # -- a week --------------------------------------------------------------------------------------

    def step(self) -> None:
        """Simulate one week."""
        week_start = self.start + timedelta(weeks=self.week)
        week_end = week_start + timedelta(weeks=1)
        self._week = Counter()
        self._plan_arrivals(week_start)
        for agent in self.agents:
            self._plan_week(agent, week_start)
        for day in range(7):
            for hour in TICK_HOURS:
                self.agenda.at(week_start + timedelta(days=day, hours=hour), self._tick)
        self.agenda.at(week_end - timedelta(minutes=1), lambda: self._week_end(week_start))
        self.agenda.run_until(week_end)
        self.week += 1

    def _plan_arrivals(self, week_start: datetime) -> None:
        for group in self.scenario.population:
            pool = self._pool[group.key]
            if not pool:
                continue
            for _ in range(min(len(pool), poisson_of(self.random, group.arrivals_per_week))):
                agent = pool.pop(0)
                self.agenda.at(self._moment(agent, week_start), functools.partial(self._arrive, agent))

    def _arrive(self, agent: Persona) -> None:
        self.agents.append(agent)
        self._join(agent)
        self._week["arrivals"] += 1
        # The rest of its first week: the share of the week left of each rate.
        week_start = self.start + timedelta(weeks=self.week)
        left = (week_start + timedelta(weeks=1) - self.clock.now()) / timedelta(weeks=1)
        self._plan_week(agent, week_start, after=self.clock.now(), share=left)

    def _plan_week(
        self, agent: Persona, week_start: datetime, *, after: datetime | None = None, share: float = 1.0
    ) -> None:
        if not agent.active:
            return
        agent.away = agent.chance(agent.absence)
        if agent.away:
            return
        b = agent.behaviour
        for rate, action in (
            (b.questions_per_week * agent.ask, self._ask),
            (b.visits_per_week, self._visit),
            (b.shares_per_week, self._share),
        ):
            for _ in range(agent.weekly_count(rate * share)):
                moment = self._moment(agent, week_start)
                for _ in range(20):  # a moment after `after`, within the agent's working time
                    if after is None or moment > after:
                        break
                    moment = self._moment(agent, week_start)
                else:
                    continue
                self.agenda.at(moment, functools.partial(action, agent))

    def _week_end(self, week_start: datetime) -> None:
        now = self.clock.now()
        left = 0
        for agent in self.agents:
            if not agent.active:
                continue
            self._week["unanswered"] += agent.missed_answers(now)
            if agent.leaves_now():
                agent.active = False
                left += 1
                for key in agent.communities:
                    self._command("leave", functools.partial(self.engine.leave, agent.id, self._community_ids[key]))
        row: dict[str, Any] = {"week": self.week + 1, "start": week_start.date().isoformat()}
        for key in (
            "arrivals",
            "questions",
            "answers",
            "accepted",
            "comments",
            "endorsements",
            "shares",
            "visits",
            "messages",
            "requests_read",
            "answered",
            "unanswered",
        ):
            row[key] = self._week[key]
        row["left"] = left
        row["active_members"] = sum(1 for a in self.agents if a.active)
        for group in self.scenario.population:
            row[f"{group.key}_questions"] = self._week[f"{group.key}_questions"]
            row[f"{group.key}_answers"] = self._week[f"{group.key}_answers"]
        days = [(week_start + timedelta(days=d)).date() for d in range(7)]
        row["days"] = [[day.isoformat(), *self._days.pop(day, [0, 0])] for day in days]
        self.datacollector.collect(row)

    # -- commands ------------------------------------------------------------------------------------

    def _command(self, name: str, call: Callable[[], Any], *, write: bool = True) -> Any:
        """Run one engine call for a persona; a refusal is counted, not raised (a persona
        that is refused simply does not get its way). `commands` counts the writes done."""
        try:
            result = call()
        except _REFUSALS as exc:
            self.refusals[f"{name}: {type(exc).__name__}"] += 1
            return None
        if write:
            self.commands[name] += 1
        return result

    def _ask(self, agent: Persona) -> None:
        if not agent.active:
            return
        key = agent.rng.choice(agent.communities)
        spec = self.scenario.community(key)
        tag = agent.rng.choice(spec.tags)
        self._titles += 1
        title = f"{tag} question {self._titles}"
        cid = self._community_ids[key]
        question = self._command(
            "ask",
            lambda: self.engine.ask(agent.id, cid, title=title, body=f"A question on {tag}.", tags=[tag]),
        )
        if question is None:
            return
        self.questions[title] = _Question(question.id, key, frozenset(question.tags), agent.id)
        agent.waiting[title] = self.clock.now()
        agent.asked += 1
        self._week["questions"] += 1
        self._week[f"{agent.group}_questions"] += 1
        self._days[self.clock.now().date()][0] += 1

    def _visit(self, agent: Persona) -> None:
        if not agent.active:
            return
        key = agent.rng.choice(agent.communities)
        self._week["visits"] += 1
        open_questions = self.engine.unanswered_questions(agent.id, self._community_ids[key], limit=VISIT_DEPTH)
        for q in open_questions:
            if q.author_id == agent.id or q.id in agent.considered:
                continue
            agent.considered.add(q.id)
            if agent.chance(agent.answer_propensity(frozenset(q.tags), asked=False)):
                self._plan_answer(agent, q.id)
            elif agent.chance(agent.behaviour.comment_rate) and self._command(
                "comment",
                functools.partial(self.engine.comment, agent.id, ContributionKind.QUESTION, q.id, body="Same here."),
            ):
                self._week["comments"] += 1

    def _share(self, agent: Persona) -> None:
        if not agent.active:
            return
        key = agent.rng.choice(agent.communities)
        tag = agent.rng.choice(self.scenario.community(key).tags)
        self._titles += 1
        if self._command(
            "share_resource",
            lambda: self.engine.share_resource(
                agent.id,
                self._community_ids[key],
                title=f"Notes on {tag} {self._titles}",
                location=f"https://intranet.example.org/notes/{self._titles}",
                kind=ResourceKind.LINK,
                tags=[tag],
            ),
        ):
            self._week["shares"] += 1

    def _plan_answer(self, agent: Persona, question_id: str) -> None:
        if (agent.id, question_id) in self._pending:
            return
        self._pending.add((agent.id, question_id))
        delay = agent.rng.expovariate(1.0 / agent.behaviour.answer_delay_hours)
        self.agenda.at(self._later(agent, self.clock.now(), delay), lambda: self._answer(agent, question_id))

    def _answer(self, agent: Persona, question_id: str) -> None:
        self._pending.discard((agent.id, question_id))
        if not agent.active or agent.away:
            return
        thread = self._command("read_question", lambda: self.engine.question(agent.id, question_id), write=False)
        if thread is None or thread.question.withdrawn or thread.accepted_answer is not None:
            return
        if any(a.author_id == agent.id for a in thread.answers):
            return
        if thread.answers and not agent.chance(agent.behaviour.adds_answer):
            return
        if self._command(
            "answer", lambda: self.engine.answer(agent.id, question_id, body="Try this: it worked for us.")
        ):
            self._week["answers"] += 1
            self._week[f"{agent.group}_answers"] += 1
            self._days[self.clock.now().date()][1] += 1

    def _accept(self, agent: Persona, question_id: str) -> None:
        if not agent.active:
            return
        thread = self._command("read_question", lambda: self.engine.question(agent.id, question_id), write=False)
        if thread is None or thread.accepted_answer is not None or not thread.answers:
            return
        first = min(thread.answers, key=lambda a: (a.created_at, a.id))
        if self._command("accept", lambda: self.engine.accept(agent.id, first.id)):
            self._week["accepted"] += 1

    def _endorse(self, agent: Persona, question_id: str, author: str) -> None:
        if not agent.active:
            return
        thread = self._command("read_question", lambda: self.engine.question(agent.id, question_id), write=False)
        if thread is None:
            return
        theirs = [a for a in thread.answers if a.author_id == author]
        if theirs and self._command(
            "endorse", lambda: self.engine.endorse(agent.id, ContributionKind.ANSWER, theirs[0].id)
        ):
            self._week["endorsements"] += 1

    # -- the host's scheduler, and reading messages ---------------------------------------------------

    def _tick(self) -> None:
        self.engine.tick()
        for _ in range(10_000):
            if not self.engine.dispatch(limit=500):
                break
        deliveries = self.notifier.deliveries
        self.notifier.clear()
        deliveries.sort(key=_delivery_order)
        for delivery in deliveries:
            self._read(delivery)

    def _read(self, delivery: Delivery) -> None:
        message = delivery.message
        agent = self._by_id.get(message.recipient_id)
        if agent is None or not agent.active:
            return
        self._week["messages"] += 1
        topic = message.topic
        question = self.questions.get(message.params.get("title", ""))
        if topic == "answer_posted" and question is not None:
            # The benefit of asking: always noticed, whatever the persona's reading habits.
            if agent.received_answer(message.params["title"]):
                self._week["answered"] += 1
                if agent.chance(agent.behaviour.accept_rate):
                    at = self._later(agent, self.clock.now(), agent.rng.expovariate(1 / 4))
                    self.agenda.at(at, lambda: self._accept(agent, question.id))
            if agent.chance(agent.behaviour.endorse_rate):
                author = message.params.get("actor_id", "")
                at = self._later(agent, self.clock.now(), agent.rng.expovariate(1 / 4))
                self.agenda.at(at, lambda: self._endorse(agent, question.id, author))
        elif topic in RECOGNITION_TOPICS:
            agent.recognised()
        elif topic in REQUEST_TOPICS and question is not None:
            if agent.away or question.asker == agent.id or not agent.chance(agent.behaviour.reads_notifications):
                return
            self._week["requests_read"] += 1
            agent.considered.add(question.id)
            if agent.chance(agent.answer_propensity(question.tags, asked=True)):
                self._plan_answer(agent, question.id)
        elif topic == "digest" and not agent.away and agent.chance(agent.behaviour.reads_digests):
            self._visit(agent)

    # -- the whole run ---------------------------------------------------------------------------------

    def run(self) -> RunResult:
        while self.week < self.scenario.weeks:
            self.step()
        return self.result()

    def result(self) -> RunResult:
        end = self.start + timedelta(weeks=self.week)
        communities: dict[str, Any] = {}
        for spec in self.scenario.communities:
            cid = self._community_ids[spec.key]
            health = self.engine.community_health(SYSTEM, cid, since=self.start, until=end)
            communities[spec.key] = {
                "metrics": _metrics(self, cid, health, end),
                "health": _health_summary(health),
            }
        return RunResult(
            scenario=self.scenario.to_dict(),
            seed=self.seed,
            coplib_version=coplib_version(),
            weeks=self.week,
            communities=communities,
            weekly=tuple(self.datacollector.rows),
            commands=dict(sorted(self.commands.items())),
            refusals=dict(sorted(self.refusals.items())),
        )

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> CommunityModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _delivery_order(d: Delivery) -> tuple[datetime, str, str, str]:
    return (d.message.created_at, d.message.recipient_id, d.message.topic, d.message.id)


def poisson_of(rng: random.Random, mean: float) -> int:
    from coplib.simulation.personas import poisson

    return poisson(rng, mean)


#: The headline metrics of a run, per community (docs/simulation.md, "Metrics").
METRICS: Final = (
    "questions",
    "answers",
    "share_answered",
    "share_within_24h",
    "median_hours_to_first_answer",
    "share_accepted",
    "first_time_askers",
    "first_time_askers_retained",
    "still_asking",
    "active_contributors",
    "members_at_end",
    "health_index",
)


def asked_by_week(engine: Engine, community_id: str, start: datetime) -> dict[str, list[int]]:
    """The weeks (from 0) in which each person asked, read from the store's events."""
    weeks: dict[str, list[int]] = {}
    after = 0
    while page := engine.history(SYSTEM, community_id, after=after, limit=1000):
        for recorded in page:
            event = recorded.event
            if event.TYPE == "question_asked":
                weeks.setdefault(event.actor_id, []).append((event.occurred_at - start).days // 7)
        after = page[-1].position
    return weeks


def _metrics(model: CommunityModel, community_id: str, health: CommunityHealth, end: datetime) -> dict[str, Any]:
    horizon = model.week
    asked = asked_by_week(model.engine, community_id, model.start)
    # First-time askers of the first half of the horizon, still asking in its last quarter.
    first_half = [weeks for weeks in asked.values() if min(weeks) < max(1, horizon // 2)]
    last_quarter = horizon - max(1, horizon // 4)
    still = sum(1 for weeks in first_half if max(weeks) >= last_quarter and max(weeks) > min(weeks))
    r = health.responsiveness
    return {
        "questions": r.questions,
        "answers": health.activity.answers,
        "share_answered": r.share_answered,
        "share_within_24h": r.share_within_24h,
        "median_hours_to_first_answer": r.median_hours_to_first_answer,
        "share_accepted": r.share_accepted,
        "first_time_askers": len(first_half),
        "first_time_askers_retained": health.retention.all.share_retained,
        "still_asking": still / len(first_half) if first_half else None,
        "active_contributors": health.activity.active_contributors,
        "members_at_end": len(model.engine.members(SYSTEM, community_id)),
        "health_index": health.index,
    }


def _health_summary(health: CommunityHealth) -> dict[str, Any]:
    """The report's figures as plain values (the per-run part of the JSON output)."""
    document = attrs.asdict(health, value_serializer=_plain)
    document.pop("community_id", None)
    out: dict[str, Any] = rounded(document)
    return out


def _plain(_inst: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def rounded(value: Any) -> Any:
    """`value` with its floats rounded to `DECIMALS` (NaN and infinities as None)."""
    if isinstance(value, float):
        return round(value, DECIMALS) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


@attrs.frozen
class RunResult:
    """What one run produced: its scenario, seed and coplib version (enough to replay it), the
    metrics and health report of each community, the figures of each week, the commands the
    personas issued and those the engine refused. Nothing in it depends on the wall clock."""

    scenario: Mapping[str, Any] = attrs.field(hash=False)
    seed: int
    coplib_version: str
    weeks: int
    communities: Mapping[str, Any] = attrs.field(hash=False)
    weekly: tuple[Mapping[str, Any], ...]
    commands: Mapping[str, int] = attrs.field(hash=False)
    refusals: Mapping[str, int] = attrs.field(hash=False)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schema": "coplib.simulation.run/1",
            "coplib_version": self.coplib_version,
            "seed": self.seed,
            "weeks": self.weeks,
            "scenario": _jsonable(self.scenario),
            "communities": rounded(self.communities),
            "weekly": [dict(row) for row in self.weekly],
            "commands": dict(self.commands),
            "refusals": dict(self.refusals),
        }
        return document

    def metrics(self, community: str | None = None) -> dict[str, Any]:
        key = community or next(iter(self.communities))
        return dict(self.communities[key]["metrics"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def run_model(scenario: Scenario, seed: int | None = None, *, url: str = "memory://") -> RunResult:
    """Run `scenario` once with `seed` (the scenario's when None) on a fresh engine at `url`."""
    with CommunityModel(scenario, seed, url=url) as model:
        return model.run()


def iter_weeks(model: CommunityModel) -> Iterator[int]:
    """Step `model` week by week, yielding the number of weeks done (for a progress display)."""
    while model.week < model.scenario.weeks:
        model.step()
        yield model.week
