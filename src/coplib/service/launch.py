"""Deciding to launch a community (docs/value-and-launch.md#launch): candidates proposed in an
organisation, scored against the launch-readiness criteria, ranked, revised, dropped, and
launched as communities."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import (
    Charter,
    Community,
    CommunityKind,
    LifecycleStage,
    Organisation,
    Role,
    Visibility,
    check_coherent,
)
from coplib.domain.errors import ConflictError, CoplibError, InvalidInputError, NotFoundError
from coplib.domain.history import Ref
from coplib.domain.permissions import SYSTEM, Action
from coplib.domain.readiness import (
    DEFAULT_WEIGHTS,
    AssessedCandidate,
    CandidateStatus,
    CommunityCandidate,
    LaunchFacts,
    assess,
    check_weights,
    rank_candidates,
)
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_enum, check_id, check_strings, need

__all__ = ["LaunchCommands"]

_FACT_FIELDS = tuple(f.name for f in attrs.fields(LaunchFacts))


class LaunchCommands(UseCases):
    """Candidate communities and their readiness, as engine methods."""

    @property
    def readiness_weights(self) -> Mapping[str, int]:
        """The weight of each readiness criterion (`coplib.domain.readiness.CRITERIA`): the
        defaults unless the host set others (checked: `check_weights`)."""
        return getattr(self, "_readiness_weights", DEFAULT_WEIGHTS)

    @readiness_weights.setter
    def readiness_weights(self, weights: Mapping[str, int]) -> None:
        self._readiness_weights = check_weights(weights)

    # -- input ----------------------------------------------------------------------------------

    def _facts(self, facts: object, ctx: str, current: LaunchFacts | None = None) -> LaunchFacts:
        """`facts` as a `LaunchFacts`: one as it is, or a mapping of its fields (laid over
        `current` when given); every person named must be known to the directory."""
        if facts is None:
            checked = current or LaunchFacts()
        elif isinstance(facts, LaunchFacts):
            checked = facts
        elif isinstance(facts, Mapping):
            unknown = sorted(str(k) for k in facts if k not in _FACT_FIELDS)
            if unknown:
                raise InvalidInputError.field(
                    v.key_path("$.facts", unknown[0]),
                    f"unknown fact; the facts are {', '.join(_FACT_FIELDS)}",
                    context=ctx,
                )
            values: dict[str, Any] = dict(facts)
            for key in ("immediate_needs", "core_group"):
                if key in values:
                    values[key] = check_strings(f"$.facts.{key}", values[key], ctx)
            try:
                fields = v.check_fields(LaunchFacts, ctx, **values)
            except InvalidInputError as exc:
                raise exc.under("$.facts") from None
            checked = attrs.evolve(current, **fields) if current is not None else LaunchFacts(**fields)
        else:
            raise InvalidInputError.field(
                "$.facts", f"must be a LaunchFacts or a mapping of its fields, got {type(facts).__name__}", context=ctx
            )
        for key in ("sponsor", "facilitator"):
            person_id = getattr(checked, key)
            if person_id is not None and self.person(person_id) is None:
                raise InvalidInputError.field(
                    f"$.facts.{key}", f"{person_id!r:.60} is unknown to the directory", context=ctx
                )
        for person_id in sorted(checked.core_group):
            if self.person(person_id) is None:
                raise InvalidInputError.field(
                    "$.facts.core_group", f"{person_id!r:.60} is unknown to the directory", context=ctx
                )
        return checked

    def _assessed(self, candidate: CommunityCandidate, weights: Mapping[str, int] | None = None) -> AssessedCandidate:
        return AssessedCandidate(candidate, assess(candidate.facts, weights or self.readiness_weights))

    def _candidate(self, uow: UnitOfWork | None, candidate_id: object, ctx: str) -> CommunityCandidate:
        cid = check_id("$.candidate_id", candidate_id, ctx)
        found = uow.get(Ref("community_candidate", cid)) if uow is not None else None
        if uow is None:
            stored = self._store.get(Ref("community_candidate", cid))
            found = stored.value if stored is not None else None
        if not isinstance(found, CommunityCandidate):
            raise NotFoundError("community_candidate", cid)
        return found

    def _may_manage(self, actor: str, candidate: CommunityCandidate, organisation: Organisation) -> None:
        """Refuse unless `actor` proposed the candidate or administers its organisation; to a
        person outside the organisation, the candidate is unknown."""
        self._authorise_in_organisation(
            None,
            Action.MANAGE_CANDIDATE,
            actor,
            organisation,
            owner_id=candidate.proposed_by,
            subject=Ref("community_candidate", candidate.id),
        )

    # -- commands -------------------------------------------------------------------------------

    def propose_community(
        self,
        actor: str,
        organisation_id: str,
        *,
        name: str,
        vocation: str,
        kind: CommunityKind | str = CommunityKind.PRACTICE,
        tags: Iterable[str] = (),
        facts: LaunchFacts | Mapping[str, Any] | None = None,
    ) -> AssessedCandidate:
        """Propose a community to launch in the organisation (any of its people may): a
        candidate with what is known of it against the readiness criteria, returned with its
        score and what is missing. It is seen by its proposer and the organisation's
        administrators."""
        ctx = "propose_community"
        actor = check_id("$.actor", actor, ctx)
        oid = check_id("$.organisation_id", organisation_id, ctx)
        kind_ = check_enum("$.kind", kind, CommunityKind, ctx)
        fields = v.check_fields(
            CommunityCandidate, ctx, name=name, vocation=vocation, tags=check_strings("$.tags", tags, ctx)
        )
        facts_ = self._facts(facts, ctx)
        candidate_id = self._new_id()

        def unit(uow: UnitOfWork) -> AssessedCandidate:
            organisation = need(uow, "organisation", oid, Organisation)
            self._authorise_in_organisation(uow, Action.PROPOSE_COMMUNITY, actor, organisation)
            uow.record(
                ev.CommunityProposed(
                    **self._event_base(actor, None),
                    candidate_id=candidate_id,
                    organisation_id=oid,
                    kind=kind_,
                    facts=facts_,
                    **fields,
                )
            )
            return self._assessed(need(uow, "community_candidate", candidate_id, CommunityCandidate))

        return self._run(unit)

    def revise_candidate(
        self,
        actor: str,
        candidate_id: str,
        *,
        name: str | None = None,
        vocation: str | None = None,
        tags: Iterable[str] | None = None,
        facts: LaunchFacts | Mapping[str, Any] | None = None,
    ) -> AssessedCandidate:
        """Change a candidate (its proposer or an administrator of its organisation): what is
        given replaces what it had; `facts` as a mapping changes only the facts it names."""
        ctx = "revise_candidate"
        actor = check_id("$.actor", actor, ctx)
        checked = v.check_fields(
            CommunityCandidate,
            ctx,
            **({"name": name} if name is not None else {}),
            **({"vocation": vocation} if vocation is not None else {}),
            **({"tags": check_strings("$.tags", tags, ctx)} if tags is not None else {}),
        )

        def unit(uow: UnitOfWork) -> AssessedCandidate:
            candidate = self._candidate(uow, candidate_id, ctx)
            organisation = need(uow, "organisation", candidate.organisation_id, Organisation)
            self._may_manage(actor, candidate, organisation)
            self._open(candidate)
            new_facts = self._facts(facts, ctx, current=candidate.facts)
            uow.record(
                ev.CandidateRevised(
                    **self._event_base(actor, None),
                    candidate_id=candidate.id,
                    name=checked.get("name", candidate.name),
                    vocation=checked.get("vocation", candidate.vocation),
                    tags=checked.get("tags", candidate.tags),
                    facts=new_facts,
                )
            )
            return self._assessed(need(uow, "community_candidate", candidate.id, CommunityCandidate))

        return self._run(unit)

    def drop_candidate(self, actor: str, candidate_id: str, *, reason: str = "") -> CommunityCandidate:
        """Give a candidate up (its proposer or an administrator of its organisation)."""
        ctx = "drop_candidate"
        actor = check_id("$.actor", actor, ctx)
        v.check_fields(ev.CandidateDropped, ctx, reason=reason)

        def unit(uow: UnitOfWork) -> CommunityCandidate:
            candidate = self._candidate(uow, candidate_id, ctx)
            organisation = need(uow, "organisation", candidate.organisation_id, Organisation)
            self._may_manage(actor, candidate, organisation)
            self._open(candidate)
            uow.record(ev.CandidateDropped(**self._event_base(actor, None), candidate_id=candidate.id, reason=reason))
            return need(uow, "community_candidate", candidate.id, CommunityCandidate)

        return self._run(unit)

    def launch_candidate(
        self,
        actor: str,
        candidate_id: str,
        *,
        visibility: Visibility | str = Visibility.OPEN,
        stage: LifecycleStage | str = LifecycleStage.POTENTIAL,
        charter: Charter | None = None,
        community_id: str | None = None,
    ) -> Community:
        """Create the community a candidate describes (its proposer or an administrator of its
        organisation, who must be allowed to create communities there): its name, vocation
        (or `charter`), kind and tags; the actor becomes its first member and facilitator, as
        with `create_community`. The people the candidate's facts name (its core group, sponsor
        and facilitator) are invited, those of the organisation the directory knows and counts
        active; they join with `join`. The readiness score advises; it does not forbid."""
        ctx = "launch_candidate"
        actor = check_id("$.actor", actor, ctx)
        visibility_ = check_enum("$.visibility", visibility, Visibility, ctx)
        stage_ = check_enum("$.stage", stage, LifecycleStage, ctx)
        cid = check_id("$.community_id", community_id, ctx) if community_id is not None else self._new_id()
        if charter is not None and not isinstance(charter, Charter):
            raise InvalidInputError.field("$.charter", f"must be a Charter, got {type(charter).__name__}", context=ctx)
        if charter is not None:
            self._check_policy_settings(charter, ctx)

        def unit(uow: UnitOfWork) -> Community:
            candidate = self._candidate(uow, candidate_id, ctx)
            organisation = need(uow, "organisation", candidate.organisation_id, Organisation)
            self._may_manage(actor, candidate, organisation)
            self._authorise_in_organisation(uow, Action.CREATE_COMMUNITY, actor, organisation)
            self._open(candidate)
            charter_ = charter or Charter(vocation=candidate.vocation)
            try:
                check_coherent(visibility_, charter_)
            except InvalidInputError as exc:
                raise exc.under("$", context=ctx) from None
            if uow.get(Ref("community", cid)) is not None:
                raise ConflictError(f"community {cid!r} exists already", kind="community", id=cid)
            uow.record(
                ev.CommunityCreated(
                    **self._event_base(actor, cid),
                    organisation_id=organisation.id,
                    name=candidate.name,
                    kind=candidate.kind,
                    visibility=visibility_,
                    stage=stage_,
                    tags=candidate.tags,
                    charter=charter_,
                )
            )
            if actor != SYSTEM:
                uow.record(ev.MemberJoined(**self._event_base(actor, cid), person_id=actor, via="founder"))
                uow.record(ev.RoleAssigned(**self._event_base(actor, cid), person_id=actor, role=Role.FACILITATOR))
            # The people the candidate counted on (its core group, sponsor and facilitator) are
            # invited: the community starts from the network that existed before it (seed 000).
            facts = candidate.facts
            for pid in sorted(facts.people - {actor}):
                person = self.person(pid)
                if person is not None and person.active and person.belongs_to(organisation.id):
                    # Offered with the invitation, given when they join (`join`).
                    roles = {
                        role
                        for role, named in (
                            (Role.SPONSOR, pid == facts.sponsor),
                            (Role.FACILITATOR, pid == facts.facilitator),
                            (Role.CORE_GROUP, pid in facts.core_group),
                        )
                        if named
                    }
                    uow.record(ev.MemberInvited(**self._event_base(actor, cid), person_id=pid, roles=frozenset(roles)))
            uow.record(ev.CandidateLaunched(**self._event_base(actor, cid), candidate_id=candidate.id))
            return need(uow, "community", cid, Community)

        return self._run(unit)

    @staticmethod
    def _open(candidate: CommunityCandidate) -> None:
        if candidate.status is not CandidateStatus.PROPOSED:
            raise ConflictError(
                f"the candidate {candidate.id!r} is {candidate.status.value} already",
                kind="community_candidate",
                id=candidate.id,
            )

    # -- reads ----------------------------------------------------------------------------------

    def assess_candidate(
        self, viewer: str, candidate_id: str, *, weights: Mapping[str, int] | None = None
    ) -> AssessedCandidate:
        """A candidate with its readiness (with `weights`, else the engine's), for its proposer
        and the organisation's administrators; unknown to the people of other organisations."""
        ctx = "assess_candidate"
        viewer = check_id("$.viewer", viewer, ctx)
        weights_ = check_weights(weights) if weights is not None else None
        candidate = self._candidate(None, candidate_id, ctx)
        organisation = self._organisation(candidate.organisation_id, ctx)
        self._may_manage(viewer, candidate, organisation)
        return self._assessed(candidate, weights_)

    def community_candidates(
        self,
        viewer: str,
        organisation_id: str,
        *,
        weights: Mapping[str, int] | None = None,
        statuses: Iterable[CandidateStatus | str] = (CandidateStatus.PROPOSED,),
    ) -> list[AssessedCandidate]:
        """The organisation's candidates the viewer may see (all of them for an administrator,
        their own for anyone else of the organisation), of `statuses` (by default those still
        proposed), ranked: highest readiness first, then the oldest."""
        ctx = "community_candidates"
        viewer = check_id("$.viewer", viewer, ctx)
        weights_ = check_weights(weights) if weights is not None else None
        wanted = {check_enum(f"$.statuses[{i}]", s, CandidateStatus, ctx) for i, s in enumerate(statuses)}
        organisation = self._organisation(organisation_id, ctx)
        self._authorise_in_organisation(None, Action.SEE_ORGANISATION, viewer, organisation)
        found = []
        for candidate in self._store.find("community_candidate"):
            if not isinstance(candidate, CommunityCandidate) or candidate.organisation_id != organisation.id:
                continue
            if candidate.status not in wanted:
                continue
            try:
                self._may_manage(viewer, candidate, organisation)
            except CoplibError:
                continue
            found.append(self._assessed(candidate, weights_))
        return rank_candidates(found)
