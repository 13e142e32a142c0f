"""``coplib simulate``: the list of built-in scenarios, a small run as JSON, a comparison, and
bad input refused with exit status 2 before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coplib.cli.main import main
from coplib.simulation import BUILTIN_SCENARIOS
from tests.simulation.tiny import TINY_TOML


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML, encoding="utf-8")
    return path


def test_list_prints_one_built_in_name_first_on_each_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == list(BUILTIN_SCENARIOS)


def test_a_small_run_prints_its_json(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(scenario_file), "--weeks", "2", "--runs", "2", "--workers", "1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "coplib.simulation.sweep/1"
    runs = document["runs"]["baseline"]
    assert [r["seed"] for r in runs] == [7, 8]
    assert all(r["weeks"] == 2 and len(r["weekly"]) == 2 for r in runs)
    assert "comparison" not in document


def test_set_changes_a_key_and_seed_the_first_seed(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", str(scenario_file), "--weeks", "1", "--seed", "3", "--set", "population.members.count=2"]
    assert main([*args, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)["runs"]["baseline"][0]
    assert run["seed"] == 3
    assert run["scenario"]["population"]["members"]["count"] == 2


def test_compare_prints_a_verdict_per_metric(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", str(scenario_file), "--weeks", "2", "--runs", "2", "--workers", "1"]
    assert main([*args, "--compare", "communities.help.answer_guarantee=false"]) == 0
    out = capsys.readouterr().out
    assert "verdict:" in out
    assert "communities.help.answer_guarantee=false vs baseline: share_answered" in out
    assert main([*args, "--json", "--compare", "communities.help.answer_guarantee=false"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document["runs"]) == {"baseline", "communities.help.answer_guarantee=false"}
    assert document["comparison"]["baseline"] == "baseline"
    assert document["verdict"]


def test_csv_writes_the_results_table(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    assert (
        main(["simulate", str(scenario_file), "--weeks", "1", "--runs", "2", "--workers", "1", "--csv", str(out)]) == 0
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("variant,seed,community,")
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (("count = 6", "count = -6"), "$.population.members.count"),
        (('persona = "regular"', 'persona = "troll"'), "$.population.members.persona"),
    ],
)
def test_a_bad_scenario_file_exits_2_naming_key_and_line_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], path: str
) -> None:
    bad = tmp_path / "bad.toml"
    text = TINY_TOML.replace(*change)
    bad.write_text(text, encoding="utf-8")
    line = next(n for n, text_line in enumerate(text.splitlines(), 1) if change[1] in text_line)
    message = f"{path} (line {line})"
    db = tmp_path / "run-{seed}.db"
    assert main(["simulate", str(bad), "--db", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.toml" in err
    assert list(tmp_path.glob("run-*.db")) == []


def test_a_bad_set_or_compare_key_exits_2(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(scenario_file), "--set", "colour=blue"]) == 2
    assert "$.colour" in capsys.readouterr().err
    assert main(["simulate", str(scenario_file), "--compare", "communities.help.answer_guarantee=maybe"]) == 2
    assert "$.communities.help.answer_guarantee" in capsys.readouterr().err


def test_no_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 2
    assert "--list" in capsys.readouterr().err
