"""A contribution a moderator hid counts in the health report as a withdrawn one does (not at all)
until it is shown again, on every store (docs/health.md, "Counting rules"): a hidden answer
answers nothing, a hidden accepted answer leaves its question unaccepted, a hidden question is
no question of the community."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import coplib
from coplib import Charter, ManualClock
from tests.unit.support import PEOPLE, START


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[coplib.Engine, ManualClock]]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'coplib.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    clock = ManualClock(START)
    with coplib.open(url, people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as opened:
        opened.create_organisation("eve", "Acme", organisation_id="acme")
        opened.create_community("ana", "acme", name="Welders", charter=Charter(vocation="Weld"), community_id="weld")
        for person in ("ben", "chloe"):
            opened.join(person, "weld")
        yield opened, clock


def figures(engine: coplib.Engine, clock: ManualClock) -> tuple[int, int, int, int, float | None]:
    report = engine.community_health(coplib.SYSTEM, "weld", until=clock.now() + timedelta(hours=1))
    r = report.responsiveness
    return (r.questions, r.answered, r.accepted, report.activity.answers, r.median_hours_to_first_answer)


def test_a_hidden_answer_answers_nothing_until_it_is_shown_again(engine: tuple[coplib.Engine, ManualClock]) -> None:
    e, clock = engine
    question = e.ask("ben", "weld", title="Which gas for TIG?", body="On aluminium")
    clock.advance(timedelta(hours=2))
    first = e.answer("chloe", question.id, body="Argon")
    clock.advance(timedelta(hours=4))
    later = e.answer("ana", question.id, body="Argon, or argon and helium")
    e.accept("ben", first.id)
    assert figures(e, clock) == (1, 1, 1, 2, 2.0)

    e.hide("ana", "answer", first.id, reason="Off topic")
    # The question is answered by the later answer only, six hours after it was asked, and its
    # accepted answer is hidden: not accepted meanwhile.
    assert figures(e, clock) == (1, 1, 0, 1, 6.0)

    e.hide("ana", "answer", later.id, reason="Off topic")
    assert figures(e, clock) == (1, 0, 0, 0, None)

    e.unhide("ana", "answer", first.id)
    e.unhide("ana", "answer", later.id)
    assert figures(e, clock) == (1, 1, 1, 2, 2.0)


def test_a_hidden_question_is_no_question_of_the_community(engine: tuple[coplib.Engine, ManualClock]) -> None:
    e, clock = engine
    kept = e.ask("ben", "weld", title="Which gas for TIG?", body="On aluminium")
    hidden = e.ask("chloe", "weld", title="Buy cheap watches", body="Here")
    clock.advance(timedelta(hours=1))
    e.answer("chloe", kept.id, body="Argon")
    e.hide("ana", "question", hidden.id, reason="Spam")
    assert figures(e, clock) == (1, 1, 0, 1, 1.0)

    e.unhide("ana", "question", hidden.id)
    assert figures(e, clock)[0] == 2
