"""Badges: recognition now, from event-driven rules, once per person, community and badge.

The built-in rules (first answer, helpful answer, first resource, first experience, mentor
of newcomers, regular attendee) come from this module's default plugin through the
``coplib_badge_rules`` hook; a host adds its own rules the same way::

    class MyBadges:
        @coplib.hookimpl
        def coplib_badge_rules(self):
            return [SimpleBadgeRule("first_question", {"en": "First question", "fr": "Première question"},
                                    frozenset({ev.QuestionAsked}), lambda view, e: [e.actor_id])]
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final, cast

import attrs

from coplib.domain import events as ev
from coplib.domain.community import Role
from coplib.domain.contributions import Answer, ContributionKind, Meeting, Question
from coplib.domain.errors import FieldError, PluginError
from coplib.domain.history import Ref
from coplib.domain.membership import membership_id
from coplib.domain.permissions import SYSTEM
from coplib.domain.recognition import (
    PROGRESS_ITEMS_MAX,
    BadgeAward,
    SettingsReader,
    badge_award_id,
    badge_progress_id,
    invalid_settings,
    is_token,
    token,
)
from coplib.ports.hookspecs import hookimpl
from coplib.ports.policy import (
    BADGES_POLICY,
    POLICY_ACTOR,
    BadgeRule,
    BadgeView,
    BasePolicy,
    Policy,
    PolicyContext,
    PolicyRuntime,
    SettingsMemo,
)
from coplib.ports.storage import Filter, Store

TOPIC: Final = "badge_awarded"
_NOT_MEMBERS: Final = frozenset({POLICY_ACTOR, SYSTEM})


@attrs.frozen
class SimpleBadgeRule:
    """A badge rule from a function: ``find(view, event)`` returns the people who earn it."""

    name: str = attrs.field(validator=token)
    titles: Mapping[str, str] = attrs.field(hash=False)
    interests: frozenset[type[ev.DomainEvent]]
    find: Callable[[BadgeView, ev.DomainEvent], Iterable[str]] = attrs.field(hash=False)

    @titles.validator
    def _english_title(self, attribute: attrs.Attribute[Mapping[str, str]], value: Mapping[str, str]) -> None:
        if not isinstance(value.get("en"), str) or not value["en"].strip():
            raise PluginError(f"badge {self.name!r} needs an English title (titles['en'])")

    def earners(self, view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
        return self.find(view, event)


# -- the built-in rules -------------------------------------------------------------------------

FIRST_ANSWER: Final = "first_answer"
HELPFUL_ANSWER: Final = "helpful_answer"
FIRST_RESOURCE: Final = "first_resource"
FIRST_EXPERIENCE: Final = "first_experience"
MENTOR: Final = "mentor"
REGULAR_ATTENDEE: Final = "regular_attendee"


def _first_answer(view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
    if isinstance(event, ev.AnswerPosted) and event.actor_id != event.asker_id:
        return [event.actor_id]
    return []


def _helpful_answer(view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
    """Accepted by someone else, or endorsed ``helpful_answer.endorsements`` times (3)."""
    if isinstance(event, ev.AnswerAccepted) and event.answer_author_id != event.asker_id:
        return [event.answer_author_id]
    if isinstance(event, ev.ContributionEndorsed) and event.target_kind is ContributionKind.ANSWER:
        if view.has_badge(event.target_author_id, HELPFUL_ANSWER):
            return []
        needed = view.setting(f"{HELPFUL_ANSWER}.endorsements", 3)
        endorsements = {e.id for e in view.store.find("endorsement", Filter(parent_id=event.target_id))}
        if len(endorsements | {event.endorsement_id}) >= needed:
            return [event.target_author_id]
    return []


def _first_resource(view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
    return [event.actor_id] if isinstance(event, ev.ResourceShared) else []


def _first_experience(view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
    return [event.actor_id] if isinstance(event, ev.ExperienceRecorded) else []


def _newcomer(view: BadgeView, person_id: str, at: datetime, days: int) -> bool:
    """Holds the newcomer role, or joined at most `days` before `at` and holds no other role."""
    membership = view.membership(person_id)
    if membership is None:
        return False
    if Role.NEWCOMER in membership.roles:
        return True
    recent = membership.joined_at is not None and at - membership.joined_at <= timedelta(days=days)
    return recent and membership.roles <= {Role.MEMBER}


def _mentor(view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
    """Answered the questions of ``mentor.newcomers`` (3) different newcomers.

    Each answer to a newcomer's question (a newcomer when they asked it, `_newcomer`) is kept
    in the answerer's progress under the newcomer, up to `PROGRESS_ITEMS_MAX` answers each; a
    withdrawn answer is taken out, and a newcomer whose kept answers are all withdrawn no
    longer counts (until answered again). The first time, the progress is read from the
    answerer's history; after that, a check reads a few aggregates by key, whatever the
    length of that history.
    """
    if isinstance(event, ev.ContributionWithdrawn):
        _mentor_answer_withdrawn(view, event)
        return []
    if not isinstance(event, ev.AnswerPosted) or event.actor_id == event.asker_id:
        return []
    mentor = event.actor_id
    if view.has_badge(mentor, MENTOR):
        return []
    question = view.get(Ref("question", event.question_id))
    days = view.setting(f"{MENTOR}.newcomer_days", 30)
    if not isinstance(question, Question) or not _newcomer(view, event.asker_id, question.created_at, days):
        return []
    needed = view.setting(f"{MENTOR}.newcomers", 3)
    progress = view.progress(mentor, MENTOR)
    if progress is not None:
        helped = _standing(view, progress.progress, event.asker_id)
    else:
        helped = _newcomers_helped(view, mentor, days, leaving_out=event.answer_id)
        for newcomer, answers in helped.items():
            view.note_progress(mentor, MENTOR, newcomer, answers)
    kept = helped.get(event.asker_id, ())
    if len(kept) < PROGRESS_ITEMS_MAX and event.answer_id not in kept:
        view.note_progress(mentor, MENTOR, event.asker_id, [event.answer_id])
        helped[event.asker_id] = (*kept, event.answer_id)
    return [mentor] if len(helped) >= needed else []


def _newcomers_helped(view: BadgeView, mentor: str, days: int, *, leaving_out: str) -> dict[str, tuple[str, ...]]:
    """From the mentor's history (read once, to start their progress): the newcomers whose
    questions they answered, with those answers (withdrawn ones left out)."""
    answers = [
        a
        for a in view.store.find("answer", Filter(community_id=view.community_id, person_id=mentor))
        if isinstance(a, Answer) and not a.withdrawn and a.id != leaving_out
    ]
    questions = view.store.get_many(Ref("question", qid) for qid in {a.question_id for a in answers})
    helped: dict[str, tuple[str, ...]] = {}
    for answer in answers:
        found = questions.get(Ref("question", answer.question_id))
        asked = found.value if found is not None else None
        if not isinstance(asked, Question) or asked.author_id == mentor:
            continue
        kept = helped.get(asked.author_id, ())
        if len(kept) < PROGRESS_ITEMS_MAX and _newcomer(view, asked.author_id, asked.created_at, days):
            helped[asked.author_id] = (*kept, answer.id)
    return helped


def _standing(view: BadgeView, progress: Mapping[str, tuple[str, ...]], asker: str) -> dict[str, tuple[str, ...]]:
    """The newcomers of `progress` with a kept answer still standing (`asker`'s are being
    counted again anyway): withdrawals are taken out as they happen, but not those made
    while badges were switched off, nor those imported with `import_history`."""
    view.prefetch(Ref("answer", a) for newcomer, answers in progress.items() if newcomer != asker for a in answers)
    standing: dict[str, tuple[str, ...]] = {}
    for newcomer, answers in progress.items():
        if newcomer == asker:
            standing[newcomer] = answers
            continue
        for answer_id in answers:
            answer = view.get(Ref("answer", answer_id))
            if isinstance(answer, Answer) and not answer.withdrawn:
                standing[newcomer] = answers
                break
    return standing


def _mentor_answer_withdrawn(view: BadgeView, event: ev.ContributionWithdrawn) -> None:
    """Take a withdrawn answer out of its author's mentor progress (before the badge only:
    a badge, once earned, stays)."""
    if event.contribution_kind is not ContributionKind.ANSWER or view.has_badge(event.author_id, MENTOR):
        return
    progress = view.progress(event.author_id, MENTOR)
    if progress is None:
        return
    for newcomer, answers in progress.progress.items():
        if event.contribution_id in answers:
            view.note_progress(event.author_id, MENTOR, newcomer, [event.contribution_id], withdrawn=True)


def _regular_attendee(view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
    """Attended ``regular_attendee.meetings`` (3) meetings of the community."""
    if not isinstance(event, ev.AttendanceRecorded):
        return []
    candidates = sorted(p for p in event.attendees if not view.has_badge(p, REGULAR_ATTENDEE))
    if not candidates:
        return []
    needed = view.setting(f"{REGULAR_ATTENDEE}.meetings", 3)
    meetings = {
        m.id: m for m in view.store.find("meeting", Filter(community_id=view.community_id)) if isinstance(m, Meeting)
    }
    current = view.get(Ref("meeting", event.meeting_id))
    if isinstance(current, Meeting):
        meetings[current.id] = current
    live = [m for m in meetings.values() if not m.withdrawn]
    return [p for p in candidates if sum(p in m.attendees for m in live) >= needed]


BUILT_IN_RULES: Final[tuple[SimpleBadgeRule, ...]] = (
    SimpleBadgeRule(
        FIRST_ANSWER, {"en": "First answer", "fr": "Première réponse"}, frozenset({ev.AnswerPosted}), _first_answer
    ),
    SimpleBadgeRule(
        HELPFUL_ANSWER,
        {"en": "Helpful answer", "fr": "Réponse utile"},
        frozenset({ev.AnswerAccepted, ev.ContributionEndorsed}),
        _helpful_answer,
    ),
    SimpleBadgeRule(
        FIRST_RESOURCE,
        {"en": "First resource shared", "fr": "Première ressource partagée"},
        frozenset({ev.ResourceShared}),
        _first_resource,
    ),
    SimpleBadgeRule(
        FIRST_EXPERIENCE,
        {"en": "First experience shared", "fr": "Premier retour d'expérience"},
        frozenset({ev.ExperienceRecorded}),
        _first_experience,
    ),
    SimpleBadgeRule(
        MENTOR,
        {"en": "Mentor of newcomers", "fr": "Mentor des nouveaux venus"},
        frozenset({ev.AnswerPosted, ev.ContributionWithdrawn}),
        _mentor,
    ),
    SimpleBadgeRule(
        REGULAR_ATTENDEE,
        {"en": "Regular attendee", "fr": "Participant assidu"},
        frozenset({ev.AttendanceRecorded}),
        _regular_attendee,
    ),
)
BUILT_IN_NAMES: Final = frozenset(rule.name for rule in BUILT_IN_RULES)
#: The built-in rules' own settings, with their least value.
_BUILT_IN_SETTINGS: Final[Mapping[str, tuple[int, int]]] = {
    f"{HELPFUL_ANSWER}.endorsements": (3, 1),
    f"{MENTOR}.newcomers": (3, 1),
    f"{MENTOR}.newcomer_days": (30, 1),
    f"{REGULAR_ATTENDEE}.meetings": (3, 1),
}


# -- the policy ---------------------------------------------------------------------------------


def badge_rules(runtime: PolicyRuntime) -> tuple[BadgeRule, ...]:
    """Every rule the engine's plugins provide, host plugins first; `PluginError` for a rule
    that is not one, or for two rules with the same badge name."""
    found: list[BadgeRule] = []
    for group in runtime.plugin_manager.hook.coplib_badge_rules():
        for rule in group or ():
            if not isinstance(rule, BadgeRule) or not is_token(rule.name):
                raise PluginError(
                    f"coplib_badge_rules returned {rule!r:.120}, which is not a badge rule with a valid name"
                )
            if not isinstance(rule.titles.get("en"), str):
                raise PluginError(f"badge {rule.name!r} needs an English title (titles['en'])")
            found.append(rule)
    names = [r.name for r in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PluginError(f"two badge rules share the name(s) {', '.join(duplicates)}: block one plugin or rename")
    return tuple(found)


class BadgesPolicy(BasePolicy):
    """Awards badges (policy name ``badges``).

    Settings (``policy_settings["badges"]``, text values): ``disabled`` (badge names switched
    off here, comma-separated), ``notify`` (``yes`` or ``no``), and each rule's own, named
    ``<badge>.<setting>``: ``helpful_answer.endorsements`` (3), ``mentor.newcomers`` (3),
    ``mentor.newcomer_days`` (30), ``regular_attendee.meetings`` (3). Settings of a host's
    badge (``<its name>.<setting>``) are the host rule's to check.
    """

    name = BADGES_POLICY
    follows_log = True  # its reactions may follow the commit (BasePolicy.follows_log)

    def __init__(self) -> None:
        # Per engine: its rules, and those interested in each event type met so far.
        self._rules: weakref.WeakKeyDictionary[
            PolicyRuntime, tuple[tuple[BadgeRule, ...], dict[type[ev.DomainEvent], tuple[BadgeRule, ...]]]
        ] = weakref.WeakKeyDictionary()
        self._read = SettingsMemo(self._parse)

    def rules(self, engine: PolicyRuntime) -> tuple[BadgeRule, ...]:
        """The engine's badge rules, gathered once."""
        if engine not in self._rules:
            self._rules[engine] = (badge_rules(engine), {})
        return self._rules[engine][0]

    def interested_in(self, event: ev.DomainEvent) -> bool:
        # Host rules may look at any event type: `react` filters by each rule's interests.
        return event.community_id is not None

    def reads(self, event: ev.DomainEvent) -> Iterable[Ref]:
        # What the built-in answer rules read (a host rule reads what it reads, when it asks).
        cid = event.community_id
        if not isinstance(event, ev.AnswerPosted) or cid is None or event.actor_id == event.asker_id:
            return ()
        return [
            Ref("badge_award", badge_award_id(cid, event.actor_id, FIRST_ANSWER)),
            Ref("badge_award", badge_award_id(cid, event.actor_id, MENTOR)),
            Ref("badge_progress", badge_progress_id(cid, event.actor_id, MENTOR)),
            Ref("membership", membership_id(cid, event.asker_id)),
            Ref("question", event.question_id),
        ]

    def _parse(self, settings: Mapping[str, str]) -> tuple[list[FieldError], frozenset[str], bool]:
        """What is wrong with `settings`, the badges switched off, and whether to notify."""
        reader = SettingsReader(settings)
        disabled = reader.names("disabled", frozenset())
        notify = reader.choice("notify", "yes", ("yes", "no")) == "yes"
        for key, (default, minimum) in _BUILT_IN_SETTINGS.items():
            reader.whole(key, default, minimum=minimum, maximum=100_000)
        hosts = {k.split(".", 1)[0] + "." for k in settings if "." in k and k.split(".", 1)[0] not in BUILT_IN_NAMES}
        reader.check_unknown(self.name, open_prefixes=hosts)
        return reader.errors, disabled, notify

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        return list(self._read(settings)[0])

    def _rules_for(self, engine: PolicyRuntime, event_type: type[ev.DomainEvent]) -> tuple[BadgeRule, ...]:
        """The engine's rules interested in events of `event_type` (found once per type)."""
        rules = self.rules(engine)
        by_type = self._rules[engine][1]
        found = by_type.get(event_type)
        if found is None:
            found = by_type[event_type] = tuple(r for r in rules if issubclass(event_type, tuple(r.interests)))
        return found

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        community_id = event.community_id
        if community_id is None:
            return
        rules = self._rules_for(ctx.engine, type(event))
        if not rules:
            return
        settings = ctx.settings(community_id)
        errors, disabled, notify = self._read(settings)
        if errors:
            raise invalid_settings(self.name, community_id, errors)
        view = BadgeView(ctx, community_id, settings)
        for rule in rules:
            if rule.name in disabled:
                continue
            for person_id in sorted(set(rule.earners(view, event))):
                if person_id in _NOT_MEMBERS or view.has_badge(person_id, rule.name):
                    continue
                self._award(ctx, rule, event, community_id, person_id, notify)

    @staticmethod
    def _award(
        ctx: PolicyContext, rule: BadgeRule, cause: ev.DomainEvent, community_id: str, person_id: str, notify: bool
    ) -> None:
        ctx.record(
            ev.BadgeAwarded(
                **ctx.event_fields(community_id), person_id=person_id, badge=rule.name, cause_event_id=cause.id
            )
        )
        if not notify:
            return
        community = ctx.community(community_id)
        english = rule.titles["en"]
        params = {
            "community": community.name if community is not None else community_id,
            "badge": rule.name,
            "badge_en": english,
            "badge_fr": rule.titles.get("fr", english),
        }
        key = badge_award_id(community_id, person_id, rule.name)
        ctx.message(person_id, TOPIC, params, key=key, community_id=community_id, event_id=cause.id)


def badges_of(store: Store, community_id: str, person_id: str) -> list[str]:
    """The badges a person holds in a community, in the order earned."""
    found = store.find("badge_award", Filter(community_id=community_id, person_id=person_id))
    return [b.badge for b in found if isinstance(b, BadgeAward)]


class BadgesPlugin:
    """The default plugin (name ``coplib.policy.badges``): the policy and the built-in rules."""

    @hookimpl(trylast=True)
    def coplib_policies(self) -> Iterable[Policy]:
        # `Policy.name` is an instance attribute in the protocol, a class variable here.
        return [cast(Policy, BadgesPolicy())]

    @hookimpl(trylast=True)
    def coplib_badge_rules(self) -> Iterable[BadgeRule]:
        return BUILT_IN_RULES
