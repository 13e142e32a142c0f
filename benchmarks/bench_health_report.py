"""The health report on a SQLite file holding one community of 1,000,000 contributions, against
one raw SQL scan of that community's events grouped by month, in the same run; and the same
report on ten times the history.

    python -m benchmarks.bench_health_report [--quick] [--repeat N] [--dir DIR] [--size N] [--single]

Targets (issue "Community health on real histories", benchmark 3): the report takes at most 5
times the raw scan; on ten times the history, at most ten times its time. The report timed is
the one a host reads from a running engine over the whole history, after a few questions were
asked, answered and accepted since its last report (the engine keeps a running tally of the
community and follows the log: docs/health.md, "Kept up to date from the log"). The cold report,
an engine's first, which builds that tally from the store's facts, is printed beside it (no
target).

The database is written with direct SQL into coplib's own schema (the store creates the file,
its schema and indexes; the rows then go in with ``executemany``), because going through
`Engine.import_history` would take about 20 minutes for ten million contributions on this
machine. The rows are what coplib writes: documents from coplib's serializer (checked by
reading a sample back through the store), the indexed columns as `_index.index_row` gives
them, one event per change. The history: people of Pareto-distributed activity (a tenth as
many people as contributions, all members, a few of them experts); about 28 % questions,
55 % answers (most by someone else, a few self-answers, some questions never answered), 15 %
comments and 2 % resources; an accepted answer on 60 % of the answered questions; 0.1 % of
the answers withdrawn; bodies of 300 characters; five years.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from benchmarks import _common as common
except ImportError:  # run as a file: python benchmarks/bench_health_report.py
    import _common as common  # type: ignore[no-redef,import-not-found]

import coplib
from coplib.domain.history import Ref
from coplib.domain.permissions import SYSTEM
from coplib.serialization import format_timestamp

RATIO_TARGET = 5.0  # report / raw scan grouped by month
GROWTH_TARGET = 10.0  # report on ten times the history / report
START = datetime(2019, 1, 7, tzinfo=UTC)
SPAN = timedelta(days=5 * 365)
BODY = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 4)[:300]
#: After the last contribution of the history: the engine's clock starts there.
AFTER = START + SPAN + timedelta(days=365)
#: Questions asked, answered and accepted through the engine before each timed report.
ACTIVITY = 5
COMMUNITY = "c-health-bench"
ORGANISATION = "o-health-bench"

RAW_SCAN = (
    "SELECT substr(occurred_at, 1, 7) AS month, count(*) FROM events WHERE community_id = ? "
    "GROUP BY month ORDER BY month"
)

_AGGREGATE = (
    "INSERT INTO aggregates (kind, id, community_id, person_id, parent_id, created_at, open_since, status, "
    "version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"
)
_EVENT = "INSERT INTO events (id, type, community_id, actor_id, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?)"


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class History:
    """Writes one community of `size` contributions into a fresh coplib SQLite file."""

    def __init__(self, path: Path, size: int, seed: int = 7) -> None:
        self.path = path
        self.size = size
        self.rnd = random.Random(seed)
        self.people = max(20, size // 10)
        self.aggregates: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.conn: sqlite3.Connection | None = None
        self.counter = 0

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:015d}"

    def _person(self) -> str:
        # Skewed activity: the first tenth of the people write about half of the contributions.
        return f"p{int(self.people * self.rnd.random() ** 3):07d}"

    def _flush(self, final: bool = False) -> None:
        assert self.conn is not None
        if len(self.aggregates) >= 50_000 or final:
            self.conn.executemany(_AGGREGATE, self.aggregates)
            self.aggregates.clear()
        if len(self.events) >= 50_000 or final:
            self.conn.executemany(_EVENT, self.events)
            self.events.clear()

    def _event(self, type_: str, actor: str, at: str, fields: dict[str, Any]) -> None:
        eid = self._id("e")
        data = {"actor_id": actor, "community_id": COMMUNITY, "id": eid, "occurred_at": at, "type": type_, **fields}
        self.events.append((eid, type_, COMMUNITY, actor, at, _dumps(data)))

    def build(self) -> None:
        with coplib.open(f"sqlite:///{self.path}", people=[coplib.Person(id="founder", display_name="Founder")]) as e:
            e.create_organisation("founder", "Bench", organisation_id=ORGANISATION)
            e.create_community(
                "founder",
                ORGANISATION,
                name="Health bench",
                charter=coplib.Charter(vocation="v"),
                community_id=COMMUNITY,
            )
        conn = self.conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA synchronous = OFF")  # building only; the report reads it as coplib opens it
        conn.execute("BEGIN")
        self._members()
        self._contributions()
        self._flush(final=True)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.close()

    def _members(self) -> None:
        joined = format_timestamp(START - timedelta(days=1))
        experts = {f"p{i:07d}" for i in range(0, min(self.people, 50), 5)}
        for i in range(self.people):
            person = f"p{i:07d}"
            mid = f"{COMMUNITY}/{person}"
            roles = ["expert"] if person in experts else []
            data = {
                "community_id": COMMUNITY,
                "expertise": ["beer"] if roles else [],
                "invited_by": None,
                "joined_at": joined,
                "person_id": person,
                "roles": roles,
                "since": joined,
                "status": "active",
                "via": "open",
            }
            self.aggregates.append(("membership", mid, COMMUNITY, person, None, joined, None, "active", _dumps(data)))
            self._event("member_joined", person, joined, {"person_id": person, "via": "open"})
            if roles:
                assert self.conn is not None
                self._flush(final=True)
                self.conn.execute(
                    "INSERT INTO membership_roles (id, role, community_id, person_id) VALUES (?, 'expert', ?, ?)",
                    (mid, COMMUNITY, person),
                )
                self.conn.execute(
                    "INSERT INTO tags (kind, id, tag, community_id, sort_key) VALUES ('membership', ?, 'beer', ?, ?)",
                    (mid, COMMUNITY, person),
                )
            self._flush()

    def _contributions(self) -> None:
        rnd = self.rnd
        questions = round(self.size * 0.28)
        answers_left = round(self.size * 0.55)
        comments = round(self.size * 0.15)
        resources = self.size - questions - answers_left - comments
        step = SPAN / questions
        counts = [0 if rnd.random() < 0.06 else 1 + int(rnd.expovariate(1 / 1.6)) for _ in range(questions)]
        total = sum(counts)
        while total != answers_left:  # exactly the answers wanted, spread at random
            i = rnd.randrange(questions)
            if counts[i] > 0:
                change = 1 if total < answers_left else -1
                counts[i] += change
                total += change
        targets: list[tuple[str, str, str]] = []  # (kind, id, author) of what a comment may target
        for n in range(questions):
            asked = START + step * n
            asker = self._person()
            qid = self._id("q")
            k = counts[n]
            answers = []
            for _ in range(k):
                author = asker if rnd.random() < 0.04 else self._person()
                at = asked + timedelta(hours=rnd.lognormvariate(1.8, 1.6))
                answers.append((self._id("a"), author, at))
            answers.sort(key=lambda a: a[2])
            withdrawn = {a[0] for a in answers if rnd.random() < 0.001}
            live = [a for a in answers if a[0] not in withdrawn]
            accepted = live[rnd.randrange(len(live))] if live and rnd.random() < 0.6 else None
            first = live[0][2] if live else None
            q_at = format_timestamp(asked)
            question = {
                "accepted_answer_id": accepted[0] if accepted else None,
                "answer_count": len(live),
                "author_id": asker,
                "body": BODY,
                "community_id": COMMUNITY,
                "created_at": q_at,
                "first_answered_at": format_timestamp(first) if first else None,
                "id": qid,
                "tags": [],
                "title": f"Question {n}",
                "withdrawn": False,
            }
            open_since = q_at if not live else None
            self.aggregates.append(("question", qid, COMMUNITY, asker, None, q_at, open_since, None, _dumps(question)))
            self._event(
                "question_asked", asker, q_at, {"question_id": qid, "title": f"Question {n}", "body": BODY, "tags": []}
            )
            targets.append(("question", qid, asker))
            for aid, author, at in answers:
                a_at = format_timestamp(at)
                answer = {
                    "author_id": author,
                    "body": BODY,
                    "community_id": COMMUNITY,
                    "created_at": a_at,
                    "id": aid,
                    "question_id": qid,
                    "withdrawn": aid in withdrawn,
                }
                self.aggregates.append(("answer", aid, COMMUNITY, author, qid, a_at, None, None, _dumps(answer)))
                fields = {"answer_id": aid, "question_id": qid, "asker_id": asker, "body": BODY}
                self._event("answer_posted", author, a_at, fields)
                if aid in withdrawn:
                    fields = {
                        "contribution_id": aid,
                        "contribution_kind": "answer",
                        "author_id": author,
                        "question_id": qid,
                        "reason": "",
                    }
                    self._event("contribution_withdrawn", author, a_at, fields)
                else:
                    targets.append(("answer", aid, author))
            if accepted is not None:
                at = format_timestamp(accepted[2])
                fields = {
                    "question_id": qid,
                    "answer_id": accepted[0],
                    "answer_author_id": accepted[1],
                    "asker_id": asker,
                    "previous_answer_id": None,
                    "previous_answer_author_id": None,
                }
                self._event("answer_accepted", asker, at, fields)
            due = round(comments * (n + 1) / questions) - round(comments * n / questions)
            for _ in range(due):
                kind, target, target_author = targets[-1 - min(len(targets) - 1, int(rnd.expovariate(1 / 20)))]
                self._comment(kind, target, target_author, asked + timedelta(hours=rnd.expovariate(1 / 30)))
            due = round(resources * (n + 1) / questions) - round(resources * n / questions)
            for _ in range(due):
                self._resource(asked + timedelta(minutes=rnd.randrange(60)))
            self._flush()

    def _comment(self, kind: str, target: str, target_author: str, at: datetime) -> None:
        author = self._person()
        cid = self._id("k")
        stamp = format_timestamp(at)
        data = {
            "author_id": author,
            "body": BODY[:120],
            "community_id": COMMUNITY,
            "created_at": stamp,
            "id": cid,
            "target_id": target,
            "target_kind": kind,
            "withdrawn": False,
        }
        self.aggregates.append(("comment", cid, COMMUNITY, author, target, stamp, None, None, _dumps(data)))
        fields = {
            "comment_id": cid,
            "target_id": target,
            "target_kind": kind,
            "target_author_id": target_author,
            "body": BODY[:120],
        }
        self._event("comment_posted", author, stamp, fields)

    def _resource(self, at: datetime) -> None:
        author = self._person()
        rid = self._id("r")
        stamp = format_timestamp(at)
        data = {
            "author_id": author,
            "community_id": COMMUNITY,
            "created_at": stamp,
            "description": BODY,
            "id": rid,
            "kind": "document",
            "location": "https://example.org/doc",
            "tags": [],
            "title": "A document",
            "withdrawn": False,
        }
        self.aggregates.append(("resource", rid, COMMUNITY, author, None, stamp, None, None, _dumps(data)))
        fields = {
            "resource_id": rid,
            "title": "A document",
            "kind": "document",
            "location": "https://example.org/doc",
            "description": BODY,
            "tags": [],
        }
        self._event("resource_shared", author, stamp, fields)


def check_sample(path: Path) -> None:
    """The rows written are what coplib reads: a sample of each kind decodes through the store."""
    conn = sqlite3.connect(path)
    sample = conn.execute(
        "SELECT kind, id FROM aggregates WHERE rowid IN (SELECT min(rowid) FROM aggregates GROUP BY kind)"
    ).fetchall()
    events = conn.execute("SELECT min(position) FROM events GROUP BY type").fetchall()
    conn.close()
    with coplib.open(f"sqlite:///{path}") as engine:
        found = engine.store.get_many(Ref(kind, id_) for kind, id_ in sample)
        assert len(found) == len(sample), "a written aggregate does not decode"
        positions = {p for (p,) in events}
        read = [r for r in engine.store.events(limit=10_000) if r.position in positions]
        assert read, "no written event decodes"


class RawScan:
    """The baseline: one raw SQL scan of the community's events grouped by month."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path)

    def __call__(self) -> float:
        start = time.perf_counter()
        rows = self.conn.execute(RAW_SCAN, (COMMUNITY,)).fetchall()
        elapsed = time.perf_counter() - start
        assert rows
        return elapsed


