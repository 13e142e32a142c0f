"""A person's personal data: everything coplib stores about them (`export_person`) and its
erasure (`erase_person`), docs/personal-data.md.

What names a person, in coplib's data, is found by one rule (`_Names`): a string that is their
id, or holds it as a component of a composed id (``community/person``, ``community/person/
badge``), and, in free text, their display name, e-mail address and id as whole words (at
least four characters, case aside). Export returns every aggregate, event and outbox message
the rule finds; erasure rewrites each of them with a pseudonym in the person's place, through
the store's `HistoryRewriting` capability: the log is rewritten, not encrypted, so that a
replay of the log after erasure gives the erased state and no key has to be kept or lost (see
the page for the choice between rewriting and crypto-shredding).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final, Literal, cast

import attrs

from coplib.domain import validation as v
from coplib.domain.community import Community, Organisation
from coplib.domain.contributions import CONTRIBUTION_CLASSES, ContributionKind
from coplib.domain.errors import ConfigurationError, InvalidInputError, NotFoundError
from coplib.domain.events import PersonalDataErased
from coplib.domain.history import AGGREGATE_KINDS, Aggregate, Ref, ref_of
from coplib.domain.membership import Membership
from coplib.domain.people import Person
from coplib.domain.permissions import SYSTEM, Action, decide, is_reserved_person_id
from coplib.ports.storage import (
    AggregateRewrite,
    Filter,
    HistoryRewrite,
    HistoryRewriting,
    OutboxEntry,
    RecordedEvent,
)
from coplib.runtime import UnitOfWork
from coplib.serialization import (
    aggregate_from_json,
    aggregate_to_json,
    event_from_json,
    event_to_json,
    format_timestamp,
)
from coplib.service._base import LEAVABLE, UseCases, check_id, check_strings

#: The form of `export_person`'s document.
EXPORT_FORMAT: Final = "coplib.personal-data/1"
#: What replaces the texts of a contribution removed by `erase_person(contributions="remove")`.
REMOVED_TEXT: Final = "[removed]"
#: The fields of a contribution (and of the events that carry it) emptied when it is removed.
TEXT_FIELDS: Final = frozenset({"title", "body", "description", "location"})
#: The reason recorded on the withdrawals and removals an erasure makes.
ERASURE_REASON: Final = "personal data erased"
#: Free-text needles shorter than this are left alone (they would match unrelated words).
MIN_NEEDLE: Final = 4
_ALL: Final = 2**31 - 1  # "every message": the outbox read's limit

Contributions = Literal["keep", "remove"]


@attrs.frozen
class ErasureReport:
    """What `erase_person` did: the pseudonym that replaced the person (None when nothing
    named them any more: an erasure done already), how their contributions were treated, and
    how many aggregates, events and outbox messages were rewritten or dropped."""

    pseudonym: str | None
    contributions: str
    aggregates: int
    events: int
    messages: int


class _Names:
    """Finds and replaces what names one person in JSON documents."""

    def __init__(self, person_id: str, texts: Iterable[str], replacement: str) -> None:
        self.person_id = person_id
        self.replacement = replacement
        self._in_id = re.compile(r"(?<![^/])" + re.escape(person_id) + r"(?![^/])")
        needles = {t.strip() for t in (person_id, *texts) if len(t.strip()) >= MIN_NEEDLE}
        ordered = sorted(needles, key=lambda t: (-len(t), t))  # the longest first
        self._in_text = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in ordered) + r")(?!\w)", re.IGNORECASE)
            if ordered
            else None
        )

    def text(self, value: str) -> str:
        if value == self.person_id:
            return self.replacement
        if self.person_id in value:
            value = self._in_id.sub(self.replacement, value)
        if self._in_text is not None:
            value = self._in_text.sub(self.replacement, value)
        return value

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, dict):
            return {self.text(k): self.scrub(item) for k, item in value.items()}
        return value

    def names(self, value: Any) -> bool:
        return bool(self.scrub(value) != value)


def _blank(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: (REMOVED_TEXT if k in TEXT_FIELDS and isinstance(item, str) else item) for k, item in doc.items()}


def _references(doc: dict[str, Any], ids: set[str]) -> bool:
    return any(isinstance(item, str) and item in ids for key, item in doc.items() if key.endswith("_id"))


def _message_doc(entry: OutboxEntry) -> dict[str, Any]:
    m = entry.message
    return {
        "id": m.id,
        "event_id": m.event_id,
        "recipient_id": m.recipient_id,
        "topic": m.topic,
        "community_id": m.community_id,
        "params": dict(m.params),
        "created_at": format_timestamp(m.created_at),
        "status": entry.status.value,
        "attempts": entry.attempts,
        "settled_at": format_timestamp(entry.settled_at) if entry.settled_at else None,
    }


def _person_doc(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "display_name": person.display_name,
        "email": person.email,
        "locale": person.locale,
        "active": person.active,
        "attributes": {k: list(vals) for k, vals in sorted(person.attributes.items())},
        "organisations": sorted(person.organisations) if person.organisations is not None else None,
    }


class PersonalDataCommands(UseCases):
    """Export and erasure of a person's personal data."""

    # -- reading everything ---------------------------------------------------------------------

    def _every_aggregate(self) -> Iterable[tuple[Ref, Aggregate, dict[str, Any]]]:
        for kind in AGGREGATE_KINDS:
            for value in self._store.find(kind):
                yield ref_of(value), value, json.loads(aggregate_to_json(value))

    def _every_event(self) -> Iterable[tuple[RecordedEvent, dict[str, Any]]]:
        after = 0
        while True:
            page = self._store.events(after=after, limit=1000)
            if not page:
                return
            for recorded in page:
                yield recorded, json.loads(event_to_json(recorded.event))
            after = page[-1].position

    def _authorise_person(self, action: Action, actor: str, person_id: str, person: Person | None) -> None:
        """The decision for an action on a person's data: the person themselves, the host
        (`SYSTEM`), or an administrator of one of the person's organisations (those the
        directory places them in, or, for someone the directory no longer knows, those of
        the communities they were a member of)."""
        known = self.person(actor)
        decision = decide(action, actor_id=actor, actor=known, community=None, membership=None, owner_id=person_id)
        if decision.allowed:
            return
        for organisation in self._organisations_of(person_id, person):
            other = decide(
                action,
                actor_id=actor,
                actor=known,
                community=None,
                membership=None,
                owner_id=person_id,
                organisation=organisation,
            )
            if other.allowed:
                return
        decision.require()

    def _organisations_of(self, person_id: str, person: Person | None) -> list[Organisation]:
        organisations = [o for o in self._store.find("organisation") if isinstance(o, Organisation)]
        if person is not None:
            return [o for o in organisations if person.belongs_to(o.id)]
        communities = {
            m.community_id
            for m in self._store.find("membership", Filter(person_id=person_id))
            if isinstance(m, Membership)
        }
        owners = set()
        for cid in communities:
            found = self._store.get(Ref("community", cid))
            if found is not None and isinstance(found.value, Community):
                owners.add(found.value.organisation_id)
        return [o for o in organisations if o.id in owners]

    def _check_person(self, actor: object, person_id: object, ctx: str) -> tuple[str, str]:
        actor_ = check_id("$.actor", actor, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        if pid == SYSTEM or is_reserved_person_id(pid):
            raise InvalidInputError.field("$.person_id", "names the system actor, not a person", context=ctx)
        return actor_, pid

    # -- export ------------------------------------------------------------------------------------

    def export_person(self, actor: str, person_id: str) -> dict[str, Any]:
        """Everything coplib stores about a person, as JSON-compatible data: the directory
        entry as the host's identity source gives it (coplib does not store it), and every
        aggregate (memberships, contributions, preferences, recognition...), event (as actor
        or subject) and outbox message (to them, or naming them) that names them. For the
        person themselves, the host (`SYSTEM`) and the administrators of their organisation;
        `NotFoundError` for a person of whom coplib knows nothing."""
        ctx = "export_person"
        actor, pid = self._check_person(actor, person_id, ctx)
        person = self.person(pid)
        self._authorise_person(Action.EXPORT_PERSONAL_DATA, actor, pid, person)
        names = _Names(pid, (person.display_name, person.email) if person else (), "")
        aggregates: dict[str, list[dict[str, Any]]] = {}
        for ref, _, doc in self._every_aggregate():
            if names.names(doc):
                aggregates.setdefault(ref.kind, []).append({"id": ref.id, "value": doc})
        events = [
            {"position": recorded.position, "type": recorded.event.TYPE, "event": doc}
            for recorded, doc in self._every_event()
            if names.names(doc)
        ]
        messages = [
            _message_doc(e)
            for e in self._store.outbox(limit=_ALL)
            if e.message.recipient_id == pid or names.names(dict(e.message.params))
        ]
        if person is None and not (aggregates or events or messages):
            raise NotFoundError("person", pid)
        return {
            "format": EXPORT_FORMAT,
            "person_id": pid,
            "exported_at": format_timestamp(self.clock.now()),
            "directory": _person_doc(person) if person is not None else None,
            "aggregates": {kind: aggregates[kind] for kind in sorted(aggregates)},
            "events": events,
            "outbox": messages,
        }

    # -- erasure -----------------------------------------------------------------------------------

    def erase_person(
        self,
        actor: str,
        person_id: str,
        *,
        contributions: Contributions = "keep",
        also_redact: Iterable[str] = (),
    ) -> ErasureReport:
        """Erase a person's personal data from every aggregate, event and outbox message: what
        names them (their id, and in free text their display name, e-mail address, id and the
        strings of `also_redact`) then names a pseudonym, ``former-member-<id>``, drawn anew;
        their memberships end; messages to them are dropped. Their contributions are kept
        under the pseudonym (`contributions` "keep") or withdrawn with their texts replaced by
        ``[removed]`` ("remove"); threads stay whole (the answers of others to a removed
        question stay, as after any withdrawal). On SQLite the old bytes are then overwritten
        in the file and its WAL. Records `PersonalDataErased`, which holds no personal data.
        Idempotent: once nothing names the person, it changes nothing (`pseudonym` None).
        For the person themselves, the host (`SYSTEM`) and the administrators of their
        organisation. The identity directory is the host's: coplib neither reads nor erases
        it beyond what it is given (docs/personal-data.md)."""
        ctx = "erase_person"
        actor, pid = self._check_person(actor, person_id, ctx)
        if contributions not in ("keep", "remove"):
            raise InvalidInputError.field("$.contributions", "must be 'keep' or 'remove'", context=ctx)
        extra = check_strings("$.also_redact", also_redact, ctx)
        for i, text in enumerate(extra):
            v.check_text(f"$.also_redact[{i}]", text, max_chars=v.NAME_MAX, context=ctx)
        store = self._store
        if not isinstance(store, HistoryRewriting):
            raise ConfigurationError(
                f"the store {store.url} cannot rewrite history (it implements no HistoryRewriting)"
            )
        person = self.person(pid)
        self._authorise_person(Action.ERASE_PERSONAL_DATA, actor, pid, person)
        texts = [*((person.display_name, person.email) if person else ()), *extra]

        # 1. End what the person takes part in, through the ordinary commands (their policies run).
        commands = cast(Any, self)  # the engine: `withdraw` and `remove` are its other mixins'
        if contributions == "remove":
            for kind in ContributionKind:
                if kind is ContributionKind.ENDORSEMENT:
                    continue
                for item in store.find(kind.value, Filter(person_id=pid)):
                    if isinstance(item, CONTRIBUTION_CLASSES) and not getattr(item, "withdrawn", False):
                        commands.withdraw(SYSTEM, kind, item.id, reason=ERASURE_REASON)
        for membership in store.find("membership", Filter(person_id=pid)):
            if isinstance(membership, Membership) and membership.status in LEAVABLE:
                commands.remove(SYSTEM, membership.community_id, pid, reason=ERASURE_REASON)
        self.runtime.follower.drain()

        # 2. Rewrite everything that names them.
        pseudonym = f"former-member-{self._new_id()}"
        names = _Names(pid, texts, pseudonym)
        removed: set[str] = set()
        if contributions == "remove":
            removed = {
                c.id
                for kind in ContributionKind
                for c in store.find(kind.value, Filter(person_id=pid))
                if isinstance(c, CONTRIBUTION_CLASSES) and kind is not ContributionKind.ENDORSEMENT
            }
        aggregates = []
        for ref, value, doc in self._every_aggregate():
            new_doc = names.scrub(doc)
            if ref.id in removed and isinstance(value, CONTRIBUTION_CLASSES):
                new_doc = _blank(new_doc)
            if new_doc != doc:
                new_ref = Ref(ref.kind, names.text(ref.id))
                aggregates.append(AggregateRewrite(ref, new_ref, aggregate_from_json(ref.kind, json.dumps(new_doc))))
        events = []
        for recorded, doc in self._every_event():
            new_doc = names.scrub(doc)
            if removed and recorded.event.actor_id == pid and _references(doc, removed):
                new_doc = _blank(new_doc)
            if new_doc != doc:
                events.append(RecordedEvent(recorded.position, event_from_json(json.dumps(new_doc))))
        dropped, rewritten = [], []
        for entry in store.outbox(limit=_ALL):
            message = entry.message
            if message.recipient_id == pid:
                dropped.append(message.id)
                continue
            params = names.scrub(dict(message.params))
            if params != message.params:
                rewritten.append(attrs.evolve(message, params=params))
        if not (aggregates or events or dropped or rewritten):
            return ErasureReport(None, contributions, 0, 0, 0)
        store.rewrite_history(
            HistoryRewrite(
                aggregates=tuple(aggregates),
                events=tuple(events),
                dropped_messages=tuple(dropped),
                messages=tuple(rewritten),
            )
        )

        self._health_cache.clear()  # the running tallies of the health reports name the person

        # 3. Record the erasure, without personal data.
        report = ErasureReport(pseudonym, contributions, len(aggregates), len(events), len(dropped) + len(rewritten))

        def unit(uow: UnitOfWork) -> None:
            uow.record(
                PersonalDataErased(
                    **self._event_base(pseudonym if actor == pid else actor, None),
                    pseudonym=pseudonym,
                    contributions=contributions,
                    aggregates=report.aggregates,
                    events=report.events,
                    messages=report.messages,
                )
            )

        self._run(unit)
        return report
