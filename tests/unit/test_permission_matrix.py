"""The exhaustive permission test: every action × role × membership status × visibility ×
community stage × admission × the person's relation to the community's organisations
(its own, another, one it is shared with, listed in none, not listed) × whether they
administer its organisation × whether they wrote the contribution concerned, generated from
`PERMISSION_TABLE` and compared with an independent reading of docs/permissions.md.

The expectation never calls `decide`: `expected` reads the rule table as the page prints it
(parsed below) and applies the general rules and the joining logic as the page states them.
So a change to `decide` that the page does not describe, or a page that no longer says what
`decide` does, fails here, naming the situation."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coplib import (
    SYSTEM,
    Action,
    Admission,
    AttributeRule,
    Charter,
    Community,
    CommunityKind,
    Decision,
    LifecycleStage,
    Membership,
    MembershipPolicy,
    MembershipStatus,
    Organisation,
    OrganisationCreators,
    Person,
    Role,
    Visibility,
    decide,
)
from coplib.domain.permissions import PERMISSION_TABLE

Outcome = Literal["yes", "no", "unknown"]

PAGE = (Path(__file__).parents[2] / "docs" / "permissions.md").read_text(encoding="utf-8")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ACTOR = "pat"
OTHER = "someone-else"
ORG = "acme"
PARTNER = "club"

# -- the documented table, as the page prints it ------------------------------------------------


@attrs.frozen
class DocumentedRule:
    """One row of the page's rule table."""

    scope: str
    members: bool
    roles: frozenset[str]
    owner: bool
    administrators: bool
    outsiders: frozenset[str]
    in_closed: bool
    across_organisations: bool