class Report:
    """coplib's health report of the community over its whole history (`Engine.community_health`,
    `until` the engine's now), as a host reads it from a running engine: before each timed
    report, `ACTIVITY` questions are asked, answered and accepted through the engine's commands
    (untimed), so that each report catches up the log since the last one
    (`coplib.service.health_cache`). The engine's first report, which builds the community's
    tally from the store's facts, is timed apart (`cold`)."""

    def __init__(self, path: Path, people: int) -> None:
        self.clock = coplib.ManualClock(AFTER)
        # The people who take part: the first 50 (the directory knows them).
        self.pool = [f"p{i:07d}" for i in range(min(people, 50))]
        directory = [coplib.Person(id=p, display_name=f"Member {p}") for p in self.pool]
        self.engine = coplib.open(f"sqlite:///{path}", clock=self.clock, people=directory)
        self.rnd = random.Random(11)
        self.contributions = 0
        start = time.perf_counter()
        self._read()
        #: The first report of the engine: the tally built from the facts.
        self.cold = time.perf_counter() - start

    def _read(self) -> None:
        report = self.engine.community_health(SYSTEM, COMMUNITY)
        assert report.activity.contributions > 0
        self.contributions = report.activity.contributions

    def _activity(self) -> None:
        for _ in range(ACTIVITY):
            asker, helper = self.rnd.sample(self.pool, 2)
            question = self.engine.ask(asker, COMMUNITY, title="A question of the benchmark", body=BODY)
            self.clock.advance(timedelta(minutes=7))
            answer = self.engine.answer(helper, question.id, body=BODY)
            self.clock.advance(timedelta(minutes=5))
            self.engine.accept(asker, answer.id)

    def __call__(self) -> float:
        self._activity()
        start = time.perf_counter()
        self._read()
        return time.perf_counter() - start


