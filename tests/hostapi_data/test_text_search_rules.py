"""The pure rules of search (`coplib.domain.text_search`): folding, the two light stemmers,
the query's terms, and BM25 against its formula computed here."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coplib.domain.text_search import (
    bm25,
    fold,
    index_terms,
    index_text,
    query_terms,
    stem_english,
    stem_french,
    words,
)


@pytest.mark.parametrize(
    ("forms", "language"),
    [
        (["pompe", "pompes"], "fr"),
        (["journal", "journaux"], "fr"),
        (["jeu", "jeux"], "fr"),
        (["réparer", "réparé", "réparée", "réparées", "répare"], "fr"),
        (["belle", "belles", "bel"], "fr"),
        (["pump", "pumps"], "en"),
        (["query", "queries"], "en"),
        (["valve", "valves"], "en"),
        (["house", "houses"], "en"),
    ],
)
def test_the_forms_of_a_word_share_one_stem(forms: list[str], language: str) -> None:
    stem = stem_french if language == "fr" else stem_english
    assert len({stem(fold(f)) for f in forms}) == 1


@pytest.mark.parametrize("word", ["status", "process", "gas", "bus"])
def test_english_words_ending_in_us_or_ss_or_too_short_keep_their_s(word: str) -> None:
    assert stem_english(word) == word


def test_folding_removes_case_accents_and_ligatures() -> None:
    assert fold("Œuvre ÉLEVÉE Straße") == "oeuvre elevee strasse"
    assert words("L'écluse, la pompe-à-chaleur (2024)") == ["l", "ecluse", "la", "pompe", "a", "chaleur", "2024"]


def test_a_query_drops_common_words_unless_it_has_nothing_else() -> None:
    assert query_terms("la pompe de la chaudière") == (("fpomp", "epompe"), ("fchaudier", "echaudiere"))
    assert query_terms("the") == (("fthe", "ethe"),)
    assert query_terms("?!") == ()


@given(st.text(max_size=60))
def test_every_query_term_is_a_term_the_same_text_would_be_indexed_under(text: str) -> None:
    indexed = set(index_terms([text]))
    for group in query_terms(text):
        assert set(group) <= indexed


@given(st.text(max_size=80) | st.text(st.characters(max_codepoint=127), max_size=80))
def test_the_words_of_a_text_are_its_runs_of_letters_and_digits_once_folded(text: str) -> None:
    folded = fold(text)
    # A run of characters that are letters or digits (Unicode's \w without the underscore).
    assert words(text) == re.findall(r"[^\W_]+", folded)


def test_the_index_text_holds_both_stems_of_every_word_in_order() -> None:
    # By hand: pompes -> fr pomp (s, then e, go), en pompe (-es -> -e); a is too short;
    # chaleur -> fr chaleu (final r goes), en chaleur.
    assert index_text(["Pompes", "à chaleur"]) == "fpomp epompe fa ea fchaleu echaleur"
    assert index_text([]) == ""


@given(st.lists(st.text(max_size=30), max_size=4))
def test_the_index_text_is_the_index_terms_separated_by_spaces(texts: list[str]) -> None:
    assert index_text(texts) == " ".join(index_terms(texts))
    assert index_text(texts) == " ".join(index_terms(texts))  # remembered words: the same again


def test_bm25_follows_its_formula() -> None:
    k1, b = 1.2, 0.75
    n_docs, n_holding, f, length, avg = 10, 2, 3, 8, 5.0
    idf = math.log((n_docs - n_holding + 0.5) / (n_holding + 0.5))
    expected = idf * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg))
    got = bm25([("t",)], {"t": f}, length, documents=n_docs, average_length=avg, holding={"t": n_holding})
    assert got == pytest.approx(expected)
