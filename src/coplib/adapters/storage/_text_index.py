"""The reference full-text index: an inverted index in memory, ranked with BM25 exactly as
`coplib.domain.text_search.bm25` defines it. The memory store keeps one; the SQL stores keep
theirs in the database (FTS5, ``tsvector``) and must agree with it on what matches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from coplib.domain.history import Aggregate, Ref
from coplib.domain.text_search import bm25, document_terms
from coplib.ports.storage import TextHit, TextMatches


class TextIndex:
    """The searchable contributions' terms, with the statistics BM25 needs."""

    def __init__(self) -> None:
        self._docs: dict[Ref, tuple[str, Counter[str], int]] = {}  # ref -> (community, terms, length)
        self._postings: dict[str, set[Ref]] = {}
        self._by_community: dict[str, set[Ref]] = {}
        self._total_length = 0

    def put(self, ref: Ref, value: Aggregate | None) -> None:
        """Index `value` at `ref` (None, or a value not searched: drop `ref`)."""
        self.drop(ref)
        terms = document_terms(value) if value is not None else None
        community_id = getattr(value, "community_id", None)
        if terms is None or not isinstance(community_id, str):
            return
        counts = Counter(terms)
        self._docs[ref] = (community_id, counts, len(terms))
        self._total_length += len(terms)
        for term in counts:
            self._postings.setdefault(term, set()).add(ref)
        self._by_community.setdefault(community_id, set()).add(ref)

    def drop(self, ref: Ref) -> None:
        found = self._docs.pop(ref, None)
        if found is None:
            return
        community_id, counts, length = found
        self._total_length -= length
        for term in counts:
            holders = self._postings.get(term)
            if holders is not None:
                holders.discard(ref)
                if not holders:
                    del self._postings[term]
        self._by_community.get(community_id, set()).discard(ref)

    def search(
        self,
        query: Sequence[tuple[str, ...]],
        *,
        community_ids: Sequence[str],
        kinds: Sequence[str],
        limit: int,
        offset: int = 0,
    ) -> TextMatches:
        if not query or not community_ids or not kinds:
            return TextMatches((), 0)
        wanted_kinds = set(kinds)
        candidates: set[Ref] | None = None
        for group in query:
            holders: set[Ref] = set()
            for term in group:
                holders |= self._postings.get(term, set())
            candidates = holders if candidates is None else candidates & holders
            if not candidates:
                return TextMatches((), 0)
        assert candidates is not None
        allowed = set(community_ids)
        found = [ref for ref in candidates if ref.kind in wanted_kinds and self._docs[ref][0] in allowed]
        documents = len(self._docs)
        average = self._total_length / documents if documents else 0.0
        holding = {term: len(self._postings.get(term, ())) for group in query for term in group}
        scored = []
        for ref in found:
            community_id, counts, length = self._docs[ref]
            score = bm25(query, counts, length, documents=documents, average_length=average, holding=holding)
            scored.append(TextHit(ref.kind, ref.id, community_id, score))
        scored.sort(key=lambda h: (-h.score, h.id, h.kind))
        return TextMatches(tuple(scored[offset : offset + limit]), len(scored))
