"""`coplib.open`: one plain entry point from a storage URL to a ready engine."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from coplib.adapters.identity.organisations import OrganisationsRequired
from coplib.adapters.identity.static import StaticDirectory
from coplib.adapters.storage.memory import MemoryStorePlugin
from coplib.adapters.storage.postgres import PostgresStorePlugin
from coplib.adapters.storage.sqlite import SQLiteStorePlugin
from coplib.bootstrap.plugins import make_plugin_manager
from coplib.domain.clock import Clock
from coplib.domain.errors import ConfigurationError, CoplibError, InvalidInputError, StorageError
from coplib.domain.people import Person
from coplib.domain.permissions import OrganisationCreators
from coplib.notification.dispatcher import DeliveryPolicy
from coplib.policies.badges import BadgesPlugin
from coplib.policies.guarantee import AnswerGuaranteePlugin
from coplib.policies.levels import ParticipationLevelsPlugin
from coplib.policies.lifecycle import LifecyclePlugin
from coplib.policies.notices import Notices
from coplib.policies.recognition import RecognitionPlugin
from coplib.policies.value_stories import ValueStoryNotices
from coplib.ports.storage import Store
from coplib.runtime.follower import check_follow_mode
from coplib.runtime.retry import RetryPolicy
from coplib.service.engine import Engine
from coplib.service.health import CommunityHealthPlugin

log = logging.getLogger("coplib.bootstrap")

#: The embedded SQLite file in the working directory: what `open` uses when given no URL.
DEFAULT_URL = "sqlite:///coplib.db"


def default_plugins(people: Iterable[Person] = ()) -> list[tuple[str, object]]:
    """The built-in plugins, by name (a name given in ``block`` leaves one out)."""
    return [
        ("coplib.store.memory", MemoryStorePlugin()),
        ("coplib.store.sqlite", SQLiteStorePlugin()),
        ("coplib.store.postgres", PostgresStorePlugin()),
        ("coplib.directory", StaticDirectory(people)),
        ("coplib.notices", Notices()),
        ("coplib.policy.answer_guarantee", AnswerGuaranteePlugin()),
        ("coplib.policy.recognition", RecognitionPlugin()),
        ("coplib.policy.participation_levels", ParticipationLevelsPlugin()),
        ("coplib.policy.badges", BadgesPlugin()),
        ("coplib.policy.community_health", CommunityHealthPlugin()),
        ("coplib.value_story_notices", ValueStoryNotices()),
        ("coplib.policy.lifecycle", LifecyclePlugin()),
    ]


def open_engine(
    url: str | None = None,
    *,
    people: Iterable[Person] = (),
    plugins: Iterable[object] = (),
    clock: Clock | None = None,
    options: Mapping[str, Any] | None = None,
    load_entrypoints: bool = False,
    allow: Sequence[str] | None = None,
    block: Sequence[str] = (),
    id_factory: Callable[[], str] | None = None,
    strict: bool = False,
    retry: RetryPolicy | None = None,
    delivery: DeliveryPolicy | None = None,
    follow: str = "unit",
    organisation_creators: str | Iterable[str] | OrganisationCreators = OrganisationCreators.ANYONE,
    require_organisations: bool = False,
) -> Engine:
    """Open an engine on the store at `url` (by default `DEFAULT_URL`, the SQLite file
    ``coplib.db`` in the working directory; ``memory://`` for tests).

    `people` fill the built-in static directory; `plugins` are the host's own plugin
    objects; third-party plugins of the ``coplib`` entry-point group load only with
    `load_entrypoints`, filtered by `allow` and `block`. `id_factory` makes the ids of new
    events and aggregates; by default `coplib.domain.ids.time_ordered_id` (UUID version 7 as
    32 hex digits: ordered by time, so that a store appends new rows to its indexes).
    `retry` says how a command that lost a race with another writer is tried again (see
    `coplib.RetryPolicy`; by default up to 100 tries within 10 seconds, with jittered pauses).
    `delivery` sets how `engine.dispatch()` delivers the outbox (attempts, backoff, digests:
    `coplib.DeliveryPolicy`). `follow` says when recognition, participation levels and badges
    react: ``"unit"`` (the default) inside each command's unit of work, so they are there
    when the command returns; ``"thread"`` after the commit, a batch of commands at a time,
    in a background thread of this engine (commands return sooner; `engine.drain()` waits
    until they are there); ``"manual"`` when the host calls `engine.drain()` (and
    `engine.tick()`, which drains first). See docs/architecture.md, "The write path".

    `organisation_creators` says who may create an organisation: ``"anyone"`` (the default:
    any active person, for an organisation the directory places them in), a list of person
    ids (they may create any organisation), or ``"host"`` (only the host, as `coplib.SYSTEM`).
    With `require_organisations`, a person whose directory entry lists no organisation
    belongs to none, instead of to every one (see docs/integrators-guide.md).

    No notifier is registered that the host did not ask for: with none, messages stay queued
    (visible in `engine.outbox`) and a warning says so; tests and simulations register a
    `coplib.RecordingNotifier` themselves.
    """
    check_follow_mode(follow)
    creators = OrganisationCreators.of(organisation_creators)
    if not isinstance(require_organisations, bool):
        raise InvalidInputError.field(
            "$.require_organisations", f"must be true or false, got {type(require_organisations).__name__}"
        )
    if require_organisations:
        plugins = [*plugins, OrganisationsRequired()]
    if url is None:
        url = DEFAULT_URL
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"a storage URL is a non-empty string, got {url!r}")
    pm = make_plugin_manager(
        plugins,
        defaults=default_plugins(people),
        load_entrypoints=load_entrypoints,
        allow=allow,
        block=block,
    )
    try:
        store: Store | None = pm.hook.coplib_open_store(url=url, options=dict(options or {}))
    except CoplibError:
        raise
    except Exception as exc:
        raise StorageError(f"the store at {url!r} could not be opened: {exc}") from exc
    if store is None:
        schemes = sorted({s for group in pm.hook.coplib_store_schemes() for s in group})
        scheme = url.split(":", 1)[0]
        raise ConfigurationError(
            f"no storage plugin opens URLs of scheme {scheme!r}; known schemes: {', '.join(schemes)}"
        )
    if not pm.hook.coplib_deliver.get_hookimpls():
        log.warning(
            "no notifier is registered: messages will stay queued in the outbox until one is "
            "(pass an SmtpNotifier, a WebhookNotifier... in plugins=, or load them from entry points)"
        )
    try:
        return Engine(
            store,
            plugin_manager=pm,
            clock=clock,
            id_factory=id_factory,
            strict=strict,
            retry=retry,
            delivery=delivery,
            follow=follow,
            organisation_creators=creators,
        )
    except BaseException:
        store.close()
        raise
