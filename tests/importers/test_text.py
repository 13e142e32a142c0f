"""The text rules of the importer: one-line names and titles, multi-line bodies without
control characters, HTML to plain text, tags, and cutting to a limit with a mark."""

from __future__ import annotations

import pytest

from coplib.importers.stackexchange import badge_token
from coplib.importers.stackexchange._text import fit_bytes, fit_chars, html_to_text, multi_line, one_line, tags


def test_a_name_or_title_becomes_one_line_without_controls() -> None:
    assert one_line(" Bob\r\n  Builder\u0085\t\u2028x\x7f ") == "Bob Builder x"


def test_a_body_keeps_newlines_and_tabs_and_loses_other_controls() -> None:
    assert multi_line("a\r\nb\rc\u2028d\x1b\u009fe\tf  \n\n\n\ng") == "a\nb\nc\nde\tf\n\ng"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One &amp; two</p>\n<p>Three</p>", "One & two\n\nThree"),
        ("<ul>\n<li>a</li>\n<li>b</li>\n</ul>", "- a\n- b"),
        ("<pre><code>x = 1\n  y = 2\n</code></pre>", "    x = 1\n      y = 2"),
        ("<blockquote>\n<p>Quoted</p>\n</blockquote>\n<p>After</p>", "> Quoted\n\nAfter"),
        (
            '<p><a href="https://x.org" rel="nofollow">site</a> and <a href="https://y.org">https://y.org</a></p>',
            "site (https://x.org) and https://y.org",
        ),
        ('<p><img src="https://i.org/a.png" alt="a cat"></p>', "[image: a cat] (https://i.org/a.png)"),
        ("<p>line<br>break <strong>bold</strong><!-- note --></p><hr><p>end", "line\nbreak bold\n\n---\n\nend"),
        ("plain &lt;text&gt;", "plain <text>"),
    ],
)
def test_html_becomes_readable_plain_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_tags_are_read_in_both_spellings_normalised_deduplicated_and_bounded() -> None:
    assert tags("<Beer><hops><beer>") == (["beer", "hops"], 0)
    assert tags("|beer|c#||") == (["beer", "c#"], 0)
    assert tags("<ünicode><ok>") == (["ok"], 1)
    assert tags("".join(f"<t{i}>" for i in range(12))) == ([f"t{i}" for i in range(10)], 2)
    assert tags(None) == ([], 0)


def test_text_over_a_limit_is_cut_with_a_mark_and_never_inside_a_character() -> None:
    title, cut = fit_chars("x" * 310, 300)
    body, body_cut = fit_bytes("é" * 100, 51)

    assert cut and len(title) == 300 and title.endswith("x […]")
    assert body_cut and len(body.encode()) <= 51 and body.endswith("[… truncated: the original is longer]")
    assert fit_bytes("short", 100) == ("short", False)


def test_badge_names_become_distinct_badge_tokens() -> None:
    assert badge_token("Nice Answer", 3, False) == "se-nice-answer"
    assert badge_token("beer", 1, True) == "se-tag-beer-gold"
    assert badge_token("c++", 3, True) != badge_token("c#", 3, True)
    assert badge_token("Популярный вопрос", 3, False).startswith("se-")


def test_bidi_overrides_and_isolates_are_taken_out_of_one_line_and_multi_line_texts() -> None:
    from coplib.domain.validation import text_fault

    hostile = "Pompe \u202ehydraulique\u202c et \u2066vanne\u2069"

    for cleaned, multiline in ((one_line(hostile), False), (multi_line(hostile + "\nligne 2"), True)):
        assert not any("\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069" for c in cleaned)
        assert text_fault(cleaned, multiline=multiline) is None
        assert "hydraulique" in cleaned and "vanne" in cleaned
