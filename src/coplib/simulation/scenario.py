"""A simulation scenario: the organisation, its communities, the population by persona, each
persona's behaviour and reactions, the horizon and the seed (docs/simulation.md, "The
scenario format").

A scenario is read from TOML (`load_scenario`, `parse_scenario`) or built from Python values
(`Scenario.from_dict`); both go through the same checks, which collect every bad key with its
path (``$.population.experts.count``) and, for a file, its line. Nothing runs on a scenario
that does not pass them.

The line of a key comes from a small scan of the file's text (table headers and ``key =``
lines), not from a second TOML parser: `tomllib` (standard library) reads the values, the scan
only places them. It finds the line of every key coplib's scenarios use (tables, dotted keys,
inline values); a key inside an inline table or a multi-line array gets the line of its
table's header or of the array's key.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

import attrs

from coplib.domain.community import CharterRule, CommunityKind
from coplib.domain.errors import FieldError, InvalidInputError, MissingExtraError
from coplib.domain.validation import check_tag, normalise_tag
from coplib.simulation.personas import (
    BEHAVIOUR_KEYS,
    DIGEST_CHOICES,
    PERSONAS,
    REACTION_KEYS,
    Behaviour,
    Reactions,
    default_behaviour,
)

__all__ = [
    "BUILTIN_SCENARIOS",
    "CommunitySpec",
    "Group",
    "MissingExtraError",
    "Scenario",
    "ScenarioError",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
]

#: The default first day: a Monday, so that the simulation's weeks are the store's weeks.
DEFAULT_START: Final = date(2026, 1, 5)
MAX_WEEKS: Final = 520
MAX_PEOPLE: Final = 20_000
MAX_SEED: Final = 2**63 - 1
#: Policies a scenario's charter may switch off or set (names as in `Charter.disabled_policies`).
KNOWN_POLICIES: Final = ("answer_guarantee", "recognition", "participation_levels", "badges", "community_health")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class ScenarioError(InvalidInputError):
    """A scenario that cannot be run: every bad key with its path (``$.communities.help.tags``)
    and, for a file, its line. `source` names the file (or ``<scenario>``)."""

    def __init__(self, errors: Iterable[FieldError], *, source: str = "<scenario>") -> None:
        self.source = source
        super().__init__(errors, context=f"scenario {source}")


# -- the scenario's values ------------------------------------------------------------------------


@attrs.frozen
class CommunitySpec:
    """One community of the scenario and its charter's settings."""

    key: str
    name: str
    kind: CommunityKind
    tags: tuple[str, ...]
    answer_guarantee: bool
    organise_experts: bool
    rules: frozenset[CharterRule]
    disabled_policies: frozenset[str]
    policy_settings: Mapping[str, Mapping[str, str]] = attrs.field(hash=False)
    vocation: str


@attrs.frozen
class Group:
    """A group of the population: `count` people of one persona (and `arrivals_per_week` more
    joining over the horizon, up to `max_arrivals`)."""

    key: str
    persona: str
    count: int
    arrivals_per_week: float
    max_arrivals: int
    expertise: tuple[str, ...]
    tags_per_person: int
    communities: tuple[str, ...]
    working_hours: tuple[int, int]  # minutes from midnight, [start, end)
    working_days: frozenset[int]  # 0 = Monday
    absence: float  # the share of weeks a person of the group is away
    locale: str


@attrs.frozen
class Scenario:
    """A scenario ready to run (build it with `Scenario.from_dict` or `parse_scenario`)."""

    name: str
    description: str
    weeks: int
    seed: int
    start: date
    organisation: str
    communities: tuple[CommunitySpec, ...]
    population: tuple[Group, ...]
    behaviours: Mapping[str, Behaviour] = attrs.field(hash=False)
    reactions: Mapping[str, Reactions] = attrs.field(hash=False)
    data: Mapping[str, Any] = attrs.field(hash=False, repr=False)  # the checked document, for the record

    @property
    def start_moment(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str = "<scenario>", lines: Mapping[str, int] | None = None
    ) -> Scenario:
        """Check `data` (what a scenario file holds, as Python values) and build the scenario;
        `ScenarioError` lists every bad key."""
        return _Checker(source, lines or {}).scenario(data)

    def to_dict(self) -> dict[str, Any]:
        """The scenario's document (with the horizon and seed it runs with)."""
        return copy.deepcopy(dict(self.data))

    def with_values(self, values: Mapping[str, Any]) -> Scenario:
        """The scenario with some keys changed, by dotted path (``weeks``,
        ``communities.help.answer_guarantee``): checked again like a new scenario."""
        data = self.to_dict()
        for path, value in values.items():
            _set_path(data, path, value)
        return Scenario.from_dict(data, source=f"{self.name} (changed)")

    def community(self, key: str) -> CommunitySpec:
        return next(c for c in self.communities if c.key == key)


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ScenarioError([FieldError(f"$.{path}", "a key is a dotted path such as communities.help.tags")])
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part) if isinstance(node, dict) else None
        if child is None and isinstance(node, dict):
            child = node[part] = {}
        if not isinstance(child, dict):
            where = "$." + ".".join(parts[: i + 1])
            raise ScenarioError([FieldError(where, "is not a table: it has no keys to set")])
        node = child
    node[parts[-1]] = value


