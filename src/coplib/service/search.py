"""Full-text search over the contributions a viewer may read (docs/search.md).

The text is turned into query terms by `coplib.domain.text_search` (folded, stemmed by French
and by English rules); the store matches and ranks them among the live questions, answers,
resources and experiences of the communities the viewer may read, and nothing else: which
communities those are is asked of the one permission decision point (`_readable`) first, so a
private community's contributions never reach the ranking, the count or a cursor of an
outsider.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from coplib.domain import validation as v
from coplib.domain.community import Community
from coplib.domain.contributions import Answer, ContributionKind, Experience, Question, Resource
from coplib.domain.errors import ConfigurationError, InvalidInputError, NotFoundError, PermissionDeniedError
from coplib.domain.history import Ref
from coplib.domain.permissions import Action
from coplib.domain.text_search import QUERY_MAX_CHARS, SEARCHABLE_KINDS, query_terms
from coplib.ports.storage import TextSearch
from coplib.service._base import check_enum, check_id
from coplib.service.pagination import Paging

#: The hits of a page when the caller does not say.
SEARCH_LIMIT_DEFAULT = 20
#: The furthest position a search's cursors reach (a search pages through at most this many hits).
SEARCH_OFFSET_MAX = 10_000

Searchable = Question | Answer | Resource | Experience


@attrs.frozen
class SearchHit:
    """One contribution found: its kind, the contribution as stored now, and its score
    (higher ranks first; comparable within one search only)."""

    kind: ContributionKind
    contribution: Searchable
    score: float

    @property
    def community_id(self) -> str:
        return self.contribution.community_id


@attrs.frozen
class SearchResults:
    """A page of search hits, best first; `total` counts every hit the viewer may read;
    `next_cursor` is given to `search` for the next page (None on the last page)."""

    hits: tuple[SearchHit, ...]
    total: int
    next_cursor: str | None


class SearchReads(Paging):
    """Full-text search, filtered by what the viewer may read."""

    def search(
        self,
        viewer: str,
        text: str,
        *,
        community_id: str | None = None,
        kinds: Iterable[str] | None = None,
        limit: int = SEARCH_LIMIT_DEFAULT,
        cursor: str | None = None,
    ) -> SearchResults:
        """The live questions, answers, resources and experiences matching `text` among those
        `viewer` may read (of `community_id` only, when given; of `kinds`, by default all
        four), best first: every word of the text must match, as itself or as another form of
        the same French or English word (``pompe`` finds ``pompes``), accents and case aside.
        `limit` hits (1 to `QUERY_LIMIT_MAX`) from where `cursor` (the `next_cursor` of the previous page)
        says. A community the viewer may not read is `NotFoundError`, as an unknown one."""
        ctx = "search"
        viewer = check_id("$.viewer", viewer, ctx)
        v.check_text("$.text", text, max_chars=QUERY_MAX_CHARS, context=ctx)
        query = query_terms(text)
        if not query:
            raise InvalidInputError.field("$.text", "must hold at least one word (letters or digits)", context=ctx)
        if kinds is None:
            wanted = [k.value for k in SEARCHABLE_KINDS]
        else:
            if isinstance(kinds, str) or not isinstance(kinds, Iterable):
                raise InvalidInputError.field("$.kinds", "must be a list of contribution kinds", context=ctx)
            wanted = []
            for i, kind in enumerate(kinds):
                found = check_enum(f"$.kinds[{i}]", kind, ContributionKind, ctx)
                if found not in SEARCHABLE_KINDS:
                    choices = ", ".join(k.value for k in SEARCHABLE_KINDS)
                    raise InvalidInputError.field(f"$.kinds[{i}]", f"must be one of {choices}", context=ctx)
                wanted.append(found.value)
            wanted = sorted(set(wanted))
            if not wanted:
                raise InvalidInputError.field("$.kinds", "must name at least one kind", context=ctx)
        limit = v.check_limit(limit, ctx)
        if community_id is not None:
            community_id = check_id("$.community_id", community_id, ctx)
        # The cursor is the engine's signed cursor (coplib.domain.paging), bound to this search:
        # the viewer, the text, the community, the kinds and the limit.
        scope = ("search", viewer, text, community_id, wanted, limit)
        offset = self._after_int(cursor, scope, ctx) or 0
        if not 0 <= offset <= SEARCH_OFFSET_MAX:
            raise InvalidInputError.field("$.cursor", "holds a position out of the search's range", context=ctx)
        store = self._store
        if not isinstance(store, TextSearch):
            raise ConfigurationError(
                f"the store {store.url} has no full-text search (it does not implement TextSearch)"
            )
        if community_id is not None:
            community = self._community(community_id, ctx)
            self._readable(viewer, community, Action.READ, subject=Ref("community", community.id))
            readable = [community.id]
        else:
            readable = [c.id for c in store.communities() if self._may_read(viewer, c)]
        matches = store.search_text(query, community_ids=readable, kinds=wanted, limit=limit, offset=offset)
        stored_hits = store.get_many(Ref(h.kind, h.id) for h in matches.hits)
        hits = []
        for hit in matches.hits:
            stored = stored_hits.get(Ref(hit.kind, hit.id))
            if stored is not None and isinstance(stored.value, Question | Answer | Resource | Experience):
                hits.append(SearchHit(ContributionKind(hit.kind), stored.value, hit.score))
        following = offset + len(matches.hits)
        more = following < matches.total and following <= SEARCH_OFFSET_MAX and matches.hits
        next_cursor = self._codec.encode("search", scope, (following,)) if more else None
        return SearchResults(tuple(hits), matches.total, next_cursor)

    def _may_read(self, viewer: str, community: Community) -> bool:
        """Whether the decision point lets `viewer` read `community` (no error: a search
        simply leaves out what the viewer may not read)."""
        try:
            self._readable(viewer, community, Action.READ)
        except (NotFoundError, PermissionDeniedError):
            return False
        return True
