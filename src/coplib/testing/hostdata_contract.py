"""The conformance kit of the optional store capabilities of issue 16: full-text search
(`TextSearchContract`, for `coplib.ports.storage.TextSearch`) and the rewriting of history
(`HistoryRewritingContract`, for `coplib.ports.storage.HistoryRewriting`).

Subclass them as the main kit (`coplib.testing.contract`), overriding `make_store`::

    class TestMyStoreSearch(TextSearchContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda: MyStore(tmp_path / "db")

Each test writes through `Store.commit` (`coplib.testing.samples.SampleHistory`) and checks
what the port promises, not how a store computes it: which contributions match, the order's
properties (not the scores), paging, that nothing outside the named communities is read.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from coplib.domain import events as ev
from coplib.domain.contributions import ContributionKind, Question
from coplib.domain.errors import ConcurrencyConflictError, InvalidInputError
from coplib.domain.history import Ref, replay
from coplib.domain.membership import Membership
from coplib.domain.text_search import SEARCHABLE_KIND_NAMES, query_terms
from coplib.ports.storage import (
    AggregateRewrite,
    Changeset,
    Filter,
    HistoryRewrite,
    HistoryRewriting,
    RecordedEvent,
    Store,
    TextSearch,
    Write,
)
from coplib.testing._fixtures import StoreFixtures, every_event
from coplib.testing.samples import SampleHistory

__all__ = ["HistoryRewritingContract", "TextSearchContract"]

ALL_KINDS = sorted(SEARCHABLE_KIND_NAMES)


def _search(store: Store, text: str, communities: list[str], **kw: Any) -> Any:
    assert isinstance(store, TextSearch), f"{type(store).__name__} does not implement TextSearch"
    kw.setdefault("kinds", ALL_KINDS)
    kw.setdefault("limit", 100)
    return store.search_text(query_terms(text), community_ids=communities, **kw)


def _ids(matches: Any) -> list[str]:
    return [h.id for h in matches.hits]


class TextSearchContract(StoreFixtures):
    """`TextSearch.search_text`."""

    @pytest.fixture
    def two_communities(self, store: Store, history: SampleHistory) -> tuple[str, str]:
        oid = history.found_organisation(store)
        return history.found_community(store, oid, name="Heating"), history.found_community(store, oid, name="Other")

    def test_a_french_plural_finds_the_singular_and_back(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        qid = history.ask(store, cid, "ana", title="La pompe à chaleur est en panne")
        other = history.ask(store, cid, "ana", title="Des pompes de relevage bruyantes")
        assert set(_ids(_search(store, "pompes", [cid]))) == {qid, other}
        assert set(_ids(_search(store, "pompe", [cid]))) == {qid, other}

    def test_an_english_plural_accents_and_case_are_no_obstacle(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        qid = history.ask(store, cid, "ben", title="Which heat pumps suit an old house?")
        accented = history.ask(store, cid, "ben", title="Réglage de l'ÉCLUSE")
        assert _ids(_search(store, "PUMP", [cid])) == [qid]
        assert _ids(_search(store, "ecluse reglage", [cid])) == [accented]

    def test_every_word_of_the_query_must_match(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        both = history.ask(store, cid, "ana", title="Soudure aluminium au TIG")
        history.ask(store, cid, "ana", title="Soudure acier")
        assert _ids(_search(store, "soudure aluminium", [cid])) == [both]
        assert _ids(_search(store, "aluminium cuivre", [cid])) == []

    def test_nothing_outside_the_named_communities_is_found_or_counted(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, other = two_communities
        mine = history.ask(store, cid, "ana", title="Vanne thermostatique")
        history.ask(store, other, "ana", title="Vanne thermostatique bloquée")
        found = _search(store, "vanne", [cid])
        assert (_ids(found), found.total) == ([mine], 1)
        assert _search(store, "vanne", []).total == 0
        assert {h.community_id for h in _search(store, "vanne", [cid, other]).hits} == {cid, other}

    def test_kinds_narrow_the_search_and_withdrawn_contributions_are_gone(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        qid = history.ask(store, cid, "ana", title="Welding parameters for thin sheets")
        rid = history.share_resource(store, cid, "ben")  # "Welding parameters table"
        assert set(_ids(_search(store, "welding parameters", [cid]))) == {qid, rid}
        assert _ids(_search(store, "welding parameters", [cid], kinds=["resource"])) == [rid]
        history.withdraw(store, ContributionKind.RESOURCE, rid)
        assert _ids(_search(store, "welding parameters", [cid])) == [qid]

    def test_answers_are_found_and_a_question_answered_stays_found(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        qid = history.ask(store, cid, "ana", title="Aluminium welding")
        aid = history.answer(store, qid, "ben")  # "Preheat the piece and use a spool gun."
        assert _ids(_search(store, "spool guns", [cid])) == [aid]
        assert _ids(_search(store, "aluminium", [cid])) == [qid]

    def test_more_occurrences_and_rarer_words_rank_higher(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        once = history.ask(store, cid, "ana", title="Brasure du cuivre sur tube long raccord")
        thrice = history.ask(store, cid, "ana", title="Brasure brasure brasure cuivre tube")
        found = _search(store, "brasure", [cid])
        assert _ids(found) == [thrice, once]
        assert found.hits[0].score > found.hits[1].score
        # "joint" is in one question of many, "tube" in all: the rare word weighs more.
        for _ in range(4):
            history.ask(store, cid, "ana", title="Tube de cuivre recuit")
        rare = history.ask(store, cid, "ana", title="Tube avec joint")
        ranked = _ids(_search(store, "tube joint", [cid]))
        assert ranked == [rare]
        either = _search(store, "tube", [cid])
        assert either.total == 7

    def test_pages_through_offset_and_limit_make_up_the_whole_ranking(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        for n in range(7):
            history.ask(store, cid, "ana", title="Chaudière " + "gaz " * (n + 1))
        whole = _search(store, "chaudieres", [cid])
        assert whole.total == 7
        pages = [_search(store, "chaudiere", [cid], limit=3, offset=o) for o in (0, 3, 6, 9)]
        assert [h for p in pages for h in _ids(p)] == _ids(whole)
        assert {p.total for p in pages} == {7}
        scores = [h.score for h in whole.hits]
        assert scores == sorted(scores, reverse=True)

    def test_a_bad_limit_or_offset_is_refused_naming_it(
        self, store: Store, history: SampleHistory, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        with pytest.raises(InvalidInputError, match=r"\$\.limit"):
            _search(store, "x", [cid], limit=-1)
        with pytest.raises(InvalidInputError, match=r"\$\.offset"):
            _search(store, "x", [cid], offset=-2)

    def test_the_index_survives_reopening(
        self, store: Store, history: SampleHistory, reopen: Any, two_communities: tuple[str, str]
    ) -> None:
        cid, _ = two_communities
        qid = history.ask(store, cid, "ana", title="Détartrage du ballon")
        again = reopen(store)
        assert _ids(_search(again, "detartrage", [cid])) == [qid]


class HistoryRewritingContract(StoreFixtures):
    """`HistoryRewriting.rewrite_history`."""

    @staticmethod
    def _rewrite(store: Store, rewrite: HistoryRewrite) -> None:
        assert isinstance(store, HistoryRewriting), f"{type(store).__name__} does not implement HistoryRewriting"
        store.rewrite_history(rewrite)

    def test_an_aggregate_rewritten_in_place_has_the_next_version_and_new_indexes(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        qid = history.ask(store, cid, "ana", title="Pompe en panne", tags=("pompe",))
        ref = Ref("question", qid)
        before = store.get(ref)
        assert before is not None and isinstance(before.value, Question)
        new = attrs.evolve(
            before.value, author_id="former-1", title="Vanne en panne", body="[removed]", tags=frozenset()
        )
        self._rewrite(store, HistoryRewrite(aggregates=(AggregateRewrite(ref, ref, new),)))
        after = store.get(ref)
        assert after is not None and (after.value, after.version) == (new, before.version + 1)
        assert [q.id for q in store.find("question")] == [qid]
        assert store.find("question", Filter(person_id="ana")) == []
        assert store.find("question", Filter(person_id="former-1")) == [new]
        if isinstance(store, TextSearch):
            assert _search(store, "pompe", [cid]).total == 0
            assert _ids(_search(store, "vanne", [cid])) == [qid]
        with pytest.raises(ConcurrencyConflictError):
            store.commit(Changeset(writes=(Write(ref, before.value, before.version),)))

    def test_an_aggregate_moved_to_a_new_ref_leaves_the_old_one_and_one_deleted_is_gone(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        history.join(store, cid, "ben")
        old = Ref("membership", f"{cid}/ben")
        found = store.get(old)
        assert found is not None and isinstance(found.value, Membership)
        moved = attrs.evolve(found.value, person_id="former-2")
        new = Ref("membership", moved.id)
        qid = history.ask(store, cid, "ben")
        self._rewrite(
            store,
            HistoryRewrite(
                aggregates=(
                    AggregateRewrite(old, new, moved),
                    AggregateRewrite(Ref("question", qid), Ref("question", qid), None),
                )
            ),
        )
        assert store.get(old) is None
        assert store.get(new) is not None and store.get(new).version == 1  # type: ignore[union-attr]
        assert store.get(Ref("question", qid)) is None
        assert sorted(m.person_id for m in store.members(cid)) == ["ana", "former-2"]
        assert store.find("question") == []

    def test_events_are_replaced_at_their_positions_and_messages_dropped_or_rewritten(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        qid = history.ask(store, cid, "ben", title="Question of Ben")
        question = history.get_as("question", qid, Question)
        asked = next(r for r in every_event(store) if getattr(r.event, "question_id", None) == qid)
        event = asked.event
        message_to_ben = history.message(event, "ben", "mine")
        message_about_ben = history.message(event, "ana", "theirs", asker="ben")
        history.commit(store, [], [message_to_ben, message_about_ben])
        assert isinstance(event, ev.QuestionAsked)
        renamed = attrs.evolve(event, actor_id="former-3", body="[removed]")
        rewritten = attrs.evolve(message_about_ben, params={"asker": "former-3"})
        self._rewrite(
            store,
            HistoryRewrite(
                aggregates=(
                    AggregateRewrite(
                        Ref("question", qid),
                        Ref("question", qid),
                        attrs.evolve(question, author_id="former-3", body="[removed]"),
                    ),
                ),
                events=(RecordedEvent(asked.position, renamed),),
                dropped_messages=(message_to_ben.id,),
                messages=(rewritten,),
            ),
        )
        events = every_event(store)
        assert [r.position for r in events] == [r.position for r in history.recorded]
        assert next(r for r in events if r.position == asked.position).event == renamed
        assert [
            r.event
            for r in store.activity(
                "former-3", since=history.recorded[0].event.occurred_at, until=history.now + (history.step)
            )
        ] == [renamed]
        assert (
            store.activity("ben", since=history.recorded[0].event.occurred_at, until=history.now + history.step) == []
        )
        entries = {e.message.id: e for e in store.outbox(limit=100)}
        assert message_to_ben.id not in entries
        assert entries[rewritten.id].message.params == {"asker": "former-3"}
        # The log replays to the rewritten state.
        state = replay(r.event for r in events)
        stored = store.get(Ref("question", qid))
        assert stored is not None and state[Ref("question", qid)] == stored.value

    def test_a_rewrite_survives_reopening(self, store: Store, history: SampleHistory, reopen: Any) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        qid = history.ask(store, cid, "ben")
        self._rewrite(
            store, HistoryRewrite(aggregates=(AggregateRewrite(Ref("question", qid), Ref("question", qid), None),))
        )
        again = reopen(store)
        assert again.get(Ref("question", qid)) is None
