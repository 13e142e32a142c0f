"""`engine.search`: French and English forms, accents, ranking, pages, and above all that
nobody finds, counts or pages through what they may not read, on every store."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coplib
from coplib.domain.errors import InvalidInputError, NotFoundError
from tests.hostapi_data.world import World, world

WORDS = ["pompe", "pompes", "chaleur", "vanne", "vannes", "pumps", "pump", "valve", "réglage", "reglages"]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'coplib.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def w(url: str) -> Iterator[World]:
    with world(url) as built:
        yield built


def ids(results: coplib.SearchResults) -> list[str]:
    return [h.contribution.id for h in results.hits]


def test_a_plural_finds_the_singular_in_french_and_in_english(w: World) -> None:
    e = w.engine
    fr = e.ask("ben", "open", title="La pompe à chaleur siffle", body="Depuis hier soir.")
    en = e.ask("ben", "open", title="Heat pumps in winter", body="Which settings?")
    assert ids(e.search("olga", "pompes")) == [fr.id]
    assert ids(e.search("olga", "pump")) == [en.id]
    assert ids(e.search("olga", "POMPE chaleur")) == [fr.id]


def test_accents_and_case_do_not_matter(w: World) -> None:
    e = w.engine
    q = e.ask("ben", "open", title="Réglage de la régulation", body="Quelle consigne ?")
    assert ids(e.search("olga", "reglage REGULATION")) == [q.id]
    assert ids(e.search("olga", "Régulations")) == [q.id]


def test_answers_resources_and_experiences_are_found_and_kinds_narrow(w: World) -> None:
    e = w.engine
    q = e.ask("ben", "open", title="Purger un radiateur", body="Comment faire ?")
    a = e.answer("zoe.qm", q.id, body="Ouvrir la vis de purge du radiateur en haut.")
    r = e.share_resource("ben", "open", title="Guide des radiateurs", kind="link", location="https://example.org/r")
    assert set(ids(e.search("olga", "radiateurs"))) == {q.id, a.id, r.id}
    assert ids(e.search("olga", "radiateur", kinds=["answer"])) == [a.id]
    assert ids(e.search("olga", "radiateur", community_id="open", kinds=["resource", "question"])) in (
        [q.id, r.id],
        [r.id, q.id],
    )


def test_a_withdrawn_contribution_is_no_longer_found(w: World) -> None:
    e = w.engine
    q = e.ask("ben", "open", title="Thermostat connecté", body="Lequel ?")
    e.withdraw("ben", "question", q.id)
    assert e.search("olga", "thermostat").total == 0


def test_the_better_match_ranks_first(w: World) -> None:
    e = w.engine
    once = e.ask("ben", "open", title="Chaudière et ballon", body="Le ballon tiède le matin, chaudière récente.")
    many = e.ask("ben", "open", title="Chaudière chaudière", body="La chaudière s'arrête, chaudière en défaut.")
    found = e.search("olga", "chaudiere")
    assert ids(found) == [many.id, once.id]
    assert found.hits[0].score > found.hits[1].score


def test_an_outsider_finds_nothing_of_a_private_community_and_a_member_does(w: World) -> None:
    e = w.engine
    secret = e.ask("ben", "private", title="Vanne secrète", body="Réservé aux membres.")
    public = e.ask("ben", "open", title="Vanne publique", body="Pour tous.")
    outsider = e.search("olga", "vanne")
    assert (ids(outsider), outsider.total) == ([public.id], 1)
    assert set(ids(e.search("ben", "vanne"))) == {secret.id, public.id}
    with pytest.raises(NotFoundError) as private:
        e.search("olga", "vanne", community_id="private")
    with pytest.raises(NotFoundError) as unknown:
        e.search("olga", "vanne", community_id="no-such-community")
    assert str(private.value).replace("private", "X") == str(unknown.value).replace("no-such-community", "X")


def test_pages_and_cursors_of_an_outsider_never_reach_a_private_hit(w: World) -> None:
    e = w.engine
    public = {e.ask("ben", "open", title=f"Robinet {n}", body="fuite " * (n + 1)).id for n in range(5)}
    for n in range(5):
        e.ask("ben", "private", title=f"Robinet privé {n}", body="fuite " * (n + 1))
    seen: list[str] = []
    cursor = None
    totals = set()
    while True:
        page = e.search("olga", "robinet fuite", limit=2, cursor=cursor)
        seen += ids(page)
        totals.add(page.total)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(public) and len(seen) == len(set(seen))
    assert totals == {5}
    assert len(seen) == 5
    # The member's pages go through all ten, in the same order as one big page.
    whole = e.search("ben", "robinet fuite", limit=100)
    assert whole.total == 10 and whole.next_cursor is None


def test_a_cursor_from_another_search_or_viewer_or_forged_is_refused(w: World) -> None:
    e = w.engine
    for n in range(3):
        e.ask("ben", "open", title=f"Joint {n}", body="Joint de robinet.")
    cursor = e.search("olga", "joint", limit=1).next_cursor
    assert cursor is not None
    e.search("olga", "joint", limit=1, cursor=cursor)  # accepted as it was given
    for other in (
        lambda: e.search("ben", "joint", limit=1, cursor=cursor),
        lambda: e.search("olga", "robinet", limit=1, cursor=cursor),
        lambda: e.search("olga", "joint", limit=2, cursor=cursor),
    ):
        with pytest.raises(InvalidInputError, match=r"\$\.cursor"):
            other()
    head, tag = cursor.split(".")
    body = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    assert body["k"] == [1]  # the position of the next page, under the engine's signature
    for forged in ({**body, "k": [0]}, {**body, "k": [2]}, {**body, "k": [-1]}, {**body, "v": 2}, {**body, "x": 1}):
        text = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        with pytest.raises(InvalidInputError, match=r"signature does not match @ \$\.cursor"):
            e.search("olga", "joint", limit=1, cursor=f"{text}.{tag}")
    # Another list's cursor, or a cursor signed by an engine with another secret, is refused.
    members = e.members_page("ben", "open", limit=1).next_cursor
    assert members is not None
    with pytest.raises(InvalidInputError, match=r"another list.* @ \$\.cursor"):
        e.search("olga", "joint", limit=1, cursor=members)
    secret = e.cursor_secret
    e.cursor_secret = b"another secret of sixteen bytes or more"
    try:
        with pytest.raises(InvalidInputError, match=r"signature does not match @ \$\.cursor"):
            e.search("olga", "joint", limit=1, cursor=cursor)
    finally:
        e.cursor_secret = secret
    for junk in ("", "%%%", "not base64!", 42, "x" * 300):
        with pytest.raises(InvalidInputError, match=r"\$\.cursor"):
            e.search("olga", "joint", limit=1, cursor=junk)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shared_world() -> Iterator[World]:
    with world("memory://") as built:
        yield built


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def property_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path_factory.mktemp('search') / 'p.db'}"
    with world(url) as built:
        yield built


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"text": ""}, r"\$\.text"),
        ({"text": "   "}, r"\$\.text"),
        ({"text": "?!"}, r"\$\.text"),
        ({"text": "a\nb"}, r"\$\.text"),
        ({"text": "x" * 501}, r"\$\.text"),
        ({"text": 3}, r"\$\.text"),
        ({"text": "ok", "limit": 0}, r"\$\.limit"),
        ({"text": "ok", "limit": 10_001}, r"\$\.limit"),
        ({"text": "ok", "limit": True}, r"\$\.limit"),
        ({"text": "ok", "kinds": ["comment"]}, r"\$\.kinds\[0\]"),
        ({"text": "ok", "kinds": ["nope"]}, r"\$\.kinds\[0\]"),
        ({"text": "ok", "kinds": "question"}, r"\$\.kinds"),
        ({"text": "ok", "kinds": []}, r"\$\.kinds"),
        ({"text": "ok", "community_id": ""}, r"\$\.community_id"),
        ({"viewer": "", "text": "ok"}, r"\$\.viewer"),
    ],
)
def test_bad_input_is_refused_naming_the_field(shared_world: World, kwargs: dict[str, object], path: str) -> None:
    given = dict(kwargs)
    viewer = given.pop("viewer", "olga")
    with pytest.raises(InvalidInputError, match=path):
        shared_world.engine.search(viewer, **given)  # type: ignore[arg-type]  # type: ignore[arg-type]


# -- the permission property, against an independent filter -----------------------------------


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    posts=st.lists(
        st.tuples(st.sampled_from(["open", "private"]), st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)),
        min_size=1,
        max_size=6,
    ),
    query=st.sampled_from(WORDS),
    viewer=st.sampled_from(["olga", "ben", "zoe.qm"]),
)
def test_no_viewer_ever_gets_a_hit_or_a_count_from_a_community_they_may_not_read(
    property_world: World, posts: list[tuple[str, list[str]]], query: str, viewer: str
) -> None:
    e = property_world.engine
    for community, words in posts:
        e.ask("ben", community, title=" ".join(words), body="Texte.")
    readable = {"open"} | ({"private"} if viewer == "ben" else set())
    found = e.search(viewer, query, limit=100)
    assert {h.community_id for h in found.hits} <= readable
    # The count is that of the readable hits: the sum of the searches narrowed to each readable
    # community by a member of both.
    assert found.total == sum(e.search("ben", query, community_id=c, limit=1).total for c in readable)
    assert len(found.hits) == min(found.total, 100)
