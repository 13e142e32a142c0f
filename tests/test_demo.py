"""The main job, `coplib demo`: run end to end in-process and as a subprocess, and checked for
what its report says, not only for its exit status."""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import coplib
from coplib import SYSTEM
from coplib.cli.main import main
from coplib.simulation.demo import PEOPLE, TORQUE_TITLE, UNANSWERED_TITLE, DemoReport, format_report, run_demo

LOCALES = {p.id: p.locale for p in PEOPLE}

#: The refusals the scripted first two weeks must show, with the engine's own reasons.
EXPECTED_REFUSALS = [
    ("victor", "permission denied", "only active members may: join the community first"),
    ("remi", "permission denied", "this person was removed from the community and holds no right in it"),
    ("tom", "permission denied", "needs the role facilitator or sponsor"),
    ("olivier", "permission denied", "this person has left the organisation or is inactive"),
    (
        "tom",
        "charter violation",
        "'tom' has asked 1 question(s) and given 0 contribution(s): "
        "answer a question or share a resource before asking again",
    ),
]


def run(url: str = "memory://", *, weeks: int = 4, seed: int = 1) -> tuple[DemoReport, str]:
    out = io.StringIO()
    report = run_demo(url, weeks=weeks, seed=seed, out=out)
    return report, out.getvalue()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "coplib", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def four_weeks() -> tuple[DemoReport, str]:
    return run()


# -- the story the scenario scripts -------------------------------------------------------------


def test_the_charter_has_its_creation_and_one_amendment_with_who_and_why(four_weeks: tuple[DemoReport, str]) -> None:
    report, _ = four_weeks
    assert [(n, by) for n, by, _ in report.charter_versions] == [(0, "karim"), (1, "helene")]
    assert report.charter_versions[0][2] == "community created"
    assert "gives before asking again" in report.charter_versions[1][2]


def test_roles_are_held_by_the_people_the_scenario_organised(four_weeks: tuple[DemoReport, str]) -> None:
    report, _ = four_weeks
    roles = report.members_by_role
    assert roles["sponsor"] == ("helene",)
    assert roles["facilitator"] == ("karim",)
    assert roles["expert"] == ("lucas", "sofia")
    assert roles["documentalist"] == ("nadia",)
    assert roles["core_group"] == ("julien",)
    assert roles["newcomer"] == ("ines", "tom")
    assert "remi" not in roles["member"], "a removed member holds no role"
    assert len(roles["member"]) == 9


def test_members_came_in_by_each_admission_path_and_one_was_removed(four_weeks: tuple[DemoReport, str]) -> None:
    report, _ = four_weeks
    # helene, sofia, lucas, tom, maya and remi joined while admission was open; nadia and
    # julien by invitation; ines by request once the amended charter asked for approval.
    assert report.joined_via == {"approval": 1, "founder": 1, "invitation": 2, "open": 6}
    assert report.memberships_by_status == {"active": 9, "removed": 1}


def test_every_refusal_is_shown_with_the_engines_reason(four_weeks: tuple[DemoReport, str]) -> None:
    report, text = four_weeks
    assert [(r.actor, r.error, r.reason) for r in report.refusals] == EXPECTED_REFUSALS
    assert "Victor tried to ask a question without being a member: permission denied: only active members" in text


def test_the_portfolio_holds_four_communities_and_hides_the_private_one_from_a_member(
    four_weeks: tuple[DemoReport, str],
) -> None:
    report, text = four_weeks
    assert report.portfolio == ("Club lean", "Direction d'usine", "Entraide maintenance", "Sécurité des sites")
    assert "(1 private community hidden from him; 4 in all)" in text


def test_fast_and_slow_questions_are_timed_from_question_to_first_answer(four_weeks: tuple[DemoReport, str]) -> None:
    report, text = four_weeks
    by_title = {q.title: q for q in report.questions}
    fast = by_title["Hydraulic press loses pressure overnight"]
    assert (fast.first_answer_after, fast.first_answerer, fast.accepted) == (timedelta(minutes=25), "sofia", True)
    slow = by_title["PLC of line 3 drops its fieldbus link"]
    assert (slow.first_answer_after, slow.first_answerer) == (timedelta(days=2, hours=5), "lucas")
    assert slow.answers == 2, "Tom gave his answer there before asking again"
    assert by_title[TORQUE_TITLE].first_answer_after == timedelta(minutes=40)
    assert "Hydraulic press loses pressure overnight [hydraulics], asked by Tom: 25 min by Sofia, accepted" in text


def test_exactly_one_question_stays_unanswered_and_the_answer_rate_says_so(four_weeks: tuple[DemoReport, str]) -> None:
    report, text = four_weeks
    # Week 1 scripts two questions, week 2 Tom's second one, the last week the unanswered one;
    # the routine adds three a week after the first.
    assert len(report.questions) == 4 + 3 * 3
    assert report.unanswered == (UNANSWERED_TITLE,)
    assert [q.title for q in report.questions if q.first_answer_after is None] == [UNANSWERED_TITLE]
    assert report.answered == len(report.questions) - 1
    assert f"Answer rate: {report.answered} of {len(report.questions)} questions answered (92%)" in text
    assert f"Unanswered questions: “{UNANSWERED_TITLE}”" in text


