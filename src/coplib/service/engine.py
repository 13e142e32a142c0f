"""The engine: the one entry point of a host application, a façade over the runtime.

Each command is one unit of work on the runtime (`coplib.runtime.Runtime`): validate the
input, ask the permission decision point, record events (which change state through
`coplib.domain.history.apply`), let the policies react, compose the outbox messages, commit
all of it atomically, and only then hand the events to subscribers. The commands and reads
live in one module per capability; `Engine` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pluggy

from coplib.domain import validation as v
from coplib.domain.clock import Clock
from coplib.domain.errors import InvalidInputError
from coplib.domain.permissions import OrganisationCreators
from coplib.notification.dispatcher import DeliveryPolicy
from coplib.ports.policy import Policy
from coplib.ports.storage import Store
from coplib.runtime import Runtime, UnitOfWork
from coplib.runtime.follower import DEFAULT_BATCH_SIZE, check_follow_mode
from coplib.runtime.retry import RetryPolicy
from coplib.service.benefits import BenefitReads
from coplib.service.bulk import BulkImport
from coplib.service.communities import CommunityCommands
from coplib.service.contributions import ContributionCommands
from coplib.service.editing import EditingCommands
from coplib.service.guarantee_measures import GuaranteeMeasureReads
from coplib.service.health import HealthReads
from coplib.service.health_cache import HealthCache
from coplib.service.help_space import HelpSpaceReads
from coplib.service.host_reads import HostReads
from coplib.service.launch import LaunchCommands
from coplib.service.lifecycle import LifecycleReads
from coplib.service.meetings import MeetingCommands
from coplib.service.membership import MembershipCommands
from coplib.service.moderation import ModerationCommands
from coplib.service.operations import HostOperations
from coplib.service.organisations import OrganisationCommands
from coplib.service.participation import ParticipationCommands
from coplib.service.personal_data import PersonalDataCommands
from coplib.service.portfolio import PortfolioReads
from coplib.service.preferences import PreferenceCommands
from coplib.service.queries import Queries
from coplib.service.recognition import RecognitionReads
from coplib.service.recognition_export import RecognitionExports
from coplib.service.search import SearchReads
from coplib.service.value import ValueReads

R = TypeVar("R")


class Engine(
    OrganisationCommands,
    CommunityCommands,
    MembershipCommands,
    ContributionCommands,
    MeetingCommands,
    PreferenceCommands,
    ParticipationCommands,
    GuaranteeMeasureReads,
    HealthReads,
    BenefitReads,
    RecognitionExports,
    Queries,
    HelpSpaceReads,
    RecognitionReads,
    BulkImport,
    HostOperations,
    SearchReads,
    PersonalDataCommands,
    EditingCommands,
    ModerationCommands,
    HostReads,
    # value and launch (issue 14)
    ValueReads,
    LaunchCommands,
    PortfolioReads,
    LifecycleReads,
):
    """Commands and queries over one store, with its plugins. Thread-safe if the store is."""

    def __init__(
        self,
        store: Store,
        *,
        plugin_manager: pluggy.PluginManager,
        clock: Clock | None = None,
        id_factory: Callable[[], str] | None = None,
        max_attempts: int | None = None,
        strict: bool = False,
        retry: RetryPolicy | None = None,
        delivery: DeliveryPolicy | None = None,
        follow: str = "unit",
        follow_batch: int = DEFAULT_BATCH_SIZE,
        organisation_creators: OrganisationCreators | None = None,
    ) -> None:
        if organisation_creators is not None and not isinstance(organisation_creators, OrganisationCreators):
            raise InvalidInputError.field(
                "$.organisation_creators",
                f"must be an OrganisationCreators, got {type(organisation_creators).__name__}",
            )
        #: Who may create an organisation.
        self.organisation_creators = organisation_creators or OrganisationCreators()
        if delivery is not None and not isinstance(delivery, DeliveryPolicy):
            raise InvalidInputError.field("$.delivery", f"must be a DeliveryPolicy, got {type(delivery).__name__}")
        #: How `dispatch` delivers the outbox when it is given no policy of its own.
        self.delivery = delivery or DeliveryPolicy()
        self.runtime = Runtime(
            store,
            plugin_manager=plugin_manager,
            clock=clock,
            id_factory=id_factory,
            max_attempts=max_attempts,
            strict=strict,
            engine=self,
            retry=retry,
            follow=check_follow_mode(follow),
            follow_batch=follow_batch,
        )
        self._health_cache = HealthCache()
        self.runtime.follower.open()

    @property
    def strict(self) -> bool:
        """Whether a policy's failure fails the command (`coplib.open(strict=True)`) rather
        than being recorded for a retry."""
        return self.runtime.strict

    @property
    def max_attempts(self) -> int:
        """How many times a failed policy reaction is tried before it is given up (settable)."""
        return self.runtime.max_attempts

    @max_attempts.setter
    def max_attempts(self, value: int) -> None:
        self.runtime.max_attempts = value

    def close(self) -> None:
        """Stop the log follower (after it has caught up) and close the store."""
        try:
            self.runtime.follower.close()
        finally:
            self.runtime.store.close()

    def drain(self) -> int:
        """Let the log follower catch up now, in this thread: when this returns, every
        committed event has its policies' reactions (recognition, levels, badges) committed
        too. Returns how many events got reactions. In ``follow="unit"`` mode there is
        nothing to wait for (it returns 0 unless an engine with a follower left work)."""
        return self.runtime.follower.drain()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authenticate(self, principal: str) -> str | None:
        """The coplib person id for the host's authenticated user name, or None. No principal
        ever authenticates as the system actor (`coplib.SYSTEM`)."""
        v.check_text("$.principal", principal, allow_empty=True, context="authenticate")  # one line, no controls
        return self.runtime.authenticate(principal)

    def new_id(self) -> str:
        """A new unique id from the engine's id factory."""
        return self.runtime.new_id()

    @property
    def policies(self) -> list[Policy]:
        """The policies the plugins provide, in registration order (host plugins first)."""
        return self.runtime.reactor.policies

    def policy(self, name: str) -> Policy | None:
        """The policy of that name among the plugins', or None."""
        return self.runtime.reactor.policy(name)

    def transact(self, body: Callable[[UnitOfWork], R]) -> R:
        """Run `body` as one unit of work: what it records (through ``uow.record``) commits
        atomically with the policies' reactions and the outbox messages, and the whole body
        is run again from scratch on a concurrent write. For plugins and host jobs that need a
        command of their own; `body` must read through `uow` and decide from what it reads."""
        return self.runtime.run(body)
