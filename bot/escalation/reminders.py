"""Claim reminders: a case nobody claims gets louder, once per step.

Step 1, after `claim_reminder_minutes`: the people it was routed to, and the backup person.
Step 2, after twice that: the desk chat. Each step is recorded as a "reminded" audit event with the
case's round, so running this again (every minute, or after a restart) repeats nothing; the
outbox's dedupe keys make the enqueue itself idempotent too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.escalation.cases import Case, CaseStore
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


def due_reminders(desk: CaseStore, roster: Roster, *, now: datetime, minutes: int) -> list[Reminder]:
    due: list[Reminder] = []
    for case in desk.unclaimed():
        waited = now - case.waiting_since
        done: set = set()
        for event in desk.audit(case.id):  # in order; taken back from a removed person: anew
            if event.kind == "unassigned":
                done = set()
            elif event.kind == "reminded" and event.detail.get("round") == case.round:
                done.add(event.detail.get("step"))
        waited_minutes = int(waited.total_seconds() // 60)
        if waited >= timedelta(minutes=minutes) and 1 not in done:
            people = list(case.routed_to)
            if roster.backup_id is not None and roster.backup_id not in people:
                people.append(roster.backup_id)
            due.append(Reminder(case, 1, people, False, waited_minutes))
        if waited >= timedelta(minutes=2 * minutes) and 2 not in done:
            due.append(Reminder(case, 2, [], True, waited_minutes))
    return due


def send_reminders(
    desk: CaseStore, roster: Roster, outbox: Outbox, tr: Translator, *, now: datetime, minutes: int
) -> list[Reminder]:
    """Enqueue the due reminders and record each step; returns what was sent."""
    sent = []
    for reminder in due_reminders(desk, roster, now=now, minutes=minutes):
        case = reminder.case
        since = int(case.waiting_since.timestamp())  # a case taken back waits anew
        key = f"case:{case.id}:r{case.round}:w{since}:remind{reminder.step}"
        for person_id in reminder.recipients:
            person = roster.person(person_id)
            lang = person.language if person else roster.desk.language
            text = tr.t(
                lang, "desk.reminder_counselor", case_id=case.id,
                reason=tr.t(lang, f"desk.reasons.{case.reason}"), minutes=reminder.waited_minutes,
            )  # fmt: skip
            outbox.enqueue(
                person_id, text, kind="reminder", case_id=case.id, dedupe_key=f"{key}:{person_id}"
            )
        if reminder.desk_chat:
            lang = roster.desk.language
            text = tr.t(
                lang, "desk.reminder_desk", case_id=case.id,
                reason=tr.t(lang, f"desk.reasons.{case.reason}"), minutes=reminder.waited_minutes,
            )  # fmt: skip
            outbox.enqueue(
                roster.desk.chat_id, text, kind="reminder", case_id=case.id,
                dedupe_key=f"{key}:desk", thread_id=roster.desk.thread_id,
            )  # fmt: skip
        desk.record_event(
            case.id, "reminded", None,
            {
                "step": reminder.step,
                "round": case.round,
                "to": reminder.recipients,
                "desk": reminder.desk_chat,
            },
        )  # fmt: skip
        sent.append(reminder)
    return sent
