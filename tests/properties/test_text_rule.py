"""One rule for every free-text field of every domain value: a character no person writes (a
control character, an invisible bidirectional control, a lone surrogate, a line break in a
single-line field) is refused by a typed error naming the field, and ordinary text, accented
French included, is accepted as it is."""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import coplib.domain
from coplib import InvalidInputError
from coplib.domain import validation as v
from coplib.domain.community import Charter
from coplib.domain.events import PolicyReactionFailed
from coplib.domain.people import AttributeCondition, Person
from coplib.testing import strategies as cst


def domain_classes() -> list[type[Any]]:
    """Every attrs class defined in a module of `coplib.domain` (values and events)."""
    found = []
    for info in pkgutil.iter_modules(coplib.domain.__path__):
        module = importlib.import_module(f"coplib.domain.{info.name}")
        found += [
            c for c in vars(module).values() if isinstance(c, type) and attrs.has(c) and c.__module__ == module.__name__
        ]
    return found


#: (class, field, rule) for every free-text field people write; text coplib writes itself
#: (a policy's failure) is escaped rather than refused (see the last test).
TEXT_FIELDS = [
    (cls, name, rule)
    for cls in domain_classes()
    for name, rule in sorted(v.text_rules(cls).items())
    if attrs.fields_dict(cls)[name].converter is not v.escape_refused
]

FRENCH = [
    "Soudure à l'arc",
    "Qualité, sécurité — « l'œuvre » ça marche ?",
    "Ærø, Ñandú, Łódź, Øresund, Çà et là",
    "Élise Lefèvre-Ørsted",
    "Les règles : 1° écouter ; 2° répondre",
]

#: Characters refused in every text, whatever its kind.
refused_everywhere = (
    st.characters(categories=["Cc"]).filter(lambda c: c not in "\n\t\r")
    | st.sampled_from(sorted(v.BIDI_CONTROLS))
    | st.characters(categories=["Cs"])
)
#: And, in single-line texts, every line break and the tab.
refused_in_one_line = refused_everywhere | st.sampled_from(sorted(v.LINE_BREAKS | {"\t"}))


