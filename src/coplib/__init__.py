"""coplib: run communities of practice inside an organisation.

The public API lives here; modules below it are implementation details unless documented.
"""

from coplib._open import DEFAULT_URL, open_engine
from coplib.adapters.directory import StaticDirectory
from coplib.adapters.memory import MemoryStore
from coplib.adapters.recording import Delivery, RecordingNotifier
from coplib.adapters.sqlite import SQLiteStore
from coplib.domain.clock import Clock, ManualClock, SystemClock
from coplib.domain.community import (
    Admission,
    Charter,
    CharterRule,
    CharterVersion,
    CollaborationMode,
    Community,
    CommunityKind,
    LifecycleStage,
    MembershipPolicy,
    Organisation,
    Role,
    Visibility,
)
from coplib.domain.contributions import (
    Answer,
    Comment,
    Contribution,
    ContributionKind,
    Endorsement,
    Experience,
    ExperienceKind,
    Meeting,
    Question,
    Resource,
    ResourceKind,
)
from coplib.domain.errors import (
    AdapterError,
    CharterViolationError,
    ConcurrencyConflictError,
    ConfigurationError,
    ConflictError,
    CoplibError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    StorageError,
)
from coplib.domain.events import EVENT_TYPES, DomainEvent
from coplib.domain.membership import Membership, MembershipStatus
from coplib.domain.people import AttributeCondition, AttributeRule, Person
from coplib.domain.permissions import Action, Decision, decide
from coplib.domain.preferences import Frequency, Preferences, QuietHours
from coplib.engine import SYSTEM, Engine, QuestionThread, TickReport
from coplib.hookspecs import hookimpl
from coplib.messages import MessageDraft
from coplib.policies.base import BasePolicy, Policy, PolicyContext
from coplib.ports import (
    Changeset,
    DeliveryStatus,
    OutboxEntry,
    OutboxMessage,
    Period,
    RecordedEvent,
    Store,
    Versioned,
    Write,
)
from coplib.serialization import make_converter

open = open_engine  # noqa: A001 - `coplib.open(url)` is the documented entry point

__all__ = [
    "DEFAULT_URL",
    "EVENT_TYPES",
    "SYSTEM",
    "Action",
    "AdapterError",
    "Admission",
    "Answer",
    "AttributeCondition",
    "AttributeRule",
    "BasePolicy",
    "Changeset",
    "Charter",
    "CharterRule",
    "CharterVersion",
    "CharterViolationError",
    "Clock",
    "CollaborationMode",
    "Comment",
    "Community",
    "CommunityKind",
    "ConcurrencyConflictError",
    "ConfigurationError",
    "ConflictError",
    "Contribution",
    "ContributionKind",
    "CoplibError",
    "Decision",
    "Delivery",
    "DeliveryStatus",
    "DomainEvent",
    "Endorsement",
    "Engine",
    "Experience",
    "ExperienceKind",
    "FieldError",
    "Frequency",
    "InvalidInputError",
    "LifecycleStage",
    "ManualClock",
    "Meeting",
    "Membership",
    "MembershipPolicy",
    "MembershipStatus",
    "MemoryStore",
    "MessageDraft",
    "NotFoundError",
    "Organisation",
    "OutboxEntry",
    "OutboxMessage",
    "Period",
    "PermissionDeniedError",
    "Person",
    "PluginError",
    "Policy",
    "PolicyContext",
    "Preferences",
    "Question",
    "QuestionThread",
    "QuietHours",
    "RecordedEvent",
    "RecordingNotifier",
    "Resource",
    "ResourceKind",
    "Role",
    "SQLiteStore",
    "StaticDirectory",
    "StorageError",
    "Store",
    "SystemClock",
    "TickReport",
    "Versioned",
    "Visibility",
    "Write",
    "decide",
    "hookimpl",
    "make_converter",
    "open",
    "open_engine",
]
