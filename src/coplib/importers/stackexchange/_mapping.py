"""From Stack Exchange to coplib: the ids (deterministic from the site and the dump's ids,
so that importing again finds what is there), the people, and one event per element, with
its text cleaned and cut to coplib's limits and its attribution kept."""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any, Final

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import Admission, Charter, CommunityKind, LifecycleStage, MembershipPolicy, Visibility
from coplib.domain.contributions import ContributionKind, ResourceKind
from coplib.domain.errors import InvalidInputError
from coplib.domain.ids import name_based_id
from coplib.domain.permissions import SYSTEM
from coplib.domain.recognition import TOKEN_MAX, is_token
from coplib.importers.stackexchange import _text
from coplib.importers.stackexchange._index import (
    ANSWER,
    DUPLICATE,
    FORMER,
    QUESTION,
    TAG_WIKI,
)
from coplib.importers.stackexchange._xml import Row, to_datetime

#: uuid5(NAMESPACE_URL, "coplib:importers:stackexchange"): the namespace of every id the
#: importer derives (never change it: ids would no longer match earlier imports).
NAMESPACE: Final = b"\xd3PD^7\x15]'\x9b6n\x9e\x1f\xf2\xdb\xd3"
_MASK_48: Final = (1 << 48) - 1
#: When Stack Exchange moved its licence from CC BY-SA 2.5 to 3.0, then to 4.0 (UTC, µs).
_CC_3: Final = 1_302_220_800_000_000  # 2011-04-08
_CC_4: Final = 1_525_219_200_000_000  # 2018-05-02
_BADGE_CLASSES: Final = {1: "gold", 2: "silver", 3: "bronze"}
_NOT_TOKEN: Final = re.compile(r"[^a-z0-9_.-]+")
CLOSED_MARKS: Final = {1: " [closed]", DUPLICATE: " [duplicate]"}
_KIND_OF_POST: Final = {
    QUESTION: ContributionKind.QUESTION,
    ANSWER: ContributionKind.ANSWER,
    TAG_WIKI: ContributionKind.RESOURCE,
}


def licence(micros: int) -> str:
    """The CC BY-SA version a contribution of that time was published under."""
    return "2.5" if micros < _CC_3 else "3.0" if micros < _CC_4 else "4.0"


def stamped_id(name: str, micros: int) -> str:
    """32 hex digits, the same for the same `name`: the name-based id of `name` whose first
    48 bits are the time `micros` in milliseconds, so that a store files imported rows by
    time as it files new ones."""
    return f"{(micros // 1000) & _MASK_48:012x}" + name_based_id(NAMESPACE, name)[12:]


def badge_token(name: str, klass: int | None, tag_based: bool) -> str:
    """The coplib badge name of a Stack Exchange badge: ``se-`` and its name in lower case
    (``se-nice-answer``); a tag badge adds its class (``se-tag-hops-bronze``). A name that
    does not fit a badge token as it is gets a short hash of itself, so that no two meet."""
    lowered = name.strip().lower().replace(" ", "-")
    slug = lowered if is_token(lowered) else _NOT_TOKEN.sub("-", lowered).strip("-._") + "-" + _hash(name, 8)
    slug = slug.lstrip("-._") or _hash(name, 8)
    token = f"se-tag-{slug}-{_BADGE_CLASSES.get(klass or 0, 'badge')}" if tag_based else f"se-{slug}"
    if len(token) > TOKEN_MAX or not is_token(token):
        token = f"se-{_hash(f'{name}|{klass}|{tag_based}', 20)}"
    return token


def _hash(text: str, digits: int) -> str:
    return name_based_id(NAMESPACE, text)[-digits:]