def test_contributions_by_kind_count_what_the_scenario_did(four_weeks: tuple[DemoReport, str]) -> None:
    report, text = four_weeks
    assert report.contributions["question"] == len(report.questions)
    assert report.contributions["answer"] == sum(q.answers for q in report.questions)
    assert report.withdrawn == {"resource": 1}, "Rémi's advert was withdrawn"
    # The kick-off and a clinic every other week after the first: weeks 2 and 4.
    assert report.contributions["meeting"] == 3
    printed = {line.split()[0]: line.split()[1:] for line in text.split("Contributions by kind:")[1].splitlines()[1:8]}
    expected = {kind: [str(count)] for kind, count in report.contributions.items()}
    expected["resource"] += ["(1", "withdrawn)"]
    assert printed == expected


def test_events_are_counted_per_week_and_add_up(four_weeks: tuple[DemoReport, str]) -> None:
    report, text = four_weeks
    assert len(report.events_per_week) == 4
    assert [d.isoformat() for d, _ in report.events_per_week] == [
        "2026-01-05",
        "2026-01-12",
        "2026-01-19",
        "2026-01-26",
    ]
    assert sum(n for _, n in report.events_per_week) == report.total_events
    first_week = report.events_per_week[0][1]
    assert f"week  1 (from Mon 05 Jan 2026) {first_week:>4}" in text


def test_messages_reach_each_person_in_their_own_language(four_weeks: tuple[DemoReport, str]) -> None:
    report, text = four_weeks
    assert report.messages
    assert all(m.locale == LOCALES[m.recipient] for m in report.messages)
    assert {m.locale for m in report.messages} == {"fr", "en"}
    to_tom = next(m for m in report.messages if m.recipient == "tom" and m.topic == "answer_posted")
    assert to_tom.subject == "New answer to “Hydraulic press loses pressure overnight”"
    to_lucas = next(m for m in report.messages if m.recipient == "lucas" and m.topic == "answer_accepted")
    assert to_lucas.subject == "Votre réponse est acceptée"
    assert "✉ to Nadia [fr]: Invitation à rejoindre Entraide maintenance" in text
    assert "[fr] Nouvelle réponse à « Hydraulic press loses pressure overnight »" in text
    assert "[en] New answer to “Hydraulic press loses pressure overnight”" in text


def test_the_printed_report_is_the_formatted_report(four_weeks: tuple[DemoReport, str]) -> None:
    report, text = four_weeks
    assert text.endswith(format_report(report))


# -- determinism and variety ---------------------------------------------------------------------


def test_the_same_seed_prints_the_same_story_and_another_seed_another() -> None:
    _, first = run(seed=7)
    _, again = run(seed=7)
    _, other = run(seed=8)
    assert first == again
    assert first != other


@pytest.mark.parametrize("weeks", [2, 3, 9])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_any_seed_and_length_keep_the_scripted_facts(weeks: int, seed: int) -> None:
    report, text = run(weeks=weeks, seed=seed)
    assert report.unanswered == (UNANSWERED_TITLE,)
    assert len(report.questions) == 4 + 3 * (weeks - 1)
    assert [(r.actor, r.reason) for r in report.refusals] == [(a, why) for a, _, why in EXPECTED_REFUSALS]
    assert len(report.events_per_week) == weeks
    assert f"== Report: Entraide maintenance after {weeks} weeks ==" in text


# -- the store holds what the report says ---------------------------------------------------------


def test_the_report_agrees_with_the_history_stored_in_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    report, _ = run(url, weeks=3, seed=5)
    with coplib.open(url) as engine:
        history = engine.history(SYSTEM, report.community_id, limit=10_000)  # the most a query returns
        types = [r.event.TYPE for r in history]
        unanswered = engine.unanswered_questions(SYSTEM, report.community_id)
        community = engine.community(SYSTEM, report.community_id)
    assert len(history) == report.total_events
    assert types.count("question_asked") == len(report.questions)
    assert types.count("answer_posted") == report.contributions["answer"]
    assert types.count("charter_amended") == 1
    assert types.count("member_removed") == 1
    assert [q.title for q in unanswered] == [UNANSWERED_TITLE]
    assert community.charter.membership_policy.admission is coplib.Admission.APPROVAL
    assert coplib.CharterRule.GIVE_BEFORE_RECEIVE in community.charter.rules


