"""Full-text search, the pure part: how a contribution's text becomes index terms and a
query becomes what to match, the same on every store (docs/search.md).

A text is cut into words (letters and digits; an apostrophe or a hyphen separates, so
``l'écluse`` gives ``l`` and ``ecluse``), folded (lower case, accents and ligatures removed:
``Écluse`` and ``ecluse`` are one word) and stemmed twice, once by French rules and once by
English rules. The index holds both stems of every word, each marked with its language
(``f`` + the French stem, ``e`` + the English one); a query word matches a contribution that
holds either of its two stems, and a contribution matches when it holds every word of the
query (words that are too common to tell anything, ``le``, ``the``..., are left out of the
query unless it has nothing else). So ``pompe`` finds ``pompes`` (French), ``pumps`` finds
``pump`` (English), and neither language needs to be known.

The stemmers are light (inflectional) ones: they remove the endings of plurals, of the
feminine and of the commonest verb forms, not derivational suffixes. Short texts (a
question's title and body) are better served by a light stemmer than by an aggressive one,
which conflates unrelated words; see docs/search.md for the rules and why coplib uses its
own small implementation rather than a stemming library.

Ranking is BM25 (`bm25`), the formula SQLite's FTS5 computes; PostgreSQL ranks with
``ts_rank``. The stores rank by the same signals (how often the words occur, how rare they
are, how long the text is) but their scores differ: only the order's properties are common.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from coplib.domain.contributions import ContributionKind

#: The kinds of contribution that search finds.
SEARCHABLE_KINDS: Final = (
    ContributionKind.QUESTION,
    ContributionKind.ANSWER,
    ContributionKind.RESOURCE,
    ContributionKind.EXPERIENCE,
)
SEARCHABLE_KIND_NAMES: Final = frozenset(k.value for k in SEARCHABLE_KINDS)

#: The longest query text, in characters.
QUERY_MAX_CHARS: Final = 500
#: The most words of a query that are matched (the rest are ignored).
QUERY_MAX_WORDS: Final = 16

FRENCH_MARK: Final = "f"
ENGLISH_MARK: Final = "e"

_WORD: Final = re.compile(r"[^\W_]+")
_LIGATURES: Final = {"œ": "oe", "æ": "ae", "ß": "ss"}

#: Words too common to tell contributions apart, dropped from queries (not from the index).
_STOP_TEXT: Final = """
    a au aux avec ce ces d dans de des du elle en est et il ils j je l la le les leur lui m ma
    mais me mes mon n ne nos notre nous on ou par pas pour qu que qui s sa se ses son sur t ta
    te tes ton tu un une vos votre vous y c ca cet cette
    an and are as at be but by for from has have i in is it its of on or that the this to was
    were will with what which who how why when where do does can my your our we you they them
"""
STOP_WORDS: Final = frozenset(_STOP_TEXT.split())


def fold(text: str) -> str:
    """`text` in lower case without accents or ligatures (``Œuvre élevée`` -> ``oeuvre elevee``)."""
    lowered = text.casefold()
    if lowered.isascii():
        return lowered
    for ligature, plain in _LIGATURES.items():
        lowered = lowered.replace(ligature, plain)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: Every ASCII character that is not a letter or a digit, made a space: an ASCII text's words
#: are then what `str.split` cuts, the same as `_WORD` finds, at less than half its cost.
_ASCII_SEPARATORS: Final = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    folded = fold(text)
    if folded.isascii():
        return folded.translate(_ASCII_SEPARATORS).split()
    return _WORD.findall(folded)


def _drop(word: str, ending: str, keep: int = 3) -> str:
    """`word` without `ending` when it ends so and at least `keep` letters remain."""
    if word.endswith(ending) and len(word) - len(ending) >= keep:
        return word[: -len(ending)]
    return word


def stem_french(word: str) -> str:
    """The French light stem of a folded word.

    In order, each rule leaving at least three letters: ``-aux`` becomes ``-al`` (journaux,
    journal) and a final ``-x`` goes (jeux, jeu); otherwise a final ``-s`` goes (pompes), then
    a final ``-r`` (réparer), then up to two final ``-e`` (réparée(s), réparé, répare); last,
    a doubled final consonant is made single (belle -> bell -> bel). So the singular and the
    plural, the masculine and the feminine, the infinitive and the participles of a word
    share one stem. Digits and words of three letters or fewer are left as they are.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("aux") and len(word) >= 5:
        return word[:-2] + "l"
    if word.endswith("x"):
        return _drop(word, "x")
    word = _drop(word, "s")
    word = _drop(word, "r")
    word = _drop(word, "e")
    word = _drop(word, "e")
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiouy":
        word = word[:-1]
    return word


