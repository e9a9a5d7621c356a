"""`ExamReminders`: the facade the bot opens. It builds its four parts, each a plain object
given what it needs, and keeps the one public face the channel and the tests use:

    CurrentCalendar ─┬─ ReminderScheduler (plan, due, enqueue_due)
                     ├─ Subscriptions     (subscribe, unsubscribe, list) ── scheduler
                     ├─ NoticeSender      (notify, delivery reports)       ── subscriptions
                     └─ CalendarWatcher   (snapshots, change notices)      ── subscriptions, scheduler
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock, utcnow
from bot.exams import ExamCalendar, ExamSession
from bot.exams.reminders.changes import CalendarWatcher
from bot.exams.reminders.current import CurrentCalendar
from bot.exams.reminders.notices import NoticeSender
from bot.exams.reminders.records import (
    REPORT_AFTER,
    DeliveryCounts,
    Notice,
    Reminder,
    Subscription,
)
from bot.exams.reminders.scheduler import ReminderScheduler
from bot.exams.reminders.subscriptions import Subscriptions
from bot.i18n import Translator, default_translator
from bot.outbox import Outbox
from bot.storage.db import Database

Changes = dict[str, dict[str, tuple[Any, Any]]]


class ExamReminders:
    """Subscriptions, reminders and notices over a `Database` and the current `ExamCalendar`.

    `clock` decides when reminders are due and what day is "today": a `bot.clock.Clock` (the
    bot passes the settings' one, pinned by `PUENTE_TODAY`), or a `() -> datetime` (a test's),
    read in the default time zone. The outbox keeps its own clock (by default the real time), so
    any outbox worker delivers what this writes straight away. `roster` (optional) says who
    may send staff notices (role exam_staff).
    """

    def __init__(
        self,
        db: Database,
        calendar: ExamCalendar | None,
        *,
        outbox: Outbox | None = None,
        clock: Clock | Callable[[], datetime] = utcnow,
        translator: Translator | None = None,
        roster: Any = None,
        report_after: timedelta = REPORT_AFTER,
    ) -> None:
        self.db = db
        self.outbox = outbox or Outbox(db)
        self.clock = clock if isinstance(clock, Clock) else Clock(now=clock)
        self.tr = translator or default_translator()
        self.current = CurrentCalendar(calendar)
        self.scheduler = ReminderScheduler(db, self.outbox, self.current, self.clock, self.tr)
        self.subs = Subscriptions(db, self.current, self.scheduler, self.clock)
        self.notices = NoticeSender(
            db, self.outbox, self.current, self.subs, self.clock, self.tr,
            roster=roster, report_after=report_after,
        )  # fmt: skip
        self.watcher = CalendarWatcher(
            db, self.outbox, self.current, self.subs, self.scheduler, self.clock, self.tr
        )

    # ---- lifecycle (Services.open / close reach it) -----------------------------------------

    def open(self) -> None:
        self.db.migrate()

    def close(self) -> None:
        self.db.close()

    # ---- what the parts share ---------------------------------------------------------------

    @property
    def calendar(self) -> ExamCalendar | None:
        return self.current.calendar

    @property
    def tz(self) -> ZoneInfo:
        return self.clock.tz

    @property
    def roster(self) -> Any:
        return self.notices.roster

    def today(self) -> date:
        return self.clock.today()

    def session(self, session_id: str) -> ExamSession | None:
        return self.current.session(session_id)

    # ---- the periodic job ----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> tuple[int, int]:
        """One run of the periodic job: due reminders and due delivery reports to the outbox."""
        now = now or self.clock()
        return len(self.enqueue_due(now)), len(self.enqueue_reports(now))

    # ---- subscriptions -------------------------------------------------------------------------

    def subscribe(self, user_id: int, chat_id: int, session_id: str, language: str) -> Subscription:
        """Subscribe (again) to a session; idempotent. Raises UnknownSession for an unknown one."""
        return self.subs.subscribe(user_id, chat_id, session_id, language)

    def unsubscribe(self, user_id: int, session_id: str) -> bool:
        return self.subs.unsubscribe(user_id, session_id)

    def subscriptions(self, user_id: int) -> list[Subscription]:
        """The person's active subscriptions, soonest session first."""
        return self.subs.of_user(user_id)

    def is_subscribed(self, user_id: int, session_id: str) -> bool:
        return self.subs.is_subscribed(user_id, session_id)

    def subscribers(self, session_id: str) -> list[Subscription]:
        return self.subs.subscribers(session_id)

    def reminders(self, subscription_id: int) -> list[Reminder]:
        return self.subs.reminders(subscription_id)

    # ---- reminders -----------------------------------------------------------------------------

    def schedule(self, session: ExamSession) -> dict[str, tuple[datetime, datetime]]:
        return self.scheduler.schedule(session)

    def due(self, now: datetime | None = None) -> list[Reminder]:
        return self.scheduler.due(now)

    def mark_sent(
        self, reminder_id: int, outbox_id: int | None = None, now: datetime | None = None
    ) -> bool:
        return self.scheduler.mark_sent(reminder_id, outbox_id, now)

    def expire(self, now: datetime | None = None) -> int:
        return self.scheduler.expire(now)

    def reminder_text(self, reminder: Reminder, session: ExamSession) -> str:
        return self.scheduler.reminder_text(reminder, session)

    def enqueue_due(self, now: datetime | None = None) -> list[Reminder]:
        return self.scheduler.enqueue_due(now)

    # ---- calendar changes ----------------------------------------------------------------------

    def stored_snapshot(self) -> dict[str, dict] | None:
        return self.watcher.stored_snapshot()

    def store_snapshot(self, calendar: ExamCalendar | None = None) -> None:
        self.watcher.store_snapshot(calendar)

    def reload(self, calendar: ExamCalendar) -> Changes:
        """Use a newly loaded calendar, and tell subscribers what changed."""
        return self.watcher.reload(calendar)

    def check_calendar(self, now: datetime | None = None) -> Changes:
        return self.watcher.check_calendar(now)

    def change_text(self, lang: str, session_id: str, fields, session: ExamSession | None) -> str:
        return self.watcher.change_text(lang, session_id, fields, session)

    # ---- staff notices -------------------------------------------------------------------------

    def is_exam_staff(self, user_id: int) -> bool:
        return self.notices.is_exam_staff(user_id)

    def notify(
        self,
        session_id: str,
        text: str,
        *,
        sender_id: int,
        sender_chat_id: int,
        sender_language: str,
    ) -> Notice:
        """Write a staff notice to every subscriber of the session (UnknownSession if none)."""
        return self.notices.notify(
            session_id, text, sender_id=sender_id, sender_chat_id=sender_chat_id,
            sender_language=sender_language,
        )  # fmt: skip

    def notice(self, notice_id: int) -> Notice:
        return self.notices.notice(notice_id)

    def delivery(self, notice_id: int) -> DeliveryCounts:
        return self.notices.delivery(notice_id)

    def due_reports(self, now: datetime | None = None) -> list[tuple[Notice, DeliveryCounts]]:
        return self.notices.due_reports(now)

    def report_text(self, notice: Notice, counts: DeliveryCounts) -> str:
        return self.notices.report_text(notice, counts)

    def enqueue_reports(self, now: datetime | None = None) -> list[Notice]:
        return self.notices.enqueue_reports(now)
