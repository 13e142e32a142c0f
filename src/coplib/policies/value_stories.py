"""Value stories' notices: the authors of the contributions a story credits are told what their
contribution made possible (topic ``value_story_told``, in French and English)."""

from __future__ import annotations

from collections.abc import Iterable

from coplib.domain import events as ev
from coplib.domain.community import Community
from coplib.domain.history import Ref
from coplib.ports.hookspecs import hookimpl
from coplib.ports.notification import MessageDraft
from coplib.ports.storage import Store


class ValueStoryNotices:
    """The default plugin (name ``coplib.value_story_notices``): block it to tell nobody."""

    @hookimpl(trylast=True)
    def coplib_compose_messages(self, event: ev.DomainEvent, store: Store) -> Iterable[MessageDraft]:
        if not isinstance(event, ev.ValueStoryTold) or event.community_id is None:
            return []
        found = store.get(Ref("community", event.community_id))
        name = found.value.name if found is not None and isinstance(found.value, Community) else event.community_id
        credited = sorted({c.author_id for c in event.contributions} - {event.actor_id})
        params = {"community": name, "actor": event.actor_id, "result": event.result}
        return [MessageDraft(person, "value_story_told", params) for person in credited]
