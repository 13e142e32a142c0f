"""The directory file (TOML or JSON) and the caching wrapper for slow directories."""

from __future__ import annotations

import json
import os
import threading
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import coplib
from coplib import AttributeRule, ConfigurationError, InvalidInputError, ManualClock, Person
from coplib.adapters.identity.directory_file import (
    CachingDirectory,
    DirectoryFile,
    load_directory_file,
    parse_directory,
)

DIRECTORY_TOML = """\
version = 1

[[people]]
id = "alice"
display_name = "Alice Martin"
email = "alice.martin@example.org"
locale = "fr"
department = "Maintenance"
site = "Lyon"
job = "welder"
seniority = "senior"
skills = ["tig", "mig"]
manager = "bruno"
attributes = { shift = "night", languages = ["fr", "en"] }

[[people]]
id = "bruno"
display_name = "Bruno Keller"
email = "bruno.keller@example.org"
locale = "fr-CH"
site = ["Lyon", "Grenoble"]
job = "welder"

[[people]]
id = "carol"
display_name = "Carol Evans"
email = "carol.evans@example.org"
active = false
site = "Lyon"
job = "welder"

[[people]]
id = "dan"
display_name = "Dan Brown"
site = "Grenoble"
job = "inspector"

[aliases]
"CORP\\\\amartin" = "alice"
"bkeller" = "bruno"
"""

WELDERS_IN_LYON = AttributeRule.of(job="welder", site="Lyon")


@pytest.fixture
def toml_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.toml"
    path.write_text(DIRECTORY_TOML, encoding="utf-8")
    return path


