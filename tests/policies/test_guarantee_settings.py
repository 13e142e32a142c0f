"""The answer guarantee's settings, read from a charter's text: the ladder, the target, the
working calendar and how many experts are asked; every mistake named by its setting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from coplib.domain.calendar import Duration, WorkingCalendar
from coplib.domain.errors import InvalidInputError
from coplib.domain.guarantee import (
    AUDIENCES,
    DEFAULTS,
    SETTINGS,
    GuaranteeSettings,
    Step,
    parse_ladder,
    settings_errors,
)
from coplib.notification.messages import CATALOGUE
from coplib.policies.guarantee import TOPICS


def test_the_defaults_are_the_ladder_of_issue_five_in_office_hours() -> None:
    settings = GuaranteeSettings.parse({})

    assert [str(step) for step in settings.ladder] == ["4wh: experts, facilitator", "1wd: coach, sponsor"]
    assert settings.target == Duration.parse("4wh")
    assert settings.calendar == WorkingCalendar()
    assert settings.max_experts == 5
    assert settings == GuaranteeSettings()
    assert {s.key: s.default for s in SETTINGS} == DEFAULTS


def test_a_ladder_is_steps_of_a_delay_and_an_audience() -> None:
    ladder = parse_ladder("2wh: experts;4wh: facilitator, experts ; 1wd: coach sponsor; 3d: coordinator")

    assert ladder == (
        Step(Duration.parse("2wh"), ("experts",)),
        Step(Duration.parse("4wh"), ("facilitator", "experts")),
        Step(Duration.parse("1wd"), ("coach", "sponsor")),
        Step(Duration.parse("3d"), ("coordinator",)),
    )
    assert parse_ladder("none") == parse_ladder("  ") == ()


@pytest.mark.parametrize(
    ("ladder", "path", "message"),
    [
        ("4wh experts", "$.ladder[0]", "a step is 'DELAY: audience"),
        ("4wh: experts; soon: coach", "$.ladder[1]", "not a duration"),
        ("4wh: expert", "$.ladder[0]", "unknown audience"),
        ("4wh: member", "$.ladder[0]", "unknown audience"),
        ("4wh:", "$.ladder[0]", "no audience"),
        ("1wd: coach; 4wh: sponsor", "$.ladder[1]", "later than the one before"),
        ("4wh: coach; 4wh: sponsor", "$.ladder[1]", "later than the one before"),
        (";".join(["1wh: coach"] * 11), "$.ladder", "at most 10 steps"),
    ],
)
def test_a_bad_ladder_is_refused_at_the_step_that_is_wrong(ladder: str, path: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        parse_ladder(ladder)

    assert [e.path for e in refused.value.errors] == [path]


def test_steps_in_wall_clock_and_working_time_may_follow_each_other() -> None:
    assert len(parse_ladder("4wh: experts; 1d: coach")) == 2


def test_every_audience_is_the_experts_or_a_role_everyone_does_not_hold() -> None:
    assert AUDIENCES[0] == "experts"
    assert "facilitator" in AUDIENCES
    assert not {"member", "newcomer", "expert"} & set(AUDIENCES)


def test_every_bad_setting_is_named_at_once() -> None:
    errors = settings_errors(
        {"ladder": "4wh: boss", "target": "fast", "working_hours": "25:00-26:00", "max_experts": "0", "sla": "4h"}
    )

    assert sorted(e.path for e in errors) == ["$.ladder[0]", "$.max_experts", "$.sla", "$.target", "$.working_hours"]
    assert settings_errors({"target": "1wd", "max_experts": "50", "timezone": "Europe/Paris"}) == []


def test_a_calendar_whose_holidays_leave_no_working_time_is_refused_up_front() -> None:
    every_day = ", ".join(f"{d:%m-%d}" for d in (date(2024, 1, 1) + timedelta(days=i) for i in range(366)))

    errors = settings_errors({"working_days": "mon", "holidays": every_day})

    assert [e.path for e in errors] == ["$.holidays"]
    assert "no working time" in errors[0].message


def test_the_first_step_and_the_target_fall_on_the_calendar() -> None:
    settings = GuaranteeSettings.parse({"timezone": "UTC", "target": "2wh"})
    friday = datetime(2026, 1, 9, 17, tzinfo=UTC)

    assert settings.due_at(friday, 0) == datetime(2026, 1, 12, 12, tzinfo=UTC)
    assert settings.due_at(friday, 1) == datetime(2026, 1, 12, 17, tzinfo=UTC)
    assert settings.due_at(friday, 2) is None
    assert settings.due_at(friday, 1, not_before=datetime(2026, 1, 13, tzinfo=UTC)) == datetime(2026, 1, 13, tzinfo=UTC)
    assert settings.target_at(friday) == datetime(2026, 1, 12, 10, tzinfo=UTC)


def test_the_guide_documents_every_setting_with_its_default_and_every_message_topic() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "answer-guarantee.md").read_text(encoding="utf-8")

    for setting in SETTINGS:
        default = f"`{setting.default}`" if setting.default else "(none)"
        assert f"| `{setting.key}` | {default} |" in guide, setting.key
    for topic in TOPICS:
        assert f"| `{topic}` |" in guide, topic
        assert set(CATALOGUE[topic]) == {"en", "fr"}, topic
