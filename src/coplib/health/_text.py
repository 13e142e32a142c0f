"""The health report as text for a person, in English or French (the members' labels); the
command line prints it in English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from coplib.domain.health import CommunityHealth, RetentionGroup
from coplib.health._lifecycle import lifecycle_lines
from coplib.health._value import value_lines

LOCALES: Final = ("en", "fr")

#: Every label, by key, in each locale.
LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "title": {"en": "Health of {name}", "fr": "Santé de {name}"},
    "period": {"en": "period: {since} to {until}", "fr": "période : du {since} au {until}"},
    "beginning": {"en": "the beginning", "fr": "début"},
    "index": {"en": "Health index", "fr": "Indice de santé"},
    "responsiveness": {"en": "Responsiveness", "fr": "Réactivité"},
    "questions": {"en": "questions", "fr": "questions"},
    "answered": {"en": "answered by someone else", "fr": "répondues par un autre membre"},
    "median": {"en": "time to first answer, median", "fr": "délai de première réponse, médiane"},
    "p90": {"en": "time to first answer, 90th percentile", "fr": "délai de première réponse, 90e centile"},
    "within_24h": {"en": "answered within {hours} h", "fr": "répondues en moins de {hours} h"},
    "within_target": {
        "en": "answered within the charter's target ({target})",
        "fr": "répondues dans le délai de la charte ({target})",
    },
    "accepted": {"en": "with an accepted answer", "fr": "avec une réponse acceptée"},
    "unanswered": {
        "en": "still unanswered (oldest: {days} days)",
        "fr": "toujours sans réponse (la plus ancienne : {days} jours)",
    },
    "activity": {"en": "Activity", "fr": "Activité"},
    "answers": {"en": "answers", "fr": "réponses"},
    "repertoire": {"en": "resources and experiences shared", "fr": "ressources et retours d'expérience partagés"},
    "contributions": {"en": "contributions in all", "fr": "contributions en tout"},
    "active": {"en": "active contributors", "fr": "contributeurs actifs"},
    "new": {"en": "new contributors", "fr": "nouveaux contributeurs"},
    "retention": {
        "en": "Retention of first-time askers (contribute again within {days} days)",
        "fr": "Fidélisation des nouveaux demandeurs (contribuent à nouveau sous {days} jours)",
    },
    "retained_all": {"en": "all", "fr": "tous"},
    "retained_fast": {
        "en": "first question answered within {hours} h",
        "fr": "première question répondue en moins de {hours} h",
    },
    "retained_later": {"en": "answered later", "fr": "répondue plus tard"},
    "retained_never": {"en": "never answered", "fr": "jamais répondue"},
    "pending": {"en": "{n} more are too recent to tell", "fr": "{n} autres sont trop récents pour conclure"},
    "interaction": {"en": "Interaction", "fr": "Interactions"},
    "pairs": {"en": "pairs of people who helped each other", "fr": "paires de personnes qui se sont aidées"},
    "mutual": {"en": "of which both ways", "fr": "dont dans les deux sens"},
    "reciprocity": {"en": "members who both gave and received", "fr": "membres qui ont donné et reçu"},
    "concentration": {"en": "Concentration", "fr": "Concentration"},
    "absence": {
        "en": "fewest people making half the contributions",
        "fr": "nombre minimal de personnes faisant la moitié des contributions",
    },
    "by_others": {
        "en": "answers by members other than the designated experts",
        "fr": "réponses par d'autres membres que les experts désignés",
    },
    "members": {"en": "Members", "fr": "Membres"},
    "inactive": {"en": "inactive for {days} days", "fr": "inactifs depuis {days} jours"},
    "never": {"en": "never contributed", "fr": "n'ont jamais contribué"},
    "levels": {"en": "levels of participation", "fr": "niveaux de participation"},
    "core_group": {"en": "core group", "fr": "noyau"},
    "active_level": {"en": "active", "fr": "actifs"},
    "occasional": {"en": "occasional", "fr": "occasionnels"},
    "peripheral": {"en": "peripheral", "fr": "périphériques"},
    "dimensions": {"en": "Wenger's dimensions", "fr": "Dimensions de Wenger"},
    "mutual_engagement": {"en": "mutual engagement", "fr": "engagement mutuel"},
    "joint_enterprise": {"en": "joint enterprise", "fr": "entreprise commune"},
    "shared_repertoire": {"en": "shared repertoire", "fr": "répertoire partagé"},
    "axes": {"en": "The three axes", "fr": "Les trois axes"},
    "social": {"en": "social (engagement)", "fr": "social (engagement)"},
    "intellectual": {"en": "intellectual (learning)", "fr": "intellectuel (apprentissage)"},
    "performance": {"en": "performance (results)", "fr": "performance (résultats)"},
    "none": {"en": "n/a", "fr": "n/d"},
}


def _label(key: str, locale: str, **values: object) -> str:
    return LABELS[key][locale].format(**values)


def _percent(value: float | None, locale: str) -> str:
    if value is None:
        return _label("none", locale)
    text = f"{100 * value:.0f} %"
    return text if locale == "fr" else text.replace(" %", "%")


def _number(value: float | None, locale: str, digits: int = 1) -> str:
    if value is None:
        return _label("none", locale)
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",") if locale == "fr" else text


def _hours(value: float | None, locale: str) -> str:
    return _label("none", locale) if value is None else f"{_number(value, locale)} h"


def _group(group: RetentionGroup, locale: str) -> str:
    return f"{_percent(group.share_retained, locale)} ({group.retained}/{group.askers})"


def render_text(report: CommunityHealth, locale: str = "en") -> str:
    """The report for a person to read, in `locale` (``en`` or ``fr``)."""
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}, got {locale!r}")
    loc = locale
    sep = " : " if loc == "fr" else ": "  # French typography: a space before the colon
    r, a, ret, i, c, m = (
        report.responsiveness,
        report.activity,
        report.retention,
        report.interaction,
        report.concentration,
        report.members,
    )
    since = report.since.date().isoformat() if report.since else _label("beginning", loc)
    lines = [
        _label("title", loc, name=report.name),
        _label("period", loc, since=since, until=report.until.isoformat(timespec="minutes")),
        f"{_label('index', loc)}{sep}{_number(report.index, loc, 0)} / 100",
        "",
        _label("responsiveness", loc),
        f"  {_label('questions', loc)}{sep}{r.questions}",
        f"  {_label('answered', loc)}{sep}{r.answered} ({_percent(r.share_answered, loc)})",
        f"  {_label('median', loc)}{sep}{_hours(r.median_hours_to_first_answer, loc)}",
        f"  {_label('p90', loc)}{sep}{_hours(r.p90_hours_to_first_answer, loc)}",
        f"  {_label('within_24h', loc, hours=ret.fast_hours)}{sep}{r.answered_within_24h} "
        f"({_percent(r.share_within_24h, loc)})",
        f"  {_label('within_target', loc, target=r.target)}{sep}{r.answered_within_target} "
        f"({_percent(r.share_within_target, loc)})",
        f"  {_label('accepted', loc)}{sep}{r.accepted} ({_percent(r.share_accepted, loc)})",
        f"  {_label('unanswered', loc, days=_number(r.unanswered_oldest_age_days, loc, 0))}{sep}{r.unanswered}",
        "",
        _label("activity", loc),
        f"  {_label('questions', loc)}{sep}{a.questions}; {_label('answers', loc)}{sep}{a.answers}; "
        f"{_label('repertoire', loc)}{sep}{a.repertoire}; {_label('contributions', loc)}{sep}{a.contributions}",
        f"  {_label('active', loc)}{sep}{a.active_contributors}; {_label('new', loc)}{sep}{a.new_contributors}",
        "",
        _label("retention", loc, days=ret.window_days),
        f"  {_label('retained_all', loc)}{sep}{_group(ret.all, loc)}",
        f"  {_label('retained_fast', loc, hours=ret.fast_hours)}{sep}{_group(ret.answered_fast, loc)}",
        f"  {_label('retained_later', loc)}{sep}{_group(ret.answered_later, loc)}",
        f"  {_label('retained_never', loc)}{sep}{_group(ret.never_answered, loc)}",
    ]
    if ret.pending:
        lines.append(f"  {_label('pending', loc, n=ret.pending)}")
    lines += [
        "",
        _label("interaction", loc),
        f"  {_label('pairs', loc)}{sep}{i.help_pairs} ({_label('mutual', loc)}{sep}{i.mutual_pairs})",
        f"  {_label('reciprocity', loc)}{sep}{i.gave_and_received} ({_percent(i.reciprocity, loc)})",
        "",
        _label("concentration", loc),
        f"  {_label('absence', loc)}{sep}{c.absence_factor} / {c.contributors}",
        f"  {_label('by_others', loc)}{sep}{_percent(c.share_by_others, loc)}",
        "",
        _label("members", loc) + f"{sep}{m.members}",
        f"  {_label('inactive', loc, days=m.inactive_days)}{sep}{m.inactive}; "
        f"{_label('never', loc)}{sep}{m.never_contributed}",
        f"  {_label('levels', loc)}{sep}"
        + ", ".join(
            f"{_label('active_level' if level == 'active' else level, loc)} {count}"
            for level, count in m.levels.items()
        ),
        "",
        _label("dimensions", loc)
        + ": "
        + "; ".join(f"{_label(g.name, loc)} {_number(g.score, loc, 0)}" for g in report.dimensions),
        _label("axes", loc)
        + ": "
        + "; ".join(f"{_label(g.name, loc)} {_number(g.score, loc, 0)}" for g in report.axes),
    ]
    lines += value_lines(report.value, loc)
    lines += lifecycle_lines(report, loc)
    return "\n".join(lines) + "\n"