@pytest.fixture
def json_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.json"
    path.write_text(json.dumps(tomllib.loads(DIRECTORY_TOML), ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def errors_of(document: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInputError) as caught:
        parse_directory(document)
    return [(e.path, e.message) for e in caught.value.errors]


def person(**fields: Any) -> dict[str, Any]:
    return {"id": "alice", "display_name": "Alice"} | fields


# -- loading ----------------------------------------------------------------------------------


def test_a_toml_file_gives_every_field_of_its_people(toml_file: Path) -> None:
    directory = DirectoryFile(toml_file)

    alice = directory.coplib_get_person("alice")
    assert alice == Person(
        "alice",
        "Alice Martin",
        email="alice.martin@example.org",
        locale="fr",
        attributes={
            "department": "Maintenance",
            "site": "Lyon",
            "job": "welder",
            "seniority": "senior",
            "skills": ["tig", "mig"],
            "manager": "bruno",
            "shift": "night",
            "languages": ["fr", "en"],
        },
    )
    assert [p.id for p in directory.people] == ["alice", "bruno", "carol", "dan"]


def test_a_json_file_gives_the_same_directory(toml_file: Path, json_file: Path) -> None:
    assert DirectoryFile(json_file).people == DirectoryFile(toml_file).people
    assert DirectoryFile(json_file).aliases == DirectoryFile(toml_file).aliases


def test_a_regional_locale_is_read_as_its_language(toml_file: Path) -> None:
    bruno = DirectoryFile(toml_file).coplib_get_person("bruno")
    assert bruno is not None and bruno.locale == "fr"


def test_a_person_who_left_is_known_but_inactive(toml_file: Path) -> None:
    carol = DirectoryFile(toml_file).coplib_get_person("carol")
    assert carol is not None and not carol.active


def test_an_unknown_id_is_none(toml_file: Path) -> None:
    assert DirectoryFile(toml_file).coplib_get_person("zed") is None


def test_find_people_lists_the_active_people_matching_every_condition(toml_file: Path) -> None:
    found = DirectoryFile(toml_file).coplib_find_people(WELDERS_IN_LYON)
    assert found is not None
    assert [p.id for p in found] == ["alice", "bruno"]


def test_find_people_matches_any_of_a_conditions_values(toml_file: Path) -> None:
    found = DirectoryFile(toml_file).coplib_find_people(AttributeRule.of(job=("welder", "inspector"), site="Grenoble"))
    assert found is not None
    assert [p.id for p in found] == ["bruno", "dan"]


def test_a_rule_on_a_list_attribute_matches_one_of_its_values(toml_file: Path) -> None:
    found = DirectoryFile(toml_file).coplib_find_people(AttributeRule.of(skills="mig"))
    assert found is not None
    assert [p.id for p in found] == ["alice"]


@pytest.mark.parametrize(
    ("principal", "person_id"),
    [("CORP\\amartin", "alice"), ("bkeller", "bruno"), ("dan", "dan"), ("Carol.Evans@example.org", "carol")],
)
def test_the_host_login_maps_to_a_person_by_alias_id_or_email(toml_file: Path, principal: str, person_id: str) -> None:
    assert DirectoryFile(toml_file).coplib_authenticate(principal) == person_id


def test_an_unknown_login_maps_to_nobody(toml_file: Path) -> None:
    assert DirectoryFile(toml_file).coplib_authenticate("CORP\\nobody") is None


def test_the_engine_uses_the_directory_file_as_a_plugin(toml_file: Path) -> None:
    engine = coplib.open("memory://", plugins=[DirectoryFile(toml_file)])
    alice = engine.person("alice")
    assert alice is not None and alice.display_name == "Alice Martin"
    assert engine.authenticate("bkeller") == "bruno"


def test_the_directory_file_answers_rules_before_the_built_in_directory(toml_file: Path) -> None:
    # The built-in static directory (registered last-resort) would answer [] for any rule.
    engine = coplib.open("memory://", plugins=[DirectoryFile(toml_file)])
    found = engine.plugin_manager.hook.coplib_find_people(rule=WELDERS_IN_LYON)
    assert [p.id for p in found] == ["alice", "bruno"]


def test_the_format_can_be_given_when_the_suffix_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "people.conf"
    path.write_text(DIRECTORY_TOML, encoding="utf-8")
    assert len(DirectoryFile(path, format="toml").people) == 4


def test_a_file_of_unknown_format_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text("people: []", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"name it \.toml or \.json, or pass format='toml'"):
        DirectoryFile(path)


def test_a_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"people\.toml cannot be read: No such file or directory"):
        DirectoryFile(tmp_path / "people.toml")


def test_broken_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "people.toml"
    path.write_text('[[people]]\nid = "alice\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"invalid directory file .*people.toml: is not valid TOML: .*line 2"):
        load_directory_file(path)


def test_broken_json_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text('{"people": [\n{"id": }]}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"is not valid JSON: .*line 2"):
        load_directory_file(path)


def test_a_json_key_given_twice_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text('{"people": [{"id": "alice", "display_name": "A", "id": "bob"}]}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="duplicate key 'id' in an object"):
        load_directory_file(path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "people.toml"
    path.write_bytes('[[people]]\nid = "zoé"\n'.encode("latin-1"))
    with pytest.raises(InvalidInputError, match=r"is not UTF-8 text \(byte 19\)"):
        load_directory_file(path)


def test_a_validation_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text(json.dumps({"people": [{"id": "alice"}]}), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"invalid directory file .*people\.json: is required @ \$\.people"):
        load_directory_file(path)


# -- coplib's own ids --------------------------------------------------------------------------

ROGUE_TOML = """\
[[people]]
id = "alice"
display_name = "Alice"

[[people]]
id = "coplib:system"
display_name = "The system"

[aliases]
bkeller = "alice"
"mallory" = "coplib:system"
"""


def test_a_person_with_the_system_id_is_refused_naming_the_file_the_line_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "people.toml"
    path.write_text(ROGUE_TOML, encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        DirectoryFile(path)

    assert [(e.path, e.line) for e in caught.value.errors] == [("$.people[1].id", 6), ("$.aliases.mallory", 11)]
    assert caught.value.context == f"directory file {path}"
    assert "'coplib:system' is reserved: ids under 'coplib:' are coplib's own" in str(caught.value)
    assert "@ $.aliases.mallory (line 11)" in str(caught.value)


def test_an_alias_to_a_reserved_id_is_refused_in_json_too_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    document = {"people": [{"id": "alice", "display_name": "Alice"}], "aliases": {"mallory": "coplib:admin"}}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        load_directory_file(path)

    assert [(e.path, e.line) for e in caught.value.errors] == [("$.aliases.mallory", 9)]
    assert "'coplib:admin' is reserved" in caught.value.errors[0].message


@pytest.mark.parametrize("person_id", ["coplib:system", "coplib:x", "COPLIB:System"])
def test_no_entry_of_a_directory_may_hold_a_reserved_id(person_id: str) -> None:
    document = {"people": [person(), person(id=person_id)], "aliases": {"al": person_id}}
    assert [path for path, _ in errors_of(document)] == ["$.people[1].id", "$.aliases.al"]


def test_a_reload_that_would_hand_out_the_system_actor_keeps_the_previous_people(toml_file: Path) -> None:
    directory = DirectoryFile(toml_file)
    toml_file.write_text(DIRECTORY_TOML.replace('"bkeller" = "bruno"', '"bkeller" = "coplib:system"'))
    with pytest.raises(InvalidInputError, match=r"@ \$\.aliases\.bkeller \(line \d+\)"):
        directory.reload()
    assert directory.coplib_authenticate("bkeller") == "bruno"


def test_every_error_of_a_file_gives_the_line_of_its_key_or_of_its_table(tmp_path: Path) -> None:
    path = tmp_path / "people.toml"
    path.write_text(
        '[[people]]\nid = "alice"\ndisplay_name = "Alice"\n\n[[people]]\nid = "bob"\n'
        'email = "nope"\nskills = ["tig",\n  3]\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as caught:
        load_directory_file(path)

    assert [(e.path, e.line) for e in caught.value.errors] == [
        ("$.people[1].display_name", 5),  # missing: the line of its [[people]] table
        ("$.people[1].email", 7),
        ("$.people[1].skills[1]", 8),  # inside a value: the line of its key
    ]


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "path", "message"),
    [
        ({"display_name": "A"}, "$.people[0].id", "is required"),
        ({"id": "alice"}, "$.people[0].display_name", "is required"),
        (person(id="al ice"), "$.people[0].id", "without spaces or controls"),
        (person(id=""), "$.people[0].id", "must be an id of 1 to 200 characters"),
        (person(id=7), "$.people[0].id", "must be an id string, got an integer"),
        (person(display_name="  "), "$.people[0].display_name", "must not be empty or blank"),
        (person(display_name="A" * 121), "$.people[0].display_name", "at most 120 characters, got 121"),
        (person(display_name="Eve\nBcc: x@y"), "$.people[0].display_name", "one line without control characters"),
        (person(email="alice"), "$.people[0].email", "must be an address like name@example.org"),
        (person(email="a@b\r\nBcc: c@d"), "$.people[0].email", "without controls"),
        (person(email=["a@b.c"]), "$.people[0].email", "must be an e-mail address string, got list"),
        (person(locale="de"), "$.people[0].locale", "must be one of fr, en (or a regional form such as fr-CA)"),
        (person(locale=1), "$.people[0].locale", "must be a string, got an integer"),
        (person(active="yes"), "$.people[0].active", "must be true or false, got a string"),
        (person(site=3), "$.people[0].site", "must be a string or a list of strings, got an integer"),
        (person(skills=["tig", 3]), "$.people[0].skills[1]", "must be a string, got an integer"),
        (person(skills=["tig", ""]), "$.people[0].skills[1]", "must not be empty or blank"),
        (person(job="x" * 121), "$.people[0].job", "at most 120 characters"),
        (person(grade="B2"), "$.people[0].grade", "unknown field; a person has id, display_name"),
        (person(attributes="night"), "$.people[0].attributes", "must be a table of attribute name to value(s)"),
        (person(attributes={"shift": 1}), "$.people[0].attributes.shift", "must be a string or a list of strings"),
        (person(attributes={"bad key": [1]}), '$.people[0].attributes["bad key"][0]', "must be a string"),
        (person(site="Lyon", attributes={"site": "Paris"}), "$.people[0].attributes.site", "site is given twice"),
        (person(manager="zed"), "$.people[0].manager", "names no person of this directory: 'zed'"),
        (person(manager=["alice"]), "$.people[0].manager[0]", "a person cannot be their own manager"),
        (person(attributes={"manager": "zed"}), "$.people[0].attributes.manager", "names no person"),
        ("alice", "$.people[0]", "must be a table (an object in JSON) describing a person, got a string"),
    ],
)
def test_a_bad_entry_is_reported_by_its_path(entry: object, path: str, message: str) -> None:
    ((found_path, found_message),) = errors_of({"people": [entry]})
    assert found_path == path
    assert message in found_message


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ({}, "$.people", "is required: the list of the organisation's people"),
        ({"people": {"alice": {}}}, "$.people", "must be a list of people ([[people]] tables in TOML), got a table"),
        ({"people": [], "groups": []}, "$.groups", "unknown field; a directory has version, people, aliases"),
        ({"people": [], "version": 2}, "$.version", "must be 1, the only format version so far; got 2"),
        ({"people": [], "aliases": ["x"]}, "$.aliases", "must be a table of host login to person id, got a list"),
        ({"people": [person()], "aliases": {"al": "zed"}}, "$.aliases.al", "names no person of this directory"),
        ({"people": [person()], "aliases": {"al": 3}}, "$.aliases.al", "must be a person id string"),
        ({"people": [person()], "aliases": {"alice": "alice"}}, "$.aliases.alice", "an alias must not shadow it"),
        ({"people": [person()], "aliases": {"CORP\\a b": "zed"}}, '$.aliases["CORP\\\\a b"]', "names no person"),
    ],
)
def test_a_bad_document_is_reported_by_its_path(document: object, path: str, message: str) -> None:
    ((found_path, found_message),) = errors_of(document)
    assert found_path == path
    assert message in found_message


def test_a_document_that_is_not_a_table_is_refused() -> None:
    assert errors_of([]) == [("$", "a directory is a table (an object in JSON), got a list")]


def test_a_duplicate_id_is_refused_with_the_first_place_it_appears() -> None:
    document = {"people": [person(), person(id="bob"), person(display_name="Another Alice")]}
    assert errors_of(document) == [("$.people[2].id", "duplicate person id 'alice': already used by $.people[0]")]


def test_a_duplicate_id_is_reported_even_when_the_entry_has_other_errors() -> None:
    document = {"people": [person(email="bad"), person(display_name="")]}
    assert [path for path, _ in errors_of(document)] == [
        "$.people[0].email",
        "$.people[1].display_name",
        "$.people[1].id",
    ]


def test_an_email_used_twice_is_refused_whatever_its_case() -> None:
    document = {"people": [person(email="a@example.org"), person(id="bob", email="A@Example.org")]}
    assert errors_of(document) == [("$.people[1].email", "e-mail 'A@Example.org' is already used by $.people[0]")]


def test_every_bad_entry_is_listed_at_once() -> None:
    document = {
        "people": [
            person(email="nope"),
            {"id": "bob", "display_name": "Bob", "locale": "it", "active": 1},
            "carol",
            person(id="dan", skills=[1, 2]),
        ],
        "extra": True,
    }
    assert [path for path, _ in errors_of(document)] == [
        "$.extra",
        "$.people[0].email",
        "$.people[1].locale",
        "$.people[1].active",
        "$.people[2]",
        "$.people[3].skills[0]",
        "$.people[3].skills[1]",
    ]


def test_the_documented_example_is_a_valid_directory() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    contents = parse_directory(tomllib.loads(example))
    assert [p.id for p in contents.people] == ["alice", "bruno", "carol"]
    assert contents.aliases == {"CORP\\amartin": "alice", "bkeller": "bruno"}


def test_an_empty_directory_is_valid() -> None:
    contents = parse_directory({"people": []})
    assert contents.people == ()
    assert contents.aliases == {}


# -- reloading --------------------------------------------------------------------------------


def test_reload_reads_the_changed_file(toml_file: Path) -> None:
    directory = DirectoryFile(toml_file)
    toml_file.write_text(DIRECTORY_TOML.replace('display_name = "Dan Brown"', 'display_name = "Daniel Brown"'))
    directory.reload()
    dan = directory.coplib_get_person("dan")
    assert dan is not None and dan.display_name == "Daniel Brown"


def test_a_broken_file_on_reload_keeps_the_previous_people(toml_file: Path) -> None:
    directory = DirectoryFile(toml_file)
    toml_file.write_text('[[people]]\nid = "alice"\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"is required @ \$\.people\[0\]\.display_name"):
        directory.reload()
    assert len(directory.people) == 4


def test_reload_if_changed_reloads_only_a_changed_file(toml_file: Path) -> None:
    directory = DirectoryFile(toml_file)
    assert directory.reload_if_changed() is False
    toml_file.write_text(DIRECTORY_TOML + '\n[[people]]\nid = "erin"\ndisplay_name = "Erin"\n', encoding="utf-8")
    stat = toml_file.stat()
    os.utime(toml_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert directory.reload_if_changed() is True
    assert directory.coplib_get_person("erin") is not None


# -- caching ----------------------------------------------------------------------------------


class CountingDirectory:
    """A slow directory's stand-in: answers from a dict, counts every question."""

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = {p.id: p for p in people}
        self.calls: list[tuple[str, object]] = []
        self.fail = False

    def coplib_get_person(self, person_id: str) -> Person | None:
        self.calls.append(("get", person_id))
        if self.fail:
            raise ConnectionError("directory unreachable")
        return self.people.get(person_id)

    def coplib_find_people(self, rule: AttributeRule) -> Sequence[Person] | None:
        self.calls.append(("find", rule))
        return [p for p in self.people.values() if rule.matches(p)]

    def coplib_authenticate(self, principal: str) -> str | None:
        self.calls.append(("auth", principal))
        return principal if principal in self.people else None


START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
ALICE = Person("alice", "Alice", attributes={"job": "welder", "site": "Lyon"})
BOB = Person("bob", "Bob", attributes={"job": "welder", "site": "Lyon"})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def slow() -> CountingDirectory:
    return CountingDirectory([ALICE, BOB])


def test_a_person_is_asked_once_within_the_time_to_live(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, ttl=timedelta(minutes=5), clock=clock)
    assert cache.coplib_get_person("alice") == ALICE
    clock.advance(timedelta(minutes=4, seconds=59))
    assert cache.coplib_get_person("alice") == ALICE
    assert slow.calls == [("get", "alice")]


def test_a_person_is_asked_again_once_the_time_to_live_is_over(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, ttl=timedelta(minutes=5), clock=clock)
    cache.coplib_get_person("alice")
    slow.people["alice"] = Person("alice", "Alice Renamed")
    clock.advance(timedelta(minutes=5))
    renamed = cache.coplib_get_person("alice")
    assert renamed is not None and renamed.display_name == "Alice Renamed"
    assert slow.calls == [("get", "alice"), ("get", "alice")]


def test_an_unknown_person_is_remembered_for_the_negative_time_to_live(
    slow: CountingDirectory, clock: ManualClock
) -> None:
    cache = CachingDirectory(slow, ttl=timedelta(hours=1), negative_ttl=timedelta(seconds=30), clock=clock)
    assert cache.coplib_get_person("zed") is None
    assert cache.coplib_get_person("zed") is None
    clock.advance(timedelta(seconds=30))
    slow.people["zed"] = Person("zed", "Zed")
    assert cache.coplib_get_person("zed") == Person("zed", "Zed")
    assert slow.calls == [("get", "zed"), ("get", "zed")]


def test_rule_results_and_logins_are_cached_too(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, clock=clock)
    rule = AttributeRule.of(job="welder", site="Lyon")
    assert cache.coplib_find_people(rule) == [ALICE, BOB]
    assert cache.coplib_find_people(AttributeRule.of(site="Lyon", job="welder")) == [ALICE, BOB]
    assert cache.coplib_authenticate("bob") == "bob"
    assert cache.coplib_authenticate("bob") == "bob"
    assert [kind for kind, _ in slow.calls] == ["find", "find", "auth"]


def test_a_directory_error_is_not_cached(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, clock=clock)
    slow.fail = True
    with pytest.raises(ConnectionError):
        cache.coplib_get_person("alice")
    slow.fail = False
    assert cache.coplib_get_person("alice") == ALICE


def test_invalidate_forgets_what_concerns_one_person(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, clock=clock)
    rule = AttributeRule.of(job="welder")
    for _ in range(2):
        cache.coplib_get_person("alice")
        cache.coplib_get_person("bob")
        cache.coplib_find_people(rule)
        cache.coplib_authenticate("alice")
        cache.invalidate("alice")
    assert [(kind, arg) for kind, arg in slow.calls if kind != "find"] == [
        ("get", "alice"),
        ("get", "bob"),
        ("auth", "alice"),
        ("get", "alice"),
        ("auth", "alice"),
    ]
    assert [kind for kind, _ in slow.calls].count("find") == 2


def test_clear_forgets_everything(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, clock=clock)
    cache.coplib_get_person("alice")
    cache.clear()
    cache.coplib_get_person("alice")
    assert slow.calls == [("get", "alice"), ("get", "alice")]


def test_the_least_recently_used_answers_go_beyond_max_entries(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, clock=clock, max_entries=2)
    cache.coplib_get_person("alice")
    cache.coplib_get_person("bob")
    cache.coplib_get_person("alice")  # alice is now the most recently used
    cache.coplib_get_person("zed")  # evicts bob
    cache.coplib_get_person("alice")
    cache.coplib_get_person("bob")
    assert slow.calls == [("get", "alice"), ("get", "bob"), ("get", "zed"), ("get", "bob")]


def test_a_directory_with_only_some_hooks_answers_none_for_the_others(clock: ManualClock) -> None:
    class PeopleOnly:
        def coplib_get_person(self, person_id: str) -> Person | None:
            return ALICE if person_id == "alice" else None

    cache = CachingDirectory(PeopleOnly(), clock=clock)
    assert cache.coplib_get_person("alice") == ALICE
    assert cache.coplib_authenticate("alice") is None
    assert cache.coplib_find_people(AttributeRule.of(job="welder")) is None


def test_the_cache_wraps_a_directory_file_inside_the_engine(toml_file: Path, clock: ManualClock) -> None:
    engine = coplib.open("memory://", plugins=[CachingDirectory(DirectoryFile(toml_file), clock=clock)])
    alice = engine.person("alice")
    assert alice is not None and alice.email == "alice.martin@example.org"
    assert engine.authenticate("CORP\\amartin") == "alice"


def test_the_cache_answers_rules_inside_the_engine(toml_file: Path, clock: ManualClock) -> None:
    engine = coplib.open("memory://", plugins=[CachingDirectory(DirectoryFile(toml_file), clock=clock)])
    found = engine.plugin_manager.hook.coplib_find_people(rule=WELDERS_IN_LYON)
    assert [p.id for p in found] == ["alice", "bruno"]


def test_the_cache_is_safe_to_share_between_threads(slow: CountingDirectory, clock: ManualClock) -> None:
    cache = CachingDirectory(slow, clock=clock, max_entries=3)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                found = cache.coplib_get_person(["alice", "bob", "zed", "yan"][(n + i) % 4])
                assert found is None or found.id in ("alice", "bob")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert all(not t.is_alive() for t in threads)


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"ttl": timedelta(0)}, "$.ttl"),
        ({"ttl": 300}, "$.ttl"),
        ({"negative_ttl": timedelta(seconds=-1)}, "$.negative_ttl"),
        ({"max_entries": 0}, "$.max_entries"),
        ({"max_entries": True}, "$.max_entries"),
    ],
)
def test_bad_cache_settings_are_refused_by_path(slow: CountingDirectory, settings: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid CachingDirectory settings") as caught:
        CachingDirectory(slow, **settings)
    assert [e.path for e in caught.value.errors] == [path]


def test_an_object_without_identity_hooks_cannot_be_wrapped() -> None:
    with pytest.raises(InvalidInputError, match=r"exposes none of the identity hooks .* @ \$\.directory"):
        CachingDirectory(object())
