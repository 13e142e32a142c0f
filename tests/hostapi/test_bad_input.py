"""Bad input at the host API's reads and at the commands that need a state first (an
acceptance, a closed thread, a hidden contribution, open flags): a typed error naming the
field, and nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from coplib import SYSTEM, Engine, InvalidInputError, NotFoundError
from tests.unit.support import snapshot


@pytest.fixture
def ids(engine: Engine) -> dict[str, str]:
    question = engine.ask("chloe", "welding", title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")
    engine.accept("chloe", answer.id)
    engine.flag("dev", "answer", answer.id, reason="spam")
    other = engine.ask("dev", "welding", title="Which gas?", body="MIG")
    engine.close_thread("dev", other.id)
    engine.hide("ana", "question", other.id, reason="duplicate")
    return {"question": question.id, "answer": answer.id, "closed": other.id}


CALLS: list[tuple[str, Callable[[Engine, dict[str, str]], Any], str]] = [
    ("unaccept", lambda e, i: e.unaccept(["chloe"], i["question"]), "$.actor"),
    ("unaccept", lambda e, i: e.unaccept("chloe", 42), "$.question_id"),
    ("reopen_thread", lambda e, i: e.reopen_thread("dev", i["closed"], reason="a\x00b"), "$.reason"),
    ("reopen_thread", lambda e, i: e.reopen_thread("dev", None), "$.question_id"),
    ("unhide", lambda e, i: e.unhide("ana", "bogus", i["closed"]), "$.kind"),
    ("unhide", lambda e, i: e.unhide(7, "question", i["closed"]), "$.actor"),
    ("dismiss_flags", lambda e, i: e.dismiss_flags("ana", "answer", i["answer"], note="x" * 10_000), "$.note"),
    ("dismiss_flags", lambda e, i: e.dismiss_flags("ana", "answer", "has space"), "$.contribution_id"),
    ("revisions", lambda e, i: e.revisions("ana", "endorsed", i["question"]), "$.kind"),
    ("revisions", lambda e, i: e.revisions(None, "question", i["question"]), "$.viewer"),
    ("questions", lambda e, i: e.questions("ana", "welding", tag=3), "$.tag"),
    ("questions", lambda e, i: e.questions("ana", "welding", cursor=b"bytes"), "$.cursor"),
    ("profile", lambda e, i: e.profile("ana", ["ben"]), "$.person_id"),
    ("my_communities", lambda e, i: e.my_communities(""), "$.viewer"),
    ("upcoming_meetings", lambda e, i: e.upcoming_meetings("ana", community_id=5), "$.community_id"),
    ("activity", lambda e, i: e.activity("ana", person_id="a b"), "$.person_id"),
    ("activity", lambda e, i: e.activity("ana", community_id="welding", since="yesterday"), "$.since"),
    ("activity", lambda e, i: e.activity("ana", community_id="welding", newest_first="yes"), "$.newest_first"),
    ("members_page", lambda e, i: e.members_page("ana", "welding", role="boss"), "$.role"),
    ("contributions_page", lambda e, i: e.contributions_page("ana", "ben", kinds=["gift"]), "$.kinds[0]"),
    ("outbox_page", lambda e, i: e.outbox_page(SYSTEM, status="lost"), "$.status"),
    ("history_page", lambda e, i: e.history_page("ana", "welding", cursor="x.y"), "$.cursor"),
    ("moderation_queue", lambda e, i: e.moderation_queue("ana", "welding", limit=0), "$.limit"),
]


@pytest.mark.parametrize(("name", "call", "path"), CALLS, ids=[f"{n}-{p}" for n, _, p in CALLS])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    engine: Engine, ids: dict[str, str], name: str, call: Callable[[Engine, dict[str, str]], Any], path: str
) -> None:
    state, last = snapshot(engine), engine.store.last_position()

    with pytest.raises(InvalidInputError) as caught:
        call(engine, ids)

    assert path in [e.path for e in caught.value.errors]
    assert snapshot(engine) == state and engine.store.last_position() == last


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.unaccept("chloe", "no-such-question"),
        lambda e: e.reopen_thread("chloe", "no-such-question"),
        lambda e: e.unhide("ana", "answer", "no-such-answer"),
        lambda e: e.dismiss_flags("ana", "answer", "no-such-answer"),
        lambda e: e.revisions("ana", "answer", "no-such-answer"),
        lambda e: e.moderation_queue("ana", "nowhere"),
    ],
)
def test_an_unknown_id_is_not_found(engine: Engine, call: Callable[[Engine], Any]) -> None:
    with pytest.raises(NotFoundError):
        call(engine)
