"""The personas of a simulated community: what each does (rates) and how each reacts to the
benefit it receives (docs/simulation.md, "Personas and their reactions").

A persona knows nothing of the engine's policies. It asks, browses the help space, answers
what it reads, accepts and endorses; it reads the messages delivered to it; and it reacts to
the benefit it receives: an answer to its question raises its wish to ask again and to stay,
a question left without an answer past its patience lowers both; recognition (an accepted
answer, a badge, a higher participation level) raises its propensity to answer. Whether a
community's organisation (experts, a promise of fast answers) helps must come out of these
reactions, never be written into them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

__all__ = [
    "BEHAVIOUR_KEYS",
    "DIGEST_CHOICES",
    "MULTIPLIER_BOUNDS",
    "PERSONAS",
    "REACTION_KEYS",
    "REQUEST_TOPICS",
    "Behaviour",
    "Persona",
    "Reactions",
    "default_behaviour",
]

#: The personas, by name (DOMAIN.md's words for the people of a community).
PERSONAS: Final = ("expert", "regular", "newcomer", "lurker", "altruist", "facilitator", "sponsor")
DIGEST_CHOICES: Final = ("immediate", "daily", "weekly")
#: A persona's multipliers (of its wish to ask, to leave, to answer) stay within these bounds.
MULTIPLIER_BOUNDS: Final = (0.1, 3.0)

#: Messages that ask the reader to look at a question (their topic names the request; the
#: title names the question). A persona reads each with its `reads_notifications`.
REQUEST_TOPICS: Final = frozenset(
    {
        "question_for_expert",
        "question_for_facilitator",
        "question_reminder",
        "question_escalated",
        "question_still_waiting",
    }
)
#: Messages of recognition: they raise the propensity to answer.
RECOGNITION_TOPICS: Final = frozenset({"answer_accepted", "badge_awarded", "participation_level_raised"})


@attrs.frozen
class Behaviour:
    """A persona's rates (per week) and propensities (probabilities from 0 to 1)."""

    questions_per_week: float = 0.3
    visits_per_week: float = 1.5  # visits of the help space (the open questions, oldest first)
    answer_own_tag: float = 0.15  # answering an open question of one's expertise, when seen
    answer_other_tag: float = 0.03  # answering one outside it
    answer_when_asked: float = 0.3  # answering a question one is asked to look at, of one's expertise
    adds_answer: float = 0.2  # still answering, on coming to it, a question that has an answer already
    reads_notifications: float = 0.7  # reading a message that asks to look at a question
    digest: str = "immediate"  # how the persona's messages reach it: at once, or a daily or weekly digest
    reads_digests: float = 0.5  # reading a digest (and then visiting the help space)
    answer_delay_hours: float = 8.0  # mean working hours from deciding to answer to the answer
    accept_rate: float = 0.6  # accepting an answer received
    comment_rate: float = 0.04  # commenting on a question seen
    endorse_rate: float = 0.15  # endorsing an answer received
    shares_per_week: float = 0.02  # resources shared
    weekly_leave: float = 0.01  # leaving the community in a week
    patience_days: float = 3.0  # days after which a question without an answer counts as unanswered


#: Each behaviour key with its bounds (or ``"digest"``): what a scenario may set.
BEHAVIOUR_KEYS: Final[dict[str, tuple[float, float] | str]] = {
    "questions_per_week": (0.0, 100.0),
    "visits_per_week": (0.0, 100.0),
    "answer_own_tag": (0.0, 1.0),
    "answer_other_tag": (0.0, 1.0),
    "answer_when_asked": (0.0, 1.0),
    "adds_answer": (0.0, 1.0),
    "reads_notifications": (0.0, 1.0),
    "digest": "digest",
    "reads_digests": (0.0, 1.0),
    "answer_delay_hours": (0.01, 1000.0),
    "accept_rate": (0.0, 1.0),
    "comment_rate": (0.0, 1.0),
    "endorse_rate": (0.0, 1.0),
    "shares_per_week": (0.0, 100.0),
    "weekly_leave": (0.0, 1.0),
    "patience_days": (0.01, 365.0),
}


@attrs.frozen
class Reactions:
    """Factors applied to a persona's multipliers when it receives (or misses) a benefit."""

    answered_ask: float = 1.10  # wish to ask, on an answer to its question
    answered_leave: float = 0.85  # wish to leave, on an answer to its question
    unanswered_ask: float = 0.75  # wish to ask, on a question past its patience without answer
    unanswered_leave: float = 1.60  # wish to leave, likewise
    recognition_answer: float = 1.08  # propensity to answer, on recognition received


REACTION_KEYS: Final = tuple(a.name for a in attrs.fields(Reactions))