def test_running_twice_on_one_store_adds_a_second_organisation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first, first_text = run(url, seed=3)
    second, second_text = run(url, seed=3)
    assert (first.run, first.organisation_id) == (1, "demo-1")
    assert (second.run, second.organisation_id) == (2, "demo-2")
    assert first.community_id != second.community_id
    assert first_text.splitlines()[:-1] == second_text.splitlines()[:-1], "only the storage line differs"
    with coplib.open(url) as engine:
        assert (
            engine.organisation(coplib.SYSTEM, "demo-1").name
            == engine.organisation(coplib.SYSTEM, "demo-2").name
            == "Rivière Industries"
        )


def test_run_demo_refuses_a_length_outside_its_range() -> None:
    with pytest.raises(coplib.InvalidInputError, match=r"weeks"):
        run_demo("memory://", weeks=1, out=io.StringIO())


# -- the command line -----------------------------------------------------------------------------


def test_python_m_coplib_demo_writes_the_sqlite_file_and_prints_the_report(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run_cli("demo", "--db", str(db), "--weeks", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "== Report: Entraide maintenance after 3 weeks ==" in out
    assert "Karim creates Entraide maintenance (mutual_help, open); he animates it" in out
    assert "✉ to Lucas [fr]: Nouveau rôle dans Entraide maintenance" in out
    assert "reason: this person was removed from the community and holds no right in it" in out
    assert f"Unanswered questions: “{UNANSWERED_TITLE}”" in out
    assert out.rstrip().endswith("as organisation demo-1 (run 1 on this store, seed 1)")
    with coplib.open(f"sqlite:///{db}") as engine:
        assert [c.name for c in engine.portfolio(SYSTEM, "demo-1")] == [
            "Club lean",
            "Direction d'usine",
            "Entraide maintenance",
            "Sécurité des sites",
        ]


def test_the_default_store_is_a_sqlite_file_in_the_working_directory_and_reruns_work(tmp_path: Path) -> None:
    first = run_cli("demo", "--weeks", "2", cwd=tmp_path)
    second = run_cli("demo", "--weeks", "2", cwd=tmp_path)
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert (tmp_path / "coplib-demo.db").read_bytes().startswith(b"SQLite format 3\x00")
    assert "Stored in sqlite:///coplib-demo.db as organisation demo-1 (run 1" in first.stdout
    assert "Stored in sqlite:///coplib-demo.db as organisation demo-2 (run 2" in second.stdout


def test_fresh_starts_the_file_over(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    assert main(["demo", "--db", db, "--weeks", "2"]) == 0
    assert main(["demo", "--db", db, "--weeks", "2", "--fresh"]) == 0
    with coplib.open(f"sqlite:///{db}") as engine:
        engine.organisation(coplib.SYSTEM, "demo-1")
        with pytest.raises(coplib.NotFoundError):
            engine.organisation(coplib.SYSTEM, "demo-2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--weeks", "0"], "argument --weeks: must be from 2 to 52 weeks, got 0"),
        (["demo", "--weeks", "53"], "argument --weeks: must be from 2 to 52 weeks, got 53"),
        (["demo", "--weeks", "four"], "argument --weeks: must be a whole number of weeks, got 'four'"),
        (["demo", "--seed", "-1"], "argument --seed: must be 0 or more, got -1"),
        (["demo", "--db", ""], "argument --db: give a file path"),
        (["demo", "--db", "."], "argument --db: . is a directory"),
        (["demo", "--db", "missing/demo.db"], "argument --db: the directory missing does not exist"),
        (["demo", "--db", "nope://x"], "no storage plugin opens URLs of scheme 'nope'"),
        (["demo", "--db", "memory://", "--fresh"], "argument --fresh: only a SQLite file can be started over"),
        (["demo", "--colour"], "unrecognized arguments: --colour"),
        (["undo"], "invalid choice: 'undo'"),
        ([], "usage: coplib"),
    ],
)
def test_bad_command_line_input_exits_with_status_2_and_says_why(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert not (tmp_path / "coplib-demo.db").exists(), "nothing is written on bad input"


def test_a_file_that_is_no_database_is_refused_and_kept(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    plain = run_cli("demo", "--db", str(notes), cwd=tmp_path)
    fresh = run_cli("demo", "--db", str(notes), "--fresh", cwd=tmp_path)
    assert (plain.returncode, fresh.returncode) == (2, 2)
    assert "is not a valid SQLite database" in plain.stderr
    assert "is not a SQLite database; refusing to delete it" in fresh.stderr
    assert notes.read_text() == "my notes\n"


def test_output_cut_short_by_its_reader_ends_quietly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "coplib", "demo", "--db", "memory://", "--weeks", "52"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"coplib demo:")
    process.stdout.close()
    assert process.wait(timeout=120) == 0
    assert process.stderr.read() == b""
    process.stderr.close()


def test_the_coplib_script_runs_the_same_main() -> None:
    scripts = importlib.metadata.entry_points(group="console_scripts", name="coplib")
    assert [ep.value for ep in scripts] == ["coplib.cli.main:main"]
