"""Every hook coplib calls, in one catalogue. A plugin implements some of them with
``@coplib.hookimpl``; the built-in adapters are ordinary plugins registered ``trylast``, so
a host's own plugin wins.

Families: storage (``coplib_open_store``...), identity (``coplib_get_person``...),
notification (``coplib_compose_messages``, ``coplib_deliver``) and events
(``coplib_events_committed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from coplib.domain.events import DomainEvent
    from coplib.domain.people import AttributeRule, Person
    from coplib.ports.notification import MessageDraft
    from coplib.ports.policy import BadgeRule, Policy
    from coplib.ports.storage import OutboxMessage, RecordedEvent, Store

PROJECT = "coplib"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- storage ----------------------------------------------------------------------------------


@hookspec(firstresult=True)
def coplib_open_store(url: str, options: Mapping[str, Any]) -> Store | None:
    """Open the store for `url` if this plugin handles its scheme.

    :param url: the storage URL given to `coplib.open` (``sqlite:///path.db``, ``memory://``...).
    :param options: extra settings passed through by the host (adapter-specific).
    :return: an open `coplib.ports.storage.Store`, or None when the scheme is not this plugin's.
    Combination: stops at the first non-None result.
    Errors: raise `coplib.StorageError` when the scheme is yours but the store cannot open.
    """


@hookspec
def coplib_store_schemes() -> Iterable[str]:  # type: ignore[empty-body]
    """The URL schemes this plugin opens (``"sqlite"``, ``"memory"``...).

    :return: scheme names, used to list the choices when a URL is not understood.
    Combination: every plugin's list is gathered.
    """


# -- identity ---------------------------------------------------------------------------------


@hookspec(firstresult=True)
def coplib_get_person(person_id: str) -> Person | None:
    """Resolve a person of the organisation by id.

    :param person_id: the coplib person id.
    :return: the `coplib.Person` (with ``active`` False for someone who left), or None
        when this directory does not know the id.
    Combination: stops at the first non-None result.
    """


@hookspec(firstresult=True)
def coplib_find_people(rule: AttributeRule) -> Sequence[Person] | None:
    """Every active person matching an attribute rule (for rule-based membership).

    :param rule: the `coplib.AttributeRule` of a charter's membership policy.
    :return: the matching people, or None when this plugin is no directory.
    Combination: stops at the first non-None result.
    """


@hookspec(firstresult=True)
def coplib_authenticate(principal: str) -> str | None:
    """Map the host's authenticated user name to a coplib person id.

    :param principal: the name the host's authentication gave (a login, an e-mail...).
    :return: the person id, or None when unknown to this plugin.
    Combination: stops at the first non-None result.
    """


# -- notification -----------------------------------------------------------------------------


@hookspec
def coplib_compose_messages(event: DomainEvent, store: Store) -> Iterable[MessageDraft]:  # type: ignore[empty-body]
    """The messages an event should cause, for whom, on which topic.

    Called inside the unit of work, before commit: read from `store` but never contact the
    outside world here. The drafts are written to the outbox in the same transaction.
    :param event: the event just recorded.
    :param store: the store, for reading (who are the facilitators...).
    :return: message drafts (possibly none).
    Combination: every plugin's drafts are gathered; duplicates (same recipient, topic and
    event) are written once.
    """


@hookspec(firstresult=True)
def coplib_deliver(message: OutboxMessage, recipient: Person, channel: str) -> bool | None:
    """Deliver an outbox message on `channel`, if that channel is this plugin's.

    Called by the dispatcher (`Engine.dispatch`) after the commit, never inside a unit of
    work, and only for a recipient who is known, active and wants the message.
    :param message: the message, with its idempotency key ``message.id`` (the same on every
        attempt: pass it to the receiver so that it can drop a repeat). Person ids in the
        ``actor`` and ``person`` parameters are already display names (the ids are kept as
        ``actor_id`` and ``person_id``). A digest is one message of topic ``digest``.
    :param recipient: the recipient as the directory knows them.
    :param channel: the recipient's preferred channel, or the dispatcher's default
        (``"email"``).
    :return: True once delivered; None when `channel` is not this plugin's.
    Combination: stops at the first non-None result. No plugin answering makes the message
    dead. Raise a `coplib.notification.messages.DeliveryError` (``permanent=True`` when trying again
    cannot help) to have it retried with backoff, or dead at once; any other exception is
    recorded against the message and retried too.
    """


# -- policies ---------------------------------------------------------------------------------


@hookspec
def coplib_policies() -> Iterable[Policy]:  # type: ignore[empty-body]
    """The policies this plugin provides (see `coplib.ports.policy.Policy`).

    :return: policy objects, each with a unique ``name``.
    Combination: every plugin's policies are gathered, host plugins first; two policies
    with the same name are refused (block one of the plugins).
    """


# -- badges -----------------------------------------------------------------------------------


@hookspec
def coplib_badge_rules() -> Iterable[BadgeRule]:  # type: ignore[empty-body]
    """The badge rules this plugin provides (see `coplib.ports.policy.BadgeRule`).

    Called once per engine, when the ``badges`` policy first meets an event. A rule names its
    badge (a stable name such as ``first_answer``, never renamed), gives its title by locale
    (``en`` required), the event types it looks at, and, for an event, who earns the badge;
    the policy awards it once per person and community, with a message to the person.
    :return: badge rules (`coplib.policies.badges.SimpleBadgeRule` wraps a function).
    Combination: every plugin's rules are gathered, host plugins first; two rules with the
    same name are refused with `coplib.PluginError` (block one plugin, or rename the badge).
    A community switches a badge off with the ``disabled`` setting of the ``badges`` policy.
    """


# -- events -----------------------------------------------------------------------------------


@hookspec
def coplib_events_committed(engine: Any, events: Sequence[RecordedEvent]) -> None:
    """React to events once their unit of work is committed.

    :param engine: the `coplib.Engine` that committed them (to read, or to run further commands).
    :param events: the events, in position order.
    Combination: every plugin is called. An exception does not undo the commit: it is logged
    on the ``coplib.runtime`` logger and, if the engine is strict, raised as `PluginError`
    after every subscriber has run.
    """