class ColdReport:
    """The same report on an engine opened just before (its opening untimed): what a
    restarted host's first report costs, the community's tally built from the store's facts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> float:
        with coplib.open(f"sqlite:///{self.path}") as engine:
            start = time.perf_counter()
            report = engine.community_health(SYSTEM, COMMUNITY, until=AFTER)
            elapsed = time.perf_counter() - start
        assert report.activity.contributions > 0
        return elapsed


def main() -> None:
    logging.getLogger("coplib.bootstrap").setLevel(logging.ERROR)  # no notifier: the report sends nothing
    parser = common.arguments(__doc__ or "")
    parser.add_argument("--size", type=int, default=None, help="contributions of the smaller history (default 1e6)")
    parser.add_argument("--single", action="store_true", help="the smaller history only (no growth measured)")
    args = parser.parse_args()
    size = args.size or (20_000 if args.quick else 1_000_000)
    repeat = args.repeat or (2 if args.quick else 3)
    summary: common.Summary = []
    with common.workdir(args.dir) as work:
        common.machine_facts(work, {"histories": f"{size:,} and {10 * size:,} contributions"})
        times: dict[int, dict[str, float]] = {}
        for n in (size,) if args.single else (size, 10 * size):
            path = work / f"health-{n}.db"
            began = time.perf_counter()
            History(path, n).build()
            check_sample(path)
            events = sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0]
            megabytes = path.stat().st_size / 2**20
            print(
                f"built {n:,} contributions ({events:,} events, {megabytes:,.0f} MiB) by direct SQL in "
                f"{time.perf_counter() - began:,.1f} s"
            )
            cold = ColdReport(path)
            best = common.race({"raw scan": RawScan(path), "cold report": cold}, repeat)
            report = Report(path, n // 10)
            warm = common.race({"raw scan": RawScan(path), "health report": report}, repeat)
            best = {**best, **warm, "raw scan": min(best["raw scan"], warm["raw scan"])}
            print(f"  {report.contributions:,} contributions counted by the last report")
            times[n] = best
            for name, seconds in best.items():
                print(f"  {name}: best of {repeat}: {seconds * 1000:,.0f} ms")
            common.report(
                summary,
                f"report / raw scan by month, {n:,} contributions",
                best["health report"] * 1000,
                best["raw scan"] * 1000,
                RATIO_TARGET,
                "ms",
                at_most=True,
            )
            common.report(
                summary,
                f"cold report / raw scan, {n:,} (no target)",
                best["cold report"] * 1000,
                best["raw scan"] * 1000,
                None,
                "ms",
                at_most=True,
            )
            report.engine.close()
            path.unlink()
        if not args.single:
            common.report(
                summary,
                f"report on {10 * size:,} / on {size:,}",
                times[10 * size]["health report"] * 1000,
                times[size]["health report"] * 1000,
                GROWTH_TARGET,
                "ms",
                at_most=True,
            )
            scan_growth = times[10 * size]["raw scan"] / times[size]["raw scan"]
            cold_growth = times[10 * size]["cold report"] / times[size]["cold report"]
            print(f"  (the raw scan grew {scan_growth:.2f} times, the cold report {cold_growth:.2f} times)")
    common.print_summary("health report on SQLite", summary, at_most=True)


if __name__ == "__main__":
    main()
