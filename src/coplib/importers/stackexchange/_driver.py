"""The import itself: read the dump whole into the index (checking every row), then stream
the events in an order the engine accepts, drop those already stored, and hand the rest to
`Engine.import_history` one batch (one unit of work) at a time."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, Protocol

import attrs

from coplib.domain import events as ev
from coplib.domain.community import Community, Organisation
from coplib.domain.contributions import Answer, Question
from coplib.domain.errors import InvalidInputError
from coplib.domain.history import Ref
from coplib.domain.membership import membership_id
from coplib.domain.recognition import badge_award_id
from coplib.importers import SourceError
from coplib.importers.stackexchange._index import Index
from coplib.importers.stackexchange._mapping import Mapper, Site, badge_token
from coplib.importers.stackexchange._source import Dump, open_dump
from coplib.importers.stackexchange._xml import Row, RowsAt, rows
from coplib.ports.storage import bulk_session
from coplib.service.engine import Engine

DEFAULT_BATCH_SIZE: Final = 500
#: The kinds an import counts, in the order it stores them.
KINDS: Final = (
    "organisations",
    "communities",
    "members",
    "questions",
    "answers",
    "resources",
    "accepted_answers",
    "comments",
    "endorsements",
    "badges",
)
_KIND_OF: Final[dict[type[ev.DomainEvent], str]] = {
    ev.OrganisationCreated: "organisations",
    ev.CommunityCreated: "communities",
    ev.MemberJoined: "members",
    ev.QuestionAsked: "questions",
    ev.AnswerPosted: "answers",
    ev.ResourceShared: "resources",
    ev.AnswerAccepted: "accepted_answers",
    ev.CommentPosted: "comments",
    ev.ContributionEndorsed: "endorsements",
    ev.BadgeAwarded: "badges",
}


class ProgressCallback(Protocol):
    """Told how far the import is: `stage` (such as ``"reading Posts.xml"``), bytes `done` of
    `total` in that stage."""

    def __call__(self, stage: str, done: int, total: int) -> None: ...


def _counts(counter: Counter[str]) -> dict[str, int]:
    return {kind: counter[kind] for kind in KINDS}


@attrs.frozen
class ImportReport:
    """What an import did. `imported` counts, by kind, what this run stored; `existing` what
    it found stored already (an earlier import, or the part of an interrupted one); both sum
    to what the dump holds. `skipped` counts the rows left out, by reason; `adjusted` what
    was changed to fit coplib (texts cut, tags dropped, closed questions marked). `people` is
    how many people the dump names (members; the anonymous voters are not among them);
    `directory_file` the directory file written, if one was asked for."""

    site: str
    organisation_id: str
    community_id: str
    imported: dict[str, int] = attrs.field(hash=False)
    existing: dict[str, int] = attrs.field(hash=False)
    skipped: dict[str, int] = attrs.field(hash=False)
    adjusted: dict[str, int] = attrs.field(hash=False)
    people: int
    voters: int
    events: int
    directory_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``coplib import stackexchange --json`` prints)."""
        return {
            "site": self.site,
            "organisation_id": self.organisation_id,
            "community_id": self.community_id,
            "imported": dict(self.imported),
            "existing": dict(self.existing),
            "in_dump": {kind: self.imported[kind] + self.existing[kind] for kind in KINDS},
            "skipped": dict(self.skipped),
            "adjusted": dict(self.adjusted),
            "people": self.people,
            "anonymous_voters": self.voters,
            "events": self.events,
            "directory_file": self.directory_file,
        }


