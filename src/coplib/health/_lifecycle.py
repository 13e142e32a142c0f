"""The lifecycle keys of a community in the health JSON (docs/health.md#json): ``stage`` and
``decline``, from the report's `CommunityHealth.lifecycle`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from coplib.domain.health import CommunityHealth
from coplib.domain.lifecycle import STAGE_NAMES, LifecycleReport


def lifecycle_json(report: CommunityHealth) -> dict[str, Any]:
    """``{"stage": {...}, "decline": {...}}`` (empty when the report has no lifecycle):
    ``stage`` is the stage to show (the suggestion, or the confirmed stage of a closed
    community or before the first complete month), since when, why, the facilitator's
    ``confirmed`` stage and whether the community is in ``bootstrap`` mode; ``decline`` says
    whether it is running out of steam at the end of the history and the months the detector,
    run as at the end of each complete month, entered that state."""
    life = report.lifecycle
    if not isinstance(life, LifecycleReport):
        return {}
    return {
        "stage": {
            "name": life.stage.value,
            "since": life.since,
            "reasons": list(life.reasons.get("en", ())),
            "suggested": life.suggested.value if life.suggested is not None else None,
            "confirmed": life.confirmed.value,
            "bootstrap": life.bootstrap,
        },
        "decline": {
            "declining": life.declining,
            "since": life.decline_since,
            "alerts": [{"month": a.month, "reasons": list(a.reasons.get("en", ()))} for a in life.alerts],
        },
    }


_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "title": "Lifecycle",
        "stage": "stage suggested by the signals",
        "since": "since",
        "confirmed": "stage set by the facilitator",
        "declining": "running out of steam",
        "yes_since": "yes, since {month}",
        "no": "no",
        "alerts": "months the detector fired",
        "none": "none",
    },
    "fr": {
        "title": "Cycle de vie",
        "stage": "stade suggéré par les signaux",
        "since": "depuis",
        "confirmed": "stade fixé par l'animateur",
        "declining": "essoufflement",
        "yes_since": "oui, depuis {month}",
        "no": "non",
        "alerts": "mois où le détecteur s'est déclenché",
        "none": "aucun",
    },
}


def lifecycle_lines(report: CommunityHealth, locale: str) -> list[str]:
    """The lifecycle section of the text report (none when the report has no lifecycle)."""
    life = report.lifecycle
    if not isinstance(life, LifecycleReport):
        return []
    words = _LABELS[locale]
    sep = " : " if locale == "fr" else ": "
    suggested = STAGE_NAMES[locale][life.suggested] if life.suggested is not None else words["none"]
    since = f" ({words['since']} {life.since})" if life.since else ""
    declining = words["yes_since"].format(month=life.decline_since) if life.declining else words["no"]
    alerts = ", ".join(a.month for a in life.alerts) or words["none"]
    return [
        "",
        words["title"],
        f"  {words['stage']}{sep}{suggested}{since}",
        *(f"    {reason}" for reason in life.reasons.get(locale, ())),
        f"  {words['confirmed']}{sep}{STAGE_NAMES[locale][life.confirmed]}",
        f"  {words['declining']}{sep}{declining}",
        *(f"    {reason}" for a in life.alerts[-1:] if life.declining for reason in a.reasons.get(locale, ())),
        f"  {words['alerts']}{sep}{alerts}",
    ]
