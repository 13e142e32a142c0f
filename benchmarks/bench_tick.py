"""What a tick costs when a few questions are due among many open ones (issue 5's target: a
tick with 100,000 open questions of which 10 are due takes at most twice as long as one with
1,000 open and 10 due).

Each store is filled through `Engine.import_history` (the bulk path: no reactions, no
messages) with open questions and the watches the answer guarantee would have opened for
them; a few rounds of 10 questions come due one after the other, and each round is one
measured tick. Run:

    .venv/bin/python benchmarks/bench_tick.py                 # memory and SQLite, 1,000 vs 100,000
    .venv/bin/python benchmarks/bench_tick.py --stores sqlite --large 20000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import coplib
from coplib import Charter, Engine, ManualClock, Person, Role
from coplib.bootstrap.open import default_plugins
from coplib.domain import events as ev
from coplib.domain.community import CommunityKind, LifecycleStage, Visibility
from coplib.domain.guarantee import POLICY_NAME, Route

COMMUNITY = "help"
SYSTEM = coplib.SYSTEM
PEOPLE = [
    Person(id="ana", display_name="Ana"),
    Person(id="ben", display_name="Ben"),
    Person(id="eve", display_name="Eve"),
    Person(id="gus", display_name="Gus"),
    *(Person(id=f"asker-{i}", display_name=f"Asker {i}") for i in range(20)),
]
#: Monday 5 January 2026, 09:00 UTC: the community is founded.
START = datetime(2026, 1, 5, 9, tzinfo=UTC)
#: The rounds come due on the Monday after, `ROUND` apart; the questions are asked just
#: before the first round (a microsecond apart), so only the first step of their ladder falls
#: during the measured rounds.
FIRST_DUE = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)
ASKED = FIRST_DUE - timedelta(minutes=30)
#: Time between rounds: short enough that no second step of the ladder (1wd, at 18:00) falls.
ROUND = timedelta(minutes=10)
FAR = datetime(2027, 1, 1, tzinfo=UTC)
OTHER_POLICIES = [
    name
    for name, _ in default_plugins()
    if name.startswith("coplib.policy.") and name != f"coplib.policy.{POLICY_NAME}"
]


def history(open_questions: int, rounds: int, due_per_round: int) -> Iterator[ev.DomainEvent]:
    """A community with its roles, then `open_questions` questions and their watches; the
    first ``rounds * due_per_round`` watches come due round by round, the others much later."""
    counter = iter(range(10**9))

    def base(actor: str, at: datetime) -> dict[str, object]:
        return {"id": f"e{next(counter)}", "actor_id": actor, "community_id": COMMUNITY, "occurred_at": at}

    yield ev.OrganisationCreated(
        id="org-created", actor_id=SYSTEM, community_id=None, occurred_at=START, organisation_id="acme", name="Acme"
    )
    charter = Charter(vocation="Everyone helps", policy_settings={POLICY_NAME: {"timezone": "UTC"}})
    yield ev.CommunityCreated(
        **base(SYSTEM, START),  # type: ignore[arg-type]
        organisation_id="acme",
        name="Help",
        kind=CommunityKind.MUTUAL_HELP,
        visibility=Visibility.OPEN,
        stage=LifecycleStage.MATURING,
        tags=frozenset({"help"}),
        charter=charter,
    )
    for member in PEOPLE:
        yield ev.MemberJoined(**base(member.id, START), person_id=member.id, via="open")  # type: ignore[arg-type]
    for person, role, tags in (
        ("ana", Role.FACILITATOR, frozenset[str]()),
        ("ben", Role.EXPERT, frozenset({"tig"})),
        ("eve", Role.SPONSOR, frozenset[str]()),
        ("gus", Role.COACH, frozenset[str]()),
    ):
        yield ev.RoleAssigned(**base(SYSTEM, START), person_id=person, role=role, tags=tags)  # type: ignore[arg-type]
    due_count = rounds * due_per_round
    for i in range(open_questions):
        asked = ASKED + timedelta(microseconds=i)
        asker = f"asker-{i % 20}"
        question_id = f"q{i:07d}"
        yield ev.QuestionAsked(
            **base(asker, asked),  # type: ignore[arg-type]
            question_id=question_id,
            title=f"Question {i}",
            body="How do I...?",
            tags=frozenset({"tig"}),
        )
        due = FIRST_DUE + ROUND * (i // due_per_round) if i < due_count else FAR
        yield ev.QuestionRouted(
            **base(SYSTEM, asked),  # type: ignore[arg-type]
            question_id=question_id,
            asker_id=asker,
            asked_at=asked,
            experts=("ben",),
            route=Route.TAG_EXPERTS,
            due_at=due,
        )


def build(url: str, open_questions: int, rounds: int, due_per_round: int, *, only_guarantee: bool) -> Engine:
    engine = coplib.open(url, people=PEOPLE, clock=ManualClock(START), block=OTHER_POLICIES if only_guarantee else ())
    engine.import_history(history(open_questions, rounds, due_per_round), batch_size=5000)
    return engine


def measure(engine: Engine, rounds: int, due_per_round: int, *, first_round: int = 0) -> list[float]:
    times = []
    for r in range(first_round, first_round + rounds):
        moment = FIRST_DUE + ROUND * r
        began = time.perf_counter()
        report = engine.tick(moment)
        times.append(time.perf_counter() - began)
        done = report.done.get(POLICY_NAME, 0)
        if done != due_per_round or report.errors:
            raise SystemExit(f"round {r}: expected {due_per_round} escalations, got {done}; errors: {report.errors}")
    return times


def run(
    store: str, size: int, rounds: int, due: int, workdir: Path, *, only_guarantee: bool
) -> tuple[float, float, float]:
    """The median and the fastest of the measured ticks, and how long the bulk load took."""
    url = "memory://" if store == "memory" else f"sqlite:///{workdir / f'tick-{size}-{only_guarantee}.db'}"
    began = time.perf_counter()
    engine = build(url, size, rounds + 1, due, only_guarantee=only_guarantee)
    loaded = time.perf_counter() - began
    try:
        engine.tick(FIRST_DUE)  # warm-up round, not measured: caches and statements are ready
        times = measure(engine, rounds, due, first_round=1)
    finally:
        engine.close()
    return statistics.median(times), min(times), loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--stores", nargs="+", default=["memory", "sqlite"], choices=["memory", "sqlite"])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10, help="questions due per tick")
    parser.add_argument("--rounds", type=int, default=15, help="measured ticks (median and fastest reported)")
    parser.add_argument(
        "--all-policies", action="store_true", help="tick every built-in policy, not the answer guarantee alone"
    )
    args = parser.parse_args(argv)
    only_guarantee = not args.all_policies
    policies = "the answer guarantee only" if only_guarantee else "every built-in policy"
    print(f"tick with {args.due} questions due among N open ({policies}), {args.rounds} measured ticks")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="coplib-bench-") as tmp:
        for store in args.stores:
            results = [
                run(store, size, args.rounds, args.due, Path(tmp), only_guarantee=only_guarantee)
                for size in (args.small, args.large)
            ]
            (small, small_min, small_load), (large, large_min, large_load) = results
            ratio = large / small
            worst = max(worst, ratio)
            print(
                f"{store:>7}: N={args.small:>7,}: median {small * 1000:7.2f} ms (fastest {small_min * 1000:6.2f})"
                f"   N={args.large:>7,}: median {large * 1000:7.2f} ms (fastest {large_min * 1000:6.2f})"
                f"   ratio of medians {ratio:6.2f}, of fastest {large_min / small_min:6.2f}"
                f"   (bulk load {small_load:.1f} s and {large_load:.1f} s)"
            )
    print(f"target: ratio at most 2 -> {'met' if worst <= 2 else 'NOT met'}")
    return 0 if worst <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
