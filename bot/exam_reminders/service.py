"""`ExamReminders`: the service the bot opens, built from its subscription, reminder,
calendar-change and staff-notice parts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.exam_reminders.changes import CalendarChanges
from bot.exam_reminders.notices import StaffNotices
from bot.exam_reminders.records import DEFAULT_TIMEZONE, REPORT_AFTER
from bot.exam_reminders.reminders import ReminderSchedule
from bot.exam_reminders.subscriptions import SubscriptionStore
from bot.exams import ExamCalendar
from bot.i18n import Translator, default_translator
from bot.outbox import Outbox
from bot.storage.db import Database
from bot.storage.types import utcnow


class ExamReminders(SubscriptionStore, ReminderSchedule, CalendarChanges, StaffNotices):
    """Subscriptions, reminders and notices over a `Database` and the current `ExamCalendar`.

    `clock` decides when reminders are due (inject one in tests); the outbox keeps its own clock
    (by default the real time), so any outbox worker delivers what this writes straight away.
    `today` pins the calendar's "today" (`PUENTE_TODAY`), else it is the clock's local date.
    `roster` (optional) says who may send staff notices (role exam_staff).
    """

    def __init__(
        self,
        db: Database,
        calendar: ExamCalendar | None,
        *,
        outbox: Outbox | None = None,
        clock: Callable[[], datetime] = utcnow,
        timezone_name: str = DEFAULT_TIMEZONE,
        today: date | None = None,
        translator: Translator | None = None,
        roster: Any = None,
        report_after: timedelta = REPORT_AFTER,
    ) -> None:
        self.db = db
        self.calendar = calendar
        self.outbox = outbox or Outbox(db)
        self.clock = clock
        self.tz = ZoneInfo(timezone_name)
        self.pinned_today = today
        self.tr = translator or default_translator()
        self.roster = roster
        self.report_after = report_after

    # ---- lifecycle (Services.open / close reach it) -----------------------------------------

    def open(self) -> None:
        self.db.migrate()

    def close(self) -> None:
        self.db.close()

    # ---- time ----------------------------------------------------------------------------------

    def today(self) -> date:
        return self.pinned_today or self.clock().astimezone(self.tz).date()

    # ---- the periodic job ----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> tuple[int, int]:
        """One run of the periodic job: due reminders and due delivery reports to the outbox."""
        now = now or self.clock()
        return len(self.enqueue_due(now)), len(self.enqueue_reports(now))
