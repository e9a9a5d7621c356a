"""What exam reminders store: the constants, and the records read back from the database.

`Subscription`, `Reminder`, `Notice` and `DeliveryCounts`, and the functions that build them
from database rows. `DEFAULT_TIMEZONE` is the clock's (`bot.clock`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from bot.clock import DEFAULT_TIMEZONE as DEFAULT_TIMEZONE

DEADLINE_DAYS_BEFORE = 3
DEADLINE_REMINDER_AT = time(9, 0)
EVE_REMINDER_AT = time(18, 0)
DEADLINE_CLOSES_AT = time(23, 59)  # registration closes 23:59 on the deadline (rules section 3)
REPORT_AFTER = timedelta(minutes=10)  # a notice's delivery report is sent after this at the latest

KIND_DEADLINE, KIND_EVE = "deadline", "eve"
KINDS = (KIND_DEADLINE, KIND_EVE)
# Outbox kinds (the desk uses others): one per kind of message this module writes.
OUTBOX_REMINDER, OUTBOX_CHANGE = "exam_reminder", "exam_change"
OUTBOX_NOTICE, OUTBOX_REPORT = "exam_notice", "exam_notice_report"

OUTBOX_KINDS = (OUTBOX_REMINDER, OUTBOX_CHANGE, OUTBOX_NOTICE, OUTBOX_REPORT)

R_PENDING, R_SENT, R_EXPIRED, R_CANCELLED = "pending", "sent", "expired", "cancelled"

# The calendar fields a change notice talks about, in the order it lists them.
CHANGE_FIELDS: tuple[str, ...] = (
    "date",
    "checkin_opens",
    "starts",
    "ends",
    "building",
    "room",
    "registration_deadline",
)


@dataclass(frozen=True)
class Subscription:
    id: int
    user_id: int
    chat_id: int
    session_key: str
    session_id: str
    language: str
    active: bool


@dataclass(frozen=True)
class Reminder:
    id: int
    subscription: Subscription
    kind: str  # deadline | eve
    due_at: datetime
    expires_at: datetime
    status: str


@dataclass(frozen=True)
class Notice:
    id: int
    session_key: str
    session_id: str
    sender_id: int
    sender_chat_id: int
    sender_language: str
    text: str
    recipients: int
    created_at: datetime
    reported_at: datetime | None


@dataclass(frozen=True)
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    blocked: int = 0  # failed because the person blocked the bot (403)
    pending: int = 0

    @property
    def done(self) -> bool:
        return self.pending == 0


def _subscription(row: Any) -> Subscription:
    return Subscription(
        row.id,
        row.user_id,
        row.chat_id,
        row.session_key,
        row.session_id,
        row.language,
        bool(row.active),
    )


def _reminder(row: Any, sub: Subscription) -> Reminder:
    return Reminder(row.id, sub, row.kind, row.due_at, row.expires_at, row.status)


def _notice(row: Any) -> Notice:
    return Notice(
        row.id,
        row.session_key,
        row.session_id,
        row.sender_id,
        row.sender_chat_id,
        row.sender_language,
        row.text,
        row.recipients,
        row.created_at,
        row.reported_at,
    )
