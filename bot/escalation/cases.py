"""Cases and their state machine, with every step written to an audit trail.

    open ──claim──▶ claimed ──resolve──▶ resolved ──(trainee writes within the window)──▶ reopened
      ▲                 ▲                                                                    │
      └── reassign ─────┴──────────────────────────── claim / resolve ◀──────────────────────┘

Who may act is decided by one policy (`bot.escalation.policy.decide`), checked inside the
transaction that acts. Exceptions (all `DeskError`): `CaseNotFound`, `InvalidTransition` (the case
is not in a state that allows it, e.g. claiming a claimed case), `NotAllowed` (this person may not
do it). The channel turns them into localized messages. Events: opened, routed, claimed, reassigned, relayed, reminded,
resolved, reopened, rated (plus any kind a caller records). Events never hold message text, so
they survive /forget as an anonymous audit trail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.errors import PuenteError
from bot.escalation import policy
from bot.escalation.roster import Roster
from bot.escalation.routing import Routing, is_sensitive
from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

OPEN, CLAIMED, RESOLVED, REOPENED = "open", "claimed", "resolved", "reopened"
ACTIVE = (OPEN, CLAIMED, REOPENED)
DIRECTIONS = ("in", "out", "note")


class DeskError(PuenteError):
    """Base of the desk's exceptions."""


class CaseNotFound(DeskError):
    def __init__(self, case_id: int) -> None:
        super().__init__(f"case {case_id} not found")
        self.case_id = case_id


class InvalidTransition(DeskError):
    def __init__(self, case: Case, action: str) -> None:
        super().__init__(f"cannot {action} case {case.id}: it is {case.status}")
        self.case = case
        self.action = action


class NotAllowed(DeskError):
    def __init__(self, case_id: int, person_id: int | None, action: str, why: str) -> None:
        super().__init__(f"{person_id} may not {action} case {case_id}: {why}")
        self.case_id = case_id
        self.person_id = person_id
        self.action = action
        self.why = why


@dataclass(frozen=True)
class Case:
    id: int
    user_id: int
    chat_id: int
    name: str
    username: str | None
    language: str
    reason: str
    topic: str | None
    sensitive: bool
    urgent: bool
    status: str
    text: str
    context: list[str]
    draft_answer: str | None
    sources: list[str]
    routed_to: list[int]
    assigned_to: int | None
    round: int
    rating: int | None
    anonymized: bool
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    waiting_since: datetime

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class CaseEvent:
    id: int
    case_id: int
    kind: str
    actor: int | None
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseMessage:
    id: int
    case_id: int
    direction: str
    author: int
    text: str
    created_at: datetime


