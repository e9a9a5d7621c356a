"""Exam-session reminders, calendar change notices and staff notices (domain only, no Telegram).

A person subscribes to one session of the exam calendar (`subscribe`). Each subscription gets up
to two reminders, stored with their due time in `exam_reminders`:

* ``deadline``: 3 days before the registration deadline, at 09:00 local time (Asia/Taipei);
  useless after the deadline closes (23:59 that day);
* ``eve``: the day before the exam, at 18:00 local time, with check-in time, start and end,
  building and room, what to bring and what is prohibited; useless once the exam starts.

`due(now)` reads the pending reminders whose time has come from the database, so a restarted bot
(a new `ExamReminders` over the same database) finds them by construction. `enqueue_due(now)`
writes each one to the outbox (`kind="exam_reminder"`, one dedupe key per reminder) and marks it
sent with a guarded UPDATE: running it twice, or in two processes, sends nothing twice. A reminder
whose useful time has passed (the bot was down) is marked expired instead.

Calendar changes: `diff_calendars(old, new)` compares two calendars (or snapshots). The calendar
seen last is stored as a JSON snapshot in the database; `check_calendar()` (called at bot start
and after a reload) compares it with the current one, tells every subscriber of a changed session
what changed (`kind="exam_change"`), moves their pending reminders, and stores the new snapshot.

Staff notices: `notify(session, text, sender...)` writes the notice to the outbox for every
subscriber (`kind="exam_notice"`); `due_reports(now)` gives the notices whose delivery is over (or
has taken longer than `report_after`) with sent / failed / blocked / pending counts, and
`enqueue_report` sends that report to the staff member once.

Synchronous on purpose, like the desk: the channel calls it in a thread.

The package
-----------
Composed, not inherited: `ExamReminders` (``service``) is a facade over four plain objects, each
given its dependencies: ``scheduler`` (`ReminderScheduler`: when reminders are due, sending
them), ``subscriptions`` (`Subscriptions`), ``notices`` (`NoticeSender`, `is_exam_staff`) and
``changes`` (`CalendarWatcher`; snapshots and diffs). They share ``current``
(`CurrentCalendar`, which `reload` replaces for all), one `bot.clock.Clock`, the database and
the outbox. ``records`` holds the constants and stored records. Import from
``bot.exams.reminders``; the names below are its public face. (Not imported by `bot.exams`
itself: the calendar's readers do not load SQLAlchemy.)
"""

from __future__ import annotations

from bot.exams.reminders.changes import (
    CalendarWatcher,
    calendar_snapshot,
    diff_calendars,
    session_snapshot,
)
from bot.exams.reminders.current import CurrentCalendar
from bot.exams.reminders.notices import NoticeSender, is_exam_staff
from bot.exams.reminders.records import (
    CHANGE_FIELDS,
    DEADLINE_CLOSES_AT,
    DEADLINE_DAYS_BEFORE,
    DEADLINE_REMINDER_AT,
    DEFAULT_TIMEZONE,
    EVE_REMINDER_AT,
    KIND_DEADLINE,
    KIND_EVE,
    KINDS,
    OUTBOX_CHANGE,
    OUTBOX_KINDS,
    OUTBOX_NOTICE,
    OUTBOX_REMINDER,
    OUTBOX_REPORT,
    R_CANCELLED,
    R_EXPIRED,
    R_PENDING,
    R_SENT,
    REPORT_AFTER,
    DeliveryCounts,
    Notice,
    Reminder,
    Subscription,
)
from bot.exams.reminders.scheduler import ReminderScheduler
from bot.exams.reminders.service import ExamReminders
from bot.exams.reminders.subscriptions import Subscriptions

__all__ = [
    "CHANGE_FIELDS",
    "DEADLINE_CLOSES_AT",
    "DEADLINE_DAYS_BEFORE",
    "DEADLINE_REMINDER_AT",
    "DEFAULT_TIMEZONE",
    "EVE_REMINDER_AT",
    "KINDS",
    "KIND_DEADLINE",
    "KIND_EVE",
    "OUTBOX_CHANGE",
    "OUTBOX_KINDS",
    "OUTBOX_NOTICE",
    "OUTBOX_REMINDER",
    "OUTBOX_REPORT",
    "REPORT_AFTER",
    "R_CANCELLED",
    "R_EXPIRED",
    "R_PENDING",
    "R_SENT",
    "CalendarWatcher",
    "CurrentCalendar",
    "DeliveryCounts",
    "ExamReminders",
    "Notice",
    "NoticeSender",
    "Reminder",
    "ReminderScheduler",
    "Subscription",
    "Subscriptions",
    "calendar_snapshot",
    "diff_calendars",
    "is_exam_staff",
    "session_snapshot",
]
