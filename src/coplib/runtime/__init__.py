"""The runtime every use case runs on: the store, the plugins, the clock and ids, the unit of
work and its retry loop, the policy reactor, message composition and event subscribers."""

from coplib.runtime.reactor import PolicyReactor, TickReport
from coplib.runtime.retry import RetryPolicy
from coplib.runtime.runtime import Runtime
from coplib.runtime.unit_of_work import StagedView, UnitOfWork

__all__ = ["PolicyReactor", "RetryPolicy", "Runtime", "StagedView", "TickReport", "UnitOfWork"]
