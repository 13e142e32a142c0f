"""The stage suggested from the signals (Wenger, McDermott & Snyder), with its reasons in words,
month by month, and its settings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from coplib.domain.community import LifecycleStage
from coplib.domain.decline import MonthPoint, Verdict, next_month
from coplib.domain.errors import InvalidInputError
from coplib.domain.lifecycle import (
    LifecycleSettings,
    StageSettings,
    StageSignals,
    questions_growth,
    stage_history,
    stage_reasons,
    stage_since,
    suggest,
)

MONTH = date(2026, 3, 1)


def signals(**changes: object) -> StageSignals:
    base = StageSignals(
        month=MONTH, members=80, age_months=30, contributions=5000, questions_growth=0.0, declining=False, of_peak=0.9
    )
    return base._replace(**changes)  # type: ignore[arg-type]


def test_the_issues_example_reads_as_the_issue_writes_it() -> None:
    found = suggest(signals(members=14, age_months=2, questions_growth=0.35), StageSettings())
    assert found.stage is LifecycleStage.COALESCING
    reasons = stage_reasons(found, StageSettings())
    assert reasons[0] == "coalescing: 14 members, 2 months old, questions growing 35 % a month"
    assert "bootstrap mode: 14 of 50 members" in reasons
    french = stage_reasons(found, StageSettings(), "fr")
    assert french[0] == "coalescence : 14 membres, 2 mois d'existence, questions en hausse de 35 % par mois"


@pytest.mark.parametrize(
    ("changes", "stage"),
    [
        ({"members": 2}, LifecycleStage.POTENTIAL),
        ({"contributions": 0}, LifecycleStage.POTENTIAL),
        ({"members": 40}, LifecycleStage.COALESCING),  # bootstrap mode, whatever the age
        ({"age_months": 4}, LifecycleStage.COALESCING),
        ({"age_months": 12}, LifecycleStage.MATURING),
        ({"questions_growth": 0.08}, LifecycleStage.MATURING),  # old, but still growing
        ({}, LifecycleStage.STEWARDSHIP),
        ({"declining": True}, LifecycleStage.TRANSFORMATION),
        ({"of_peak": 0.3}, LifecycleStage.TRANSFORMATION),
        ({"declining": True, "members": 40}, LifecycleStage.COALESCING),  # no transformation in bootstrap
    ],
)
def test_each_rule_gives_its_stage(changes: dict[str, object], stage: LifecycleStage) -> None:
    assert suggest(signals(**changes), StageSettings()).stage is stage


def test_the_thresholds_come_from_the_charter() -> None:
    settings = LifecycleSettings.parse({"bootstrap_members": "100", "stewardship_months": "36"}).stage
    assert suggest(signals(), settings).stage is LifecycleStage.COALESCING
    assert suggest(signals(members=120), settings).stage is LifecycleStage.MATURING


def test_a_shrunk_community_says_how_far_below_its_peak_it_is() -> None:
    found = suggest(signals(of_peak=0.3), StageSettings())
    assert "contributions at 30 % of their peak (6-month mean)" in stage_reasons(found, StageSettings())


def _verdict(month: date, declining: bool = False) -> Verdict:
    return Verdict(month, declining, False, False, (), 1)


def test_the_history_counts_members_by_when_they_joined_and_says_since_when_the_stage_holds() -> None:
    months, day = [], date(2025, 1, 1)
    for _ in range(8):
        months.append(day)
        day = next_month(day)
    points = [MonthPoint(m, 20, 5, 10 + 5 * i, 5) for i, m in enumerate(months)]
    joined = [None, None] + [datetime(2025, 1 + i, 15, tzinfo=UTC) for i in range(8)]
    history = stage_history(
        points,
        [_verdict(m) for m in months],
        joined,
        StageSettings(potential_members=3, bootstrap_members=5, confirm_months=1),
        created_at=datetime(2025, 1, 2, tzinfo=UTC),
    )
    assert [s.signals.members for s in history] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert [s.signals.age_months for s in history] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [s.bootstrap for s in history] == [True, True, False, False, False, False, False, False]
    assert [s.stage for s in history][-1] is LifecycleStage.MATURING
    assert stage_since(history) == date(2025, 6, 1)  # the 6th month: old enough to mature


def test_questions_growth_is_the_theil_sen_slope_over_the_mean_of_the_last_six_months() -> None:
    pts = [MonthPoint(date(2025, m, 1), 0, 0, q, None) for m, q in zip(range(1, 9), [1, 1, 10, 12, 14, 16, 18, 20])]
    assert questions_growth(pts) == pytest.approx(2 / 15)  # slope 2 a month, mean 15
    assert questions_growth(pts[:2]) is None


@pytest.mark.parametrize(
    ("key", "value"),
    [("bootstrap_members", "2"), ("stewardship_months", "3"), ("potential_members", "0"), ("growth_percent", "x")],
)
def test_bad_stage_settings_are_refused_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        LifecycleSettings.parse({key: value})
    assert f"$.{key}" in [e.path for e in caught.value.errors]


def test_the_health_page_lists_every_lifecycle_setting_with_its_default() -> None:
    from pathlib import Path

    from coplib.domain.lifecycle import SETTINGS

    page = (Path(__file__).parents[2] / "docs" / "health.md").read_text(encoding="utf-8")
    for key, default, _ in SETTINGS:
        assert f"| `{key}` | `{default}` |" in page, key
    # and the defaults of the table are the ones the code applies
    assert LifecycleSettings.parse({k: d for k, d, _ in SETTINGS}) == LifecycleSettings()


def test_a_new_stage_is_suggested_only_once_the_rules_give_it_months_in_a_row() -> None:
    """No flapping between two stages on noisy growth: the held stage stays until the new
    one lasts `stage_confirm_months` months, and says what this month's signals point to."""
    months, day = [], date(2023, 1, 1)
    for _ in range(40):
        months.append(day)
        day = next_month(day)
    # Old enough for stewardship; questions growing fast, then not, then fast again.
    growth = [10] * 30 + [10, 20, 40, 10, 10, 10, 10, 20, 40, 80]
    points = [MonthPoint(m, 100, 30, q, None) for m, q in zip(months, growth, strict=True)]
    settings = StageSettings(bootstrap_members=5, stewardship_months=24)
    history = stage_history(
        points, [_verdict(m) for m in months], [None] * 10, settings, created_at=datetime(2023, 1, 1, tzinfo=UTC)
    )
    raw = [suggest(h.signals, settings).stage for h in history]
    held = [h.stage for h in history]
    for i in range(1, len(held)):
        if held[i] is not held[i - 1]:
            assert raw[i - 2 : i + 1] == [held[i]] * 3  # three months in a row
    assert any(r is not h for r, h in zip(raw, held, strict=True))  # the hysteresis held some month
    pending = next(h for h in history if h.pending is not None)
    assert any("this month's signals point to" in r for r in stage_reasons(pending, settings))
