"""coplib: run communities of practice inside an organisation.

The public API lives here; modules below it are implementation details unless documented.
"""

from coplib.adapters.identity.directory_file import CachingDirectory, DirectoryFile
from coplib.adapters.identity.organisations import OrganisationsRequired
from coplib.adapters.identity.static import StaticDirectory
from coplib.adapters.notification.logging_notifier import LoggingNotifier
from coplib.adapters.notification.recording import Delivery, RecordingNotifier
from coplib.adapters.notification.smtp import SmtpNotifier
from coplib.adapters.notification.webhook import SignatureError, WebhookNotifier, verify_signature
from coplib.adapters.storage.memory import MemoryStore
from coplib.adapters.storage.postgres import PostgresStore
from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.bootstrap.open import DEFAULT_URL, open_engine
from coplib.domain.benefits import BenefitMatrix
from coplib.domain.calendar import WorkingCalendar
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
    ThreadStatus,
)
from coplib.domain.errors import (
    AdapterError,
    CharterViolationError,
    ConcurrencyConflictError,
    ConfigurationError,
    ConflictError,
    CoplibError,
    DeliveryError,
    FieldError,
    InvalidInputError,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    StorageError,
)
from coplib.domain.events import EVENT_TYPES, DomainEvent
from coplib.domain.membership import Membership, MembershipStatus
from coplib.domain.moderation import Flag, FlagStatus, RevisedFields, Revision
from coplib.domain.paging import Page
from coplib.domain.participation import ParticipationLevel
from coplib.domain.people import AttributeCondition, AttributeRule, Person
from coplib.domain.permissions import SYSTEM, Action, Decision, OrganisationCreators, decide, within_organisations
from coplib.domain.portfolio import PortfolioEntry, Recommendation, RecommendationReason
from coplib.domain.preferences import Frequency, Preferences, QuietHours
from coplib.domain.readiness import (
    AssessedCandidate,
    CandidateStatus,
    CommunityCandidate,
    CriterionResult,
    LaunchFacts,
    Readiness,
)
from coplib.domain.recognition import PointsBalance, PointsEntry
from coplib.domain.value import Cycle, LinkedContribution, ValueCycles, ValueStory
from coplib.notification.dispatcher import DeliveryPolicy, Dispatcher, DispatchReport
from coplib.policies.badges import SimpleBadgeRule
from coplib.ports.hookspecs import hookimpl
from coplib.ports.notification import MessageDraft
from coplib.ports.policy import BasePolicy, Policy, PolicyContext
from coplib.ports.storage import (
    Changeset,
    DeliveryStatus,
    Filter,
    OutboxEntry,
    OutboxMessage,
    Period,
    RecordedEvent,
    Store,
    Versioned,
    Write,
)
from coplib.runtime import RetryPolicy, TickReport
from coplib.serialization import make_converter
from coplib.service.benefits import community_benefits, person_benefits
from coplib.service.directory_sync import SyncReport
from coplib.service.engine import Engine
from coplib.service.guarantee_measures import AnswerMeasures, answer_measures
from coplib.service.help_space import WatchItem, watch_list
from coplib.service.host_reads import CommunityProfile, MyCommunity, Profile
from coplib.service.participation import level_of, pin_level
from coplib.service.personal_data import ErasureReport
from coplib.service.queries import QuestionThread
from coplib.service.recognition_export import recognition_csv, recognition_json
from coplib.service.search import SearchHit, SearchResults

open = open_engine  # noqa: A001 - `coplib.open(url)` is the documented entry point

__all__ = [
    "DEFAULT_URL",
    "EVENT_TYPES",
    "SYSTEM",
    "Action",
    "AdapterError",
    "Admission",
    "Answer",
    "AnswerMeasures",
    "AssessedCandidate",
    "AttributeCondition",
    "AttributeRule",
    "BasePolicy",
    "BenefitMatrix",
    "CachingDirectory",
    "CandidateStatus",
    "Changeset",
    "Charter",
    "CharterRule",
    "CharterVersion",
    "CharterViolationError",
    "Clock",
    "CollaborationMode",
    "Comment",
    "Community",
    "CommunityCandidate",
    "CommunityKind",
    "CommunityProfile",
    "ConcurrencyConflictError",
    "ConfigurationError",
    "ConflictError",
    "Contribution",
    "ContributionKind",
    "CoplibError",
    "CriterionResult",
    "Cycle",
    "Decision",
    "Delivery",
    "DeliveryError",
    "DeliveryPolicy",
    "DeliveryStatus",
    "DirectoryFile",
    "DispatchReport",
    "Dispatcher",
    "DomainEvent",
    "Endorsement",
    "Engine",
    "ErasureReport",
    "Experience",
    "ExperienceKind",
    "FieldError",
    "Filter",
    "Flag",
    "FlagStatus",
    "Frequency",
    "InvalidInputError",
    "LaunchFacts",
    "LifecycleStage",
    "LinkedContribution",
    "LoggingNotifier",
    "ManualClock",
    "Meeting",
    "Membership",
    "MembershipPolicy",
    "MembershipStatus",
    "MemoryStore",
    "MessageDraft",
    "MissingExtraError",
    "MyCommunity",
    "NotFoundError",
    "Organisation",
    "OrganisationCreators",
    "OrganisationsRequired",
    "OutboxEntry",
    "OutboxMessage",
    "Page",
    "ParticipationLevel",
    "Period",
    "PermissionDeniedError",
    "Person",
    "PluginError",
    "PointsBalance",
    "PointsEntry",
    "Policy",
    "PolicyContext",
    "PortfolioEntry",
    "PostgresStore",
    "Preferences",
    "Profile",
    "Question",
    "QuestionThread",
    "QuietHours",
    "Readiness",
    "Recommendation",
    "RecommendationReason",
    "RecordedEvent",
    "RecordingNotifier",
    "Resource",
    "ResourceKind",
    "RetryPolicy",
    "RevisedFields",
    "Revision",
    "Role",
    "SQLiteStore",
    "SearchHit",
    "SearchResults",
    "SignatureError",
    "SimpleBadgeRule",
    "SmtpNotifier",
    "StaticDirectory",
    "StorageError",
    "Store",
    "SyncReport",
    "SystemClock",
    "ThreadStatus",
    "TickReport",
    "ValueCycles",
    "ValueStory",
    "Versioned",
    "Visibility",
    "WatchItem",
    "WebhookNotifier",
    "WorkingCalendar",
    "Write",
    "answer_measures",
    "community_benefits",
    "decide",
    "hookimpl",
    "level_of",
    "make_converter",
    "open",
    "open_engine",
    "person_benefits",
    "pin_level",
    "recognition_csv",
    "recognition_json",
    "verify_signature",
    "watch_list",
    "within_organisations",
]
