"""The health report as JSON: one versioned schema (docs/health.md#json), built from the report
values at the edge, never parsed back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs

from coplib.domain.health import CommunityHealth, Group, RetentionGroup, SeriesPoint
from coplib.health._lifecycle import lifecycle_json
from coplib.health._value import value_json

#: The name and version of the JSON schema. A new key keeps the version; a key renamed,
#: removed or given another meaning moves it to ``coplib.health/2``.
SCHEMA: Final = "coplib.health/1"


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, RetentionGroup):
        return attrs.asdict(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _fields(value: Any, *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    skip = set(leave_out)
    return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value)) if f.name not in skip}


def _point(point: SeriesPoint) -> dict[str, Any]:
    return {"start": point.start.isoformat(), **_fields(point, leave_out=("start",))}


def _groups(groups: Iterable[Group]) -> dict[str, Any]:
    return {
        g.name: {"indicators": list(g.indicators), "components": list(g.components), "score": g.score} for g in groups
    }


def community_json(report: CommunityHealth) -> dict[str, Any]:
    """One community's object of the ``communities`` list (docs/health.md#json)."""
    r = report.responsiveness
    concentration = _fields(report.concentration, leave_out=("by_month",))
    concentration["by_month"] = {
        m.month: {"by_experts": m.by_experts, "by_others": m.by_others, "share_by_others": m.share_by_others}
        for m in report.concentration.by_month
    }
    return {
        "community_id": report.community_id,
        "name": report.name,
        "since": _time(report.since),
        "until": _time(report.until),
        # The headline figures, the same as under their families.
        "questions": r.questions,
        "answers": report.activity.answers,
        "answered": r.answered,
        "accepted": r.accepted,
        "median_hours_to_first_answer": r.median_hours_to_first_answer,
        "answered_within_24h": r.answered_within_24h,
        "questions_per_month": report.questions_per_month,
        "responsiveness": _fields(r),
        "activity": _fields(report.activity),
        "retention": _fields(report.retention),
        "interaction": _fields(report.interaction),
        "concentration": concentration,
        "members": _fields(report.members),
        "series": {
            "weekly": [_point(p) for p in report.weekly],
            "monthly": [_point(p) for p in report.monthly],
        },
        "index": {"value": report.index, "components": dict(report.components), "weights": dict(report.weights)},
        "dimensions": _groups(report.dimensions),
        "axes": _groups(report.axes),
        "value": value_json(report.value),
        **lifecycle_json(report),
    }


def to_json(reports: Iterable[CommunityHealth]) -> dict[str, Any]:
    """``{"schema": "coplib.health/1", "communities": [...]}``: what ``coplib health --json`` prints."""
    return {"schema": SCHEMA, "communities": [community_json(r) for r in reports]}
