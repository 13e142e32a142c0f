"""Deciding to launch a community (seeds/001, seeds/002, seeds/000): the launch-readiness
model that scores a candidate community before it is created, and the candidate itself, kept
in the organisation until it is launched or dropped (docs/value-and-launch.md#launch).

Each criterion has a weight (overridable by the host), the reason it matters, and what the
founder is told when it is missing, in French and English.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from coplib.domain import validation as v
from coplib.domain.community import CommunityKind
from coplib.domain.errors import FieldError, InvalidInputError

#: How many people make a full core group (noyau dur, seeds/002): fewer count in proportion.
CORE_GROUP_MIN: Final = 3
#: How many immediate needs a candidate lists at most, and people its core group holds at most.
NEEDS_MAX: Final = 10
CORE_GROUP_MAX: Final = v.LIST_MAX
#: The largest weight a host may give one criterion.
WEIGHT_MAX: Final = 1000


@attrs.frozen
class Criterion:
    """One criterion of readiness: its default weight, why it matters (`reason`) and what the
    founder is told when it is missing (`missing`), each by locale."""

    name: str
    weight: int
    reason: Mapping[str, str] = attrs.field(hash=False)
    missing: Mapping[str, str] = attrs.field(hash=False)


CRITERIA: Final[tuple[Criterion, ...]] = (
    Criterion(
        "strategic_theme",
        15,
        {
            "en": "communities tied to the organisation's key stakes get its support (seeds/001, seeds/002)",
            "fr": "les communautés liées aux enjeux clés de l'organisation obtiennent son soutien",
        },
        {
            "en": "name the strategic theme the community serves",
            "fr": "indiquez le thème stratégique que sert la communauté",
        },
    ),
    Criterion(
        "existing_network",
        20,
        {
            "en": "a community launched on a platform works only if it existed before, outside it, with "
            "recurring exchanges (seeds/000)",
            "fr": "une communauté lancée sur une plateforme ne fonctionne que si elle existait avant, en dehors, "
            "avec des échanges récurrents",
        },
        {
            "en": "describe the network that already exists outside the platform, and confirm its exchanges recur",
            "fr": "décrivez le réseau qui existe déjà hors de la plateforme, et confirmez que ses échanges sont "
            "récurrents",
        },
    ),
    Criterion(
        "immediate_needs",
        10,
        {
            "en": "immediate needs (a technical reference, practice shared between sites, experts when a problem "
            "strikes, collective watch) give members a direct benefit from day one (seeds/002)",
            "fr": "des besoins immédiats (référentiel technique, partage entre sites, accès aux experts, veille "
            "collective) donnent aux membres un bénéfice direct dès le premier jour",
        },
        {"en": "list at least one immediate need", "fr": "indiquez au moins un besoin immédiat"},
    ),
    Criterion(
        "core_group",
        15,
        {
            "en": f"a core group of key people ({CORE_GROUP_MIN} or more) carries the community at start (seeds/002)",
            "fr": f"un noyau dur de personnes clés ({CORE_GROUP_MIN} ou plus) porte la communauté au démarrage",
        },
        {
            "en": f"name the people of the core group ({CORE_GROUP_MIN} at least)",
            "fr": f"nommez les personnes du noyau dur ({CORE_GROUP_MIN} au moins)",
        },
    ),
    Criterion(
        "sponsor",
        10,
        {
            "en": "a sponsor gives the community its legitimacy in the organisation (seeds/001)",
            "fr": "un sponsor donne à la communauté sa légitimité dans l'organisation",
        },
        {"en": "find a sponsor", "fr": "trouvez un sponsor"},
    ),
    Criterion(
        "facilitator",
        10,
        {
            "en": "a facilitator (animateur) keeps it alive: without one it runs out of steam (seeds/001, seeds/003)",
            "fr": "un animateur la fait vivre : sans lui elle s'essouffle",
        },
        {"en": "name a facilitator", "fr": "désignez un animateur"},
    ),
    Criterion(
        "time_allocated",
        8,
        {
            "en": "members need time allocated to take part (seeds/001)",
            "fr": "les membres ont besoin de temps alloué pour participer",
        },
        {"en": "allocate time to the members", "fr": "allouez du temps aux membres"},
    ),
    Criterion(
        "participation_recognised",
        6,
        {
            "en": "participation recognised through HR practice keeps people contributing (seeds/001)",
            "fr": "une participation reconnue par les pratiques RH entretient les contributions",
        },
        {
            "en": "arrange for participation to be recognised",
            "fr": "faites reconnaître la participation",
        },
    ),
    Criterion(
        "middle_managers_informed",
        6,
        {
            "en": "a middle manager who feels threatened can block the community: explain it to them (seeds/001)",
            "fr": "un cadre intermédiaire qui se sent menacé peut bloquer la communauté : expliquez-la-leur",
        },
        {"en": "inform the middle managers concerned", "fr": "informez les cadres intermédiaires concernés"},
    ),
)
CRITERION_NAMES: Final = tuple(c.name for c in CRITERIA)
DEFAULT_WEIGHTS: Final[Mapping[str, int]] = {c.name: c.weight for c in CRITERIA}
LOCALES: Final = ("en", "fr")


def check_weights(weights: object, path: str = "$.weights") -> dict[str, int]:
    """The weights of every criterion: the defaults with `weights` (criterion -> whole number
    from 0 to `WEIGHT_MAX`) laid over them. `InvalidInputError` naming every bad key; the
    weights must not all be zero."""
    if weights is None:
        return dict(DEFAULT_WEIGHTS)
    if not isinstance(weights, Mapping):
        raise InvalidInputError.field(path, f"must be a mapping of criterion to weight, got {type(weights).__name__}")
    errors: list[FieldError] = []
    out = dict(DEFAULT_WEIGHTS)
    for name, weight in weights.items():
        key = v.key_path(path, str(name))
        if name not in DEFAULT_WEIGHTS:
            errors.append(FieldError(key, f"unknown criterion; the criteria are {', '.join(CRITERION_NAMES)}"))
        elif isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= WEIGHT_MAX:
            errors.append(FieldError(key, f"must be a whole number from 0 to {WEIGHT_MAX}, got {weight!r:.40}"))
        else:
            out[name] = weight
    if not errors and not any(out.values()):
        errors.append(FieldError(path, "at least one criterion needs a weight above zero"))
    if errors:
        raise InvalidInputError(errors, context="readiness weights")
    return out


# -- what the founder says about a candidate ------------------------------------------------------

_one_line = v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True)


def _optional_person(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.optional_identifier(instance, attribute, value)


def _people(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.members_of(str, max_count=CORE_GROUP_MAX)(_, attribute, value)
    for person in sorted(value):
        if not v.is_identifier(person):
            raise InvalidInputError.field(f"$.{attribute.name}", f"must hold person ids, got {person!r:.60}")


@attrs.frozen
class LaunchFacts:
    """What is known of a candidate community against each criterion (all optional: what is
    left out counts as missing)."""

    strategic_theme: str = attrs.field(default="", validator=_one_line)
    #: The trade or thematic network that already exists outside the platform.
    existing_network: str = attrs.field(default="", validator=_one_line)
    recurring_exchanges: bool = attrs.field(default=False, validator=v.instance_of(bool))
    immediate_needs: tuple[str, ...] = attrs.field(
        default=(), converter=v.to_tuple, validator=v.short_texts(max_count=NEEDS_MAX)
    )
    core_group: frozenset[str] = attrs.field(default=frozenset(), converter=v.to_frozenset, validator=_people)
    sponsor: str | None = attrs.field(default=None, validator=_optional_person)
    facilitator: str | None = attrs.field(default=None, validator=_optional_person)
    time_allocated: bool = attrs.field(default=False, validator=v.instance_of(bool))
    participation_recognised: bool = attrs.field(default=False, validator=v.instance_of(bool))
    middle_managers_informed: bool = attrs.field(default=False, validator=v.instance_of(bool))

    @property
    def people(self) -> frozenset[str]:
        """Everyone the facts name: the core group, the sponsor and the facilitator."""
        named = {p for p in (self.sponsor, self.facilitator) if p is not None}
        return self.core_group | named


def satisfaction(facts: LaunchFacts) -> dict[str, float]:
    """How far the facts meet each criterion, from 0 (missing) to 1 (met)."""
    return {
        "strategic_theme": float(bool(facts.strategic_theme.strip())),
        "existing_network": 0.5 * bool(facts.existing_network.strip()) + 0.5 * facts.recurring_exchanges,
        "immediate_needs": float(bool(facts.immediate_needs)),
        "core_group": min(len(facts.core_group), CORE_GROUP_MIN) / CORE_GROUP_MIN,
        "sponsor": float(facts.sponsor is not None),
        "facilitator": float(facts.facilitator is not None),
        "time_allocated": float(facts.time_allocated),
        "participation_recognised": float(facts.participation_recognised),
        "middle_managers_informed": float(facts.middle_managers_informed),
    }


@attrs.frozen
class CriterionResult:
    """One criterion as scored: its weight, how far it is met, why it matters and, when it is
    not fully met, what is missing (by locale)."""

    name: str
    weight: int
    satisfaction: float
    reason: Mapping[str, str] = attrs.field(hash=False)
    missing: Mapping[str, str] | None = attrs.field(hash=False)

    @property
    def met(self) -> bool:
        return self.satisfaction >= 1


@attrs.frozen
class Readiness:
    """A candidate's score (0 to 100: the weighted share of the criteria met) and each
    criterion's result."""

    score: float
    criteria: tuple[CriterionResult, ...]

    @property
    def missing(self) -> tuple[CriterionResult, ...]:
        """The criteria with a weight that are not fully met, heaviest first."""
        return tuple(
            sorted((c for c in self.criteria if not c.met and c.weight > 0), key=lambda c: (-c.weight, c.name))
        )

    def explain(self, locale: str = "en") -> list[str]:
        """What the founder is shown: the score, then what is missing and why it matters."""
        if locale not in LOCALES:
            raise InvalidInputError.field("$.locale", f"must be one of {', '.join(LOCALES)}, got {locale!r:.20}")
        head = {"en": "Readiness: {score}/100", "fr": "Préparation : {score}/100"}[locale]
        lines = [head.format(score=round(self.score))]
        for c in self.missing:
            assert c.missing is not None
            lines.append(f"- {c.missing[locale]} ({c.reason[locale]})")
        return lines


