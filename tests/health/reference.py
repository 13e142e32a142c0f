"""The health report's figures computed from a Stack Exchange dump with the standard library
alone, by the counting rules of docs/health.md, independently of coplib's importer and store:
what the real-dump tests compare coplib's report with, key by key."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.importers.dumps import read_rows

Person = tuple[str, str]
DAY = timedelta(days=1)


def who(user: str | None, name: str | None) -> Person:
    """A post's or comment's person, as the dump names them."""
    if user:
        return ("user", user)
    name = " ".join((name or "").split())
    return ("anonymous", name) if name else ("former", "")


def time_of(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def deadline_4wh(asked: datetime) -> datetime:
    """Four working hours after `asked`, Monday to Friday 09:00-18:00 UTC (coplib's default
    answer-guarantee target and calendar), stepping day by day."""
    remaining = timedelta(hours=4)
    moment = asked
    while True:
        day = moment.date()
        if day.weekday() < 5:
            start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
            end = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
            moment = max(moment, start)
            if moment < end:
                if remaining <= end - moment:
                    return moment + remaining
                remaining -= end - moment
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + DAY


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def nearest_rank(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1] if ordered else None


def figures(folder: Path, *, until: datetime, since: datetime | None = None) -> dict[str, Any]:
    """The report's figures for the dump in [since, until), as coplib's JSON names them."""
    start = since or datetime.min.replace(tzinfo=UTC)
    posts = list(read_rows(folder / "Posts.xml"))
    questions = {p["Id"]: p for p in posts if p["PostTypeId"] == "1"}
    answers = {p["Id"]: p for p in posts if p["PostTypeId"] == "2" and p.get("ParentId") in questions}
    wikis = {p["Id"]: p for p in posts if p["PostTypeId"] in ("4", "5") and p.get("Body", "").strip()}
    # every contribution: (kind, person, time)
    contributions: list[tuple[str, Person, datetime]] = []
    for kind, table in (("question", questions), ("answer", answers), ("resource", wikis)):
        contributions += [
            (kind, who(p.get("OwnerUserId"), p.get("OwnerDisplayName")), time_of(p["CreationDate"]))
            for p in table.values()
        ]
    if (folder / "Comments.xml").exists():
        imported = questions.keys() | answers.keys() | wikis.keys()
        contributions += [
            ("comment", who(c.get("UserId"), c.get("UserDisplayName")), time_of(c["CreationDate"]))
            for c in read_rows(folder / "Comments.xml")
            if c["PostId"] in imported
        ]
    contributions = [c for c in contributions if c[2] < until]

    # -- responsiveness and interaction, over the questions asked in the period
    by_question: dict[str, list[dict[str, str]]] = {}
    for a in answers.values():
        if time_of(a["CreationDate"]) < until:
            by_question.setdefault(a["ParentId"], []).append(a)
    waits, backlog, fast, within, accepted, per_month = [], [], 0, 0, 0, Counter[str]()
    first_answer: dict[str, datetime | None] = {}
    helped: set[tuple[Person, Person]] = set()
    for qid, q in questions.items():
        asked = time_of(q["CreationDate"])
        asker = who(q.get("OwnerUserId"), q.get("OwnerDisplayName"))
        if asked >= until:
            continue
        # someone else: either post without OwnerUserId, or another owner
        others = [
            a
            for a in by_question.get(qid, [])
            if not q.get("OwnerUserId") or not a.get("OwnerUserId") or a["OwnerUserId"] != q["OwnerUserId"]
        ]
        first = min((time_of(a["CreationDate"]) for a in others), default=None)
        first_answer[qid] = first
        if asked < start:
            continue
        per_month[asked.strftime("%Y-%m")] += 1
        accepted += q.get("AcceptedAnswerId") in answers
        if first is None:
            backlog.append((until - asked).total_seconds())
            continue
        wait = (first - asked).total_seconds()
        waits.append(wait)
        fast += wait <= 86400
        within += first <= deadline_4wh(asked)
        for a in others:
            helper = who(a.get("OwnerUserId"), a.get("OwnerDisplayName"))
            if helper != asker:
                helped.add((helper, asker))
    n = sum(per_month.values())

    # -- activity, retention, concentration, members
    in_period = [c for c in contributions if c[2] >= start]
    per_person = Counter(person for _, person, _ in in_period)
    first_contribution: dict[Person, datetime] = {}
    times: dict[Person, list[datetime]] = {}
    for _, person, at in contributions:
        times.setdefault(person, []).append(at)
    for person, moments in times.items():
        first_contribution[person] = min(moments)
    first_question: dict[Person, tuple[datetime, str]] = {}
    for qid, q in questions.items():
        asked = time_of(q["CreationDate"])
        if asked < until:
            asker = who(q.get("OwnerUserId"), q.get("OwnerDisplayName"))
            first_question[asker] = min(first_question.get(asker, (asked, qid)), (asked, qid))
    groups = {"fast": [0, 0], "later": [0, 0], "never": [0, 0]}
    askers = pending = 0
    for person, (asked, qid) in first_question.items():
        if asked != first_contribution[person] or asked < start:
            continue
        askers += 1
        if asked + timedelta(days=90) > until:
            pending += 1
            continue
        first = first_answer[qid]
        key = "never" if first is None else "fast" if (first - asked).total_seconds() <= 86400 else "later"
        groups[key][0] += 1
        groups[key][1] += sum(1 for at in times[person] if at <= asked + timedelta(days=90)) >= 2

    # CHAOSS's absence factor, the plain way: people by contributions, until half is reached
    counts = sorted(per_person.values(), reverse=True)
    running, absence = 0, 0
    for absence, count in enumerate(counts, start=1):  # noqa: B007
        running += count
        if 2 * running >= len(in_period):
            break

    givers = {h for h, _ in helped}
    receivers = {r for _, r in helped}
    pairs = {frozenset(p) for p in helped}
    months: dict[str, dict[str, Any]] = {}
    for kind, person, at in in_period:
        month = months.setdefault(at.strftime("%Y-%m"), {"contributions": 0, "answers": 0, "people": set()})
        month["contributions"] += 1
        month["answers"] += kind == "answer"
        month["people"].add(person)
    new_by_month = Counter(at.strftime("%Y-%m") for at in first_contribution.values() if at >= start)

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        "questions": n,
        "answers": sum(1 for kind, _, _ in in_period if kind == "answer"),
        "answered": len(waits),
        "accepted": accepted,
        "median_hours_to_first_answer": median(waits) / 3600 if waits else None,
        "answered_within_24h": fast,
        "questions_per_month": dict(per_month),
        "responsiveness": {
            "questions": n,
            "answered": len(waits),
            "share_answered": share(len(waits), n),
            "p90_hours_to_first_answer": (nearest_rank(waits, 0.9) or 0) / 3600 if waits else None,
            "share_within_24h": share(fast, n),
            "answered_within_target": within,
            "share_accepted": share(accepted, n),
            "unanswered": len(backlog),
            "unanswered_median_age_days": median(backlog) / 86400 if backlog else None,
            "unanswered_oldest_age_days": max(backlog) / 86400 if backlog else None,
        },
        "activity": {
            "questions": n,
            "contributions": len(in_period),
            "repertoire": sum(1 for kind, _, _ in in_period if kind == "resource"),
            "active_contributors": len(per_person),
            "new_contributors": sum(new_by_month.values()),
        },
        "retention": {
            "first_time_askers": askers,
            "pending": pending,
            **{
                name: {"askers": g[0], "retained": g[1], "share_retained": share(g[1], g[0])}
                for name, g in (
                    ("answered_fast", groups["fast"]),
                    ("answered_later", groups["later"]),
                    ("never_answered", groups["never"]),
                    ("all", [sum(g[0] for g in groups.values()), sum(g[1] for g in groups.values())]),
                )
            },
        },
        "interaction": {
            "help_pairs": len(pairs),
            "mutual_pairs": sum(
                1 for p in pairs if len(p) == 2 and all((a, b) in helped for a in p for b in p if a != b)
            ),
            "givers": len(givers),
            "receivers": len(receivers),
            "gave_and_received": len(givers & receivers),
            "reciprocity_of_participants": share(len(givers & receivers), len(givers | receivers)),
        },
        "concentration": {"absence_factor": absence, "contributors": len(per_person)},
        "monthly": {
            month: {
                "contributions": m["contributions"],
                "answers": m["answers"],
                "active_contributors": len(m["people"]),
                "new_contributors": new_by_month.get(month, 0),
            }
            for month, m in months.items()
        },
        "levels": Counter(
            "core_group" if c >= 20 else "active" if c >= 5 else "occasional" for c in per_person.values()
        ),
    }
