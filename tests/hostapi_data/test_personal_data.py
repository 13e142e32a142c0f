"""`engine.export_person` and `engine.erase_person`: the export holds everything naming the
person; the erasure leaves no trace of their name and e-mail in the database files, replays to
the erased state, keeps threads whole, is idempotent and refused to others, on every store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import coplib
from coplib.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from coplib.domain.history import AGGREGATE_KINDS, Ref, replay
from coplib.serialization import aggregate_to_json, event_to_json
from coplib.testing.contract import every_event
from tests.hostapi_data.world import ZOE_EMAIL, ZOE_NAME, World, world

ZOE = "zoe.qm"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'coplib.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def populate(w: World) -> dict[str, str]:
    """Zoé asks, answers, comments, endorses, shares; others answer her and write her name."""
    e = w.engine
    e.set_preferences(ZOE, ZOE, frequency="daily")
    mine = e.ask(ZOE, "open", title="Pompe de relevage bruyante", body="Signé zoe.qm, poste 4412.")
    w.later()
    theirs = e.ask("ben", "open", title="Vase d'expansion", body=f"{ZOE_NAME} ({ZOE_EMAIL}) en sait plus.")
    w.later()
    helped = e.answer("ben", mine.id, body="Changer le clapet.")
    w.later()
    answer = e.answer(ZOE, theirs.id, body="Regonfler à 1,5 bar, merci Ben.")
    e.accept("ben", answer.id)
    e.comment(ZOE, "answer", helped.id, body="Merci, c'était le clapet.")
    e.endorse(ZOE, "answer", helped.id)
    resource = e.share_resource(
        ZOE, "open", title="Notice du circulateur", kind="link", location="https://example.org/zoe.qm/notice"
    )
    return {"mine": mine.id, "theirs": theirs.id, "helped": helped.id, "answer": answer.id, "resource": resource.id}


@pytest.fixture
def w(url: str) -> Iterator[World]:
    with world(url) as built:
        yield built


def state_of(store: coplib.Store) -> dict[Ref, Any]:
    return {Ref(kind, a.id): a for kind in AGGREGATE_KINDS for a in store.find(kind)}


def naming(store: coplib.Store, needle: str) -> tuple[set[int], set[Ref]]:
    """The positions of the events and the refs of the aggregates whose stored JSON holds `needle`
    (an independent search: the JSON text, not coplib's rule)."""
    events = {r.position for r in every_event(store) if needle in event_to_json(r.event)}
    aggregates = {ref for ref, a in state_of(store).items() if needle in aggregate_to_json(a)}
    return events, aggregates


# -- export ----------------------------------------------------------------------------------------


def test_the_export_holds_every_event_aggregate_and_message_naming_the_person(w: World) -> None:
    populate(w)
    store = w.engine.store
    exported = w.engine.export_person(ZOE, ZOE)
    json.dumps(exported)  # JSON-compatible
    assert exported["format"] == "coplib.personal-data/1"
    assert exported["directory"]["email"] == ZOE_EMAIL
    positions, refs = naming(store, ZOE)
    assert {e["position"] for e in exported["events"]} >= positions
    assert positions  # the scenario does name her
    exported_refs = {Ref(kind, doc["id"]) for kind, docs in exported["aggregates"].items() for doc in docs}
    assert exported_refs >= refs
    assert {"membership", "question", "answer", "comment", "endorsement", "resource", "preferences"} <= set(
        exported["aggregates"]
    )
    # Ben's question names her in its body only (her display name and e-mail): it is hers to know too.
    name_positions, _ = naming(store, ZOE_EMAIL)
    assert {e["position"] for e in exported["events"]} >= name_positions
    to_her = {e.message.id for e in store.outbox(recipient_id=ZOE, limit=1000)}
    assert to_her and {m["id"] for m in exported["outbox"]} >= to_her


def test_the_export_is_for_the_person_the_host_and_their_organisations_administrators(w: World) -> None:
    populate(w)
    e = w.engine
    for allowed in (ZOE, "ana", coplib.SYSTEM):  # ana founded (administers) the organisation
        assert e.export_person(allowed, ZOE)["person_id"] == ZOE
    for refused in ("olga", "ben"):
        with pytest.raises(PermissionDeniedError):
            e.export_person(refused, ZOE)
    with pytest.raises(NotFoundError):
        e.export_person(coplib.SYSTEM, "nobody-at-all")


# -- erasure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("contributions", ["keep", "remove"])
def test_after_erasure_nothing_names_the_person_and_the_log_replays_to_the_state(w: World, contributions: str) -> None:
    ids = populate(w)
    e, store = w.engine, w.engine.store
    report = e.erase_person("ana", ZOE, contributions=contributions)  # type: ignore[arg-type]
    assert report.pseudonym is not None and report.pseudonym.startswith("former-member-")
    for needle in (ZOE, ZOE_EMAIL, ZOE_NAME, "Quintard"):
        assert naming(store, needle) == (set(), set())
        assert not any(needle in json.dumps(m.message.params) for m in store.outbox(limit=1000))
    assert store.outbox(recipient_id=ZOE, limit=1000) == []
    # Replaying the rewritten log gives the store's state, aggregate for aggregate.
    assert replay(r.event for r in every_event(store)) == state_of(store)
    # Her memberships ended; her erasure is recorded, without her id.
    assert e.membership(coplib.SYSTEM, "open", report.pseudonym).status is coplib.MembershipStatus.REMOVED  # type: ignore[union-attr]
    erased = [r.event for r in every_event(store) if r.event.TYPE == "personal_data_erased"]
    assert len(erased) == 1 and erased[0].actor_id == "ana"
    # Threads stay whole: every answer's question, every comment's target exists.
    for answer in store.find("answer"):
        assert store.get(Ref("question", answer.question_id)) is not None  # type: ignore[attr-defined]
    for comment in store.find("comment"):
        assert store.get(Ref(comment.target_kind.value, comment.target_id)) is not None  # type: ignore[attr-defined]
    question = store.get(Ref("question", ids["theirs"]))
    assert question is not None
    answer = store.get(Ref("answer", ids["answer"]))
    assert answer is not None
    if contributions == "keep":
        assert answer.value.author_id == report.pseudonym  # type: ignore[union-attr]
        assert not answer.value.withdrawn  # type: ignore[union-attr]
        thread = e.question("olga", ids["theirs"])
        assert [a.id for a in thread.answers] == [ids["answer"]]
        assert ids["mine"] in [h.contribution.id for h in e.search("olga", "relevage").hits]
    else:
        assert answer.value.withdrawn and answer.value.body == "[removed]"  # type: ignore[union-attr]
        assert question.value.answer_count == 0  # type: ignore[union-attr]
        assert e.search("olga", "relevage").total == 0
        # Ben's answer to her removed question stays, as after any withdrawal.
        assert store.get(Ref("answer", ids["helped"])) is not None
    assert e.search("olga", "Quintard").total == 0


def test_erasure_is_idempotent(w: World) -> None:
    populate(w)
    e = w.engine
    first = e.erase_person(ZOE, ZOE)
    assert first.pseudonym is not None
    before = e.store.last_position()
    again = e.erase_person(coplib.SYSTEM, ZOE)
    assert (again.pseudonym, again.aggregates, again.events, again.messages) == (None, 0, 0, 0)
    assert e.store.last_position() == before
    # Erased by herself, the erasure's actor is her pseudonym, not her id.
    erased = [r.event for r in every_event(e.store) if r.event.TYPE == "personal_data_erased"]
    assert [x.actor_id for x in erased] == [first.pseudonym]


def test_erasure_is_refused_to_others_and_to_bad_input_and_changes_nothing(w: World) -> None:
    populate(w)
    e = w.engine
    before = e.store.last_position()
    for refused in ("olga", "ben"):
        with pytest.raises(PermissionDeniedError):
            e.erase_person(refused, ZOE)
    for kwargs, path in (
        ({"person_id": ""}, r"\$\.person_id"),
        ({"person_id": coplib.SYSTEM}, r"\$\.person_id"),
        ({"contributions": "delete"}, r"\$\.contributions"),
        ({"also_redact": "Zoé"}, r"\$\.also_redact"),
        ({"also_redact": ["a\nb"]}, r"\$\.also_redact\[0\]"),
        ({"actor": 7}, r"\$\.actor"),
    ):
        call: dict[str, Any] = {"actor": "ana", "person_id": ZOE, **kwargs}
        with pytest.raises(InvalidInputError, match=path):
            e.erase_person(call.pop("actor"), call.pop("person_id"), **call)
    assert e.store.last_position() == before
    assert naming(e.store, ZOE)[0]


# -- the bytes in the SQLite files -----------------------------------------------------------------


def _forms(text: str) -> list[bytes]:
    return [text.encode(), json.dumps(text).strip('"').encode(), text.lower().encode()]


def test_on_sqlite_the_name_and_email_are_gone_from_the_file_and_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "erase.db"
    with world(f"sqlite:///{path}") as w:
        populate(w)
        needles = [*_forms(ZOE_NAME), *_forms(ZOE_EMAIL), *_forms(ZOE), b"quintard"]

        def raw() -> bytes:
            files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
            return b"".join(f.read_bytes() for f in files if f.exists()).lower()

        assert any(n.lower() in raw() for n in needles)  # the scenario did write them
        w.engine.erase_person("ana", ZOE)
        data = raw()
        assert [n for n in needles if n.lower() in data] == []
    data = b"".join(f.read_bytes() for f in tmp_path.iterdir())
    assert b"quintard" not in data.lower() and ZOE_EMAIL.encode() not in data


def test_on_the_json_lines_example_store_the_file_holds_no_trace_and_another_handle_follows(tmp_path: Path) -> None:
    from tests.storage.test_contract_example import jsonl_store

    path = tmp_path / "coplib.jsonl"
    plugin = jsonl_store.JsonLinesStorePlugin()
    other = jsonl_store.JsonLinesStore(path)
    try:
        with world(f"jsonl:///{path}", plugins=[plugin]) as w:
            populate(w)
            assert ZOE_EMAIL.encode() in path.read_bytes()
            assert naming(other, ZOE)[0]  # the other handle reads her events
            report = w.engine.erase_person("ana", ZOE, contributions="remove")
            assert report.pseudonym is not None
            data = path.read_bytes()
            assert [n for n in (ZOE_EMAIL, ZOE, "Quintard", json.dumps(ZOE_NAME)[1:-1]) if n.encode() in data] == []
            assert naming(other, ZOE) == (set(), set())  # it noticed the new file
            assert state_of(other) == state_of(w.engine.store)
            assert replay(r.event for r in every_event(other)) == state_of(other)
    finally:
        other.close()


def test_on_sqlite_a_reader_holding_the_wal_leaves_the_erasure_recorded_and_says_to_purge_again(
    tmp_path: Path,
) -> None:
    import sqlite3

    from coplib.adapters.storage.sqlite import PurgeIncompleteWarning

    path = tmp_path / "busy.db"
    with world(f"sqlite:///{path}") as w:
        populate(w)
        reader = sqlite3.connect(path, isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM events").fetchone()  # a read snapshot on the WAL
            with pytest.warns(PurgeIncompleteWarning, match="purge"):
                report = w.engine.erase_person("ana", ZOE)
            assert report.pseudonym is not None
            assert naming(w.engine.store, ZOE) == (set(), set())
            assert [r.event.TYPE for r in every_event(w.engine.store)][-1] == "personal_data_erased"
            with pytest.raises(coplib.StorageError, match="another connection"):
                w.engine.store.purge()  # type: ignore[attr-defined]
        finally:
            reader.execute("COMMIT")
            reader.close()
        w.engine.store.purge()  # type: ignore[attr-defined]
        wal = path.with_name(path.name + "-wal")
        data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert ZOE_EMAIL.encode() not in data and b"quintard" not in data.lower()
