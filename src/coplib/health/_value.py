"""The cycles of value in the health report: the ``value`` key of a community's JSON object
(docs/health.md#json) and the lines of the text report, in English and French."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from coplib.domain.value import CYCLES, ValueCycles

#: The name of each cycle and indicator, by locale.
LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "value": {"en": "Cycles of value", "fr": "Cycles de valeur"},
    "none": {"en": "no evidence", "fr": "aucun signe"},
    "immediate": {"en": "immediate", "fr": "immédiate"},
    "potential": {"en": "potential", "fr": "potentielle"},
    "applied": {"en": "applied", "fr": "appliquée"},
    "realised": {"en": "realised", "fr": "réalisée"},
    "reframing": {"en": "reframing", "fr": "recadrage"},
    "contributions": {"en": "contributions", "fr": "contributions"},
    "active_contributors": {"en": "active contributors", "fr": "contributeurs actifs"},
    "questions_answered": {"en": "questions answered", "fr": "questions répondues"},
    "answered_within_24h": {"en": "answered within 24 h", "fr": "répondues en moins de 24 h"},
    "help_pairs": {"en": "pairs who helped each other", "fr": "paires qui se sont aidées"},
    "answers": {"en": "answers", "fr": "réponses"},
    "repertoire_items": {"en": "repertoire items", "fr": "éléments du répertoire"},
    "new_contributors": {"en": "new contributors", "fr": "nouveaux contributeurs"},
    "gave_and_received": {"en": "gave and received", "fr": "ont donné et reçu"},
    "accepted_answers": {"en": "accepted answers", "fr": "réponses acceptées"},
    "endorsements": {"en": "endorsements", "fr": "recommandations"},
    "contributions_reused": {"en": "contributions credited by a story", "fr": "contributions citées par un récit"},
    "value_stories": {"en": "value stories", "fr": "récits de valeur"},
    "storytellers": {"en": "storytellers", "fr": "auteurs de récits"},
    "people_credited": {"en": "people credited", "fr": "personnes citées"},
    "charter_amendments": {"en": "charter amendments", "fr": "modifications de la charte"},
    "stage_changes": {"en": "stage changes", "fr": "changements d'étape"},
}


def value_json(value: ValueCycles | None) -> dict[str, Any] | None:
    """``{"reached": [...], "cycles": {"immediate": {"evidence": true, "indicators": {...}}, ...}}``,
    or None for a report made without them."""
    if value is None:
        return None
    return {
        "reached": list(value.reached),
        "cycles": {c.name: {"evidence": c.evidence, "indicators": dict(c.indicators)} for c in value.cycles},
    }


def value_lines(value: ValueCycles | None, locale: str) -> list[str]:
    """The text report's section on the cycles of value (nothing when the report has none)."""
    if value is None:
        return []
    sep = " : " if locale == "fr" else ": "
    lines = ["", LABELS["value"][locale]]
    for name in CYCLES:
        cycle = value.cycle(name)
        shown = "; ".join(f"{LABELS[k][locale]} {n}" for k, n in cycle.indicators.items())
        mark = shown if cycle.evidence else f"{LABELS['none'][locale]} ({shown})"
        lines.append(f"  {LABELS[name][locale]}{sep}{mark}")
    return lines