def assess(facts: LaunchFacts, weights: Mapping[str, int] | None = None) -> Readiness:
    """Score `facts` with `weights` (checked: `check_weights`; the defaults when None)."""
    weights_ = check_weights(weights)
    met = satisfaction(facts)
    total = sum(weights_.values())
    score = 100 * sum(weights_[c.name] * met[c.name] for c in CRITERIA) / total
    results = tuple(
        CriterionResult(c.name, weights_[c.name], met[c.name], c.reason, None if met[c.name] >= 1 else c.missing)
        for c in CRITERIA
    )
    return Readiness(score, results)


# -- the candidate, kept in the organisation -------------------------------------------------------


class CandidateStatus(enum.StrEnum):
    """Where a candidate community stands."""

    PROPOSED = "proposed"  # being prepared
    LAUNCHED = "launched"  # the community was created from it
    DROPPED = "dropped"  # given up


@attrs.frozen
class CommunityCandidate:
    """A community someone proposes to launch in an organisation, with what is known of it
    against the readiness criteria, until it is launched (`launched_as`: the community) or
    dropped."""

    id: str = attrs.field(validator=v.identifier)
    organisation_id: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    vocation: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX, multiline=True))
    kind: CommunityKind = attrs.field(validator=attrs.validators.instance_of(CommunityKind))
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    facts: LaunchFacts = attrs.field(validator=attrs.validators.instance_of(LaunchFacts))
    proposed_by: str = attrs.field(validator=v.identifier)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    updated_at: datetime = attrs.field(validator=v.utc_datetime)
    status: CandidateStatus = attrs.field(
        default=CandidateStatus.PROPOSED, validator=attrs.validators.instance_of(CandidateStatus)
    )
    launched_as: str | None = attrs.field(default=None, validator=v.optional_identifier)
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen
class AssessedCandidate:
    """A candidate with its readiness, as the organisation's ranking lists it."""

    candidate: CommunityCandidate
    readiness: Readiness


def rank_candidates(assessed: Iterable[AssessedCandidate]) -> list[AssessedCandidate]:
    """Highest score first, then the oldest proposal, then by id: a stable order."""
    return sorted(assessed, key=lambda a: (-a.readiness.score, a.candidate.created_at, a.candidate.id))