class Site:
    """The ids and names of one site's import."""

    def __init__(self, key: str, organisation_name: str) -> None:
        self.key = key
        self.host = key if "." in key else None
        self.organisation_name, _ = _text.fit_chars(_text.one_line(organisation_name) or key, v.NAME_MAX)
        self.organisation_id = name_based_id(NAMESPACE, f"organisation\x00{self.organisation_name}")
        self.community_id = name_based_id(NAMESPACE, f"site\x00{key}")

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Site per import, dropped with it
    def person_id(self, key: str) -> str:
        """The coplib person id of an index person key."""
        if key.startswith("u:"):
            return f"{self.key}/users/{key[2:]}"
        if key.startswith("a:"):
            return f"{self.key}/anonymous/{_hash('anonymous' + key[2:], 16)}"
        assert key == FORMER
        return f"{self.key}/former-member"

    @staticmethod
    def person_name(key: str, name: str | None) -> str:
        """A person's display name: Users.xml's, else the one the posts carry, else
        ``user<id>`` as Stack Exchange shows a removed account, else "former member"."""
        if name:
            return name
        if key.startswith("u:"):
            return f"user{key[2:]}"
        if key.startswith("a:"):
            return key[2:]
        return "former member"

    def voter_id(self, rank: int) -> str:
        return f"{self.key}/voters/{rank}"

    def post_id(self, post: int, created: int) -> str:
        return stamped_id(f"{self.key}/posts/{post}", created)

    def event_id(self, what: str, micros: int) -> str:
        return stamped_id(f"{self.key}/events/{what}", micros)

    def post_link(self, kind: int, post: int, tag: str | None = None) -> str:
        if self.host is None:
            return f"post {post} of the Stack Exchange site {self.key}"
        if tag is not None:
            return f"https://{self.host}/tags/{tag}/info"
        return f"https://{self.host}/{'q' if kind == QUESTION else 'a' if kind == ANSWER else 'posts'}/{post}"

    def author(self, key: str, name: str | None) -> str:
        who = self.person_name(key, name)
        if self.host is not None and key.startswith("u:"):
            return f"{who} (https://{self.host}/users/{key[2:]})"
        return who


