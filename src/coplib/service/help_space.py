"""The help space, watched: a community's unanswered questions, most urgent first, for
those who organise its answers (the answer guarantee's watch list)."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from coplib.domain import validation as v
from coplib.domain.contributions import Question
from coplib.domain.guarantee import Watch
from coplib.domain.history import Ref
from coplib.domain.permissions import Action
from coplib.policies.guarantee import guarantee_settings
from coplib.service._base import UseCases, check_id


@attrs.frozen
class WatchItem:
    """An unanswered question on the watch list, with how urgent it is."""

    question: Question
    #: Time since it was asked, on the wall clock and in working time.
    waited: timedelta
    waited_working: timedelta
    #: The promised time to a first answer (e.g. ``4wh``), and when it falls for this question.
    target: str
    target_at: datetime
    #: Time waited over the target (measured as the target is): 1.0 when it falls now.
    urgency: float
    #: Ladder steps taken, of how many; when the next one falls (None: none to come).
    steps_taken: int
    steps: int
    next_step_at: datetime | None
    #: The people it was routed to (empty when the guarantee never saw it).
    routed_to: tuple[str, ...]
    #: Whether the guarantee is still escalating it.
    watched: bool

    @property
    def overdue(self) -> bool:
        return self.urgency >= 1.0


class HelpSpaceReads(UseCases):
    """The watch list of the help space."""

    def watch_list(self, viewer: str, community_id: str, limit: int = 50) -> list[WatchItem]:
        """The unanswered questions of a community, most urgent first (the longest wait in
        working time against the target; then the oldest), for its facilitators, coaches,
        sponsors, coordinators and core group. Cost follows `limit`, not the number of questions."""
        v.check_limit(limit, "watch_list")
        viewer = check_id("$.viewer", viewer, "watch_list")
        community = self._community(community_id, "watch_list")
        self._readable(viewer, community, Action.WATCH_HELP_SPACE)
        settings = guarantee_settings(community)
        calendar = settings.calendar
        now = self.clock.now()
        # Working time waited grows with age, so the oldest open questions are the most urgent:
        # the store's oldest-first page is the page we want.
        questions = self._store.unanswered_questions(community.id, limit=limit)
        watches = self._store.get_many(Ref("answer_watch", q.id) for q in questions)
        items = []
        for question in questions:
            found = watches.get(Ref("answer_watch", question.id))
            watch = found.value if found is not None and isinstance(found.value, Watch) else None
            target_at = settings.target_at(question.created_at)
            target_length = calendar.elapsed(question.created_at, target_at, settings.target)
            waited_as_target = calendar.elapsed(question.created_at, now, settings.target)
            items.append(
                WatchItem(
                    question=question,
                    waited=now - question.created_at,
                    waited_working=calendar.working_time_between(question.created_at, now),
                    target=str(settings.target),
                    target_at=target_at,
                    urgency=waited_as_target / target_length if target_length else float("inf"),
                    steps_taken=watch.steps_taken if watch else 0,
                    steps=len(settings.ladder),
                    next_step_at=watch.due_at if watch else None,
                    routed_to=watch.experts if watch else (),
                    watched=watch is not None and watch.open,
                )
            )
        items.sort(key=lambda i: (-i.urgency, i.question.created_at, i.question.id))
        return items


def watch_list(engine: HelpSpaceReads, viewer: str, community_id: str, limit: int = 50) -> list[WatchItem]:
    """`Engine.watch_list`, as a function of the engine."""
    return engine.watch_list(viewer, community_id, limit)