def stem_english(word: str) -> str:
    """The English light stem of a folded word: the plural endings of Harman's "S" stemmer.

    ``-ies`` becomes ``-y`` (queries, query) unless the word ends ``-eies`` or ``-aies``;
    ``-es`` becomes ``-e`` unless it ends ``-aes``, ``-ees`` or ``-oes``; a final ``-s`` goes
    unless the word ends ``-us`` or ``-ss`` (pumps, pump; status and process stay). Digits and
    words of three letters or fewer are left as they are.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def word_terms(word: str) -> tuple[str, str]:
    """The two index terms of a folded word: its French stem and its English stem, marked."""
    return FRENCH_MARK + stem_french(word), ENGLISH_MARK + stem_english(word)


#: The two terms of a word, remembered: a text's words are mostly common ones, met again in
#: the next contribution, so an import stems each distinct word once rather than at every
#: occurrence (a pure function of the word: remembering changes no term). 16,384 words hold
#: about 4 MB and served 94 % of the 271,307 words of the beer Stack Exchange dump's posts.
_remembered_terms: Final = functools.lru_cache(maxsize=1 << 14)(word_terms)


def index_terms(texts: Iterable[str]) -> list[str]:
    """The terms the index holds for a contribution's texts, in order (with repeats: how
    often a word occurs counts in the ranking)."""
    terms: list[str] = []
    extend = terms.extend
    for text in texts:
        for pair in map(_remembered_terms, words(text)):
            extend(pair)
    return terms


def _pair_text(word: str) -> str:
    french, english = word_terms(word)
    return f"{french} {english}"


#: A word's two terms as the index text holds them (remembered as `_remembered_terms`).
_remembered_text: Final = functools.lru_cache(maxsize=1 << 14)(_pair_text)


def index_text(texts: Iterable[str]) -> str:
    """`index_terms` of `texts` separated by spaces, as the SQL stores hold them: the same
    terms in the same order, made without a list of terms (the texts are folded and cut
    once, joined by a space, which separates words as the end of a text does)."""
    return " ".join(map(_remembered_text, words(" ".join(texts))))


def query_terms(text: str) -> tuple[tuple[str, str], ...]:
    """What a query matches: for each of its words (common words dropped, unless the query has
    nothing else; repeats once; at most `QUERY_MAX_WORDS`), its two terms, of which a
    contribution must hold one. Empty when the query has no word."""
    found = list(dict.fromkeys(words(text)))
    telling = [w for w in found if w not in STOP_WORDS] or found
    return tuple(dict.fromkeys(word_terms(w) for w in telling[:QUERY_MAX_WORDS]))


def searchable_texts(contribution: object) -> tuple[str, ...] | None:
    """The texts of a contribution that search reads (title, body or description, tags), or
    None when it is not searched: not a searchable kind, or withdrawn."""
    kind = getattr(contribution, "KIND", None)
    if kind not in SEARCHABLE_KINDS or getattr(contribution, "withdrawn", False):
        return None
    texts = [getattr(contribution, name, "") for name in ("title", "body", "description")]
    texts.extend(sorted(getattr(contribution, "tags", ())))
    return tuple(t for t in texts if t)


def document_terms(contribution: object) -> list[str] | None:
    """The index terms of a contribution, or None when it is not searched."""
    texts = searchable_texts(contribution)
    return None if texts is None else index_terms(texts)


def document_text(contribution: object) -> str | None:
    """The index terms of a contribution separated by spaces (`index_text`), or None when
    it is not searched."""
    texts = searchable_texts(contribution)
    return None if texts is None else index_text(texts)


# -- ranking ------------------------------------------------------------------------------------

#: BM25's parameters, those of SQLite's FTS5.
BM25_K1: Final = 1.2
BM25_B: Final = 0.75


def bm25(
    query: Sequence[tuple[str, ...]],
    document: Mapping[str, int],
    length: int,
    *,
    documents: int,
    average_length: float,
    holding: Mapping[str, int],
) -> float:
    """The BM25 score of a document for a query (higher is better), as FTS5 computes it: for
    each query term, its inverse document frequency ``ln((N - n + 0.5) / (n + 0.5))``
    (floored at 1e-6) times ``f * (k1 + 1) / (f + k1 * (1 - b + b * length / avgdl))``, where
    `f` is how often the document holds the term, `n` how many documents hold it and `N` how
    many documents there are. A query word is a group of alternative terms; each term of it
    counts, as FTS5 counts each phrase of an OR."""
    score = 0.0
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / (average_length or 1.0))
    for group in query:
        for term in group:
            f = document.get(term, 0)
            if not f:
                continue
            n = holding.get(term, 0)
            idf = max(math.log((documents - n + 0.5) / (n + 0.5)), 1e-6)
            score += idf * f * (BM25_K1 + 1) / (f + norm)
    return score
