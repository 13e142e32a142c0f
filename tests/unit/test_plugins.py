"""Plugins: a fresh plugin manager per engine, built-in defaults a host can override, entry
points loaded only when asked (with allow and block lists), and the subscriber error policy."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

import coplib
from coplib import (
    ConfigurationError,
    Engine,
    ManualClock,
    MemoryStore,
    Person,
    PluginError,
    RecordedEvent,
    hookimpl,
)
from coplib.bootstrap.open import default_plugins
from coplib.bootstrap.plugins import DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP
from tests.unit.support import PEOPLE, START, counting_ids

#: Names of the entry points the fake distribution below provides.
GOOD = "coplib_test_good"
BROKEN = "coplib_test_broken"


def open_engine(**kwargs: object) -> Engine:
    return coplib.open(
        "memory://",
        people=PEOPLE,
        clock=ManualClock(START),
        id_factory=counting_ids(),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution, ``coplib-test-plugins``, with two entry points in the
    ``coplib`` group: one that loads, one whose module fails to import."""
    (tmp_path / "coplib_test_good_plugin.py").write_text(
        textwrap.dedent(
            """
            import coplib

            LOADED = []

            class Directory:
                @coplib.hookimpl
                def coplib_get_person(self, person_id):
                    if person_id == "zoe":
                        return coplib.Person(id="zoe", display_name="Zoé from the plugin")
                    return None

            plugin = Directory()
            LOADED.append(plugin)
            """
        )
    )
    (tmp_path / "coplib_test_broken_plugin.py").write_text("raise ImportError('missing dependency: ldap3')\n")
    dist_info = tmp_path / "coplib_test_plugins-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: coplib-test-plugins\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n{GOOD} = coplib_test_good_plugin:plugin\n{BROKEN} = coplib_test_broken_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    return tmp_path


def test_every_engine_has_its_own_plugin_manager() -> None:
    first, second = open_engine(), open_engine()

    assert first.plugin_manager is not second.plugin_manager
    assert first.plugin_manager.get_plugin("coplib.directory") is not second.plugin_manager.get_plugin(
        "coplib.directory"
    )


def test_the_built_in_defaults_are_registered_by_name() -> None:
    names = {name for name, _ in coplib.open("memory://").plugin_manager.list_name_plugin()}

    assert {"coplib.store.memory", "coplib.directory", "coplib.notices"} <= names
    assert "coplib.notifier.recording" not in names  # no notifier the host did not ask for


def test_an_engine_opened_without_any_notifier_warns_that_messages_will_stay_queued(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="coplib.bootstrap"):
        coplib.open("memory://")

    assert "no notifier is registered: messages will stay queued" in caplog.text


def test_a_hosts_own_recording_notifier_gets_the_deliveries() -> None:
    mine = coplib.RecordingNotifier()
    people = [coplib.Person("ana", "Ana"), coplib.Person("ben", "Ben")]
    engine = coplib.open("memory://", people=people, plugins=[mine])
    org = engine.create_organisation("ana", "Acme")
    community = engine.create_community("ana", org.id, name="Welding", vocation="Help each other")
    engine.invite("ana", community.id, "ben")

    report = engine.dispatch()

    assert report.delivered >= 1
    assert [(d.message.recipient_id, d.message.topic) for d in mine.deliveries] == [("ben", "member_invited")]


@pytest.mark.usefixtures("distribution")
def test_entry_points_are_not_loaded_unless_the_host_asks() -> None:
    engine = open_engine()

    assert engine.plugin_manager.get_plugin(GOOD) is None
    assert engine.person("zoe") is None


@pytest.mark.usefixtures("distribution")
def test_entry_points_load_when_asked_and_filtered_by_the_allow_list() -> None:
    engine = open_engine(load_entrypoints=True, allow=[GOOD])

    assert engine.plugin_manager.get_plugin(GOOD) is not None
    person = engine.person("zoe")
    assert person is not None and person.display_name == "Zoé from the plugin"


@pytest.mark.usefixtures("distribution")
def test_a_blocked_entry_point_is_not_loaded_and_the_others_are() -> None:
    engine = open_engine(load_entrypoints=True, block=[BROKEN])

    assert engine.plugin_manager.get_plugin(GOOD) is not None
    assert engine.plugin_manager.get_plugin(BROKEN) is None
    assert open_engine(load_entrypoints=True, block=[BROKEN, GOOD]).plugin_manager.get_plugin(GOOD) is None


@pytest.mark.usefixtures("distribution")
def test_an_entry_point_that_fails_to_load_is_a_plugin_error_naming_its_distribution() -> None:
    with pytest.raises(PluginError) as caught:
        open_engine(load_entrypoints=True)

    message = str(caught.value)
    assert "coplib-test-plugins" in message
    assert BROKEN in message
    assert "missing dependency: ldap3" in message
    assert f"block=[{BROKEN!r}]" in message


