"""The CI guard of tests/conftest.py: a CI run in which no test that used the PostgreSQL
server passed fails, whatever was selected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).parent / "conftest.py"


def _run(tmp_path: Path, tests: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(tests, encoding="utf-8")
    env = {**os.environ, "CI": "true"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", str(tmp_path), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )


def test_a_ci_run_without_any_test_that_used_the_server_fails(tmp_path: Path) -> None:
    result = _run(tmp_path, "def test_nothing_to_do_with_postgres():\n    assert True\n")

    assert result.returncode == 1, result.stdout
    assert "no test that used the PostgreSQL server passed" in result.stdout


def test_a_test_marked_postgres_that_never_used_the_server_does_not_count(tmp_path: Path) -> None:
    tests = "import pytest\n\n@pytest.mark.postgres\ndef test_marked_only():\n    assert True\n"

    result = _run(tmp_path, tests, "-p", "no:warnings")

    assert result.returncode == 1, result.stdout
    assert "1 passed" in result.stdout
    assert "no test that used the PostgreSQL server passed" in result.stdout


def test_selecting_with_k_does_not_switch_the_guard_off(tmp_path: Path) -> None:
    tests = (
        "import pytest\n\n"
        "@pytest.fixture\ndef postgres_url():\n    return 'postgresql://stand-in'\n\n"
        "def test_uses_the_server(postgres_url):\n    assert postgres_url\n\n"
        "def test_other():\n    assert True\n"
    )

    assert _run(tmp_path, tests).returncode == 0
    assert _run(tmp_path, tests, "-k", "other").returncode == 1