_DEFAULTS: Final[dict[str, dict[str, float | str]]] = {
    "expert": {
        "questions_per_week": 0.1,
        "visits_per_week": 2.0,
        "answer_own_tag": 0.35,
        "answer_other_tag": 0.03,
        "answer_when_asked": 0.6,
        "reads_notifications": 0.9,
        "answer_delay_hours": 3.0,
        "accept_rate": 0.7,
        "comment_rate": 0.05,
        "endorse_rate": 0.2,
        "shares_per_week": 0.05,
        "weekly_leave": 0.005,
    },
    "regular": {},
    "newcomer": {
        "questions_per_week": 0.6,
        "visits_per_week": 1.0,
        "answer_own_tag": 0.05,
        "answer_other_tag": 0.02,
        "answer_when_asked": 0.2,
        "reads_notifications": 0.8,
        "answer_delay_hours": 12.0,
        "accept_rate": 0.5,
        "endorse_rate": 0.1,
        "shares_per_week": 0.0,
        "weekly_leave": 0.03,
        "patience_days": 2.0,
    },
    "lurker": {
        "questions_per_week": 0.05,
        "visits_per_week": 2.0,
        "answer_own_tag": 0.01,
        "answer_other_tag": 0.005,
        "answer_when_asked": 0.1,
        "reads_notifications": 0.5,
        "digest": "weekly",
        "answer_delay_hours": 24.0,
        "accept_rate": 0.4,
        "comment_rate": 0.01,
        "endorse_rate": 0.05,
        "shares_per_week": 0.0,
        "patience_days": 5.0,
    },
    "altruist": {
        "questions_per_week": 0.1,
        "visits_per_week": 4.0,
        "answer_own_tag": 0.4,
        "answer_other_tag": 0.2,
        "answer_when_asked": 0.6,
        "reads_notifications": 0.9,
        "answer_delay_hours": 2.0,
        "accept_rate": 0.7,
        "comment_rate": 0.1,
        "endorse_rate": 0.3,
        "shares_per_week": 0.1,
        "weekly_leave": 0.005,
    },
    "facilitator": {
        "questions_per_week": 0.1,
        "visits_per_week": 3.0,
        "answer_own_tag": 0.2,
        "answer_other_tag": 0.1,
        "answer_when_asked": 0.7,
        "reads_notifications": 1.0,
        "answer_delay_hours": 3.0,
        "accept_rate": 0.7,
        "comment_rate": 0.15,
        "endorse_rate": 0.3,
        "shares_per_week": 0.2,
        "weekly_leave": 0.002,
    },
    "sponsor": {
        "questions_per_week": 0.02,
        "visits_per_week": 0.3,
        "answer_own_tag": 0.05,
        "answer_other_tag": 0.02,
        "answer_when_asked": 0.3,
        "reads_notifications": 0.6,
        "digest": "daily",
        "answer_delay_hours": 24.0,
        "accept_rate": 0.5,
        "comment_rate": 0.02,
        "endorse_rate": 0.2,
        "shares_per_week": 0.02,
        "weekly_leave": 0.001,
    },
}


def default_behaviour(persona: str) -> Behaviour:
    """The behaviour of a persona when the scenario changes nothing of it."""
    return Behaviour(**_DEFAULTS[persona])  # type: ignore[arg-type]


def _bounded(value: float) -> float:
    low, high = MULTIPLIER_BOUNDS
    return min(high, max(low, value))


@attrs.define(eq=False)
class Persona:
    """One simulated person: a persona's behaviour, its own generator and what it has lived
    (its multipliers, its open questions). It decides; the model turns decisions into commands."""

    id: str
    persona: str
    group: str
    behaviour: Behaviour
    reactions: Reactions
    expertise: frozenset[str]
    communities: tuple[str, ...]
    working_hours: tuple[int, int]
    working_days: frozenset[int]
    absence: float
    rng: random.Random
    ask: float = 1.0  # multiplier of questions_per_week
    leave: float = 1.0  # multiplier of weekly_leave
    answer: float = 1.0  # multiplier of the propensities to answer
    active: bool = True
    away: bool = False  # absent this week
    #: Its questions still waiting for an answer it received, by title, with when it asked.
    waiting: dict[str, datetime] = attrs.field(factory=dict)
    #: Questions it has considered on a visit or a request (it does not weigh them again).
    considered: set[str] = attrs.field(factory=set)
    asked: int = 0
    answered_received: int = 0
    unanswered_received: int = 0
    recognitions: int = 0

    # -- reactions to benefit received ---------------------------------------------------------------

    def received_answer(self, title: str) -> bool:
        """An answer to one of its questions: the benefit of asking. False when it had had one."""
        if title not in self.waiting:
            return False
        del self.waiting[title]
        self.answered_received += 1
        self.ask = _bounded(self.ask * self.reactions.answered_ask)
        self.leave = _bounded(self.leave * self.reactions.answered_leave)
        return True

    def missed_answers(self, now: datetime) -> int:
        """Questions past its patience without an answer: each lowers its wish to ask and to
        stay, once (an answer coming later still counts as received)."""
        patience = timedelta(days=self.behaviour.patience_days)
        late = sorted(title for title, at in self.waiting.items() if now - at >= patience)
        for title in late:
            del self.waiting[title]
            self.unanswered_received += 1
            self.ask = _bounded(self.ask * self.reactions.unanswered_ask)
            self.leave = _bounded(self.leave * self.reactions.unanswered_leave)
        return len(late)

    def recognised(self) -> None:
        self.recognitions += 1
        self.answer = _bounded(self.answer * self.reactions.recognition_answer)

    # -- decisions ---------------------------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < min(1.0, max(0.0, p))

    def answer_propensity(self, tags: frozenset[str], *, asked: bool) -> float:
        """The chance it answers a question of these tags it has seen (`asked`: it was asked to)."""
        b = self.behaviour
        own = bool(tags & self.expertise)
        base = b.answer_when_asked if asked and own else b.answer_own_tag if own else b.answer_other_tag
        return min(1.0, base * self.answer)

    def weekly_count(self, rate: float) -> int:
        """How many times in a week something of this weekly rate happens (Poisson)."""
        return poisson(self.rng, rate)

    def leaves_now(self) -> bool:
        return self.chance(self.behaviour.weekly_leave * self.leave)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method for small means, a rounded normal above 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def describe(behaviours: Mapping[str, Behaviour]) -> dict[str, dict[str, float | str]]:
    """The behaviours as plain values (for the record of a run)."""
    return {name: attrs.asdict(b) for name, b in behaviours.items()}