@pytest.mark.usefixtures("distribution")
def test_the_environment_switch_disables_entry_point_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")

    engine = open_engine(load_entrypoints=True)

    assert engine.plugin_manager.get_plugin(GOOD) is None
    assert engine.plugin_manager.get_plugin(BROKEN) is None


def test_a_built_in_default_can_be_left_out_by_name() -> None:
    policies = [name for name, _ in default_plugins() if name.startswith("coplib.policy.")]
    engine = open_engine(block=["coplib.notices", *policies])
    org = engine.create_organisation("eve", "Acme")
    community = engine.create_community("ana", org.id, name="Welding", vocation="Weld")
    engine.join("ben", community.id)
    question = engine.ask("ana", community.id, title="Q", body="B")

    engine.answer("ben", question.id, body="A")

    assert engine.store.pending_messages() == []


class HostDirectory:
    """The host's own directory: it knows ana under another name."""

    @hookimpl
    def coplib_get_person(self, person_id: str) -> Person | None:
        return Person(id=person_id, display_name="Ana from LDAP") if person_id == "ana" else None


def test_a_host_plugin_overrides_a_built_in_default_because_defaults_run_last() -> None:
    engine = open_engine(plugins=[HostDirectory()])

    ana, ben = engine.person("ana"), engine.person("ben")

    assert ana is not None and ana.display_name == "Ana from LDAP"
    assert ben is not None and ben.display_name == "Ben"  # the default still answers the rest


class HostStore:
    """The host opens ``memory://`` itself, with its own store."""

    def __init__(self) -> None:
        self.store = MemoryStore("memory://host")

    @hookimpl
    def coplib_open_store(self, url: str, options: object) -> MemoryStore | None:
        return self.store if url == "memory://" else None


def test_a_host_storage_plugin_wins_over_the_built_in_memory_store() -> None:
    host = HostStore()

    engine = open_engine(plugins=[host])

    assert engine.store is host.store


def test_an_unknown_storage_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"known schemes: .*memory"):
        coplib.open("nosuch://x", people=PEOPLE)


class NotAHook:
    @hookimpl
    def coplib_no_such_hook(self) -> None:
        """Not in the catalogue."""


def test_a_plugin_implementing_an_unknown_hook_is_refused() -> None:
    with pytest.raises(PluginError, match="does not define"):
        open_engine(plugins=[NotAHook()])


def test_the_same_plugin_object_twice_is_a_plugin_error() -> None:
    directory = HostDirectory()

    with pytest.raises(PluginError, match="could not be registered"):
        open_engine(plugins=[directory, directory])


class Subscriber:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[list[str]] = []

    @hookimpl
    def coplib_events_committed(self, engine: Engine, events: Sequence[RecordedEvent]) -> None:
        self.seen.append([r.event.TYPE for r in events])
        if self.fail:
            raise RuntimeError("subscriber bug")


def test_subscribers_hear_of_events_after_the_commit() -> None:
    subscriber = Subscriber()
    engine = open_engine(plugins=[subscriber])

    engine.create_organisation("eve", "Acme")

    assert subscriber.seen == [["organisation_created", "administrator_appointed"]]


def test_a_failing_subscriber_does_not_undo_the_commit_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    failing, other = Subscriber(fail=True), Subscriber()
    engine = open_engine(plugins=[failing, other])

    with caplog.at_level(logging.ERROR, logger="coplib.service.engine"):
        org = engine.create_organisation("eve", "Acme")

    assert engine.organisation("eve", org.id) == org
    assert other.seen == [["organisation_created", "administrator_appointed"]]
    assert "subscriber" in caplog.text and "failed" in caplog.text


def test_a_strict_engine_raises_a_plugin_error_after_every_subscriber_ran() -> None:
    failing, other = Subscriber(fail=True), Subscriber()
    engine = open_engine(plugins=[failing, other], strict=True)

    with pytest.raises(PluginError, match="1 event subscriber"):
        engine.create_organisation("eve", "Acme", organisation_id="acme")

    assert other.seen == [["organisation_created", "administrator_appointed"]]
    assert engine.organisation("eve", "acme").name == "Acme"


class EventsOnlySubscriber:
    """A subscriber that declares only the argument it needs, as pluggy allows."""

    def __init__(self) -> None:
        self.positions: list[int] = []

    @hookimpl
    def coplib_events_committed(self, events: Sequence[RecordedEvent]) -> None:
        self.positions.extend(r.position for r in events)


def test_a_subscriber_may_declare_only_the_arguments_it_uses() -> None:
    subscriber = EventsOnlySubscriber()
    engine = open_engine(plugins=[subscriber], strict=True)

    engine.create_organisation("eve", "Acme")

    assert subscriber.positions == [r.position for r in engine.store.events()]