class CaseStore:
    """The case store and its guarded transitions. With a `roster`, every transition by a person
    is checked against the desk's policy; without one (tools, tests of the store alone), the
    store only checks states."""

    def __init__(
        self,
        db: Database,
        *,
        roster: Roster | None = None,
        clock: Callable[[], datetime] = utcnow,
        reopen_window: timedelta = timedelta(hours=72),
    ) -> None:
        self.db = db
        self.roster = roster
        self.clock = clock
        self.reopen_window = reopen_window

    # --- reading ------------------------------------------------------------------------------

    def get(self, case_id: int) -> Case:
        with self.db.connect() as conn:
            return self._get(conn, case_id)

    def active_case_for(self, user_id: int) -> Case | None:
        """The trainee's open, claimed or reopened case (the newest, if several)."""
        return self._latest(user_id, ACTIVE)

    def recent_case_for(self, user_id: int) -> Case | None:
        """The trainee's last case if it was resolved within the reopen window."""
        case = self._latest(user_id, (RESOLVED,))
        if case and case.resolved_at and self.clock() - case.resolved_at <= self.reopen_window:
            return case
        return None

    def open_cases_for(self, counselor_id: int) -> list[Case]:
        """Active cases claimed by this person, then unclaimed ones routed to them."""
        cases = self.all_active()
        mine = [k for k in cases if k.assigned_to == counselor_id]
        routed = [k for k in cases if k.assigned_to is None and counselor_id in k.routed_to]
        return mine + routed

    def cases_of(self, user_id: int) -> list[Case]:
        """Every case of this person (not yet anonymized), oldest first."""
        c = schema.cases.c
        return self._select(c.user_id == user_id, c.anonymized.is_(False))

    def all_active(self) -> list[Case]:
        return self._select(schema.cases.c.status.in_(ACTIVE))

    def unclaimed(self) -> list[Case]:
        """Cases waiting for someone to claim them (open, or reopened without an assignee)."""
        c = schema.cases.c
        return self._select(
            sa.or_(c.status == OPEN, sa.and_(c.status == REOPENED, c.assigned_to.is_(None)))
        )

    def _select(self, *where: Any) -> list[Case]:
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(schema.cases).where(*where).order_by(schema.cases.c.id)
            ).mappings()
            return [_case(r) for r in rows]

    def audit(self, case_id: int) -> list[CaseEvent]:
        e = schema.case_events
        with self.db.connect() as conn:
            self._get(conn, case_id)
            rows = conn.execute(sa.select(e).where(e.c.case_id == case_id).order_by(e.c.id))
            return [CaseEvent(r.id, r.case_id, r.kind, r.actor, r.at, r.detail or {}) for r in rows]

    def messages(self, case_id: int) -> list[CaseMessage]:
        m = schema.case_messages
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(m).where(m.c.case_id == case_id).order_by(m.c.id))
            return [
                CaseMessage(r.id, r.case_id, r.direction, r.author, r.text, r.created_at)
                for r in rows
            ]

    # --- transitions --------------------------------------------------------------------------

    def open_case(
        self,
        user_id: int,
        chat_id: int,
        name: str,
        language: str,
        reason: str,
        topic: str | None,
        text: str,
        context: list[str],
        draft_answer: str | None,
        sources: list[str],
        *,
        username: str | None = None,
        sensitive: bool | None = None,
        urgent: bool | None = None,
    ) -> Case:
        now = self.clock()
        sensitive = is_sensitive(reason, topic) if sensitive is None else sensitive
        values = dict(
            user_id=user_id, chat_id=chat_id, name=name, username=username, language=language,
            reason=reason, topic=topic, sensitive=sensitive,
            urgent=(reason == "crisis") if urgent is None else urgent,
            status=OPEN, text=text, context=list(context), draft_answer=draft_answer,
            sources=list(sources), routed_to=[], assigned_to=None, round=0, rating=None,
            anonymized=False, created_at=now, updated_at=now, waiting_since=now,
        )  # fmt: skip
        with self.db.transaction() as conn:
            case_id = conn.execute(schema.cases.insert().values(**values)).inserted_primary_key[0]
            self._event(conn, case_id, "opened", user_id, {"reason": reason, "topic": topic})
            conn.execute(
                schema.case_messages.insert().values(
                    case_id=case_id, direction="in", author=user_id, text=text, created_at=now
                )
            )
            return self._get(conn, case_id)

    def record_routing(self, case_id: int, routing: Routing) -> Case:
        """Remember who was told (they may claim a sensitive case) and why."""
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            routed = sorted(set(case.routed_to) | set(routing.recipient_ids))
            self._update(conn, case_id, routed_to=routed, urgent=case.urgent or routing.urgent)
            self._event(
                conn, case_id, "routed", None,
                {"to": routing.recipient_ids, "desk": routing.desk_chat, "urgent": routing.urgent,
                 "reason": routing.reason, "round": case.round},
            )  # fmt: skip
            return self._get(conn, case_id)

    def claim(self, case_id: int, counselor_id: int) -> Case:
        """Take a case. Claiming your own case again changes nothing (a double tap)."""
        now = self.clock()
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            if case.status in (CLAIMED, REOPENED) and case.assigned_to == counselor_id:
                return case
            if case.status not in (OPEN, REOPENED) or case.assigned_to is not None:
                raise InvalidTransition(case, "claim")
            self._authorize(conn, case, counselor_id, "claim")
            c = schema.cases
            # Guarded update: of two counselors tapping "claim" at once, exactly one wins.
            won = conn.execute(
                c.update()
                .where(c.c.id == case_id, c.c.status == case.status, c.c.round == case.round)
                .values(status=CLAIMED, assigned_to=counselor_id, claimed_at=now, updated_at=now)
            ).rowcount
            if not won:
                raise InvalidTransition(self._get(conn, case_id), "claim")
            self._event(conn, case_id, "claimed", counselor_id, {"round": case.round})
            return self._get(conn, case_id)

    def reassign(self, case_id: int, to: int, *, by: int) -> Case:
        """Hand an active case to someone else: `by` may reassign it and `to` may take it now
        (on the roster, on duty, allowed for this case)."""
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            if not case.active:
                raise InvalidTransition(case, "reassign")
            self._authorize(conn, case, by, "reassign")
            if self.roster is not None:
                decision = policy.decide(self.roster, case, to, "take", now=self.clock())
                if not decision:
                    raise NotAllowed(case_id, to, "take", decision.why)
            now = self.clock()
            routed = sorted(set(case.routed_to) | {to})
            self._update(
                conn, case_id, status=CLAIMED, assigned_to=to, claimed_at=now, routed_to=routed
            )
            self._event(conn, case_id, "reassigned", by, {"from": case.assigned_to, "to": to})
            return self._get(conn, case_id)

    def mark_crisis(self, case_id: int, message_id: int) -> Case:
        """A crisis written inside a case: from now on the case is a crisis (sensitive, urgent),
        whatever it was opened for, so only counselors and desk admins may take it."""
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            values: dict[str, Any] = dict(reason="crisis", sensitive=True, urgent=True)
            if self.roster is not None:
                crisis = dataclasses.replace(case, reason="crisis", sensitive=True)
                may = lambda pid: policy.decide(self.roster, crisis, pid, "take")
                # The people it was routed to still read it; only a counselor or a desk admin
                # may hold it, so an assignee who may not is taken off and counselors claim it.
                if case.assigned_to is not None and not may(case.assigned_to):
                    values.update(
                        assigned_to=None, claimed_at=None, waiting_since=self.clock(),
                        status=OPEN if case.round == 0 else REOPENED,
                    )  # fmt: skip
            self._update(conn, case_id, **values)
            taken_from = case.assigned_to if "assigned_to" in values else None
            self._event(conn, case_id, "crisis_in_case", None,
                        {"message": message_id, "was": case.reason, "from": taken_from})  # fmt: skip
            return self._get(conn, case_id)

    def unassign(self, case_id: int, *, why: str) -> Case:
        """Puente takes an active case back from its assignee (removed from the roster): it is
        waiting again, so reminders and routing start over."""
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            if not case.active:
                raise InvalidTransition(case, "unassign")
            status = OPEN if case.round == 0 else REOPENED
            keep = [p for p in case.routed_to if self.roster is None or self.roster.person(p)]
            self._update(
                conn, case_id, status=status, assigned_to=None, claimed_at=None, routed_to=keep,
                waiting_since=self.clock(),
            )  # fmt: skip
            self._event(conn, case_id, "unassigned", None, {"from": case.assigned_to, "why": why})
            return self._get(conn, case_id)

    def resolve(self, case_id: int, by: int) -> Case:
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            if case.status not in (CLAIMED, REOPENED):
                raise InvalidTransition(case, "resolve")
            self._authorize(conn, case, by, "resolve")
            now = self.clock()
            self._update(conn, case_id, status=RESOLVED, resolved_at=now)
            self._event(conn, case_id, "resolved", by, {"round": case.round})
            return self._get(conn, case_id)

    def cancel(self, case_id: int, by: int) -> Case:
        """The trainee withdraws their request: the case is closed (no rating asked); writing
        again within the reopen window reopens it, as after a resolution. Not a crisis: the
        counselors follow it up whatever the person says."""
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            self._authorize(conn, case, by, "cancel")
            if not case.active or case.urgent:  # a crisis stays with the counselors
                raise InvalidTransition(case, "cancel")
            self._update(conn, case_id, status=RESOLVED, resolved_at=self.clock())
            self._event(conn, case_id, "cancelled", by, {"round": case.round})
            return self._get(conn, case_id)

    def close_forgotten(self, case_id: int, by: int) -> Case:
        """The trainee asked to be forgotten: their active case is closed (no rating asked)."""
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            self._authorize(conn, case, by, "forget")
            if not case.active:
                raise InvalidTransition(case, "close")
            self._update(conn, case_id, status=RESOLVED, resolved_at=self.clock())
            self._event(conn, case_id, "forgotten", by, {"round": case.round})
            return self._get(conn, case_id)

    def reopen(self, case_id: int, by: int) -> Case:
        """Reopen a resolved case, only within the reopen window, only by its trainee (the
        policy's "message": writing to the case is what reopens it)."""
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            self._authorize(conn, case, by, "message")
            return self._reopen(conn, case, by)

    def add_message(self, case_id: int, direction: str, author: int, text: str) -> CaseMessage:
        """Record a relayed message. The trainee writing to a resolved case reopens it (within the
        window); a counselor may write to an active case that is theirs or still unclaimed.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
        now = self.clock()
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            if direction == "in":
                self._authorize(conn, case, author, "message")
                if case.status == RESOLVED:
                    case = self._reopen(conn, case, author)
            elif direction == "out":
                if not case.active:
                    raise InvalidTransition(case, "reply to")
                self._authorize(conn, case, author, "reply")
            m = schema.case_messages
            message_id = conn.execute(
                m.insert().values(
                    case_id=case_id, direction=direction, author=author, text=text, created_at=now
                )
            ).inserted_primary_key[0]
            self._update(conn, case_id)
            self._event(
                conn, case_id, "relayed", author, {"direction": direction, "message": message_id}
            )
            return CaseMessage(message_id, case_id, direction, author, text, now)

    def rate(self, case_id: int, score: int, *, by: int | None = None) -> Case:
        """The trainee's rating of a resolved case, once per round: a second tap, or a stale
        button of an earlier round, is refused (`InvalidTransition`)."""
        if not isinstance(score, int) or not 1 <= score <= 5:
            raise ValueError(f"a rating is 1..5, not {score!r}")
        with self.db.transaction() as conn:
            case = self._get(conn, case_id, lock=True)
            if case.status != RESOLVED or case.rating is not None:
                raise InvalidTransition(case, "rate")
            if by is not None or self.roster is not None:
                self._authorize(conn, case, by, "rate")
            self._update(conn, case_id, rating=score)
            self._event(conn, case_id, "rated", by, {"score": score})
            return self._get(conn, case_id)

    def record_event(
        self, case_id: int, kind: str, actor: int | None = None, detail: dict | None = None
    ) -> CaseEvent:
        """Append an event (reminders use it: "reminded" with the step)."""
        with self.db.transaction() as conn:
            self._get(conn, case_id)
            event_id, at = self._event(conn, case_id, kind, actor, detail or {})
            return CaseEvent(event_id, case_id, kind, actor, at, detail or {})

    # --- internals ----------------------------------------------------------------------------

    def _reopen(self, conn: sa.Connection, case: Case, by: int) -> Case:
        if case.status != RESOLVED:
            raise InvalidTransition(case, "reopen")
        now = self.clock()
        if case.resolved_at is None or now - case.resolved_at > self.reopen_window:
            raise InvalidTransition(case, "reopen (the reopen window has passed)")
        self._update(
            conn, case.id, status=REOPENED, resolved_at=None, round=case.round + 1,
            waiting_since=now, rating=None,
        )  # fmt: skip
        self._event(conn, case.id, "reopened", by, {"round": case.round + 1})
        return self._get(conn, case.id)

    def authorize(self, case_id: int, actor: int | None, action: policy.Action) -> Case:
        """The case, if `actor` may do `action` on it (`NotAllowed` otherwise): for reading
        actions (view) that change nothing."""
        with self.db.connect() as conn:
            case = self._get(conn, case_id)
            self._authorize(conn, case, actor, action)
            return case

    def _authorize(
        self, conn: sa.Connection, case: Case, actor: int | None, action: policy.Action
    ) -> None:
        if self.roster is None:
            return
        decision = policy.decide(
            self.roster, case, actor, action, at_desk=self._at_desk(conn, case.id)
        )
        if not decision:
            raise NotAllowed(case.id, actor, action, decision.why)

    def at_desk(self, case_id: int) -> bool:
        with self.db.connect() as conn:
            return self._at_desk(conn, case_id)

    def _at_desk(self, conn: sa.Connection, case_id: int) -> bool:
        """Was the case posted in the desk group (by any of its routings)?"""
        e = schema.case_events
        rows = conn.execute(
            sa.select(e.c.detail).where(e.c.case_id == case_id, e.c.kind == "routed")
        ).all()
        return any((row.detail or {}).get("desk") for row in rows)

    def _latest(self, user_id: int, statuses: tuple[str, ...]) -> Case | None:
        c = schema.cases
        with self.db.connect() as conn:
            row = (
                conn.execute(
                    sa.select(c)
                    .where(
                        c.c.user_id == user_id, c.c.status.in_(statuses), c.c.anonymized.is_(False)
                    )
                    .order_by(c.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return _case(row) if row else None

    def _get(self, conn: sa.Connection, case_id: int, *, lock: bool = False) -> Case:
        """The case as stored. `lock`: the first read of a state change holds the row until the
        transaction ends (SELECT ... FOR UPDATE on PostgreSQL, where two resolves or reassigns
        at once would otherwise both read the old state and one update would be lost; SQLite's
        write transactions are already serialized by BEGIN IMMEDIATE)."""
        query = sa.select(schema.cases).where(schema.cases.c.id == case_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise CaseNotFound(case_id)
        return _case(row)

    def _update(self, conn: sa.Connection, case_id: int, **values: Any) -> None:
        values["updated_at"] = self.clock()
        conn.execute(schema.cases.update().where(schema.cases.c.id == case_id).values(**values))

    def _event(
        self, conn: sa.Connection, case_id: int, kind: str, actor: int | None, detail: dict
    ) -> tuple[int, datetime]:
        at = self.clock()
        event_id = conn.execute(
            schema.case_events.insert().values(
                case_id=case_id, kind=kind, actor=actor, at=at, detail=detail
            )
        ).inserted_primary_key[0]
        return event_id, at


def _case(row: Any) -> Case:
    values = dict(row)
    values["context"] = list(values.get("context") or [])
    values["sources"] = list(values.get("sources") or [])
    values["routed_to"] = [int(x) for x in values.get("routed_to") or []]
    return Case(**values)