def _section(title: str) -> list[str]:
    lines = PAGE.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    return [line for line in lines if line.startswith("|")]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(title: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (by their first cell, backticks taken off) of a section's table."""
    header, _, *rows = _section(title)
    return _cells(header), {_cells(row)[0].strip("`"): _cells(row)[1:] for row in rows}


def _documented_rules() -> dict[str, DocumentedRule]:
    header, rows = _table("The table")
    column = {name: i - 1 for i, name in enumerate(header)}

    def cell(row: list[str], name: str) -> str:
        return row[column[name]]

    def items(text: str) -> frozenset[str]:
        return frozenset() if text == "-" else frozenset(t.strip() for t in text.split(","))

    return {
        action: DocumentedRule(
            scope=cell(row, "scope"),
            members=cell(row, "every active member") == "yes",
            roles=items(cell(row, "or one of these roles")),
            owner=cell(row, "or the author") == "yes",
            administrators=cell(row, "or its organisation's administrators") == "yes",
            outsiders=items(cell(row, "outsiders, in")),
            in_closed=cell(row, "in a closed community") == "yes",
            across_organisations=cell(row, "with a membership, of another organisation") == "yes",
        )
        for action, row in rows.items()
    }


DOCUMENTED = _documented_rules()
LEAVABLE = {"active", "invited", "pending"}


def test_the_page_documents_every_action_of_the_permission_table() -> None:
    assert set(DOCUMENTED) == {a.value for a in Action} == {a.value for a in PERMISSION_TABLE}


# -- a situation, and what the page says of it -----------------------------------------------------

Relation = Literal["own", "other", "shared", "listed in none", "not listed"]
RELATIONS: tuple[Relation, ...] = ("own", "other", "shared", "listed in none", "not listed")


@attrs.frozen
class Situation:
    """Everything a decision depends on, in plain values."""

    relation: Relation = "own"
    administrator: bool = False  # of the community's organisation
    status: str | None = None  # the person's membership status, None: never a member
    role: str | None = None  # held besides member, by an active member
    visibility: str = "open"
    stage: str = "maturing"
    admission: str = "open"
    matches_rule: bool = False  # for admission by rule
    author: bool = False  # of the contribution concerned (the person concerned, for scope person)
    active: bool = True  # still in the organisation
    known: bool = True  # to the directory

    @property
    def organisations(self) -> frozenset[str] | None:
        return {
            "own": frozenset({ORG}),
            "other": frozenset({"globex"}),
            "shared": frozenset({PARTNER}),
            "listed in none": frozenset(),
            "not listed": None,
        }[self.relation]

    def belongs(self, organisation_id: str) -> bool:
        """General rule 5: of the organisations listed; of every one when not listed."""
        listed = self.organisations
        return listed is None or organisation_id in listed

    @property
    def within(self) -> bool:
        community_organisations = {ORG, PARTNER} if self.relation == "shared" else {ORG}
        return any(self.belongs(o) for o in community_organisations)


def _join(s: Situation) -> Outcome:
    """The page's "Joining" section: an invited person always joins; a private community is
    joined by invitation only; else by admission."""
    if s.status == "active":
        return "no"
    if s.status == "invited":
        return "yes"
    if s.visibility == "private":
        return "no"
    if s.admission == "open":
        return "yes"
    if s.admission == "rule":
        return "yes" if s.matches_rule else "no"
    return "no"


def _request(s: Situation) -> Outcome:
    if s.status in LEAVABLE or s.visibility == "private":
        return "no"
    return "yes" if s.admission == "approval" else "no"


def _in_community(action: str, s: Situation) -> Outcome:
    rule = DOCUMENTED[action]
    closed = s.stage == "closed"
    if rule.administrators and s.administrator:  # general rule 6
        return "no" if closed and not rule.in_closed else "yes"
    if not s.within and not (rule.across_organisations and s.status in LEAVABLE):  # rule 5
        return "unknown"
    if s.status == "removed":  # rule 8
        return "no"
    if closed and not rule.in_closed:  # rule 9
        return "no"
    if action == "see" and s.status in LEAVABLE:
        return "yes"
    if action == "join":
        return _join(s)
    if action == "request_membership":
        return _request(s)
    if action == "leave":
        return "yes" if s.status in LEAVABLE else "no"
    if action in ("endorse", "flag_contribution") and s.author:  # rule 10
        return "no"
    member = s.status == "active"
    if member and rule.members:
        return "yes"
    if member and s.role in rule.roles:
        return "yes"
    if member and rule.owner and s.author:
        return "yes"
    if not member and s.visibility in rule.outsiders:
        return "yes"
    return "no"


def expected(action: str, s: Situation) -> Outcome:
    """What docs/permissions.md says `decide` answers for an active, known person (general
    rules 2 to 11; the `SYSTEM` actor is tested apart)."""
    rule = DOCUMENTED[action]
    if not s.known or not s.active:  # rules 2, 3
        # rule 11: and in a private community, which they may not see, they get the unknown id's answer
        return "unknown" if rule.scope == "community" and s.visibility == "private" else "no"
    if rule.scope == "host":  # rule 4
        return "no"
    if rule.scope == "person":  # and the administrators of the person's organisation, where the table says
        return "yes" if s.author or (rule.administrators and s.administrator) else "no"
    if action == "create_organisation":
        # Its summary: the default setting lets any active person create an organisation the
        # directory places them in (the other settings are read from their own table below).
        return "yes" if s.belongs(ORG) else "no"
    if rule.scope == "organisation":
        if rule.administrators and s.administrator:
            return "yes"
        if not s.belongs(ORG):
            return "no" if s.administrator else "unknown"  # its administrators know it exists
        if rule.owner and s.author:  # a candidate's proposer (value and launch)
            return "yes"
        return "yes" if rule.members else "no"
    outcome = _in_community(action, s)
    if outcome == "no" and s.visibility == "private" and _in_community("see", s) != "yes":
        return "unknown"  # rule 11: a private community is unknown to whoever may not see it
    return outcome


# -- the same situation, as values `decide` takes -------------------------------------------------


def _community(s: Situation) -> Community:
    rule = AttributeRule.of(job="welder") if s.admission == "rule" else None
    return Community(
        id="c",
        organisation_id=ORG,
        name="C",
        kind=CommunityKind.PRACTICE,
        visibility=Visibility(s.visibility),
        stage=LifecycleStage(s.stage),
        tags=frozenset(),
        charter=Charter(vocation="V", membership_policy=MembershipPolicy(Admission(s.admission), rule)),
        charter_version=0,
        created_at=T0,
        created_by=OTHER,
        shared_with=frozenset({PARTNER}) if s.relation == "shared" else frozenset(),
    )


def _membership(s: Situation) -> Membership | None:
    if s.status is None:
        return None
    status = MembershipStatus(s.status)
    roles = {Role.MEMBER, *([Role(s.role)] if s.role else [])} if status is MembershipStatus.ACTIVE else set()
    return Membership(community_id="c", person_id=ACTOR, status=status, since=T0, roles=frozenset(roles))


def _person(s: Situation) -> Person | None:
    if not s.known:
        return None
    attributes = {"job": "welder"} if s.matches_rule else {}
    return Person(id=ACTOR, display_name="Pat", active=s.active, organisations=s.organisations, attributes=attributes)


def _organisation(s: Situation) -> Organisation:
    administrators = frozenset({ACTOR} if s.administrator else {OTHER})
    return Organisation(id=ORG, name="Acme", created_at=T0, created_by=OTHER, administrators=administrators)


def decided(action: str, s: Situation) -> Decision:
    author = ACTOR if s.author else OTHER
    return decide(
        Action(action),
        actor_id=ACTOR,
        actor=_person(s),
        community=_community(s),
        membership=_membership(s),
        owner_id=author,
        target_author_id=author,
        organisation=_organisation(s),
    )


def outcome(decision: Decision) -> Outcome:
    if decision.allowed:
        return "yes"
    return "unknown" if decision.concealed else "no"


# -- every situation ------------------------------------------------------------------------------

#: Admissions that suit each visibility (a private community never admits everyone).
ADMISSIONS = {
    "open": ("open", "approval", "invitation", "rule"),
    "restricted": ("open", "approval", "invitation", "rule"),
    "private": ("approval", "invitation", "rule"),
}
#: Who holds what: never a member, each status without a role, an active member with each role.
HOLDINGS: tuple[tuple[str | None, str | None], ...] = (
    (None, None),
    *((status.value, None) for status in MembershipStatus),
    *(("active", role.value) for role in Role if role is not Role.MEMBER),
)
#: The admission each visibility usually goes with, for the actions that do not depend on it.
USUAL_ADMISSION = {"open": "open", "restricted": "approval", "private": "invitation"}
#: The actions whose answer depends on the charter's admission.
BY_ADMISSION = {"join", "request_membership"}


def situations(action: str) -> Iterator[Situation]:
    for relation, administrator, (status, role), visibility, stage, author in itertools.product(
        RELATIONS, (False, True), HOLDINGS, ADMISSIONS, ("maturing", "closed"), (False, True)
    ):
        admissions = ADMISSIONS[visibility] if action in BY_ADMISSION else (USUAL_ADMISSION[visibility],)
        for admission in admissions:
            for matches in (False, True) if admission == "rule" else (False,):
                yield Situation(
                    relation=relation,
                    administrator=administrator,
                    status=status,
                    role=role,
                    visibility=visibility,
                    stage=stage,
                    admission=admission,
                    matches_rule=matches,
                    author=author,
                )


def _mismatches(action: str, cases: Iterator[Situation]) -> tuple[int, list[str]]:
    checked, wrong = 0, []
    for situation in cases:
        checked += 1
        decision = decided(action, situation)
        if outcome(decision) != expected(action, situation):
            said = f"decide says {outcome(decision)} ({decision.reason})"
            wrong.append(f"{situation}: {said}, the page {expected(action, situation)}")
    return checked, wrong


@pytest.mark.parametrize("action", [a.value for a in Action])
def test_every_situation_is_decided_as_the_permissions_page_documents(action: str) -> None:
    checked, wrong = _mismatches(action, situations(action))

    assert checked >= 5 * 2 * len(HOLDINGS) * 3 * 2 * 2
    assert not wrong, f"{len(wrong)} of {checked} situations differ, e.g.\n" + "\n".join(wrong[:5])


@pytest.mark.parametrize("action", [a.value for a in Action])
@pytest.mark.parametrize("who", ["unknown to the directory", "left the organisation"])
def test_nobody_unknown_or_gone_may_do_anything_whatever_else_holds(action: str, who: str) -> None:
    gone = {"known": False} if who == "unknown to the directory" else {"active": False}
    cases = (attrs.evolve(s, **gone) for s in situations(action) if s.relation in ("own", "other"))

    checked, wrong = _mismatches(action, cases)

    assert checked and not wrong, "\n".join(wrong[:5])


@pytest.mark.parametrize("action", [a.value for a in Action])
def test_the_system_actor_may_do_everything_everywhere(action: str) -> None:
    for situation in situations(action):
        if situation.relation in ("other", "listed in none"):
            assert decide(
                Action(action),
                actor_id=SYSTEM,
                actor=None,
                community=_community(situation),
                membership=None,
                organisation=_organisation(situation),
            ).allowed


def test_the_general_concealment_rules_are_on_the_page() -> None:
    # The expectation above applies these rules as the page states them: it must still say so.
    for words in (
        "**Organisations kept apart.**",
        "is kept out of none, unless the host opened the engine with `require_organisations=True`",
        "Only `leave` stays possible to someone who holds a membership there already.",
        "**Organisation administrators.**",
        "**A private community is unknown to whoever may not see it.**",
        "invited person may always join",
        "any active person, for an organisation the directory places them in (the default)",
    ):
        assert words in PAGE


# -- the page's own tables of organisations, read back ----------------------------------------------

#: The columns of the page's "Organisations" table, as situations.
ORGANISATION_COLUMNS: dict[str, Situation] = {
    "of its organisation": Situation(relation="own"),
    "of another organisation": Situation(relation="other"),
    "of an organisation it is shared with": Situation(relation="shared"),
    "listed in no organisation": Situation(relation="listed in none"),
    "not listed": Situation(relation="not listed"),
    "facilitator, of another organisation": Situation(relation="other", status="active", role="facilitator"),
    "facilitator, of an organisation it is shared with": Situation(
        relation="shared", status="active", role="facilitator"
    ),
    "its organisation's administrator, of it": Situation(relation="own", administrator=True),
    "its organisation's administrator, of another": Situation(relation="other", administrator=True),
}


def test_the_pages_table_of_organisations_is_what_the_documented_rules_give() -> None:
    header, rows = _table("Organisations")
    assert header[1:] == list(ORGANISATION_COLUMNS)
    assert rows, "the table lists the actions"
    for action, cells in rows.items():
        for (column, situation), cell in zip(ORGANISATION_COLUMNS.items(), cells, strict=True):
            assert cell == expected(action, situation), f"{action}, {column}"


CREATOR_SETTINGS: dict[str, OrganisationCreators] = {
    '`"anyone"` (the default)': OrganisationCreators.of("anyone"),
    "a list naming the person": OrganisationCreators.of([ACTOR]),
    "a list naming others only": OrganisationCreators.of([OTHER]),
    '`"host"`': OrganisationCreators.of("host"),
}
CREATOR_PEOPLE: dict[str, frozenset[str] | None] = {
    "listed in it": frozenset({ORG}),
    "listed in another only": frozenset({"globex"}),
    "not listed": None,
}


def test_who_creates_an_organisation_is_decided_as_the_pages_table_says() -> None:
    header, rows = _table("Who creates an organisation")
    assert header[1:] == [*CREATOR_PEOPLE, "`SYSTEM`"]
    assert list(rows) == [s.strip("`") for s in CREATOR_SETTINGS]
    to_be = Organisation(id=ORG, name="Acme", created_at=T0, created_by=ACTOR)
    for (label, setting), cells in zip(CREATOR_SETTINGS.items(), rows.values(), strict=True):
        for (who, organisations), cell in zip(CREATOR_PEOPLE.items(), cells[:-1], strict=True):
            person = Person(id=ACTOR, display_name="Pat", organisations=organisations)
            decision = decide(
                Action.CREATE_ORGANISATION,
                actor_id=ACTOR,
                actor=person,
                community=None,
                membership=None,
                organisation=to_be,
                creators=setting,
            )
            assert outcome(decision) == cell, f"{label}, {who}"
        assert cells[-1] == "yes"


# -- organisations as arbitrary sets ---------------------------------------------------------------

organisation_ids = st.sampled_from(["acme", "club", "globex", "initech", "umbrella"])


@given(
    listed=st.none() | st.frozensets(organisation_ids),
    own=organisation_ids,
    shared=st.frozensets(organisation_ids),
    action=st.sampled_from([a for a in Action if PERMISSION_TABLE[a].scope == "community"]),
)
def test_a_community_is_unknown_exactly_to_people_of_none_of_its_organisations(
    listed: frozenset[str] | None, own: str, shared: frozenset[str], action: Action
) -> None:
    community = attrs.evolve(_community(Situation()), organisation_id=own, shared_with=shared - {own})
    person = Person(id=ACTOR, display_name="Pat", organisations=listed)

    decision = decide(action, actor_id=ACTOR, actor=person, community=community, membership=None)

    of_it = listed is None or bool(listed & ({own} | shared))
    assert decision.concealed is not of_it
    if not of_it:
        assert not decision.allowed