class Mapper:
    """Makes the events of one site's import; counts in `adjusted` what it had to change."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.adjusted: Counter[str] = Counter()
        self.cid = site.community_id

    def _base(self, what: str, actor: str, micros: int, community: bool = True) -> dict[str, Any]:
        return {
            "id": self.site.event_id(what, micros),
            "actor_id": actor,
            "community_id": self.cid if community else None,
            "occurred_at": to_datetime(micros),
        }

    # -- the site -----------------------------------------------------------------------------

    def organisation(self, start: int) -> ev.OrganisationCreated:
        site = self.site
        return ev.OrganisationCreated(
            **self._base(f"organisation/{site.organisation_id}", SYSTEM, start, community=False),
            organisation_id=site.organisation_id,
            name=site.organisation_name,
        )

    def community(self, start: int, organisation_id: str, tags: list[str]) -> ev.CommunityCreated:
        site = self.site
        origin = f"https://{site.host}" if site.host else f"the Stack Exchange site {site.key}"
        charter = Charter(
            vocation=(
                f"The questions and answers of {origin}, imported from its public data dump: its members "
                "help each other by asking, answering, commenting and voting."
            ),
            member_profiles=(f"the users of {site.key}",),
            resources=("tag wikis",),
            membership_policy=MembershipPolicy(Admission.OPEN),
            common_culture=(
                f"Stack Exchange content is licensed under CC BY-SA (2.5, 3.0 or 4.0 by the date of the "
                f"contribution), with attribution to {origin} and to each author: every imported question, answer "
                "and tag wiki ends with a link to its original and its author's name, and every contribution keeps "
                "its author. Keep that attribution wherever the content is shown."
            ),
        )
        name, _ = _text.fit_chars(site.key, v.NAME_MAX)
        return ev.CommunityCreated(
            **self._base("community", SYSTEM, start),
            organisation_id=organisation_id,
            name=name,
            kind=CommunityKind.MUTUAL_HELP,
            visibility=Visibility.OPEN,
            stage=LifecycleStage.MATURING,
            tags=frozenset(tags),
            charter=charter,
        )

    def member(self, key: str, joined: int) -> ev.MemberJoined:
        pid = self.site.person_id(key)
        return ev.MemberJoined(**self._base(f"joined/{key}", pid, joined), person_id=pid, via="open")

    # -- posts --------------------------------------------------------------------------------

    def _tags(self, raw: str | None) -> frozenset[str]:
        kept, dropped = _text.tags(raw)
        if dropped:
            self.adjusted["tags dropped (not a valid coplib tag, or over 10)"] += dropped
        return frozenset(kept)

    def _body(self, text: str, footer: str, what: str) -> str:
        room = v.BODY_MAX_BYTES - len(footer.encode("utf-8"))
        text, cut = _text.fit_bytes(text, room)
        if cut:
            self.adjusted[f"{what} cut to {v.BODY_MAX_BYTES} bytes"] += 1
        return (text or "(no text)") + footer

    def _footer(self, kind: int, post: int, owner: str, owner_name: str | None, created: int, tag: str | None) -> str:
        site = self.site
        return (
            f"\n\n---\nSource: {site.post_link(kind, post, tag)}, by {site.author(owner, owner_name)}; "
            f"licensed under CC BY-SA {licence(created)}"
        )

    def post(self, row: Row, facts: tuple[Any, ...]) -> ev.DomainEvent:
        """The event of one post of Posts.xml, with its index `facts` (see `Index.posts`)."""
        post, kind, owner, created, closed, parent, q_owner, q_created, tag, owner_name = facts
        site = self.site
        actor = site.person_id(owner)
        raw_body = row.get("Body") or ""
        if kind == QUESTION:
            mark = CLOSED_MARKS.get(closed, "")
            if mark:
                self.adjusted[f"questions marked{mark}"] += 1
            title = _text.one_line(row.get("Title") or "") or f"(untitled question {post})"
            title, cut = _text.fit_chars(title, v.TITLE_MAX - len(mark))
            if cut:
                self.adjusted[f"titles cut to {v.TITLE_MAX} characters"] += 1
            footer = self._footer(kind, post, owner, owner_name, created, None)
            return ev.QuestionAsked(
                **self._base(f"question/{post}", actor, created),
                question_id=site.post_id(post, created),
                title=title + mark,
                body=self._body(_text.html_to_text(raw_body), footer, "question bodies"),
                tags=self._tags(row.get("Tags")),
            )
        if kind == ANSWER:
            footer = self._footer(kind, post, owner, owner_name, created, None)
            return ev.AnswerPosted(
                **self._base(f"answer/{post}", actor, created),
                answer_id=site.post_id(post, created),
                question_id=site.post_id(parent, q_created),
                asker_id=site.person_id(q_owner),
                body=self._body(_text.html_to_text(raw_body), footer, "answer bodies"),
            )
        what = "Tag wiki" if kind == TAG_WIKI else "Tag wiki excerpt"
        title, _ = _text.fit_chars(f"{what}: {tag}" if tag else f"{what} {post}", v.TITLE_MAX)
        location = site.post_link(kind, post, tag)
        footer = self._footer(kind, post, owner, owner_name, created, tag)
        tags: frozenset[str] = frozenset()
        if tag:
            try:
                v.check_tag("$.tags", tag)
                tags = frozenset({tag})
            except InvalidInputError:
                self.adjusted["tags dropped (not a valid coplib tag, or over 10)"] += 1
        return ev.ResourceShared(
            **self._base(f"resource/{post}", actor, created),
            resource_id=site.post_id(post, created),
            title=title,
            kind=ResourceKind.DOCUMENT,
            location=_text.fit_chars(location, v.SHORT_TEXT_MAX)[0],
            description=self._body(_text.html_to_text(raw_body), footer, "tag wiki bodies"),
            tags=tags,
        )

    def acceptance(self, facts: tuple[Any, ...]) -> ev.AnswerAccepted:
        question, q_owner, q_created, answer, a_owner, a_created, at = facts
        site = self.site
        asker = site.person_id(q_owner)
        return ev.AnswerAccepted(
            **self._base(f"accepted/{question}/{answer}", asker, at),
            question_id=site.post_id(question, q_created),
            answer_id=site.post_id(answer, a_created),
            answer_author_id=site.person_id(a_owner),
            asker_id=asker,
        )

    def comment(self, row: Row, facts: tuple[Any, ...]) -> ev.CommentPosted:
        comment, author, at, post, kind, owner, created = facts
        site = self.site
        body, cut = _text.fit_chars(_text.multi_line(row.get("Text") or ""), v.SHORT_TEXT_MAX * 4, _text.BODY_MARK)
        if cut:
            self.adjusted[f"comments cut to {v.SHORT_TEXT_MAX * 4} characters"] += 1
        return ev.CommentPosted(
            **self._base(f"comment/{comment}", site.person_id(author), at),
            comment_id=stamped_id(f"{site.key}/comments/{comment}", at),
            target_id=site.post_id(post, created),
            target_kind=_KIND_OF_POST.get(kind, ContributionKind.RESOURCE),
            target_author_id=site.person_id(owner),
            body=body or "(empty comment)",
        )

    def endorsement(self, facts: tuple[Any, ...]) -> ev.ContributionEndorsed:
        vote, at, post, kind, owner, created, rank = facts
        site = self.site
        at = max(at, created)  # a vote has a date only: never before the post
        return ev.ContributionEndorsed(
            **self._base(f"upvote/{vote}", site.voter_id(rank), at),
            endorsement_id=stamped_id(f"{site.key}/votes/{vote}", at),
            target_id=site.post_id(post, created),
            target_kind=_KIND_OF_POST.get(kind, ContributionKind.RESOURCE),
            target_author_id=site.person_id(owner),
        )

    def badge(self, facts: tuple[Any, ...]) -> ev.BadgeAwarded:
        key, token, _, at = facts
        base = self._base(f"badge/{key}/{token}", SYSTEM, at)
        return ev.BadgeAwarded(**base, person_id=self.site.person_id(key), badge=token, cause_event_id=base["id"])
