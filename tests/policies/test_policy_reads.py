"""Policies name what their reactions read (``reads``): the engine reads it in one batch before
the reactions, so a database server sees one round trip where it saw one per read; a
contribution reads its community, its author's membership and its own new ref in one batch
too. A hint only: a policy whose hint fails, or names what is no aggregate, changes nothing
else."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

from coplib import Engine, PluginError
from coplib.domain import events as ev
from coplib.domain.history import Ref
from coplib.domain.membership import membership_id
from coplib.ports.hookspecs import hookimpl
from coplib.ports.policy import BasePolicy, PolicyContext
from tests.unit.support import open_engine


def community(engine: Engine) -> str:
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    cid = engine.create_community("ana", "acme", name="Welding", vocation="Welders help each other").id
    for person in ("ben", "chloe", "dev"):
        engine.join(person, cid)
    return cid


def count_reads(engine: Engine) -> Counter[str]:
    """Counts the store's single reads (``get``) and batches (``get_many``) from now on."""
    calls: Counter[str] = Counter()
    store: Any = engine.store
    get, get_many = store.get, store.get_many

    def counted_get(ref: Ref) -> Any:
        calls["get"] += 1
        return get(ref)

    def counted_get_many(refs: Iterable[Ref]) -> Any:
        calls["get_many"] += 1
        return get_many(refs)

    store.get, store.get_many = counted_get, counted_get_many
    return calls


def ask_and_answer_reads(engine: Engine) -> Counter[str]:
    cid = community(engine)
    question = engine.ask("chloe", cid, title="Thin aluminium?", body="It warps.", tags=["aluminium"])
    calls = count_reads(engine)
    engine.answer("dev", question.id, body="Clamp it to a copper bar.")
    return calls


def test_the_built_in_policies_read_what_they_name_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    hinted = ask_and_answer_reads(open_engine())
    monkeypatch.setattr(BasePolicy, "reads", lambda self, event: ())
    for policy_class in {type(p) for p in open_engine().policies}:
        monkeypatch.setattr(policy_class, "reads", lambda self, event: ())
    unhinted = ask_and_answer_reads(open_engine())

    assert hinted["get_many"] > unhinted["get_many"]
    # One single read is left: the question (the community and the answerer's membership come
    # in one batch with the new answer's ref, then each event's reactions read in one batch).
    assert hinted["get"] == 1 < unhinted["get"], (hinted, unhinted)
    assert hinted["get_many"] <= 4


class Hints(BasePolicy):
    """Interested in questions; its hint raises or names junk, and its reaction counts."""

    name = "hints"
    interests = frozenset({ev.QuestionAsked})

    def __init__(self, hint: Any) -> None:
        self.hint = hint
        self.reactions = 0

    def reads(self, event: ev.DomainEvent) -> Iterable[Ref]:
        return self.hint(event)  # type: ignore[no-any-return]

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        self.reactions += 1


class HintsPlugin:
    def __init__(self, policy: Hints) -> None:
        self.policy = policy

    @hookimpl
    def coplib_policies(self) -> list[Any]:
        return [self.policy]


def _raise(event: ev.DomainEvent) -> Iterable[Ref]:
    raise RuntimeError("no idea what I will read")


@pytest.mark.parametrize(
    "hint",
    [_raise, lambda event: ["question", 42, None, Ref("no such kind", "x")]],
    ids=["raises", "names junk"],
)
def test_a_policy_whose_hint_fails_still_reacts_and_the_command_stands(hint: Any) -> None:
    policy = Hints(hint)
    engine = open_engine(plugins=[HintsPlugin(policy)], strict=True)
    cid = community(engine)

    question = engine.ask("chloe", cid, title="Thin aluminium?", body="It warps.")

    assert policy.reactions == 1
    assert engine.question("chloe", question.id).question.id == question.id


class Prefetching(BasePolicy):
    """Interested in questions; its reaction prefetches what it is given, then reads it."""

    name = "prefetching"
    interests = frozenset({ev.QuestionAsked})

    def __init__(self, refs: list[Any]) -> None:
        self.refs = refs
        self.found: list[object] = []

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        ctx.prefetch(self.refs)
        self.found = [ctx.get(ref) for ref in self.refs]


class PrefetchingPlugin:
    def __init__(self, policy: Prefetching) -> None:
        self.policy = policy

    @hookimpl
    def coplib_policies(self) -> list[Any]:
        return [self.policy]


def test_a_reaction_reads_what_it_prefetched_in_one_batch() -> None:
    policy = Prefetching([])
    engine = open_engine(plugins=[PrefetchingPlugin(policy)], strict=True)
    cid = community(engine)
    policy.refs = [Ref("community", cid), Ref("membership", membership_id(cid, "ben")), Ref("question", "none-such")]
    calls = count_reads(engine)

    engine.ask("chloe", cid, title="Thin aluminium?", body="It warps.")

    assert [type(found).__name__ for found in policy.found] == ["Community", "Membership", "NoneType"]
    assert calls["get"] == 0  # all read in batches


@pytest.mark.parametrize("junk", ["question", Ref("no such kind", "x"), Ref("question", 42)])
def test_prefetching_something_that_is_no_ref_to_an_aggregate_is_refused_naming_it(junk: Any) -> None:
    policy = Prefetching([Ref("community", "welding"), junk])
    engine = open_engine(plugins=[PrefetchingPlugin(policy)], strict=True)
    cid = community(engine)

    with pytest.raises(PluginError) as caught:
        engine.ask("chloe", cid, title="Thin aluminium?", body="It warps.")

    assert "$.refs[1]" in str(caught.value.__cause__)
