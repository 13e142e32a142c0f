"""What the import must know across files, kept in a temporary SQLite file rather than in
memory: for every post its type, owner, creation time, question and accepted answer; for
every person their first activity; the votes and badges. Bodies and texts are not kept: the
import reads them again from the dump, in the same order, and joins them with these rows.

People are named here by a compact key: ``u:<user id>`` for a user, ``a:<display name>``
for a post or comment with only a display name, ``f`` for one with neither.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from coplib.domain import validation as v
from coplib.domain.errors import InvalidInputError
from coplib.importers.stackexchange import _text
from coplib.importers.stackexchange._xml import Row

#: Posts that recent dumps carry and that no one wrote: skipped.
FABRICATED_POSTS: Final = frozenset({1_000_000_001, 1_000_000_010})
QUESTION, ANSWER, TAG_WIKI_EXCERPT, TAG_WIKI = 1, 2, 4, 5
IMPORTED_TYPES: Final = frozenset({QUESTION, ANSWER, TAG_WIKI_EXCERPT, TAG_WIKI})
ORPHAN: Final = -2
#: Closed states of a question (`post.closed`).
OPEN, CLOSED, DUPLICATE = 0, 1, 2
#: PostHistory types: closed, reopened; Votes types: accepted by the asker, up-vote.
HISTORY_CLOSED, HISTORY_REOPENED = 10, 11
VOTE_ACCEPTED, VOTE_UP = 1, 2
#: Close reasons that say "duplicate" (the old list's 1, the new list's 101).
DUPLICATE_REASONS: Final = frozenset({1, 101})
FORMER: Final = "f"
_CHUNK: Final = 2000

_SCHEMA: Final = """
CREATE TABLE person (key TEXT PRIMARY KEY, name TEXT, created INTEGER, first INTEGER) WITHOUT ROWID;
CREATE TABLE post (
    seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, type INTEGER NOT NULL, owner TEXT NOT NULL,
    created INTEGER NOT NULL, parent INTEGER, accepted INTEGER, closed INTEGER NOT NULL DEFAULT 0,
    deferred INTEGER NOT NULL DEFAULT 0, offset INTEGER NOT NULL
);
CREATE TABLE question_tag (name TEXT NOT NULL);
CREATE TABLE tag (name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE wiki (post INTEGER PRIMARY KEY, tag TEXT NOT NULL);
CREATE TABLE closing (post INTEGER PRIMARY KEY, state INTEGER NOT NULL, reason INTEGER, at INTEGER NOT NULL,
    id INTEGER NOT NULL);
CREATE TABLE comment (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, post INTEGER NOT NULL,
    person TEXT NOT NULL, at INTEGER NOT NULL, offset INTEGER NOT NULL);
CREATE TABLE accept (post INTEGER PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE upvote (id INTEGER PRIMARY KEY, post INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE TABLE badge (person TEXT NOT NULL, token TEXT NOT NULL, id INTEGER NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (person, token)) WITHOUT ROWID;
"""


def person_key(row: Row, user: str, display_name: str) -> str:
    """Who wrote a row: its user id, else its display name, else nobody known (``f``)."""
    uid = row.optional_integer(user)
    if uid is not None:
        return f"u:{uid}"
    name, _ = _text.fit_chars(_text.one_line(row.get(display_name) or ""), v.NAME_MAX)
    return f"a:{name}" if name else FORMER


class Index:
    """The facts of one dump, loaded file by file (``load_*``), completed by `finish`, then
    read back in the order the import emits its events."""

    def __init__(self, directory: Path, tally: Counter[str]) -> None:
        self.tally = tally
        self._db = sqlite3.connect(directory / "index.sqlite", isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -1024", "temp_store = FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")
        self._seq = 0

    def close(self) -> None:
        self._db.close()

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._db.executemany(sql, rows)
        rows.clear()

    def _scalar(self, sql: str, *params: object) -> Any:
        return self._db.execute(sql, params).fetchone()[0]

    # -- loading ------------------------------------------------------------------------------

    def load_tags(self, rows: Iterable[Row]) -> None:
        tags: list[tuple[Any, ...]] = []
        wikis: list[tuple[Any, ...]] = []
        for row in rows:
            row.integer("Id")
            name = row.get("TagName")
            if not name:
                raise row.fail("TagName", "is required on every row of Tags.xml")
            tag = v.normalise_tag(name)
            tags.append((tag, row.optional_integer("Count") or 0))
            for attribute in ("ExcerptPostId", "WikiPostId"):
                post = row.optional_integer(attribute)
                if post is not None:
                    wikis.append((post, tag))
            if len(tags) >= _CHUNK:
                self._many("INSERT OR REPLACE INTO tag VALUES (?, ?)", tags)
                self._many("INSERT OR REPLACE INTO wiki VALUES (?, ?)", wikis)
        self._many("INSERT OR REPLACE INTO tag VALUES (?, ?)", tags)
        self._many("INSERT OR REPLACE INTO wiki VALUES (?, ?)", wikis)

    def load_users(self, rows: Iterable[Row]) -> None:
        sql = (
            "INSERT INTO person (key, name, created) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET name = excluded.name, created = excluded.created"
        )
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            uid = row.integer("Id")
            name, _ = _text.fit_chars(_text.one_line(row.get("DisplayName") or ""), v.NAME_MAX)
            batch.append((f"u:{uid}", name or None, row.time("CreationDate")))
            if len(batch) >= _CHUNK:
                self._many(sql, batch)
        self._many(sql, batch)

    def load_posts(self, rows: Iterable[Row]) -> None:
        batch: list[tuple[Any, ...]] = []
        lines: list[Row] = []
        question_tags: list[tuple[Any, ...]] = []
        for row in rows:
            pid = row.integer("Id")
            kind = row.integer("PostTypeId")
            created = row.time("CreationDate")
            if pid in FABRICATED_POSTS:
                self.tally["fabricated posts"] += 1
                continue
            if kind not in IMPORTED_TYPES:
                self.tally[f"posts of type {kind} (neither question, answer nor tag wiki)"] += 1
                continue
            if kind in (TAG_WIKI, TAG_WIKI_EXCERPT) and not (row.get("Body") or "").strip():
                self.tally["empty tag wikis"] += 1
                continue
            owner = person_key(row, "OwnerUserId", "OwnerDisplayName")
            parent = row.optional_integer("ParentId") if kind == ANSWER else None
            accepted = row.optional_integer("AcceptedAnswerId") if kind == QUESTION else None
            closed = OPEN
            if kind == QUESTION:
                closed = CLOSED if row.optional_time("ClosedDate") is not None else OPEN
                question_tags.extend((t,) for t in _text.tags(row.get("Tags"))[0])
            self._seq += 1
            batch.append((self._seq, pid, kind, owner, created, parent, accepted, closed, row.offset))
            lines.append(row)
            if len(batch) >= _CHUNK:
                self._posts(batch, lines)
                self._many("INSERT INTO question_tag VALUES (?)", question_tags)
        self._posts(batch, lines)
        self._many("INSERT INTO question_tag VALUES (?)", question_tags)

    def _posts(self, batch: list[tuple[Any, ...]], lines: list[Row]) -> None:
        try:
            self._db.executemany("INSERT INTO post VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)", batch)
        except sqlite3.IntegrityError:
            self._duplicate("post", batch, lines)
        batch.clear()
        lines.clear()

    def _duplicate(self, table: str, batch: list[tuple[Any, ...]], lines: list[Row]) -> None:
        for values, row in zip(batch, lines):
            seq, rid = values[0], values[1]
            found = self._db.execute(f"SELECT seq FROM {table} WHERE id = ?", (rid,)).fetchone()
            if found is None or found[0] != seq:
                raise row.fail("Id", f"{rid} is the Id of an earlier row too: each row's Id must be unique")
        raise AssertionError("an integrity error without a duplicate Id")  # pragma: no cover

    def load_history(self, rows: Iterable[Row]) -> None:
        sql = (
            "INSERT INTO closing VALUES (?, ?, ?, ?, ?) ON CONFLICT (post) DO UPDATE SET state = excluded.state, "
            "reason = excluded.reason, at = excluded.at, id = excluded.id "
            "WHERE (excluded.at, excluded.id) > (closing.at, closing.id)"
        )
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            hid = row.integer("Id")
            kind = row.integer("PostHistoryTypeId")
            if kind not in (HISTORY_CLOSED, HISTORY_REOPENED):
                continue
            reason = row.optional_integer("Comment") if kind == HISTORY_CLOSED else None
            batch.append((row.integer("PostId"), kind, reason, row.time("CreationDate"), hid))
            if len(batch) >= _CHUNK:
                self._many(sql, batch)
        self._many(sql, batch)

    def load_comments(self, rows: Iterable[Row]) -> None:
        batch: list[tuple[Any, ...]] = []
        lines: list[Row] = []
        for seq, row in enumerate(rows, 1):
            cid = row.integer("Id")
            batch.append(
                (
                    seq,
                    cid,
                    row.integer("PostId"),
                    person_key(row, "UserId", "UserDisplayName"),
                    row.time("CreationDate"),
                    row.offset,
                )
            )
            lines.append(row)
            if len(batch) >= _CHUNK:
                self._comments(batch, lines)
        self._comments(batch, lines)

    def _comments(self, batch: list[tuple[Any, ...]], lines: list[Row]) -> None:
        try:
            self._db.executemany("INSERT INTO comment VALUES (?, ?, ?, ?, ?, ?)", batch)
        except sqlite3.IntegrityError:
            self._duplicate("comment", batch, lines)
        batch.clear()
        lines.clear()

    def load_votes(self, rows: Iterable[Row]) -> None:
        accepts: list[tuple[Any, ...]] = []
        ups: list[tuple[Any, ...]] = []
        accept_sql = "INSERT INTO accept VALUES (?, ?) ON CONFLICT (post) DO UPDATE SET at = max(at, excluded.at)"
        up_sql = "INSERT OR IGNORE INTO upvote VALUES (?, ?, ?)"
        for row in rows:
            vid = row.integer("Id")
            kind = row.integer("VoteTypeId")
            if kind == VOTE_ACCEPTED:
                accepts.append((row.integer("PostId"), row.time("CreationDate")))
            elif kind == VOTE_UP:
                ups.append((vid, row.integer("PostId"), row.time("CreationDate")))
            else:
                self.tally["votes other than up-votes and acceptances"] += 1
            if len(ups) >= _CHUNK or len(accepts) >= _CHUNK:
                self._many(accept_sql, accepts)
                self._many(up_sql, ups)
        self._many(accept_sql, accepts)
        self._many(up_sql, ups)

    def load_badges(self, rows: Iterable[Row], token: Callable[[str, int | None, bool], str]) -> None:
        sql = (
            "INSERT INTO badge VALUES (?, ?, ?, ?) ON CONFLICT (person, token) DO UPDATE SET id = excluded.id, "
            "at = excluded.at WHERE (excluded.at, excluded.id) < (badge.at, badge.id)"
        )
        batch: list[tuple[Any, ...]] = []
        read = 0
        for row in rows:
            bid = row.integer("Id")
            uid = row.optional_integer("UserId")
            name = row.get("Name")
            if not name:
                raise row.fail("Name", "is required on every row of Badges.xml")
            at = row.time("Date")
            if uid is None:
                self.tally["badges without a user"] += 1
                continue
            read += 1
            tag_based = (row.get("TagBased") or "").lower() == "true"
            batch.append((f"u:{uid}", token(name, row.optional_integer("Class"), tag_based), bid, at))
            if len(batch) >= _CHUNK:
                self._many(sql, batch)
        self._many(sql, batch)
        self.tally["badges earned again (coplib keeps one award per person and badge)"] += read - self._scalar(
            "SELECT count(*) FROM badge"
        )

    # -- completing ---------------------------------------------------------------------------

    def finish(self) -> None:
        """Work out what needs the whole dump: answers whose question is not in it, answers
        that come before their question in Posts.xml, closed states, first activities."""
        db = self._db
        db.execute(
            f"UPDATE post SET type = {ORPHAN} WHERE type = {ANSWER} AND (parent IS NULL OR NOT EXISTS "
            f"(SELECT 1 FROM post q WHERE q.id = post.parent AND q.type = {QUESTION}))"
        )
        orphans = self._scalar(f"SELECT count(*) FROM post WHERE type = {ORPHAN}")
        if orphans:
            self.tally["answers to a question not in the dump"] += orphans
        db.execute(
            f"UPDATE post SET deferred = 1 WHERE type = {ANSWER} "
            "AND seq < (SELECT q.seq FROM post q WHERE q.id = post.parent)"
        )
        db.execute(
            f"UPDATE post SET closed = (SELECT CASE WHEN c.state = {HISTORY_REOPENED} THEN {OPEN} "
            f"WHEN c.reason IN ({', '.join(map(str, sorted(DUPLICATE_REASONS)))}) THEN {DUPLICATE} ELSE {CLOSED} END "
            f"FROM closing c WHERE c.post = post.id) WHERE type = {QUESTION} AND id IN (SELECT post FROM closing)"
        )
        for what, sql in (
            (
                "comments on a post not imported",
                "SELECT count(*) FROM comment c "
                "WHERE NOT EXISTS (SELECT 1 FROM post p WHERE p.id = c.post AND p.type > 0)",
            ),
            (
                "up-votes on a post not imported",
                "SELECT count(*) FROM upvote u "
                "WHERE NOT EXISTS (SELECT 1 FROM post p WHERE p.id = u.post AND p.type > 0)",
            ),
            (
                "accepted answers not in the dump",
                f"SELECT count(*) FROM post q WHERE q.type = {QUESTION} AND q.accepted IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM post a WHERE a.id = q.accepted AND a.type = {ANSWER})",
            ),
        ):
            count = self._scalar(sql)
            if count:
                self.tally[what] += count
        db.execute(
            "INSERT INTO person (key, first) SELECT key, min(at) FROM ("
            "SELECT owner AS key, created AS at FROM post WHERE type > 0 "
            "UNION ALL SELECT c.person, c.at FROM comment c JOIN post p ON p.id = c.post AND p.type > 0 "
            "UNION ALL SELECT person, at FROM badge) WHERE true GROUP BY key "
            "ON CONFLICT (key) DO UPDATE SET first = excluded.first"
        )
        db.execute("COMMIT")

    # -- reading ------------------------------------------------------------------------------

    def start(self) -> int | None:
        """The earliest time in the dump (microseconds), None when it holds nothing."""
        found: int | None = self._scalar(
            "SELECT min(t) FROM (SELECT min(created) AS t FROM post WHERE type > 0 "
            "UNION ALL SELECT min(created) FROM person UNION ALL SELECT min(first) FROM person)"
        )
        return found

    def site_tags(self) -> list[str]:
        """The site's most used tags, at most `TAGS_MAX` valid ones (from Tags.xml when the
        dump has it, else counted on the questions)."""
        if self._scalar("SELECT count(*) FROM tag"):
            sql = "SELECT name FROM tag ORDER BY count DESC, name"
        else:
            sql = "SELECT name FROM question_tag GROUP BY name ORDER BY count(*) DESC, name"
        kept: list[str] = []
        for (name,) in self._db.execute(sql):
            try:
                v.check_tag("$.tags", name)
            except InvalidInputError:
                continue
            kept.append(name)
            if len(kept) == v.TAGS_MAX:
                break
        return kept

    def people(self) -> Iterator[tuple[str, str | None, int]]:
        """(key, display name from Users.xml or None, when they joined), earliest first."""
        yield from self._db.execute(
            "SELECT key, name, CASE WHEN created IS NULL THEN first WHEN first IS NULL OR created <= first "
            "THEN created ELSE first END AS joined FROM person ORDER BY joined, key"
        )

    def person_count(self) -> int:
        count: int = self._scalar("SELECT count(*) FROM person")
        return count

    def posts(self, *, deferred: bool) -> Iterator[tuple[Any, ...]]:
        """The posts to import, in the order of Posts.xml: (id, type, owner, created, closed,
        question, its owner, its created, wiki's tag, owner's name, byte offset of its row);
        with `deferred`, only
        the answers that come before their question in the file, else all the others."""
        yield from self._db.execute(
            "SELECT p.id, p.type, p.owner, p.created, p.closed, q.id, q.owner, q.created, w.tag, o.name, p.offset "
            "FROM post p "
            f"LEFT JOIN post q ON p.type = {ANSWER} AND q.id = p.parent LEFT JOIN wiki w ON w.post = p.id "
            "LEFT JOIN person o ON o.key = p.owner WHERE p.type > 0 AND p.deferred = ? ORDER BY p.seq",
            (int(deferred),),
        )

    def has_deferred(self) -> bool:
        return bool(self._scalar("SELECT count(*) FROM post WHERE deferred = 1 AND type > 0"))

    def acceptances(self) -> Iterator[tuple[Any, ...]]:
        """(question id, its owner, its created, answer id, its owner, its created, when it
        was accepted), in the order of acceptance. The time is the later of the asker's vote
        (a date without a time) and the answer's creation, or the answer's creation."""
        yield from self._db.execute(
            "SELECT q.id, q.owner, q.created, a.id, a.owner, a.created, "
            "CASE WHEN x.at > a.created THEN x.at ELSE a.created END AS at FROM post q "
            f"JOIN post a ON a.id = q.accepted AND a.type = {ANSWER} LEFT JOIN accept x ON x.post = a.id "
            f"WHERE q.type = {QUESTION} ORDER BY at, q.id"
        )

    def comments(self) -> Iterator[tuple[Any, ...]]:
        """The comments to import, in the order of Comments.xml: (id, author, created, post
        id, post type, post owner, post created, byte offset of its row)."""
        yield from self._db.execute(
            "SELECT c.id, c.person, c.at, p.id, p.type, p.owner, p.created, c.offset FROM comment c "
            "JOIN post p ON p.id = c.post AND p.type > 0 ORDER BY c.seq"
        )

    def upvotes(self) -> Iterator[tuple[Any, ...]]:
        """The up-votes on imported posts, in time order: (vote id, date, post id, post type,
        post owner, post created, rank of the vote among the post's up-votes, from 1)."""
        yield from self._db.execute(
            "SELECT u.id, u.at, p.id, p.type, p.owner, p.created, "
            "row_number() OVER (PARTITION BY u.post ORDER BY u.at, u.id) FROM upvote u "
            "JOIN post p ON p.id = u.post AND p.type > 0 ORDER BY u.at, u.id"
        )

    def most_upvotes(self) -> int:
        """The most up-votes one imported post has (how many anonymous voters there are)."""
        found: int | None = self._scalar(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM upvote u JOIN post p ON p.id = u.post AND p.type > 0 "
            "GROUP BY u.post)"
        )
        return found or 0

    def badges(self) -> Iterator[tuple[Any, ...]]:
        """(person key, badge token, badge id, date): each person's first award of each badge."""
        yield from self._db.execute("SELECT person, token, id, at FROM badge ORDER BY at, id")
