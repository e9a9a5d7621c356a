"""Who may do what on the desk: one policy, checked inside every action of the case store.

A decision depends on four things: the **actor** (the trainee whose case it is, a desk admin, the
assignee, a person the case was routed to, another roster person, someone who is not on the
roster, which includes a person removed from it), the **action**, the case's **state** and its
**sensitivity**. The channel never decides; it calls `EscalationDesk`, whose store calls
`authorize` inside the transaction that acts, so a decision and its effect see the same case.

| action | who may | in which state |
|---|---|---|
| view (card, `/case`) | desk admin, counselor, assignee, routed people; a non-sensitive case posted in the desk group (or routed to nobody): any roster person | any |
| claim | the same people as view, never the trainee; a crisis only a counselor or desk admin | open, or reopened without assignee |
| reply (relay to the trainee) | the assignee or a desk admin; unclaimed: those who may claim (the reply claims it) | active |
| resolve | the assignee or a desk admin; unclaimed: those who may claim | active |
| reassign | the assignee or a desk admin; unclaimed: those who may claim | active |
| take (be the new assignee) | a roster person on duty now who may handle the case: for a crisis a counselor or desk admin, for another sensitive case also the people it was routed to | active |
| message (write in the case) | the trainee only | active, or resolved within the reopen window |
| cancel (withdraw the request, `/case` → Cancel) | the trainee only | active, not a crisis |
| rate | the trainee only, once per round | resolved |
| forget | the trainee only (their own cases) | any |

Outside any case: `/resend N` (a message that failed for good, sent again) is for desk admins
only (`may_resend`).

The learning loop (`bot.learning.faq`), decided here too (`decide_faq`):

| action | who may | in which state |
|---|---|---|
| draft (Save as FAQ) | the case's assignee or a desk admin; never for a sensitive or anonymized case | resolved |
| edit, submit, discard a draft | its author or a desk admin | draft |
| edit, reject, withdraw a candidate; the FAQ list | a desk admin | pending (withdraw: approved) |
| approve a candidate | a desk admin who wrote none of its versions, unless no other desk admin exists | pending |

The weekly gap list (declined and 👎 questions, personal details removed) is for anyone on the
roster, like the weekly picture in the desk group.

A refusal is `NotAllowed` (who, what, why); a wrong state is `InvalidTransition`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from bot.escalation.roster import Person, Roster

if TYPE_CHECKING:  # cases imports this module
    from bot.escalation.cases import Case

Action = Literal[
    "view", "claim", "reply", "resolve", "reassign", "take", "message", "rate", "forget", "cancel"
]
ACTIONS: tuple[Action, ...] = (
    "view", "claim", "reply", "resolve", "reassign", "take", "message", "rate", "forget", "cancel"
)  # fmt: skip
TRAINEE_ACTIONS = frozenset({"message", "rate", "forget", "cancel"})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: str

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True, "")


def _no(why: str) -> Decision:
    return Decision(False, why)


def decide(
    roster: Roster,
    case: Case,
    actor_id: int | None,
    action: Action,
    *,
    at_desk: bool = False,
    now: datetime | None = None,
) -> Decision:
    """May `actor_id` do `action` on `case`? (State checks that are not about the actor, such as
    "already resolved", are the store's `InvalidTransition`.)

    `at_desk`: the case was posted in the desk group (its routing said so). `now`: for "take",
    whether the person is on duty (None: not checked)."""
    if action not in ACTIONS:
        return _no(f"unknown action {action!r}")
    if actor_id is None:
        return _no("no actor")
    if action in TRAINEE_ACTIONS:
        if case.anonymized or actor_id != case.user_id:
            return _no("only the person whose case it is")
        return ALLOW
    if actor_id == case.user_id:
        return _no("the person whose case it is cannot handle it")
    person = roster.person(actor_id)
    if person is None:
        return _no("not on the roster")
    if action == "take":
        return _may_take(roster, case, person, now)
    admin = roster.is_admin(actor_id)
    assignee = case.assigned_to == actor_id
    taking = action == "claim" or (action in ("reply", "resolve", "reassign")
                                   and case.assigned_to is None)  # fmt: skip
    if case.reason == "crisis" and taking and not (admin or "counselor" in person.roles):
        return _no("a crisis is held by a counselor or a desk admin")
    if action in ("reply", "resolve", "reassign") and case.assigned_to is not None:
        if assignee or admin:
            return ALLOW
        return _no("assigned to someone else")
    if admin or assignee:
        return ALLOW
    if actor_id in case.routed_to:
        return ALLOW
    if "counselor" in person.roles:  # the confidential staff: every case
        return ALLOW
    if not case.sensitive and (at_desk or not case.routed_to):
        return ALLOW  # posted in the desk group: anyone on the desk
    if case.sensitive:
        return _no("sensitive case: counselors and the people it was routed to")
    return _no("routed to others")


def _may_take(roster: Roster, case: Case, person: Person, now: datetime | None) -> Decision:
    if now is not None and not person.available(roster.local(now)):
        return _no("off duty now")
    if roster.is_admin(person.id) or "counselor" in person.roles:
        return ALLOW
    if case.reason == "crisis":
        return _no("a crisis goes to a counselor or a desk admin")
    if case.sensitive and person.id not in case.routed_to and person.id != case.assigned_to:
        return _no("sensitive case: counselors and the people it was routed to")
    return ALLOW


def candidates(roster: Roster, case: Case, now: datetime | None) -> list[Person]:
    """The people a case may be reassigned to now (everyone who may take it but its assignee)."""
    return [
        p
        for p in roster.people.values()
        if p.id not in (case.assigned_to, case.user_id) and decide(
            roster, case, p.id, "take", now=now
        )
    ]


FaqAction = Literal["draft", "edit_draft", "review", "approve"]


def decide_faq(
    roster: Roster, actor_id: int | None, action: FaqAction, *, case: Case | None = None,
    author: int | None = None, authors: frozenset[int] | set[int] = frozenset(),
) -> Decision:  # fmt: skip
    """May `actor_id` turn a resolved case into an FAQ draft (`draft`, with `case`), work on a
    draft (`edit_draft`, with its `author`), review candidates (`review`), or approve one
    (`approve`, with the `authors` of its versions: a second pair of eyes when there is one)?"""
    if actor_id is None or roster.person(actor_id) is None:
        return _no("not on the roster")
    admin = roster.is_admin(actor_id)
    if action == "draft":
        if case is None:
            return _no("no case")
        if case.sensitive or case.reason in ("crisis", "sensitive"):
            return _no("a sensitive case never becomes an FAQ")
        if case.anonymized:
            return _no("the case was anonymized")
        if admin or case.assigned_to == actor_id:
            return ALLOW
        return _no("the person who resolved it or a desk admin")
    if action == "edit_draft":
        return ALLOW if admin or actor_id == author else _no("its author or a desk admin")
    if action == "review":
        return ALLOW if admin else _no("only a desk admin")
    if action == "approve":
        if not admin:
            return _no("only a desk admin")
        others = [p for p in roster.with_role("desk_admin") if p.id not in authors]
        if actor_id in authors and others:
            return _no("another desk admin approves what you wrote")
        return ALLOW
    return _no(f"unknown action {action!r}")


def may_resend(roster: Roster, actor_id: int | None) -> Decision:
    """`/resend N`: only a desk admin sends a failed message again (it may belong to any case,
    and its text is not shown to whoever resends it)."""
    if actor_id is None or roster.person(actor_id) is None:
        return _no("not on the roster")
    if not roster.is_admin(actor_id):
        return _no("only a desk admin")
    return ALLOW
