"""How people want to be reached: their notification preferences."""

from __future__ import annotations

from collections.abc import Iterable

from coplib.domain import events as ev
from coplib.domain.errors import (
    InvalidInputError,
    NotFoundError,
)
from coplib.domain.history import Ref
from coplib.domain.permissions import SYSTEM, Action
from coplib.domain.preferences import Frequency, Preferences, QuietHours
from coplib.notification.messages import check_channel
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_enum, check_id, check_strings, need


class PreferenceCommands(UseCases):
    """Commands and reads on notification preferences."""

    def set_preferences(
        self,
        actor: str,
        person_id: str,
        *,
        channel: str | None = None,
        frequency: Frequency | str = "immediate",
        quiet_hours: QuietHours | None = None,
        unsubscribed: Iterable[str] = (),
    ) -> Preferences:
        """Set how a person wants to be reached, in full (what is not given goes back to its
        default). A person sets their own; `SYSTEM` sets anyone's."""

        ctx = "set_preferences"
        actor = check_id("$.actor", actor, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        channel_ = check_channel(channel, "$.channel") if channel is not None else None
        frequency_ = check_enum("$.frequency", frequency, Frequency, ctx)
        if quiet_hours is not None and not isinstance(quiet_hours, QuietHours):
            raise InvalidInputError.field(
                "$.quiet_hours", f"must be a QuietHours or None, got {type(quiet_hours).__name__}", context=ctx
            )
        topics = check_strings("$.unsubscribed", unsubscribed, ctx)
        for i, topic in enumerate(topics):
            if not topic or len(topic) > 100 or any(c.isspace() for c in topic):
                raise InvalidInputError.field(
                    f"$.unsubscribed[{i}]", f"must be a topic name without spaces, got {topic!r:.60}", context=ctx
                )
        if len(set(topics)) > 100:
            raise InvalidInputError.field("$.unsubscribed", "at most 100 topics", context=ctx)
        self.runtime.authorise(None, Action.SET_PREFERENCES, actor, None, owner_id=pid)
        if actor == SYSTEM and self.person(pid) is None:
            raise NotFoundError("person", pid)

        def unit(uow: UnitOfWork) -> Preferences:
            current = uow.get(Ref("preferences", pid))
            wanted = (channel_, frequency_, quiet_hours, frozenset(topics))
            if isinstance(current, Preferences) and wanted == (
                current.channel,
                current.frequency,
                current.quiet_hours,
                current.unsubscribed,
            ):
                return current
            uow.record(
                ev.PreferencesChanged(
                    **self._event_base(actor, None),
                    person_id=pid,
                    channel=channel_,
                    frequency=frequency_,
                    quiet_hours=quiet_hours,
                    unsubscribed=frozenset(topics),
                )
            )
            return need(uow, "preferences", pid, Preferences)

        return self._run(unit)

    def preferences(self, viewer: str, person_id: str) -> Preferences | None:
        """A person's notification preferences (None: never set, so every message goes at
        once on the default channel). The person themselves or `SYSTEM` may read them."""

        ctx = "preferences"
        viewer = check_id("$.viewer", viewer, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        self.runtime.authorise(None, Action.READ_PREFERENCES, viewer, None, owner_id=pid)
        found = self._store.get(Ref("preferences", pid))
        return found.value if found is not None and isinstance(found.value, Preferences) else None
