"""People as identity sources give them: a `Person` refuses bad values with coplib's typed
error naming the field, and the static people list and the directory file apply the same text
rule as `Person` itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

import coplib
from coplib import InvalidInputError, Person, StaticDirectory
from coplib.adapters.identity.directory_file import load_directory_file, parse_directory

ALICE = Person("alice", "Alice Martin", email="alice@example.org", locale="fr")


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ({"id": 5}, "$.id", "must be an id string, got int"),
        ({"id": "al ice"}, "$.id", "must not contain white space or control characters"),
        ({"id": "alice\u202e"}, "$.id", "must not contain white space or control characters"),
        ({"display_name": None}, "$.display_name", "must be a string, got NoneType"),
        ({"display_name": "Eve\r\nBcc: victim@example.org"}, "$.display_name", "must be one line without control"),
        ({"display_name": "\x1b[31mEve"}, "$.display_name", "got U+001B (ESCAPE) at character 1"),
        ({"display_name": "Eve\u202egnp.exe"}, "$.display_name", "invisible bidirectional controls"),
        ({"email": "eve@example.org\r\nBcc: victim@example.org"}, "$.email", "one line without control characters"),
        ({"email": 3}, "$.email", "must be a string, got int"),
        ({"locale": "de"}, "$.locale", "must be one of fr, en (the languages coplib writes), got 'de'"),
        ({"locale": None}, "$.locale", "must be one of fr, en"),
        ({"locale": ["fr"]}, "$.locale", "must be one of fr, en"),
        ({"active": "yes"}, "$.active", "must be a bool"),
        ({"attributes": "site=Lyon"}, "$.attributes", "must be a mapping, got str"),
        ({"attributes": {"site": 3}}, "$.attributes.site", "must be a string or a list of strings"),
        ({"attributes": {"site": {"Lyon", 3}}}, "$.attributes.site", "must be a string or a list of strings"),
        ({"attributes": {3: "x", "site": "Lyon"}}, "$.attributes", "attribute names are non-empty one-line strings"),
        ({"attributes": {"site": ["Lyon", "Paris\n"]}}, "$.attributes.site[1]", "one line without control"),
        ({"organisations": "acme"}, "$.organisations", "must be a list of organisation ids (or None: not listed)"),
        ({"organisations": 3}, "$.organisations", "must be a list of organisation ids"),
        ({"organisations": {"acme": True}}, "$.organisations", "must be a list of organisation ids"),
        ({"organisations": ["acme", "has space"]}, "$.organisations", "got 'has space'"),
        ({"organisations": ["acme", 7]}, "$.organisations", "got 7"),
        ({"organisations": ["ac\x07me"]}, "$.organisations", "must hold organisation ids"),
        ({"organisations": [f"o{i}" for i in range(51)]}, "$.organisations", "at most 50 organisations, got 51"),
    ],
)
def test_a_bad_person_gets_a_typed_error_naming_the_field(fields: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Person(**{"id": "eve", "display_name": "Eve"} | fields)

    assert [e.path for e in caught.value.errors] == [path]
    assert message in caught.value.errors[0].message


def test_a_person_takes_ordinary_names_in_any_script() -> None:
    for name in ("Zoé Lefèvre-Ørsted", "Łukasz Żółć", "محمد\u200fعلي", "👩\u200d🔧 Priya", "O'Brien, Seán"):
        assert Person("p", name).display_name == name


def test_changing_a_person_is_checked_the_same_way() -> None:
    with pytest.raises(InvalidInputError, match=r"@ \$\.display_name"):
        attrs.evolve(ALICE, display_name="Alice\nMartin")
    with pytest.raises(InvalidInputError, match=r"@ \$\.locale"):
        attrs.evolve(ALICE, locale="fr-CA")


def forged(**fields: Any) -> Person:
    """A person whose fields were changed after its validators ran."""
    person = attrs.evolve(ALICE)
    for name, value in fields.items():
        object.__setattr__(person, name, value)
    return person


def test_the_static_people_list_applies_the_text_rule_to_every_person() -> None:
    people = [ALICE, forged(id="bob", display_name="Bob\r\nBcc: everyone"), forged(id="eve", email="e@x\n")]
    with pytest.raises(InvalidInputError) as caught:
        coplib.open("memory://", people=people)

    assert [e.path for e in caught.value.errors] == ["$.people[1].display_name", "$.people[2].email"]
    assert "one line without control characters" in str(caught.value)


def test_the_static_directory_checks_a_person_put_later() -> None:
    directory = StaticDirectory([ALICE])
    with pytest.raises(InvalidInputError, match=r"U\+0007 \(BELL\) .* @ \$\.display_name"):
        directory.put(forged(display_name="Alice\x07"))
    assert directory.coplib_get_person("alice") == ALICE


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Eve\tMartin", "one line without control characters: got U+0009 (TAB)"),
        ("Eve\u2028Martin", "one line without control characters: got U+2028 (LINE SEPARATOR)"),
        ("Eve\u202eMartin", "invisible bidirectional controls"),
        ("Eve\x85", "U+0085 (NEXT LINE)"),
    ],
)
def test_the_directory_file_refuses_the_names_person_refuses(name: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_directory({"people": [{"id": "eve", "display_name": name}]})

    assert [e.path for e in caught.value.errors] == ["$.people[0].display_name"]
    assert message in caught.value.errors[0].message
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        Person("eve", name)


def test_the_directory_file_takes_the_names_person_takes(tmp_path: Path) -> None:
    names = ["Zoé Lefèvre-Ørsted", "محمد\u200fعلي", "👩\u200d🔧 Priya"]
    path = tmp_path / "people.json"
    people = [{"id": f"p{i}", "display_name": name, "site": "Saint-Étienne"} for i, name in enumerate(names)]
    path.write_text(json.dumps({"people": people}), encoding="utf-8")

    assert [p.display_name for p in load_directory_file(path).people] == names


def test_a_persons_organisations_are_a_set_and_none_means_the_directory_does_not_say() -> None:
    listed = Person("eve", "Eve", organisations=["acme", "club", "acme"])
    assert listed.organisations == {"acme", "club"}
    assert listed.belongs_to("club") and not listed.belongs_to("globex")
    assert Person("eve", "Eve", organisations=[]).organisations == frozenset()
    assert not Person("eve", "Eve", organisations=[]).belongs_to("acme")
    unlisted = Person("eve", "Eve")
    assert (unlisted.organisations, unlisted.listed, unlisted.belongs_to("anything")) == (None, False, True)


def test_the_directory_file_reads_a_persons_organisations() -> None:
    contents = parse_directory(
        {
            "people": [
                {"id": "ana", "display_name": "Ana", "organisations": ["acme", "club"]},
                {"id": "ben", "display_name": "Ben", "organisations": "acme"},
                {"id": "nina", "display_name": "Nina", "organisations": []},
                {"id": "uma", "display_name": "Uma"},
            ]
        }
    )

    assert [p.organisations for p in contents.people] == [{"acme", "club"}, {"acme"}, frozenset(), None]


@pytest.mark.parametrize(
    ("organisations", "path", "message"),
    [
        ({"acme": True}, "$.people[0].organisations", "must be an organisation id or a list of them, got a table"),
        (3, "$.people[0].organisations", "must be an organisation id or a list of them, got an integer"),
        (["acme", 3], "$.people[0].organisations[1]", "must be an id string, got an integer"),
        (["acme", "has space"], "$.people[0].organisations[1]", "without spaces or controls"),
        ("", "$.people[0].organisations", "must be an id of 1 to 200 characters"),
        ([f"o{i}" for i in range(51)], "$.people[0].organisations", "at most 50 organisations, got 51"),
    ],
)
def test_the_directory_file_refuses_bad_organisations_naming_the_place(
    organisations: object, path: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_directory({"people": [{"id": "eve", "display_name": "Eve", "organisations": organisations}]})

    assert [e.path for e in caught.value.errors] == [path]
    assert message in caught.value.errors[0].message


def test_the_static_people_list_checks_a_persons_organisations_again() -> None:
    with pytest.raises(InvalidInputError) as caught:
        coplib.open("memory://", people=[ALICE, forged(id="bob", organisations=frozenset({"has space"}))])

    assert [e.path for e in caught.value.errors] == ["$.people[1].organisations"]
