"""Claim reminders: a case nobody claims gets louder, once per step.

Step 1, after `claim_reminder_minutes`: the people it was routed to, and the backup person.
Step 2, after twice that: the desk chat. Each step is recorded as a "reminded" audit event with the
case's round, so running this again (every minute, or after a restart) repeats nothing; the
outbox's dedupe keys make the enqueue itself idempotent too.

An urgent case (a crisis) runs on `crisis_reminder_minutes` (5) instead, and never goes quiet:
step 1 after one interval (the routed people and the backup), then at every further interval
step n (the routed people, the backup and the desk chat) until someone claims it. After a
restart only the latest step due is sent, not the ones missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.escalation.cases import Case, CaseStore
from bot.escalation.relay import claim_buttons
from bot.escalation.roster import Roster
from bot.i18n import Translator
from bot.outbox import Outbox


@dataclass(frozen=True)
class Reminder:
    case: Case
    step: int  # 1: routed people + backup; 2: the desk chat
    recipients: list[int]
    desk_chat: bool
    waited_minutes: int


def due_reminders(
    desk: CaseStore, roster: Roster, *, now: datetime, minutes: int, crisis_minutes: float = 5
) -> list[Reminder]:
    due: list[Reminder] = []
    for case in desk.unclaimed():
        waited = now - case.waiting_since
        since = int(case.waiting_since.timestamp())
        done: set = set()
        for event in desk.audit(case.id):  # in order; taken back from a removed person: anew
            if event.kind == "unassigned":
                done = set()
            elif event.kind == "reminded" and event.detail.get("round") == case.round:
                # A case that waits anew (taken back by a crisis, say) is reminded anew: a step
                # counts for the waiting period it was sent in (older events carry no "since").
                if event.detail.get("since", since) == since:
                    done.add(event.detail.get("step"))
        waited_minutes = int(waited.total_seconds() // 60)
        people = list(case.routed_to)
        if roster.backup_id is not None and roster.backup_id not in people:
            people.append(roster.backup_id)
        if case.urgent:
            step = int(waited // timedelta(minutes=max(crisis_minutes, 0.01)))
            if step >= 1 and step not in done:
                due.append(Reminder(case, step, people, step >= 2, waited_minutes))
            continue
        if waited >= timedelta(minutes=minutes) and 1 not in done:
            due.append(Reminder(case, 1, people, False, waited_minutes))
        if waited >= timedelta(minutes=2 * minutes) and 2 not in done:
            due.append(Reminder(case, 2, [], True, waited_minutes))
    return due


def send_reminders(
    desk: CaseStore, roster: Roster, outbox: Outbox, tr: Translator, *, now: datetime,
    minutes: int, crisis_minutes: float = 5,
) -> list[Reminder]:  # fmt: skip
    """Enqueue the due reminders and record each step; returns what was sent."""
    sent = []
    due = due_reminders(desk, roster, now=now, minutes=minutes, crisis_minutes=crisis_minutes)
    for reminder in due:
        case = reminder.case
        counselor_key, desk_key = (
            ("desk.reminder_crisis", "desk.reminder_crisis")
            if case.urgent
            else ("desk.reminder_counselor", "desk.reminder_desk")
        )
        since = int(case.waiting_since.timestamp())  # a case taken back waits anew
        key = f"case:{case.id}:r{case.round}:w{since}:remind{reminder.step}"
        for person_id in reminder.recipients:
            person = roster.person(person_id)
            lang = person.language if person else roster.desk.language
            text = tr.t(
                lang, counselor_key, case_id=case.id,
                reason=tr.t(lang, f"desk.reasons.{case.reason}"), minutes=reminder.waited_minutes,
            )  # fmt: skip
            outbox.enqueue(
                person_id, text, kind="reminder", case_id=case.id, dedupe_key=f"{key}:{person_id}",
                reply_markup_json=claim_buttons(tr, lang, case) if case.urgent else None,
            )  # fmt: skip
        if reminder.desk_chat:
            lang = roster.desk.language
            text = tr.t(
                lang, desk_key, case_id=case.id,
                reason=tr.t(lang, f"desk.reasons.{case.reason}"), minutes=reminder.waited_minutes,
            )  # fmt: skip
            outbox.enqueue(
                roster.desk.chat_id, text, kind="reminder", case_id=case.id,
                dedupe_key=f"{key}:desk", thread_id=roster.desk.thread_id,
                reply_markup_json=claim_buttons(tr, lang, case) if case.urgent else None,
            )  # fmt: skip
        desk.record_event(
            case.id, "reminded", None,
            {
                "step": reminder.step,
                "round": case.round,
                "since": int(case.waiting_since.timestamp()),
                "to": reminder.recipients,
                "desk": reminder.desk_chat,
            },
        )  # fmt: skip
        sent.append(reminder)
    return sent