# -- reading TOML ---------------------------------------------------------------------------------


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """A scenario from TOML text; `ScenarioError` names every bad key, with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise ScenarioError([FieldError("$", f"not TOML: {exc}", line)], source=source) from None
    return Scenario.from_dict(data, source=source, lines=key_lines(text))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario from a file, or the built-in scenario of that name (`builtin_scenarios`)."""
    text = str(name_or_path)
    if text in BUILTIN_SCENARIOS:
        resource = resources.files("coplib.simulation") / "scenarios" / f"{text}.toml"
        return parse_scenario(resource.read_text(encoding="utf-8"), source=text)
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(BUILTIN_SCENARIOS)
        raise ScenarioError(
            [FieldError("$", f"no scenario file {text!r} and no built-in scenario of that name (built in: {known})")],
            source=text,
        )
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([FieldError("$", f"cannot be read: {exc}")], source=text) from None
    return parse_scenario(content, source=text)


#: The built-in scenarios (TOML files shipped with coplib), by name, with a line each.
BUILTIN_SCENARIOS: Final[dict[str, str]] = {
    "mutual-help": "a mutual-help network of 120 people with organised experts and the answer guarantee (seeds/000)",
    "mutual-help-small": "the same network at 30 people over 12 weeks: quick to run, for trials and tests",
    "launch": "a new community of practice in its first half-year: a core group, newcomers arriving every week",
}


def builtin_scenarios() -> dict[str, str]:
    """The built-in scenarios' names and what each is."""
    return dict(BUILTIN_SCENARIOS)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[str, int]:
    """The line (1 for the first) of each table header and key of a TOML text, by dotted path
    (a small scan: see the module's docstring)."""
    lines: dict[str, int] = {}
    table: list[str] = []
    depth = 0  # inside a multi-line array or inline table of a previous key
    in_string: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_string is not None:
            if in_string in line:
                in_string = None
            continue
        if depth == 0:
            header = _HEADER.match(line)
            if header:
                table = _split_key(header.group(1))
                lines.setdefault(".".join(table), number)
                continue
            assign = _ASSIGN.match(line)
            if assign:
                path = ".".join([*table, *_split_key(assign.group(1))])
                lines.setdefault(path, number)
                line = line[assign.end() :]
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_string = quote
        stripped = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'", "", line).split("#", 1)[0]
        depth = max(0, depth + stripped.count("[") + stripped.count("{") - stripped.count("]") - stripped.count("}"))
    return lines


# -- the checks -------------------------------------------------------------------------------------


_TOP: Final = ("name", "description", "weeks", "seed", "start", "organisation", "communities", "population", "personas")
_COMMUNITY: Final = (
    "name",
    "kind",
    "tags",
    "vocation",
    "answer_guarantee",
    "organise_experts",
    "rules",
    "disabled_policies",
    "policy_settings",
)
_GROUP: Final = (
    "persona",
    "count",
    "arrivals_per_week",
    "max_arrivals",
    "expertise",
    "tags_per_person",
    "communities",
    "working_hours",
    "working_days",
    "absence",
    "locale",
)