def import_stackexchange(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    organisation_name: str | None = None,
    site: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    directory_file: str | os.PathLike[str] | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> ImportReport:
    """Import one Stack Exchange site's dump (a folder, or its ``.7z`` archive) into a
    mutual-help community of `engine`, in batches of `batch_size` events.

    The site becomes an organisation (`organisation_name`, by default the site's name) and
    a community; `site` names it (by default the folder's name or the archive's stem) and
    every id derives from it, so that importing the same dump again adds nothing and a later
    dump adds only what is new. The dump is read and checked whole before anything is stored:
    a malformed file raises `SourceError` naming the file, line and attribute. A batch that
    fails leaves nothing; earlier ones stay, and running the import again resumes.
    `directory_file`, when given, receives the people as a coplib directory file (JSON).
    `workdir` holds the temporary index (by default the system's temporary directory).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= 100_000:
        raise InvalidInputError.field("$.batch_size", f"must be from 1 to 100000, got {batch_size!r}")
    dump = open_dump(path, site)
    skipped: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="coplib-stackexchange-", dir=workdir) as scratch:
        index = Index(Path(scratch), skipped)
        try:
            _load(dump, index, progress)
            index.finish()
            start = index.start()
            if start is None:
                raise SourceError("Posts.xml", None, None, "holds no post, and the dump no user: nothing to import")
            the_site = _site(engine, dump.site, organisation_name)
            mapper = Mapper(the_site)
            # A community not stored yet holds nothing yet: only its organisation may exist.
            fresh = engine.store.get(Ref("community", the_site.community_id)) is None
            storing = _Storing(engine, batch_size, fresh=fresh)
            # Closed before the index, whose cursors its generators hold, even on failure.
            with contextlib.closing(_events(dump, index, mapper, start, progress)) as events:
                storing.run(events)
            voters = index.most_upvotes()
            written = None
            if directory_file is not None:
                written = _write_directory(Path(directory_file), index, the_site, voters)
            people = index.person_count()
        finally:
            index.close()
    return ImportReport(
        site=the_site.key,
        organisation_id=the_site.organisation_id,
        community_id=the_site.community_id,
        imported=_counts(storing.imported),
        existing=_counts(storing.existing),
        skipped=dict(sorted(skipped.items())),
        adjusted=dict(sorted(mapper.adjusted.items())),
        people=people,
        voters=voters,
        events=storing.events,
        directory_file=written,
    )


def _site(engine: Engine, key: str, organisation_name: str | None) -> Site:
    """The site's ids; a community imported before keeps its organisation."""
    site = Site(key, organisation_name or key)
    found = engine.store.get(Ref("community", site.community_id))
    if found is None or not isinstance(found.value, Community):
        return site
    existing = found.value.organisation_id
    if existing != site.organisation_id:
        held = engine.store.get(Ref("organisation", existing))
        name = held.value.name if held is not None and isinstance(held.value, Organisation) else existing
        if organisation_name is not None:
            raise InvalidInputError.field(
                "$.organisation_name",
                f"the site {key} was imported into the organisation {name!r}: import it there again "
                "(give that name, or none)",
                context="import_stackexchange",
            )
        site.organisation_id, site.organisation_name = existing, name
    return site


# -- reading ------------------------------------------------------------------------------------


def _rows(dump: Dump, name: str, stage: str, progress: ProgressCallback | None) -> Generator[Row, None, None]:
    total = dump.sizes[name]
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        assert progress is not None
        progress(stage, done, total)

    with dump.open(name) as stream:
        yield from rows(stream, name, step if progress is not None else None)


def _load(dump: Dump, index: Index, progress: ProgressCallback | None) -> None:
    """Read every file once into the index (Tags.xml and Users.xml before Posts.xml, which
    the others refer to)."""
    loaders: list[tuple[str, Callable[[Iterator[Row]], None]]] = [
        ("Tags.xml", index.load_tags),
        ("Users.xml", index.load_users),
        ("Posts.xml", index.load_posts),
        ("PostHistory.xml", index.load_history),
        ("Comments.xml", index.load_comments),
        ("Votes.xml", index.load_votes),
        ("Badges.xml", lambda rows: index.load_badges(rows, badge_token)),
    ]
    for name, load in loaders:
        if dump.has(name):
            # Closed at once on failure too: an archive member's reader stops its thread.
            with contextlib.closing(_rows(dump, name, f"checking {name}", progress)) as rows:
                load(rows)


def _at_offsets(
    dump: Dump, name: str, stage: str, facts: Iterable[tuple[Any, ...]], progress: ProgressCallback | None
) -> Generator[tuple[Row, tuple[Any, ...]], None, None]:
    """Each row of `facts` (in file order, its row's byte offset last) with its row of the
    file `name`, read again at that offset (the file was checked whole by the first reading)."""
    total = dump.sizes[name]
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        assert progress is not None
        progress(stage, done, total)

    with dump.open(name) as stream:
        reader = RowsAt(stream, name, step if progress is not None else None)
        for fact in facts:
            yield reader.at(fact[-1]), fact[:-1]
        reader.finish()


def _events(
    dump: Dump, index: Index, mapper: Mapper, start: int, progress: ProgressCallback | None
) -> Generator[ev.DomainEvent, None, None]:
    """The events of the import, in an order where each finds what it needs: the site, the
    people, the posts (answers after their question), acceptances, comments, votes, badges."""
    site = mapper.site
    yield mapper.organisation(start)
    yield mapper.community(start, site.organisation_id, index.site_tags())
    for key, _, joined in index.people():
        yield mapper.member(key, joined)
    for deferred in (False, True):
        if deferred and not index.has_deferred():
            break
        stage = "importing Posts.xml" + (" (answers before their question)" if deferred else "")
        for row, facts in _at_offsets(dump, "Posts.xml", stage, index.posts(deferred=deferred), progress):
            yield mapper.post(row, facts)
    for facts in index.acceptances():
        yield mapper.acceptance(facts)
    if dump.has("Comments.xml"):
        comments = _at_offsets(dump, "Comments.xml", "importing Comments.xml", index.comments(), progress)
        for row, facts in comments:
            yield mapper.comment(row, facts)
    for facts in index.upvotes():
        yield mapper.endorsement(facts)
    for facts in index.badges():
        yield mapper.badge(facts)


# -- storing ------------------------------------------------------------------------------------


def _ref(event: ev.DomainEvent) -> Ref:
    """The aggregate whose existence says the event is stored already."""
    match event:
        case ev.OrganisationCreated():
            return Ref("organisation", event.organisation_id)
        case ev.CommunityCreated():
            return Ref("community", event.community_id or "")
        case ev.MemberJoined():
            return Ref("membership", membership_id(event.community_id or "", event.person_id))
        case ev.QuestionAsked() | ev.AnswerAccepted():
            return Ref("question", event.question_id)
        case ev.AnswerPosted():
            return Ref("answer", event.answer_id)
        case ev.ResourceShared():
            return Ref("resource", event.resource_id)
        case ev.CommentPosted():
            return Ref("comment", event.comment_id)
        case ev.ContributionEndorsed():
            return Ref("endorsement", event.endorsement_id)
        case ev.BadgeAwarded():
            return Ref("badge_award", badge_award_id(event.community_id or "", event.person_id, event.badge))
    raise TypeError(f"the importer makes no {type(event).__name__}")  # pragma: no cover


class _Storing:
    """Hands the events to the engine one batch at a time, leaving out what is stored."""

    def __init__(self, engine: Engine, batch_size: int, *, fresh: bool = False) -> None:
        self.engine = engine
        self.batch_size = batch_size
        #: The community was not there when the import began: every id of the import derives
        #: from it, so nothing but the organisation can be stored already, and the batches
        #: need not be read back.
        self.fresh = fresh
        self.imported: Counter[str] = Counter()
        self.existing: Counter[str] = Counter()
        self.events = 0

    def run(self, events: Iterable[ev.DomainEvent]) -> None:
        source = iter(events)
        # One bulk session for the whole import, not one per `import_history` call (a batch):
        # the store checkpoints once at the end rather than after every batch.
        with bulk_session(self.engine.store):
            while chunk := list(itertools.islice(source, self.batch_size)):
                new = self._new(chunk)
                if new:
                    self.events += self.engine.import_history(new, batch_size=len(new))
                    self.imported.update(_KIND_OF[type(e)] for e in new)

    def _new(self, chunk: list[ev.DomainEvent]) -> list[ev.DomainEvent]:
        if self.fresh and not any(isinstance(e, ev.OrganisationCreated) for e in chunk):
            return chunk
        store = self.engine.store
        refs = [_ref(e) for e in chunk]
        found = store.get_many(refs)
        new: list[ev.DomainEvent] = []
        moved: list[tuple[int, str]] = []  # acceptances that move from an earlier answer
        for event, ref in zip(chunk, refs):
            hit = found.get(ref)
            if isinstance(event, ev.AnswerAccepted):
                question = hit.value if hit is not None else None
                if isinstance(question, Question) and question.accepted_answer_id is not None:
                    if question.accepted_answer_id == event.answer_id:
                        self.existing[_KIND_OF[type(event)]] += 1
                        continue
                    moved.append((len(new), question.accepted_answer_id))
            elif hit is not None:
                self.existing[_KIND_OF[type(event)]] += 1
                continue
            new.append(event)
        if moved:
            answers = store.get_many(Ref("answer", answer) for _, answer in moved)
            for at, answer in moved:
                previous = answers.get(Ref("answer", answer))
                author = previous.value.author_id if previous and isinstance(previous.value, Answer) else None
                accepted = new[at]
                assert isinstance(accepted, ev.AnswerAccepted)
                new[at] = attrs.evolve(accepted, previous_answer_id=answer, previous_answer_author_id=author)
        return new


# -- the people ---------------------------------------------------------------------------------


def _write_directory(path: Path, index: Index, site: Site, voters: int) -> str:
    """Write the dump's people as a coplib directory file (JSON; see docs/notifications.md),
    through a temporary file renamed at the end. Returns the path written."""

    def entries() -> Iterator[dict[str, Any]]:
        for key, name, _ in index.people():
            attributes = {"stackexchange_site": site.key}
            if key.startswith("u:"):
                attributes["stackexchange_user_id"] = key[2:]
            yield {"id": site.person_id(key), "display_name": site.person_name(key, name), "attributes": attributes}
        for rank in range(1, voters + 1):
            yield {
                "id": site.voter_id(rank),
                "display_name": f"anonymous voter {rank}",
                "active": False,
                "attributes": {"stackexchange_site": site.key},
            }

    partial = path.with_name(path.name + ".partial")
    write: Callable[[str], int]
    with partial.open("w", encoding="utf-8") as out:
        write = out.write
        write('{"version": 1, "people": [')
        for i, entry in enumerate(entries()):
            write(("\n  " if i == 0 else ",\n  ") + json.dumps(entry, ensure_ascii=False))
        write("\n]}\n")
    os.replace(partial, path)
    return str(path)
