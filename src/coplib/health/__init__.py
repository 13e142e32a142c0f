"""Community health: indicators computed from a community's history (docs/health.md).

"If you cannot measure it, you cannot improve it" (seeds/003). The report of a community over
a period: responsiveness (time to first answer, share answered, the unanswered backlog),
activity, the retention of first-time askers split by how fast their first question was
answered (the seed's thesis), interaction, concentration, members, Wenger's three dimensions
and the three axes of seeds/003 as groups of indicators, and a health index from 0 to 100 whose
weights the charter sets.

    import coplib
    from coplib.health import community_health, render_text, to_json

    with coplib.open("sqlite:///coplib.db") as engine:
        report = community_health(engine, viewer, community_id)   # = engine.community_health(...)
        print(render_text(report, "fr"))
        document = to_json([report])                              # {"schema": "coplib.health/1", ...}

Each report also carries, as ``report.lifecycle`` (the ``stage`` and ``decline`` keys of the
JSON, the text's last section), where the community stands and where it is going: its suggested
and confirmed lifecycle stage and the decline detector's state and alerts (docs/health.md#lifecycle).

Everything is computed from what the store aggregates (docs/health.md says how for each
indicator); reading is permissioned like every read: a private community's report is unknown
to an outsider.
"""

from __future__ import annotations

from datetime import date, datetime

from coplib.domain.health import (
    AXES,
    COMPONENTS,
    DEFAULT_WEIGHTS,
    DIMENSIONS,
    SETTINGS,
    Activity,
    CommunityHealth,
    Concentration,
    Group,
    HealthSettings,
    Interaction,
    Members,
    MonthOfExperts,
    Responsiveness,
    Retention,
    RetentionGroup,
    SeriesPoint,
    absence_factor,
    health_index,
    median,
    percentile,
)
from coplib.health._json import SCHEMA, community_json, to_json
from coplib.health._text import LOCALES, render_text
from coplib.service.engine import Engine

__all__ = [
    "AXES",
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "DIMENSIONS",
    "LOCALES",
    "SCHEMA",
    "SETTINGS",
    "Activity",
    "CommunityHealth",
    "Concentration",
    "Group",
    "HealthSettings",
    "Interaction",
    "Members",
    "MonthOfExperts",
    "Responsiveness",
    "Retention",
    "RetentionGroup",
    "SeriesPoint",
    "absence_factor",
    "community_health",
    "community_json",
    "health_index",
    "health_reports",
    "median",
    "percentile",
    "render_text",
    "to_json",
]


def community_health(
    engine: Engine,
    viewer: str,
    community_id: str,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> CommunityHealth:
    """`Engine.community_health`: the report of one community, for a viewer who may read it."""
    return engine.community_health(viewer, community_id, since=since, until=until)


def health_reports(
    engine: Engine,
    viewer: str,
    organisation_id: str | None = None,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> list[CommunityHealth]:
    """`Engine.health_reports`: the reports of every community the viewer may read."""
    return engine.health_reports(viewer, organisation_id, since=since, until=until)