def ordinary(rule: v.Text | v.Texts) -> st.SearchStrategy[str]:
    """Text a person writes, within the rule's limits (and not blank)."""
    size = min(40, (rule.max_chars or 41) - 1, (getattr(rule, "max_bytes", None) or 160) // 4)
    base = cst.texts(max_size=size, multiline=rule.multiline) | st.sampled_from([f[:size] for f in FRENCH])
    return base.filter(lambda s: bool(s.strip()) and len(s) <= size)


def sample(rule: v.Text | v.Texts, text: str) -> Any:
    return (text,) if isinstance(rule, v.Texts) else text


@pytest.mark.parametrize(("cls", "field", "rule"), TEXT_FIELDS, ids=[f"{c.__name__}.{f}" for c, f, _ in TEXT_FIELDS])
@given(data=st.data())
def test_every_text_field_refuses_what_no_person_writes_and_takes_ordinary_text(
    cls: type[Any], field: str, rule: v.Text | v.Texts, data: st.DataObject
) -> None:
    text = data.draw(ordinary(rule), label="ordinary")
    assert v.check_fields(cls, "test", **{field: sample(rule, text)})[field] == sample(rule, text)

    bad = data.draw(refused_in_one_line if not rule.multiline else refused_everywhere, label="refused")
    at = data.draw(st.integers(0, len(text)).filter(lambda i: text[i - 1 : i] != "\r"), label="at")  # not in a CR LF
    with pytest.raises(InvalidInputError) as caught:
        v.check_fields(cls, "test", **{field: sample(rule, text[:at] + bad + text[at:])})
    assert [e.path for e in caught.value.errors] == [f"$.{field}[0]" if isinstance(rule, v.Texts) else f"$.{field}"]
    assert f"U+{ord(bad):04X}" in caught.value.errors[0].message


MULTI_LINE_FIELDS = [(c, f, r) for c, f, r in TEXT_FIELDS if r.multiline]


@pytest.mark.parametrize(
    ("cls", "field", "rule"), MULTI_LINE_FIELDS, ids=[f"{c.__name__}.{f}" for c, f, _ in MULTI_LINE_FIELDS]
)
@given(
    lines=st.lists(st.sampled_from(FRENCH), min_size=2, max_size=4), ending=st.sampled_from(["\n", "\r\n", "\u2028"])
)
def test_a_multi_line_field_takes_line_breaks_and_tabs(
    cls: type[Any], field: str, rule: v.Text, lines: list[str], ending: str
) -> None:
    text = ending.join("\t" + line for line in lines)
    assert v.check_fields(cls, "test", **{field: text})[field] == text


def test_the_rule_reaches_every_kind_of_text_coplib_keeps() -> None:
    single = {f"{c.__name__}.{f}" for c, f, r in TEXT_FIELDS if not r.multiline}
    multi = {f"{c.__name__}.{f}" for c, f, r in TEXT_FIELDS if r.multiline}
    assert {"Organisation.name", "Community.name", "Person.display_name", "Person.email", "Question.title"} <= single
    assert {"Resource.location", "Meeting.location", "CharterVersion.reason", "MemberRemoved.reason"} <= single
    assert {"MembershipDeclined.reason", "ContributionWithdrawn.reason", "ParticipationLevelPinned.reason"} <= single
    assert {"Charter.member_profiles", "Charter.resources", "QuestionAsked.title"} <= single
    assert {"Question.body", "Answer.body", "Comment.body", "Experience.body", "Resource.description"} <= multi
    assert {"Meeting.description", "Charter.vocation", "Charter.common_culture", "AnswerPosted.body"} <= multi


def test_the_refused_characters_are_exactly_those_the_rule_names() -> None:
    for code in range(0x3000):
        char = chr(code)
        everywhere = unicodedata.category(char) in ("Cc", "Cs") or char in v.BIDI_CONTROLS
        assert (v.text_fault(f"a{char}b", multiline=True) is not None) == (everywhere and char not in "\n\t")
        assert (v.text_fault(f"a{char}b") is not None) == (everywhere or char in v.LINE_BREAKS)
    assert v.text_fault("a\r\nb", multiline=True) is None
    assert v.text_fault("a\u200db\u200cc\u200ed\u200fe\u061cf") is None  # joiners and marks stay


# -- fields checked by their own validators --------------------------------------------------------


@given(bad=refused_in_one_line, name=st.sampled_from(FRENCH))
def test_a_persons_attributes_hold_to_the_single_line_rule(bad: str, name: str) -> None:
    assert Person("p", "P", attributes={"site": name}).attributes == {"site": (name,)}
    with pytest.raises(InvalidInputError) as values:
        Person("p", "P", attributes={"site": ["Lyon", name + bad]})
    assert [e.path for e in values.value.errors] == ["$.attributes.site[1]"]
    with pytest.raises(InvalidInputError) as names:
        Person("p", "P", attributes={"site" + bad: "Lyon"})
    assert [e.path for e in names.value.errors] == ["$.attributes"]


@given(bad=refused_in_one_line, value=st.sampled_from(FRENCH))
def test_a_rule_condition_and_a_charters_policy_texts_hold_to_it_too(bad: str, value: str) -> None:
    assert AttributeCondition("site", frozenset({value})).values == {value}
    with pytest.raises(InvalidInputError, match=r"@ \$\.values"):
        AttributeCondition("site", frozenset({value + bad}))
    with pytest.raises(InvalidInputError, match=r"@ \$\.policy_settings\.badges\.mentor"):
        Charter(vocation="V", policy_settings={"badges": {"mentor": "3" + bad}})
    with pytest.raises(InvalidInputError, match=r"@ \$\.disabled_policies"):
        Charter(vocation="V", disabled_policies={"badges" + bad})


@given(bad=refused_in_one_line, text=st.sampled_from(FRENCH))
def test_text_coplib_writes_itself_is_escaped_not_refused(bad: str, text: str) -> None:
    # A policy's failure quotes what it raised, which may hold anything: the record is kept.
    checked = v.check_fields(PolicyReactionFailed, "test", error=f"{text}{bad}{text}")["error"]
    assert v.text_fault(checked) is None
    assert checked == text + repr(bad)[1:-1] + text
