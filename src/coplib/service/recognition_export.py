"""Export the recognition ledger for HR: one community, one period, as CSV or JSON.

Only a facilitator or the sponsor of the community (or the host's `SYSTEM` jobs) may export.
Every line is a ledger entry (an award, or a reversal with negative points); the totals sum
them per person, so an HR system can take either. Spreadsheet formulas are neutralised in
text cells (a person id starting with ``=`` is written ``'=``), as OWASP advises for CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from coplib.domain.clock import ensure_utc
from coplib.domain.community import Community
from coplib.domain.errors import InvalidInputError, NotFoundError
from coplib.domain.history import Ref
from coplib.domain.permissions import Action
from coplib.domain.recognition import PointsEntry
from coplib.ports.storage import Filter
from coplib.serialization import format_timestamp
from coplib.service.queries import Queries

ENTRY_COLUMNS: Final = (
    "created_at",
    "community_id",
    "person_id",
    "points",
    "reason",
    "kind",
    "reversal_reason",
    "requested",
    "capped",
    "subject_id",
    "cause_event_id",
    "entry_id",
    "reverses",
)
TOTAL_COLUMNS: Final = ("community_id", "person_id", "points", "awarded", "reversed", "entries")
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


@attrs.frozen
class PersonTotal:
    """A person's points over the period: `points` = `awarded` - `reversed`."""

    person_id: str
    points: int
    awarded: int
    reversed: int
    entries: int


@attrs.frozen
class LedgerExport:
    """The ledger of one community over [since, until), with the totals per person."""

    community_id: str
    since: datetime
    until: datetime
    entries: tuple[PointsEntry, ...]
    totals: tuple[PersonTotal, ...]


def ledger_export(engine: Queries, viewer: str, community_id: str, *, since: datetime, until: datetime) -> LedgerExport:
    """The entries created in [since, until), oldest first, and the totals per person (highest
    first). `PermissionDeniedError` unless `viewer` is a facilitator or the sponsor."""
    start = ensure_utc(since, "$.since")
    end = ensure_utc(until, "$.until")
    if end <= start:
        raise InvalidInputError.field("$.until", "must come after since", context="recognition export")
    found = engine.store.get(Ref("community", community_id))
    if found is None or not isinstance(found.value, Community):
        raise NotFoundError("community", community_id)
    _require_steward(engine, viewer, found.value)
    entries = tuple(
        e
        for e in engine.store.find("points_entry", Filter(community_id=community_id, since=start, until=end))
        if isinstance(e, PointsEntry)
    )
    sums: dict[str, list[int]] = {}
    for entry in entries:
        awarded, reversed_, count = sums.setdefault(entry.person_id, [0, 0, 0])
        sums[entry.person_id] = [
            awarded + max(entry.points, 0),
            reversed_ + max(-entry.points, 0),
            count + 1,
        ]
    totals = tuple(
        sorted(
            (PersonTotal(pid, a - r, a, r, n) for pid, (a, r, n) in sums.items()),
            key=lambda t: (-t.points, t.person_id),
        )
    )
    return LedgerExport(community_id, start, end, entries, totals)


def _require_steward(engine: Queries, viewer: str, community: Community) -> None:
    engine._readable(viewer, community, Action.EXPORT_RECOGNITION)


def _entry_row(entry: PointsEntry) -> dict[str, Any]:
    return {
        "created_at": format_timestamp(entry.created_at),
        "community_id": entry.community_id,
        "person_id": entry.person_id,
        "points": entry.points,
        "reason": entry.reason,
        "kind": "reversal" if entry.is_reversal else "award",
        "reversal_reason": entry.reversal_reason or "",
        "requested": entry.requested,
        "capped": entry.capped,
        "subject_id": entry.subject_id,
        "cause_event_id": entry.cause_event_id,
        "entry_id": entry.id,
        "reverses": entry.reverses or "",
    }


def _safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe(v) for k, v in row.items()})
    return out.getvalue()


def recognition_csv(
    engine: Queries, viewer: str, community_id: str, *, since: datetime, until: datetime, totals: bool = False
) -> str:
    """The period's ledger as CSV (RFC 4180, header first): one row per entry, or with
    `totals` one row per person."""
    export = ledger_export(engine, viewer, community_id, since=since, until=until)
    if totals:
        rows = [{"community_id": export.community_id, **attrs.asdict(t)} for t in export.totals]
        return _csv(TOTAL_COLUMNS, rows)
    return _csv(ENTRY_COLUMNS, [_entry_row(e) for e in export.entries])


def recognition_json(engine: Queries, viewer: str, community_id: str, *, since: datetime, until: datetime) -> str:
    """The period's ledger as one JSON document: the community, the period, the entries and
    the totals per person."""
    export = ledger_export(engine, viewer, community_id, since=since, until=until)
    document = {
        "community_id": export.community_id,
        "since": format_timestamp(export.since),
        "until": format_timestamp(export.until),
        "entries": [_entry_row(e) for e in export.entries],
        "totals": [attrs.asdict(t) for t in export.totals],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)


class RecognitionExports(Queries):
    """The recognition ledger's exports, as engine methods."""

    def recognition_csv(
        self, viewer: str, community_id: str, *, since: datetime, until: datetime, totals: bool = False
    ) -> str:
        """The period's ledger as CSV, for a steward (see `recognition_csv`)."""
        return recognition_csv(self, viewer, community_id, since=since, until=until, totals=totals)

    def recognition_json(self, viewer: str, community_id: str, *, since: datetime, until: datetime) -> str:
        """The period's ledger as JSON, for a steward (see `recognition_json`)."""
        return recognition_json(self, viewer, community_id, since=since, until=until)
