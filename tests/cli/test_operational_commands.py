"""The operational commands run on a host's store, as cron or a worker would run them:
``coplib dispatch``, ``coplib tick`` and ``coplib sync-directory``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import coplib
from coplib import SYSTEM, Admission, AttributeRule, Charter, DeliveryStatus, ManualClock, MembershipPolicy
from coplib.adapters.identity.directory_file import DirectoryFile

PEOPLE = {
    "people": [
        {"id": "ana", "display_name": "Ana", "email": "ana@example.org", "locale": "fr"},
        {"id": "ben", "display_name": "Ben", "email": "ben@example.org", "attributes": {"job": "welder"}},
        {"id": "cleo", "display_name": "Cléo", "email": "cleo@example.org", "attributes": {"job": "welder"}},
    ]
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coplib", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "people.json"
    path.write_text(json.dumps(PEOPLE), encoding="utf-8")
    return path


@pytest.fixture
def url(tmp_path: Path, directory: Path) -> str:
    """A SQLite store where, a week ago, Ben asked a question Ana answered, and Ana asked one
    nobody answered."""
    url = f"sqlite:///{tmp_path / 'host.db'}"
    week_ago = datetime.now(UTC) - timedelta(days=7)
    with coplib.open(url, plugins=[DirectoryFile(directory)], clock=ManualClock(week_ago)) as engine:
        org = engine.create_organisation(SYSTEM, "Acme")
        community = engine.create_community("ana", org.id, name="Welding", vocation="Weld", community_id="welding")
        engine.join("ben", community.id)
        question = engine.ask("ben", community.id, title="Which gas?", body="For TIG on steel")
        engine.answer("ana", question.id, body="Argon")
        engine.ask("ana", community.id, title="Which rods?", body="For cast iron")
    return url


def test_dispatch_without_a_notifier_keeps_the_outbox_queued_and_says_so(url: str, directory: Path) -> None:
    with coplib.open(url) as engine:
        pending = len(engine.store.pending_messages(limit=1000))
    assert pending > 0

    done = run("dispatch", "--db", url, "--directory", str(directory), "--no-entry-points")

    # No notifier was asked for, so none is registered: nothing is marked delivered that
    # nobody sent, and the messages wait, counted, for a notifier of their channel.
    assert done.returncode == 0, done.stderr
    assert "dispatched: 0 delivered" in done.stdout
    assert f"warning: {pending} message(s) stay queued: no notifier serves their channel" in done.stderr
    with coplib.open(url) as engine:
        assert len(engine.store.outbox(status=DeliveryStatus.PENDING, limit=1000)) == pending
        assert engine.store.outbox(status=DeliveryStatus.DELIVERED, limit=1000) == []


def test_tick_escalates_the_question_left_unanswered_for_a_week(url: str, directory: Path) -> None:
    done = run("tick", "--db", url, "--directory", str(directory), "--no-entry-points")

    assert done.returncode == 0, done.stderr
    assert "answer_guarantee" in done.stdout
    with coplib.open(url) as engine:
        escalated = [r.event for r in engine.store.events(limit=10_000) if r.event.TYPE == "question_escalated"]
    assert escalated, "the unanswered question should have climbed the escalation ladder"
    again = run("tick", "--db", url, "--directory", str(directory), "--no-entry-points")
    with coplib.open(url) as engine:
        after = [r.event for r in engine.store.events(limit=10_000) if r.event.TYPE == "question_escalated"]
    assert again.returncode == 0
    assert len(after) == len(escalated)  # a second tick at (about) the same moment does nothing


def test_sync_directory_adds_the_people_a_rule_admits(tmp_path: Path, directory: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rules.db'}"
    charter = Charter(
        vocation="Welders of every site",
        membership_policy=MembershipPolicy(Admission.RULE, AttributeRule.of(job="welder")),
    )
    with coplib.open(url, plugins=[DirectoryFile(directory)]) as engine:
        org = engine.create_organisation(SYSTEM, "Acme")
        engine.create_community("ana", org.id, name="Welders", charter=charter, community_id="welders")

    done = run("sync-directory", "--db", url, "--directory", str(directory), "--no-entry-points")
    again = run("sync-directory", "--db", url, "--directory", str(directory), "--no-entry-points")

    assert done.returncode == 0, done.stderr
    assert "directory sync: 2 joined" in done.stdout
    assert "directory sync: 0 joined, 0 left, 0 deactivated" in again.stdout
    with coplib.open(url) as engine:
        assert sorted(m.person_id for m in engine.members(SYSTEM, "welders")) == ["ana", "ben", "cleo"]


def test_sync_directory_with_organisations_required_lets_go_of_people_listed_in_none(
    tmp_path: Path, directory: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'apart.db'}"
    charter = Charter(
        vocation="Welders of acme",
        membership_policy=MembershipPolicy(Admission.RULE, AttributeRule.of(job="welder")),
    )
    listed = json.loads(directory.read_text(encoding="utf-8"))
    listed["people"][0]["organisations"] = ["acme"]  # ana; ben and cleo are not listed
    directory.write_text(json.dumps(listed), encoding="utf-8")
    with coplib.open(url, plugins=[DirectoryFile(directory)]) as engine:
        engine.create_organisation(SYSTEM, "Acme", organisation_id="acme")
        engine.create_community("ana", "acme", name="Welders", charter=charter, community_id="welders")
        engine.join("ben", "welders")  # he could: not listed, he was of every organisation

    args = ("sync-directory", "--db", url, "--directory", str(directory), "--no-entry-points")
    done = run(*args, "--require-organisations")

    assert done.returncode == 0, done.stderr
    assert "directory sync: 0 joined, 0 left, 0 deactivated, 1 outside their community's organisations" in done.stdout
    with coplib.open(url) as engine:
        assert [m.person_id for m in engine.members(SYSTEM, "welders")] == ["ana"]


def test_a_job_on_an_unknown_scheme_exits_with_a_usage_error() -> None:
    done = run("tick", "--db", "nosuch://x", "--no-entry-points")

    assert done.returncode == 2
    assert "no storage plugin opens URLs of scheme 'nosuch'" in done.stderr


def test_a_job_needs_a_storage_url() -> None:
    done = run("dispatch")

    assert done.returncode == 2
    assert "--db" in done.stderr
