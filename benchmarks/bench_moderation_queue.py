"""The moderation queue costs its page, not every flag ever raised. On one SQLite file, community
"welding" holds 100,000 flags already settled (dismissed) and then 100 open ones; community
"fresh" holds the same 100 open flags and nothing else. A page of the queue is read in each, in
the same rounds.

    python -m benchmarks.bench_moderation_queue [--quick] [--repeat N]

Target: time(a page after 100,000 settled flags) / time(the same page with none) <= 1.5 (the
queue walked every flag before: about 2,000 times the page).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
    from benchmarks.bench_paging import PAGE, per_call
except ImportError:  # run as a file: python benchmarks/bench_moderation_queue.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]
    from bench_paging import PAGE, per_call  # type: ignore[no-redef,import-not-found]

from coplib import Engine
from coplib.domain import events as ev
from coplib.domain.contributions import ContributionKind

TARGET = 1.5
OPEN = 100
FACILITATOR = work.PEOPLE[0].id
FLAGGER = work.PEOPLE[2].id


def flags(questions: list[ev.QuestionAsked], settled: int, open_flags: int) -> Iterator[ev.DomainEvent]:
    """A flag on each question, by someone other than its asker: the first `settled` dismissed
    by the facilitator, the next `open_flags` left open."""
    for n, question in enumerate(questions[: settled + open_flags]):
        at = question.occurred_at + timedelta(milliseconds=1)
        base: dict[str, Any] = {"actor_id": FLAGGER, "community_id": question.community_id, "occurred_at": at}
        target = {"contribution_id": question.question_id, "contribution_kind": ContributionKind.QUESTION}
        flag_id = f"flag-{question.community_id}-{n:08d}"
        yield ev.ContributionFlagged(
            **base,
            id=f"{flag_id}-raised",
            flag_id=flag_id,
            target_author_id=question.actor_id,
            reason="off-topic",
            **target,
        )
        if n < settled:
            yield ev.FlagsDismissed(
                **{**base, "actor_id": FACILITATOR},
                id=f"{flag_id}-dismissed",
                flag_ids=(flag_id,),
                note="on topic",
                **target,
            )


def fresh_community(events: list[ev.DomainEvent], count: int) -> list[ev.DomainEvent]:
    """The founding and the first `count` questions of `events`, in a community named "fresh"."""
    renamed: list[ev.DomainEvent] = []
    asked = 0
    for event in events:
        if isinstance(event, ev.OrganisationCreated):
            continue
        if isinstance(event, ev.QuestionAsked):
            if event.actor_id == FLAGGER:
                continue
            asked += 1
            if asked > count:
                break
        fields = {"id": f"fresh-{event.id}", "community_id": "fresh"}
        if isinstance(event, ev.QuestionAsked):
            fields["question_id"] = f"fresh-{event.question_id}"
        if isinstance(event, ev.CommunityCreated):
            fields["name"] = "Fresh"
        renamed.append(attrs.evolve(event, **fields))
    return renamed


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    args = parser.parse_args(argv)
    settled = 10_000 if args.quick else 100_000
    repeat = args.repeat or (2 if args.quick else 5)
    calls = 20 if args.quick else 100
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        common.machine_facts(directory, {"workload": f"{settled:,} settled flags, page of {PAGE}, best of {repeat}"})
        engine: Engine = work.open_engine(
            f"sqlite:///{directory / 'queue.db'}", **common.sqlite_options(args.synchronous)
        )
        try:
            start = time.perf_counter()
            history = work.history((settled + OPEN) * 19 // 18 + 40, open_questions=True)  # p02 asks 1 in 19
            questions = [e for e in history if isinstance(e, ev.QuestionAsked) and e.actor_id != FLAGGER]
            engine.import_history(history, batch_size=10_000)
            engine.import_history(flags(questions, settled, OPEN), batch_size=10_000)
            fresh = fresh_community(history, OPEN)
            engine.import_history(fresh, batch_size=10_000)
            fresh_questions = [e for e in fresh if isinstance(e, ev.QuestionAsked)]
            engine.import_history(flags(fresh_questions, 0, OPEN), batch_size=10_000)
            elapsed = time.perf_counter() - start
            print(f"SQLite: {settled:,} settled and {OPEN} open flags, and {OPEN} elsewhere, in {elapsed:.1f} s")
            store: Any = engine.store

            def cold() -> None:
                store._cache.clear()  # decoding the page counts too

            queues = {
                "after settled": lambda **k: engine.moderation_queue(FACILITATOR, "welding", **k),
                "fresh": lambda **k: engine.moderation_queue(FACILITATOR, "fresh", **k),
            }
            best = common.race({name: per_call(read, None, calls, cold) for name, read in queues.items()}, repeat)
            print(
                f"  a page of {PAGE}: after {settled:,} settled flags {best['after settled'] * 1e6:,.0f} us, "
                f"with none {best['fresh'] * 1e6:,.0f} us"
            )
            common.report(
                summary,
                f"SQLite: the queue after {settled:,} settled flags / with none",
                best["after settled"] * 1e6,
                best["fresh"] * 1e6,
                TARGET,
                "us",
                at_most=True,
            )
        finally:
            engine.close()
        common.print_summary("summary (bench_moderation_queue)", summary, at_most=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