class _Checker:
    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[FieldError] = []

    def error(self, path: tuple[str, ...], message: str) -> None:
        line = None
        for n in range(len(path), 0, -1):  # the key's own line, else its table's
            line = self.lines.get(".".join(path[:n]))
            if line is not None:
                break
        self.errors.append(FieldError("$" + "".join(f".{p}" for p in path), message, line))

    def table(self, value: Any, path: tuple[str, ...], keys: Iterable[str] | None) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            self.error(path, f"must be a table, got {_kind(value)}")
            return {}
        if keys is not None:
            known = tuple(keys)
            for key in value:
                if key not in known:
                    self.error((*path, str(key)), f"unknown key; known keys here: {', '.join(known)}")
        return dict(value)

    def text(self, value: Any, path: tuple[str, ...], *, default: str, max_chars: int = 200) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
            self.error(path, f"must be text of 1 to {max_chars} characters")
            return default
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            self.error(path, "must not hold control characters")
            return default
        return value

    def whole(self, value: Any, path: tuple[str, ...], *, default: int, low: int, high: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"must be a whole number from {low} to {high}, got {_kind(value)}")
            return default
        if not low <= value <= high:
            self.error(path, f"must be from {low} to {high}, got {value}")
            return default
        return value

    def number(self, value: Any, path: tuple[str, ...], *, default: float, low: float, high: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.error(path, f"must be a number from {low:g} to {high:g}, got {_kind(value)}")
            return default
        if value < 0 and low >= 0:
            self.error(path, f"must not be negative, got {value:g}")
            return default
        if not low <= value <= high:
            self.error(path, f"must be from {low:g} to {high:g}, got {value:g}")
            return default
        return float(value)

    def boolean(self, value: Any, path: tuple[str, ...], *, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(path, f"must be true or false, got {_kind(value)}")
            return default
        return value

    def strings(self, value: Any, path: tuple[str, ...]) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            self.error(path, "must be a list of text")
            return []
        return list(value)

    def tags(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for i, raw in enumerate(self.strings(value, path)):
            tag = normalise_tag(raw)
            try:
                check_tag("$", tag)
            except InvalidInputError as exc:
                self.error((*path, str(i)), exc.errors[0].message if exc.errors else "not a tag")
                continue
            if tag not in out:
                out.append(tag)
        return tuple(out)

    # -- the document -----------------------------------------------------------------------------

    def scenario(self, raw: Mapping[str, Any]) -> Scenario:
        data = self.table(raw, (), _TOP)
        name = self.text(data.get("name"), ("name",), default="scenario", max_chars=80)
        description = self.text(data.get("description"), ("description",), default="", max_chars=2000)
        weeks = self.whole(data.get("weeks"), ("weeks",), default=26, low=1, high=MAX_WEEKS)
        seed = self.whole(data.get("seed"), ("seed",), default=1, low=0, high=MAX_SEED)
        start = self.start(data.get("start"))
        org = self.table(data.get("organisation", {}), ("organisation",), ("name",))
        organisation = self.text(org.get("name"), ("organisation", "name"), default="Simulated organisation")
        communities = self.communities(data.get("communities"))
        behaviours, reactions = self.personas(data.get("personas", {}))
        population = self.population(data.get("population"), {c.key: c for c in communities})
        if self.errors:
            raise ScenarioError(self.errors, source=self.source)
        document = copy.deepcopy(dict(data))
        document.update({"name": name, "weeks": weeks, "seed": seed, "start": start.isoformat()})
        return Scenario(
            name=name,
            description=description,
            weeks=weeks,
            seed=seed,
            start=start,
            organisation=organisation,
            communities=communities,
            population=population,
            behaviours=behaviours,
            reactions=reactions,
            data=document,
        )

    def start(self, value: Any) -> date:
        if value is None:
            return DEFAULT_START
        day: date | None = None
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        elif isinstance(value, str):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                day = None
        if day is None:
            self.error(("start",), f"must be a day such as 2026-01-05, got {_kind(value)}")
            return DEFAULT_START
        if day.weekday() != 0:
            self.error(("start",), f"must be a Monday (the store's weeks start on Monday), got a {day:%A}")
            return DEFAULT_START
        return day

    def communities(self, value: Any) -> tuple[CommunitySpec, ...]:
        path = ("communities",)
        if value is None:
            self.error(path, "a scenario needs at least one community ([communities.KEY] with a name)")
            return ()
        table = self.table(value, path, None)
        if not table and isinstance(value, Mapping):
            self.error(path, "a scenario needs at least one community")
        out = []
        for key, raw in table.items():
            here = (*path, key)
            if not _KEY.match(key):
                self.error(here, "a community key is 1 to 40 lower-case letters, digits, '-' or '_'")
                continue
            c = self.table(raw, here, _COMMUNITY)
            kind_text = c.get("kind", CommunityKind.MUTUAL_HELP.value)
            try:
                kind = CommunityKind(kind_text)
            except (ValueError, TypeError):
                self.error((*here, "kind"), f"must be one of {', '.join(k.value for k in CommunityKind)}")
                kind = CommunityKind.MUTUAL_HELP
            tags = self.tags(c.get("tags"), (*here, "tags"))
            if not tags:
                self.error((*here, "tags"), "a community of the simulation needs at least one tag (its themes)")
            rules: set[CharterRule] = set()
            for i, rule in enumerate(self.strings(c.get("rules"), (*here, "rules"))):
                try:
                    rules.add(CharterRule(rule))
                except ValueError:
                    self.error(
                        (*here, "rules", str(i)), f"unknown rule; known: {', '.join(r.value for r in CharterRule)}"
                    )
            disabled = set()
            for i, policy in enumerate(self.strings(c.get("disabled_policies"), (*here, "disabled_policies"))):
                if policy not in KNOWN_POLICIES:
                    self.error(
                        (*here, "disabled_policies", str(i)), f"unknown policy; known: {', '.join(KNOWN_POLICIES)}"
                    )
                else:
                    disabled.add(policy)
            settings: dict[str, dict[str, str]] = {}
            raw_settings = self.table(c.get("policy_settings", {}), (*here, "policy_settings"), None)
            for policy, values in raw_settings.items():
                where = (*here, "policy_settings", policy)
                if policy not in KNOWN_POLICIES:
                    self.error(where, f"unknown policy; known: {', '.join(KNOWN_POLICIES)}")
                    continue
                table_ = self.table(values, where, None)
                settings[policy] = {}
                for k, val in table_.items():
                    if not isinstance(val, str):
                        self.error((*where, k), f"a policy setting is text (the charter's form), got {_kind(val)}")
                    else:
                        settings[policy][k] = val
            guarantee = self.boolean(c.get("answer_guarantee"), (*here, "answer_guarantee"), default=True)
            out.append(
                CommunitySpec(
                    key=key,
                    name=self.text(c.get("name"), (*here, "name"), default=key, max_chars=120),
                    kind=kind,
                    tags=tags,
                    answer_guarantee=guarantee,
                    organise_experts=self.boolean(
                        c.get("organise_experts"), (*here, "organise_experts"), default=guarantee
                    ),
                    rules=frozenset(rules),
                    disabled_policies=frozenset(disabled),
                    policy_settings=settings,
                    vocation=self.text(
                        c.get("vocation"), (*here, "vocation"), default="Members help each other", max_chars=2000
                    ),
                )
            )
        return tuple(out)

    def personas(self, value: Any) -> tuple[dict[str, Behaviour], dict[str, Reactions]]:
        path = ("personas",)
        table = self.table(value, path, PERSONAS)
        behaviours = {p: default_behaviour(p) for p in PERSONAS}
        reactions = {p: Reactions() for p in PERSONAS}
        for persona, raw in table.items():
            if persona not in PERSONAS:
                continue  # reported as an unknown key
            here = (*path, persona)
            values = self.table(raw, here, (*BEHAVIOUR_KEYS, "reactions"))
            changes: dict[str, Any] = {}
            for key in BEHAVIOUR_KEYS:
                if key not in values:
                    continue
                spec = BEHAVIOUR_KEYS[key]
                if isinstance(spec, str):
                    if values[key] not in DIGEST_CHOICES:
                        self.error((*here, key), f"must be one of {', '.join(DIGEST_CHOICES)}")
                    else:
                        changes[key] = values[key]
                else:
                    low, high = spec
                    changes[key] = self.number(values[key], (*here, key), default=0.0, low=low, high=high)
            behaviours[persona] = attrs.evolve(behaviours[persona], **changes)
            reaction_table = self.table(values.get("reactions", {}), (*here, "reactions"), REACTION_KEYS)
            reaction_changes = {
                key: self.number(reaction_table[key], (*here, "reactions", key), default=1.0, low=0.0, high=10.0)
                for key in REACTION_KEYS
                if key in reaction_table
            }
            reactions[persona] = attrs.evolve(reactions[persona], **reaction_changes)
        return behaviours, reactions

    def population(self, value: Any, communities: Mapping[str, CommunitySpec]) -> tuple[Group, ...]:
        path = ("population",)
        if value is None:
            self.error(path, "a scenario needs a population ([population.KEY] with a persona and a count)")
            return ()
        table = self.table(value, path, None)
        out = []
        total = 0
        for key, raw in table.items():
            here = (*path, key)
            if not _KEY.match(key):
                self.error(here, "a group key is 1 to 40 lower-case letters, digits, '-' or '_'")
                continue
            g = self.table(raw, here, _GROUP)
            persona = g.get("persona")
            if persona not in PERSONAS:
                self.error((*here, "persona"), f"unknown persona {persona!r}; known: {', '.join(PERSONAS)}")
                persona = "regular"
            count = self.whole(g.get("count"), (*here, "count"), default=0, low=0, high=MAX_PEOPLE)
            arrivals = self.number(
                g.get("arrivals_per_week"), (*here, "arrivals_per_week"), default=0.0, low=0, high=1000
            )
            default_max = math.ceil(arrivals * 2 * MAX_WEEKS / 10) + 10 if arrivals else 0
            max_arrivals = self.whole(
                g.get("max_arrivals"),
                (*here, "max_arrivals"),
                default=min(default_max, MAX_PEOPLE),
                low=0,
                high=MAX_PEOPLE,
            )
            total += count + max_arrivals
            expertise = self.tags(g.get("expertise"), (*here, "expertise"))
            in_communities = tuple(self.strings(g.get("communities"), (*here, "communities"))) or tuple(communities)
            for i, ckey in enumerate(in_communities):
                if ckey not in communities:
                    self.error((*here, "communities", str(i)), f"no community {ckey!r} in this scenario")
            every_tag = {t for ckey in in_communities if ckey in communities for t in communities[ckey].tags}
            for i, tag in enumerate(expertise):
                if every_tag and tag not in every_tag:
                    self.error((*here, "expertise", str(i)), f"{tag!r} is not a tag of the group's communities")
            tags_per_person = self.whole(
                g.get("tags_per_person"),
                (*here, "tags_per_person"),
                default=min(2, max(len(expertise), 0)),
                low=0,
                high=50,
            )
            if expertise and tags_per_person > len(expertise):
                self.error((*here, "tags_per_person"), f"must be at most the {len(expertise)} tags of its expertise")
                tags_per_person = len(expertise)
            out.append(
                Group(
                    key=key,
                    persona=str(persona),
                    count=count,
                    arrivals_per_week=arrivals,
                    max_arrivals=max_arrivals if arrivals else 0,
                    expertise=expertise,
                    tags_per_person=tags_per_person,
                    communities=in_communities,
                    working_hours=self.hours(g.get("working_hours"), (*here, "working_hours")),
                    working_days=self.days(g.get("working_days"), (*here, "working_days")),
                    absence=self.number(g.get("absence"), (*here, "absence"), default=0.0, low=0.0, high=1.0),
                    locale=self.locale(g.get("locale"), (*here, "locale")),
                )
            )
        if total > MAX_PEOPLE:
            self.error(path, f"at most {MAX_PEOPLE} people (counts and arrivals), got {total}")
        if isinstance(value, Mapping) and not out and not self.errors:
            self.error(path, "a scenario needs at least one group of people")
        return tuple(out)

    def hours(self, value: Any, path: tuple[str, ...]) -> tuple[int, int]:
        if value is None:
            return (9 * 60, 17 * 60)
        found = _HOURS.match(value) if isinstance(value, str) else None
        if found:
            h1, m1, h2, m2 = (int(x) for x in found.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60 and start < end <= 24 * 60:
                return (start, end)
        self.error(path, f"must be hours such as '09:00-17:00' (start before end), got {value!r:.40}")
        return (9 * 60, 17 * 60)

    def days(self, value: Any, path: tuple[str, ...]) -> frozenset[int]:
        if value is None:
            return frozenset(range(5))
        text = value if isinstance(value, str) else ""
        out: set[int] = set()
        for part in (p.strip().lower() for p in text.split(",") if p.strip()):
            first, dash, last = part.partition("-")
            if first not in _DAYS or (dash and last not in _DAYS):
                out = set()
                break
            a, b = _DAYS.index(first), _DAYS.index(last) if dash else _DAYS.index(first)
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
        if not out:
            self.error(path, f"must be days such as 'mon-fri' or 'mon, wed, fri', got {value!r:.40}")
            return frozenset(range(5))
        return frozenset(out)

    def locale(self, value: Any, path: tuple[str, ...]) -> str:
        if value is None:
            return "en"
        if value not in ("en", "fr"):
            self.error(path, "must be 'en' or 'fr'")
            return "en"
        return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r:.40}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__
