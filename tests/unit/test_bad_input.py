"""Bad input to every public command: a wrong type, an empty or oversized text, an unknown id
or a naive datetime gets a typed error naming the field, and nothing is stored."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from coplib import (
    SYSTEM,
    Charter,
    Community,
    CoplibError,
    Engine,
    InvalidInputError,
    NotFoundError,
)
from coplib.domain import validation as limits
from tests.unit.support import START, snapshot

LATER = START + timedelta(days=7)
NAIVE = datetime(2026, 1, 12, 9, 0)
TOO_LONG_TITLE = "t" * (limits.TITLE_MAX + 1)
TOO_BIG_BODY = "b" * (limits.BODY_MAX_BYTES + 1)
#: Few characters, many bytes: the body limit is in UTF-8 bytes.
TOO_BIG_BODY_IN_BYTES = "\N{GRINNING FACE}" * (limits.BODY_MAX_BYTES // 4 + 1)
TOO_MANY_TAGS = [f"tag{i}" for i in range(limits.TAGS_MAX + 1)]


@attrs.frozen
class World:
    community: str
    restricted: str
    question: str
    answer: str
    resource: str
    meeting: str


@pytest.fixture
def world(engine: Engine, community: Community, restricted: Community) -> World:
    for person in ("ben", "chloe"):
        engine.join(person, community.id)
    engine.assign_role("ana", community.id, "ben", "expert", tags=["tig"])
    engine.request_membership("dev", restricted.id)
    question = engine.ask("chloe", community.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")
    resource = engine.share_resource("ben", community.id, title="Procedure", location="https://wps")
    meeting = engine.schedule_meeting("ana", community.id, title="Call", starts_at=LATER, ends_at=LATER)
    # A second administrator of acme, and a partner organisation the restricted community is shared with.
    engine.appoint_administrator("eve", "acme", "ben")
    engine.create_organisation(SYSTEM, "Partner", organisation_id="partner")
    engine.share_community("ana", restricted.id, "partner")
    engine.propose_community("chloe", "acme", name="Brazing", vocation="Braze well")  # value and launch
    return World(community.id, restricted.id, question.id, answer.id, resource.id, meeting.id)


Call = Callable[[Engine, World], object]


def _candidate(engine: Engine) -> str:
    """The candidate community the world holds (read, not made: a call must change nothing else)."""
    return next(c.id for c in engine.store.find("community_candidate"))


#: One valid call of every public command, by name; each takes keyword overrides.
COMMANDS: dict[str, Callable[..., object]] = {
    "create_organisation": lambda e, w, **k: e.create_organisation(**{"actor": "ana", "name": "Beta", **k}),
    "appoint_administrator": lambda e, w, **k: e.appoint_administrator(
        **{"actor": "eve", "organisation_id": "acme", "person_id": "chloe", **k}
    ),
    "withdraw_administrator": lambda e, w, **k: e.withdraw_administrator(
        **{"actor": "eve", "organisation_id": "acme", "person_id": "ben", **k}
    ),
    "share_community": lambda e, w, **k: e.share_community(
        **{"actor": "ana", "community_id": w.community, "organisation_id": "partner", **k}
    ),
    "unshare_community": lambda e, w, **k: e.unshare_community(
        **{"actor": "ana", "community_id": w.restricted, "organisation_id": "partner", **k}
    ),
    "create_community": lambda e, w, **k: e.create_community(
        **{"actor": "ana", "organisation_id": "acme", "name": "New", "vocation": "Learn", **k}
    ),
    "update_community": lambda e, w, **k: e.update_community(
        **{"actor": "ana", "community_id": w.community, "name": "Renamed", **k}
    ),
    "change_stage": lambda e, w, **k: e.change_stage(
        **{"actor": "ana", "community_id": w.community, "stage": "maturing", **k}
    ),
    "amend_charter": lambda e, w, **k: e.amend_charter(
        **{"actor": "ana", "community_id": w.community, "charter": Charter(vocation="New"), "reason": "Why", **k}
    ),
    "invite": lambda e, w, **k: e.invite(**{"actor": "ana", "community_id": w.community, "person_id": "eve", **k}),
    "request_membership": lambda e, w, **k: e.request_membership(**{"actor": "ben", "community_id": w.restricted, **k}),
    "approve": lambda e, w, **k: e.approve(**{"actor": "ana", "community_id": w.restricted, "person_id": "dev", **k}),
    "decline": lambda e, w, **k: e.decline(
        **{"actor": "ana", "community_id": w.restricted, "person_id": "dev", "reason": "No", **k}
    ),
    "join": lambda e, w, **k: e.join(**{"actor": "dev", "community_id": w.community, **k}),
    "leave": lambda e, w, **k: e.leave(**{"actor": "ben", "community_id": w.community, **k}),
    "remove": lambda e, w, **k: e.remove(
        **{"actor": "ana", "community_id": w.community, "person_id": "ben", "reason": "Spam", **k}
    ),
    "assign_role": lambda e, w, **k: e.assign_role(
        **{"actor": "ana", "community_id": w.community, "person_id": "ben", "role": "coach", **k}
    ),
    "withdraw_role": lambda e, w, **k: e.withdraw_role(
        **{"actor": "ana", "community_id": w.community, "person_id": "ben", "role": "expert", **k}
    ),
    "ask": lambda e, w, **k: e.ask(
        **{"actor": "ben", "community_id": w.community, "title": "Why?", "body": "Because", "tags": ["tig"], **k}
    ),
    "answer": lambda e, w, **k: e.answer(**{"actor": "ana", "question_id": w.question, "body": "This way", **k}),
    "accept": lambda e, w, **k: e.accept(**{"actor": "chloe", "answer_id": w.answer, **k}),
    "comment": lambda e, w, **k: e.comment(
        **{"actor": "ana", "target_kind": "answer", "target_id": w.answer, "body": "Indeed", **k}
    ),
    "endorse": lambda e, w, **k: e.endorse(**{"actor": "chloe", "target_kind": "answer", "target_id": w.answer, **k}),
    "share_resource": lambda e, w, **k: e.share_resource(
        **{"actor": "ben", "community_id": w.community, "title": "Guide", "location": "https://g", "tags": [], **k}
    ),
    "record_experience": lambda e, w, **k: e.record_experience(
        **{"actor": "ben", "community_id": w.community, "title": "Lesson", "body": "Learned", "tags": [], **k}
    ),
    "schedule_meeting": lambda e, w, **k: e.schedule_meeting(
        **{"actor": "ana", "community_id": w.community, "title": "Call", "starts_at": LATER, "ends_at": LATER, **k}
    ),
    "record_attendance": lambda e, w, **k: e.record_attendance(
        **{"actor": "ana", "meeting_id": w.meeting, "attendees": ["ben"], **k}
    ),
    "set_preferences": lambda e, w, **k: e.set_preferences(
        **{"actor": "ben", "person_id": "ben", "frequency": "daily", "unsubscribed": ["answer_posted"], **k}
    ),
    "withdraw": lambda e, w, **k: e.withdraw(
        **{"actor": "ben", "kind": "resource", "contribution_id": w.resource, "reason": "Old", **k}
    ),
    # value and launch (issue 14)
    "tell_value_story": lambda e, w, **k: e.tell_value_story(
        **{"actor": "chloe", "community_id": w.community, "contributions": [w.answer], "result": "Saved", **k}
    ),
    "propose_community": lambda e, w, **k: e.propose_community(
        **{"actor": "chloe", "organisation_id": "acme", "name": "Riveting", "vocation": "Rivet", **k}
    ),
    "revise_candidate": lambda e, w, **k: e.revise_candidate(
        **{"actor": "chloe", "candidate_id": _candidate(e), "name": "Brazing and soldering", **k}
    ),
    "drop_candidate": lambda e, w, **k: e.drop_candidate(
        **{"actor": "chloe", "candidate_id": _candidate(e), "reason": "No sponsor", **k}
    ),
    "launch_candidate": lambda e, w, **k: e.launch_candidate(**{"actor": "chloe", "candidate_id": _candidate(e), **k}),
}
#: The host API's commands (issue 16): editing and moderation.
COMMANDS.update(
    {
        "revise": lambda e, w, **k: e.revise(
            **{"actor": "ben", "kind": "answer", "contribution_id": w.answer, "body": "Nickel rods, 3.2 mm", **k}
        ),
        "retag": lambda e, w, **k: e.retag(**{"actor": "chloe", "question_id": w.question, "tags": ["tig"], **k}),
        "close_thread": lambda e, w, **k: e.close_thread(
            **{"actor": "chloe", "question_id": w.question, "reason": "Solved", **k}
        ),
        "lock_thread": lambda e, w, **k: e.lock_thread(
            **{"actor": "ana", "question_id": w.question, "reason": "Heated", **k}
        ),
        "flag": lambda e, w, **k: e.flag(
            **{"actor": "chloe", "kind": "answer", "contribution_id": w.answer, "reason": "Off-topic", **k}
        ),
        "hide": lambda e, w, **k: e.hide(
            **{"actor": "ana", "kind": "answer", "contribution_id": w.answer, "reason": "Off-topic", **k}
        ),
    }
)

#: (command, overrides, the field the error must name)
BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    # wrong types
    ("create_organisation", {"name": 42}, "$.name"),
    ("create_organisation", {"organisation_id": "has space"}, "$.organisation_id"),
    ("appoint_administrator", {"organisation_id": 3}, "$.organisation_id"),
    ("appoint_administrator", {"person_id": "has space"}, "$.person_id"),
    ("appoint_administrator", {"person_id": ["chloe"]}, "$.person_id"),
    ("withdraw_administrator", {"organisation_id": None}, "$.organisation_id"),
    ("withdraw_administrator", {"person_id": "bell\x07"}, "$.person_id"),
    ("share_community", {"organisation_id": ["partner"]}, "$.organisation_id"),
    ("share_community", {"community_id": 7}, "$.community_id"),
    ("share_community", {"organisation_id": "acme"}, "$.organisation_id"),  # its own organisation
    ("unshare_community", {"organisation_id": ""}, "$.organisation_id"),
    ("unshare_community", {"organisation_id": "acme"}, "$.organisation_id"),  # its own organisation
    ("create_community", {"name": None}, "$.name"),
    ("create_community", {"vocation": 7}, "$.vocation"),
    ("create_community", {"kind": "club"}, "$.kind"),
    ("create_community", {"visibility": "secret"}, "$.visibility"),
    ("create_community", {"stage": 3}, "$.stage"),
    ("create_community", {"tags": "welding"}, "$.tags"),
    ("create_community", {"charter": {"vocation": "x"}}, "$.charter"),
    ("create_community", {"organisation_id": ["acme"]}, "$.organisation_id"),
    ("update_community", {"visibility": 1}, "$.visibility"),
    ("update_community", {"tags": [1, 2]}, "$.tags[0]"),
    ("update_community", {"community_id": 12}, "$.community_id"),
    ("change_stage", {"stage": "dead"}, "$.stage"),
    ("amend_charter", {"charter": "new rules"}, "$.charter"),
    ("invite", {"person_id": 5}, "$.person_id"),
    ("decline", {"reason": 0}, "$.reason"),
    ("remove", {"reason": b"bytes"}, "$.reason"),
    ("assign_role", {"role": "king"}, "$.role"),
    ("assign_role", {"role": "expert", "tags": "tig"}, "$.tags"),
    ("withdraw_role", {"role": None}, "$.role"),
    ("ask", {"title": 3.5}, "$.title"),
    ("ask", {"tags": ["good", "Not Good!"]}, "$.tags[1]"),
    ("ask", {"tags": ["-dash-first"]}, "$.tags[0]"),
    ("answer", {"question_id": None}, "$.question_id"),
    ("answer", {"question_id": "bell\x07"}, "$.question_id"),  # a control character, as the domain refuses
    ("accept", {"answer_id": 9}, "$.answer_id"),
    ("comment", {"target_kind": "community"}, "$.target_kind"),
    ("endorse", {"target_id": 4}, "$.target_id"),
    ("share_resource", {"kind": "video"}, "$.kind"),
    ("set_preferences", {"frequency": "hourly"}, "$.frequency"),
    ("set_preferences", {"person_id": 12}, "$.person_id"),
    ("set_preferences", {"unsubscribed": "answer_posted"}, "$.unsubscribed"),
    ("share_resource", {"location": None}, "$.location"),
    ("record_experience", {"kind": "story"}, "$.kind"),
    ("schedule_meeting", {"starts_at": "2026-01-12T09:00:00Z"}, "$.starts_at"),
    ("record_attendance", {"attendees": "ben"}, "$.attendees"),
    ("record_attendance", {"attendees": ["ben", 3]}, "$.attendees[1]"),
    ("withdraw", {"kind": "community"}, "$.kind"),
    ("withdraw", {"contribution_id": 1}, "$.contribution_id"),
    ("withdraw", {"reason": 1}, "$.reason"),
    # empty or blank texts
    ("create_organisation", {"name": ""}, "$.name"),
    ("create_community", {"name": "   "}, "$.name"),
    ("create_community", {"vocation": ""}, "$.vocation"),
    ("update_community", {"name": ""}, "$.name"),
    ("amend_charter", {"reason": ""}, "$.reason"),
    ("ask", {"title": ""}, "$.title"),
    ("ask", {"body": " \n\t"}, "$.body"),
    ("answer", {"body": ""}, "$.body"),
    ("comment", {"body": ""}, "$.body"),
    ("share_resource", {"title": ""}, "$.title"),
    ("share_resource", {"location": ""}, "$.location"),
    ("record_experience", {"body": ""}, "$.body"),
    ("schedule_meeting", {"title": ""}, "$.title"),
    # oversized texts and too many tags
    ("create_community", {"name": "n" * (limits.NAME_MAX + 1)}, "$.name"),
    ("create_community", {"tags": TOO_MANY_TAGS}, "$.tags"),
    ("update_community", {"tags": TOO_MANY_TAGS}, "$.tags"),
    ("ask", {"title": TOO_LONG_TITLE}, "$.title"),
    ("ask", {"body": TOO_BIG_BODY}, "$.body"),
    ("ask", {"body": TOO_BIG_BODY_IN_BYTES}, "$.body"),
    ("ask", {"tags": TOO_MANY_TAGS}, "$.tags"),
    ("ask", {"tags": ["t" * (limits.TAG_MAX + 1)]}, "$.tags[0]"),
    ("answer", {"body": TOO_BIG_BODY}, "$.body"),
    ("comment", {"body": "c" * (limits.SHORT_TEXT_MAX * 4 + 1)}, "$.body"),
    ("share_resource", {"title": TOO_LONG_TITLE}, "$.title"),
    ("share_resource", {"description": TOO_BIG_BODY}, "$.description"),
    ("share_resource", {"tags": TOO_MANY_TAGS}, "$.tags"),
    ("record_experience", {"title": TOO_LONG_TITLE}, "$.title"),
    ("record_experience", {"body": TOO_BIG_BODY_IN_BYTES}, "$.body"),
    ("record_experience", {"tags": TOO_MANY_TAGS}, "$.tags"),
    ("schedule_meeting", {"title": TOO_LONG_TITLE}, "$.title"),
    ("schedule_meeting", {"description": TOO_BIG_BODY}, "$.description"),
    ("schedule_meeting", {"tags": TOO_MANY_TAGS}, "$.tags"),
    ("amend_charter", {"reason": "r" * (limits.SHORT_TEXT_MAX + 1)}, "$.reason"),
    ("withdraw", {"reason": "r" * (limits.SHORT_TEXT_MAX + 1)}, "$.reason"),
    ("decline", {"reason": "r" * (limits.SHORT_TEXT_MAX + 1)}, "$.reason"),
    ("remove", {"reason": "r" * (limits.SHORT_TEXT_MAX + 1)}, "$.reason"),
    # naive datetimes
    ("schedule_meeting", {"starts_at": NAIVE}, "$.starts_at"),
    ("schedule_meeting", {"ends_at": NAIVE}, "$.ends_at"),
]

# value and launch (issue 14)
BAD_FIELDS += [
    ("tell_value_story", {"contributions": "x"}, "$.contributions"),
    ("tell_value_story", {"contributions": []}, "$.contributions"),
    ("tell_value_story", {"contributions": ["nothing"]}, "$.contributions[0]"),
    ("tell_value_story", {"result": ""}, "$.result"),
    ("tell_value_story", {"result": "r" * (limits.SHORT_TEXT_MAX + 1)}, "$.result"),
    ("propose_community", {"name": ""}, "$.name"),
    ("propose_community", {"kind": "club"}, "$.kind"),
    ("propose_community", {"tags": "brazing"}, "$.tags"),
    ("propose_community", {"facts": {"sponsor": "nobody"}}, "$.facts.sponsor"),
    ("propose_community", {"facts": {"luck": True}}, "$.facts.luck"),
    ("revise_candidate", {"facts": {"core_group": [3]}}, "$.facts.core_group[0]"),
    ("revise_candidate", {"candidate_id": 3}, "$.candidate_id"),
    ("drop_candidate", {"reason": 1}, "$.reason"),
    ("launch_candidate", {"visibility": "secret"}, "$.visibility"),
    ("launch_candidate", {"charter": "rules"}, "$.charter"),
]

#: Every free-text parameter of the commands: (command, parameter, whether it is multi-line).
TEXT_PARAMETERS: list[tuple[str, str, bool]] = [
    ("create_organisation", "name", False),
    ("create_community", "name", False),
    ("create_community", "vocation", True),
    ("update_community", "name", False),
    ("amend_charter", "reason", False),
    ("decline", "reason", False),
    ("remove", "reason", False),
    ("ask", "title", False),
    ("ask", "body", True),
    ("answer", "body", True),
    ("comment", "body", True),
    ("share_resource", "title", False),
    ("share_resource", "location", False),
    ("share_resource", "description", True),
    ("record_experience", "title", False),
    ("record_experience", "body", True),
    ("schedule_meeting", "title", False),
    ("schedule_meeting", "location", False),
    ("schedule_meeting", "description", True),
    ("withdraw", "reason", False),
    # value and launch (issue 14)
    ("tell_value_story", "result", True),
    ("propose_community", "name", False),
    ("propose_community", "vocation", True),
    ("revise_candidate", "name", False),
    ("drop_candidate", "reason", False),
]
TEXT_PARAMETERS += [
    ("revise", "body", True),
    ("revise", "reason", False),
    ("retag", "reason", False),
    ("close_thread", "reason", False),
    ("lock_thread", "reason", False),
    ("flag", "reason", False),
    ("hide", "reason", False),
]
#: Refused in every text: NUL, BEL, an ANSI escape sequence, DEL, a C1 control (NEL), a
#: lone CR, the bidirectional override and isolate, a lone surrogate.
REFUSED_EVERYWHERE = ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\r", "\u202e", "\u2067", "\ud800"]
#: Refused in single-line texts only.
LINE_BREAKS_AND_TABS = ["\n", "\r\n", "\t", "\u2028", "\u2029"]
FRENCH = "Soudure à l'arc : qualité, sécurité — « l'œuvre » ça marche ? Ærø ÿ"
MULTI_LINE = "Première ligne,\n\tdeuxième ligne ;\r\ntroisième. Ligne\u2028suivante."

#: Errors name what the caller passed: the parameter (`tags`, not the membership's
#: `expertise`) and each tag's place in the caller's list (not in the set it becomes).
BAD_FIELDS += [
    ("assign_role", {"role": "expert", "tags": ["tig", "Not a tag!"]}, "$.tags[1]"),
    ("assign_role", {"role": "expert", "tags": [f"tag{i}" for i in range(51)]}, "$.tags"),
    ("ask", {"tags": ["zeta", "Bad Tag"]}, "$.tags[1]"),
    ("create_community", {"tags": ["zeta", "alpha", "a b"]}, "$.tags[2]"),
    ("update_community", {"tags": ["zeta", 3]}, "$.tags[1]"),
    ("share_resource", {"tags": ["zeta", "-x"]}, "$.tags[1]"),
    ("record_experience", {"tags": ["zeta", "x" * (limits.TAG_MAX + 1)]}, "$.tags[1]"),
    ("schedule_meeting", {"tags": ["zeta", "é"]}, "$.tags[1]"),
]

BAD_FIELDS += [
    (command, {parameter: f"Mot{bad}dit"}, f"$.{parameter}")
    for command, parameter, multiline in TEXT_PARAMETERS
    for bad in REFUSED_EVERYWHERE + ([] if multiline else LINE_BREAKS_AND_TABS)
]

BAD_FIELDS += [
    ("revise", {"kind": "endorsement"}, "$.kind"),
    ("revise", {"kind": "nothing"}, "$.kind"),
    ("revise", {"contribution_id": 42}, "$.contribution_id"),
    ("revise", {"title": "An answer has none"}, "$.title"),
    ("revise", {"body": None}, "$"),
    ("revise", {"body": TOO_BIG_BODY}, "$.body"),
    ("retag", {"tags": ["tig", "Bad Tag"]}, "$.tags[1]"),
    ("retag", {"tags": "tig"}, "$.tags"),
    ("retag", {"question_id": ["q"]}, "$.question_id"),
    ("close_thread", {"question_id": 7}, "$.question_id"),
    ("flag", {"reason": ""}, "$.reason"),
    ("flag", {"kind": "endorsement"}, "$.kind"),
    ("hide", {"reason": ""}, "$.reason"),
]

#: (command, overrides, the kind of thing not found)
UNKNOWN_IDS: list[tuple[str, dict[str, Any], str]] = [
    ("create_community", {"organisation_id": "nowhere"}, "organisation"),
    ("appoint_administrator", {"organisation_id": "nowhere"}, "organisation"),
    ("appoint_administrator", {"person_id": "nobody"}, "person"),
    ("withdraw_administrator", {"organisation_id": "nowhere"}, "organisation"),
    ("share_community", {"community_id": "nowhere"}, "community"),
    ("share_community", {"organisation_id": "nowhere"}, "organisation"),
    ("unshare_community", {"community_id": "nowhere"}, "community"),
    ("unshare_community", {"organisation_id": "nowhere"}, "organisation"),
    ("update_community", {"community_id": "nowhere"}, "community"),
    ("change_stage", {"community_id": "nowhere"}, "community"),
    ("amend_charter", {"community_id": "nowhere"}, "community"),
    ("invite", {"community_id": "nowhere"}, "community"),
    ("invite", {"person_id": "nobody"}, "person"),
    ("request_membership", {"community_id": "nowhere"}, "community"),
    ("approve", {"community_id": "nowhere"}, "community"),
    ("decline", {"community_id": "nowhere"}, "community"),
    ("join", {"community_id": "nowhere"}, "community"),
    ("leave", {"community_id": "nowhere"}, "community"),
    ("remove", {"community_id": "nowhere"}, "community"),
    ("assign_role", {"community_id": "nowhere"}, "community"),
    ("withdraw_role", {"community_id": "nowhere"}, "community"),
    ("withdraw_role", {"person_id": "nobody"}, "membership"),
    ("ask", {"community_id": "nowhere"}, "community"),
    ("answer", {"question_id": "nothing"}, "question"),
    ("accept", {"answer_id": "nothing"}, "answer"),
    ("comment", {"target_id": "nothing"}, "answer"),
    ("endorse", {"target_kind": "question", "target_id": "nothing"}, "question"),
    ("share_resource", {"community_id": "nowhere"}, "community"),
    ("record_experience", {"community_id": "nowhere"}, "community"),
    ("schedule_meeting", {"community_id": "nowhere"}, "community"),
    ("record_attendance", {"meeting_id": "nothing"}, "meeting"),
    ("withdraw", {"contribution_id": "nothing"}, "resource"),
    # value and launch (issue 14)
    ("tell_value_story", {"community_id": "nowhere"}, "community"),
    ("propose_community", {"organisation_id": "nowhere"}, "organisation"),
    ("revise_candidate", {"candidate_id": "nothing"}, "community_candidate"),
    ("drop_candidate", {"candidate_id": "nothing"}, "community_candidate"),
    ("launch_candidate", {"candidate_id": "nothing"}, "community_candidate"),
]


@pytest.fixture
def unchanged(engine: Engine, world: World) -> Iterator[None]:
    """Whatever the test does must leave the store as it was: state, events and outbox."""
    state = snapshot(engine)
    events = engine.store.events(limit=100_000)
    outbox = engine.store.pending_messages(limit=100_000)
    yield
    assert snapshot(engine) == state
    assert engine.store.events(limit=100_000) == events
    assert engine.store.pending_messages(limit=100_000) == outbox


def test_every_public_command_of_the_engine_is_covered() -> None:
    # Every public method, wherever the use-case classes `Engine` gathers define it.
    public = {name for name in dir(Engine) if not name.startswith("_") and callable(getattr(Engine, name))}

    assert public - QUERIES_AND_PLUMBING == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_good_input_each_bad_case_starts_from_is_accepted(engine: Engine, world: World, command: str) -> None:
    before = len(engine.store.events())

    COMMANDS[command](engine, world)

    assert len(engine.store.events()) > before


QUERIES_AND_PLUMBING = {
    "person",
    "authenticate",
    "close",
    "drain",
    "community",
    "charter_history",
    "organisation",
    "portfolio",
    "members",
    "membership",
    "question",
    "unanswered_questions",
    "contributions_of",
    "history",
    "count_events",
    "import_history",
    "dispatch",
    # policies and delivery: plumbing for the host's jobs, each with its own tests
    "tick",
    "transact",
    "new_id",
    "policy",
    "policies",
    "preferences",
    "outbox",
    "requeue",
    "sync_directory",
    # the policies' reads and their one command, each with its own tests
    "watch_list",
    "answer_measures",
    "community_benefits",
    "person_benefits",
    "recognition_csv",
    "recognition_json",
    "level_of",
    "levels",
    "pin_level",
    "points_balance",
    "points_balances",
    "badges_of",
    # the health report: reads, with their bad input in tests/health
    "community_health",
    "health_reports",
    # search and personal data: reads and the erasure, with their bad input in tests/hostapi_data
    "search",
    "export_person",
    "erase_person",
}
#: The host API's reads (each with its bad input in tests/hostapi), and the commands that
#: need a state of their own first (an acceptance, a closed thread, a hidden contribution,
#: open flags): their bad input is tested in tests/hostapi/test_bad_input.py.
QUERIES_AND_PLUMBING |= {
    "cursor_secret",
    "revisions",
    "moderation_queue",
    "questions",
    "my_communities",
    "profile",
    "upcoming_meetings",
    "activity",
    "members_page",
    "portfolio_page",
    "charter_history_page",
    "unanswered_page",
    "history_page",
    "contributions_page",
    "outbox_page",
    "unaccept",
    "reopen_thread",
    "unhide",
    "dismiss_flags",
    # value and launch (issue 14): reads, with their bad input in tests/value, and the
    # withdrawal and amendment of a story, which need a story first (tests/value/test_value_stories.py)
    "withdraw_value_story",
    "revise_value_story",
    "value_stories",
    "value_cycles",
    "assess_candidate",
    "community_candidates",
    "portfolio_health",
    "recommend_communities",
    # the lifecycle: a read, with its bad input in tests/lifecycle
    "community_lifecycle",
}


@pytest.mark.parametrize(("command", "overrides", "path"), BAD_FIELDS, ids=lambda x: str(x)[:40])
@pytest.mark.usefixtures("unchanged")
def test_bad_input_gets_a_typed_error_naming_the_field_and_nothing_is_stored(
    engine: Engine, world: World, command: str, overrides: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        COMMANDS[command](engine, world, **overrides)

    assert path in [e.path for e in caught.value.errors]
    assert path in str(caught.value)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.usefixtures("unchanged")
def test_an_actor_that_is_not_an_id_is_refused_by_every_command(engine: Engine, world: World, command: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        COMMANDS[command](engine, world, actor=["ana"])

    assert [e.path for e in caught.value.errors] == ["$.actor"]


@pytest.mark.parametrize(("command", "overrides", "kind"), UNKNOWN_IDS, ids=lambda x: str(x)[:40])
@pytest.mark.usefixtures("unchanged")
def test_an_unknown_id_is_not_found_and_nothing_is_stored(
    engine: Engine, world: World, command: str, overrides: dict[str, Any], kind: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        COMMANDS[command](engine, world, **overrides)

    assert caught.value.kind == kind
    assert caught.value.id in str(caught.value)


@pytest.mark.usefixtures("unchanged")
def test_several_bad_fields_are_reported_together(engine: Engine, world: World) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.ask("ben", world.community, title="", body=TOO_BIG_BODY, tags=TOO_MANY_TAGS)

    assert [e.path for e in caught.value.errors] == ["$.title", "$.body", "$.tags"]
    assert caught.value.context == "ask"


@pytest.mark.parametrize(
    ("tags", "paths"),
    [
        (["tig", "Not a tag!"], ["$.tags[1]"]),
        (["Bad one", "tig", "bad two"], ["$.tags[0]", "$.tags[2]"]),
        ([], ["$.tags"]),
    ],
)
@pytest.mark.usefixtures("unchanged")
def test_assign_role_names_the_tags_the_caller_passed(
    engine: Engine, world: World, tags: list[str], paths: list[str]
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.assign_role("ana", world.community, "ben", "expert", tags=tags)

    assert [e.path for e in caught.value.errors] == paths
    assert "expertise" not in str(caught.value)
    assert caught.value.context == "assign_role"


#: Every call with a `limit`, given one: the queries, then the host's jobs.
LIMITED: dict[str, Callable[[Engine, World, object], object]] = {
    "unanswered_questions": lambda e, w, limit: e.unanswered_questions("ana", w.community, limit=limit),
    "history": lambda e, w, limit: e.history("ana", w.community, limit=limit),
    "outbox": lambda e, w, limit: e.outbox(SYSTEM, limit=limit),
    "watch_list": lambda e, w, limit: e.watch_list("ana", w.community, limit=limit),
    "dispatch": lambda e, w, limit: e.dispatch(limit=limit),
    "tick": lambda e, w, limit: e.tick(limit=limit),
    "search": lambda e, w, limit: e.search("ana", "question", limit=limit),
    "recommend_communities": lambda e, w, limit: e.recommend_communities("ana", "ana", limit=limit),
}
LIMITED.update(
    {
        "questions": lambda e, w, limit: e.questions("ana", w.community, limit=limit),
        "moderation_queue": lambda e, w, limit: e.moderation_queue("ana", w.community, limit=limit),
        "upcoming_meetings": lambda e, w, limit: e.upcoming_meetings("ana", limit=limit),
        "activity": lambda e, w, limit: e.activity("ana", community_id=w.community, limit=limit),
        "members_page": lambda e, w, limit: e.members_page("ana", w.community, limit=limit),
        "portfolio_page": lambda e, w, limit: e.portfolio_page("ana", "acme", limit=limit),
        "charter_history_page": lambda e, w, limit: e.charter_history_page("ana", w.community, limit=limit),
        "unanswered_page": lambda e, w, limit: e.unanswered_page("ana", w.community, limit=limit),
        "history_page": lambda e, w, limit: e.history_page("ana", w.community, limit=limit),
        "contributions_page": lambda e, w, limit: e.contributions_page("ana", "ben", limit=limit),
        "outbox_page": lambda e, w, limit: e.outbox_page(SYSTEM, limit=limit),
    }
)


def test_every_call_with_a_limit_is_covered() -> None:
    limited = {
        name
        for name in dir(Engine)
        if not name.startswith("_")
        and callable(member := getattr(Engine, name))
        and "limit" in inspect.signature(member).parameters
    }
    assert limited == set(LIMITED)


@pytest.mark.parametrize("call", sorted(LIMITED))
def test_a_limit_is_accepted_from_one_to_exactly_the_maximum(engine: Engine, world: World, call: str) -> None:
    for limit in (1, limits.QUERY_LIMIT_MAX):
        LIMITED[call](engine, world, limit)


@pytest.mark.parametrize("call", sorted(LIMITED))
@pytest.mark.parametrize("limit", [limits.QUERY_LIMIT_MAX + 1, 0, -1, 10**6, True, 2.0, "10"])
@pytest.mark.usefixtures("unchanged")
def test_a_limit_beyond_the_maximum_or_below_one_is_refused_naming_it(
    engine: Engine, world: World, call: str, limit: object
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        LIMITED[call](engine, world, limit)

    assert [e.path for e in caught.value.errors] == ["$.limit"]
    assert f"must be a whole number from 1 to {limits.QUERY_LIMIT_MAX}" in caught.value.errors[0].message


@pytest.mark.parametrize("after", [-1, True, "0", None])
def test_history_refuses_a_position_that_is_none(engine: Engine, world: World, after: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.history("ana", world.community, after=after)  # type: ignore[arg-type]

    assert [e.path for e in caught.value.errors] == ["$.after"]


def stored_texts(engine: Engine) -> list[object]:
    """Every text field of every stored event, and of the charters they carry."""
    found: list[object] = []
    for record in engine.store.events(limit=100_000):
        # (and of the fields a revision changed: `contribution_revised`)
        for value in (record.event, getattr(record.event, "charter", None), getattr(record.event, "changed", None)):
            if attrs.has(type(value)):
                found.extend(getattr(value, a.name) for a in attrs.fields(type(value)))
    return found


@pytest.mark.parametrize(("command", "parameter", "multiline"), TEXT_PARAMETERS)
def test_ordinary_text_is_accepted_in_every_text_parameter_as_it_is(
    engine: Engine, world: World, command: str, parameter: str, multiline: bool
) -> None:
    text = MULTI_LINE if multiline else FRENCH

    COMMANDS[command](engine, world, **{parameter: text})

    assert text in stored_texts(engine)


@pytest.mark.parametrize(("command", "parameter"), [(c, p) for c, p, multiline in TEXT_PARAMETERS if not multiline])
@pytest.mark.usefixtures("unchanged")
def test_a_line_break_in_a_single_line_parameter_is_refused_saying_so(
    engine: Engine, world: World, command: str, parameter: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        COMMANDS[command](engine, world, **{parameter: "Eve\r\nBcc: victim@example.org"})

    assert [(e.path, e.message) for e in caught.value.errors] == [
        (f"$.{parameter}", "must be one line without control characters: got U+000D (CARRIAGE RETURN) at character 4")
    ]
    assert caught.value.context == command


@pytest.mark.usefixtures("unchanged")
def test_pin_level_refuses_a_control_character_in_its_reason(engine: Engine, world: World) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.pin_level("ana", world.community, "ben", "core_group", reason="Leads\x1b[2J")

    assert [e.path for e in caught.value.errors] == ["$.reason"]
    assert "U+001B (ESCAPE) at character 6" in str(caught.value)


def test_pin_level_keeps_an_ordinary_reason(engine: Engine, world: World) -> None:
    pinned = engine.pin_level("ana", world.community, "ben", "core_group", reason=FRENCH)
    assert pinned is not None
    assert FRENCH in stored_texts(engine)


@pytest.mark.parametrize("login", ["ana\x00", "ana\r\nbob", "\u202eana"])
def test_authenticate_refuses_a_login_no_person_types(engine: Engine, login: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.authenticate(login)

    assert [e.path for e in caught.value.errors] == ["$.principal"]
    assert caught.value.context == "authenticate"


@pytest.mark.parametrize(
    ("query", "path"),
    [
        (lambda e, w: e.unanswered_questions("ana", w.community, older_than=-1), "$.older_than"),
        (lambda e, w: e.unanswered_questions("ana", w.community, limit=0), "$.limit"),
        (lambda e, w: e.unanswered_questions("ana", w.community, tag=5), "$.tag"),
        (lambda e, w: e.contributions_of("ana", "ben", since=NAIVE), "$.since"),
        (lambda e, w: e.contributions_of("ana", "ben", kinds=["letters"]), "$.kinds[0]"),
        (lambda e, w: e.members("ana", w.community, role="king"), "$.role"),
        (lambda e, w: e.count_events("ana", w.community, since=NAIVE, until=LATER), "$.since"),
        (lambda e, w: e.count_events("ana", w.community, since=START, until=LATER, period="year"), "$.period"),
        (lambda e, w: e.question("ana", 5), "$.question_id"),
    ],
)
@pytest.mark.usefixtures("unchanged")
def test_bad_input_to_a_query_names_the_field(engine: Engine, world: World, query: Call, path: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        query(engine, world)

    assert path in [e.path for e in caught.value.errors]


@pytest.mark.usefixtures("unchanged")
def test_a_refused_command_after_validation_stores_nothing_either(engine: Engine, world: World) -> None:
    with pytest.raises(CoplibError):
        engine.accept("ben", world.answer)  # not the asker, not a facilitator
    with pytest.raises(CoplibError):
        engine.join("ben", world.community)  # already a member
