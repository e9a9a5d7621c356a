"""`CurrentCalendar`: the one exam calendar every part of the reminders reads.

The parts hold this object, not the calendar: `ExamReminders.reload` puts a new calendar in it,
and the subscriptions, the scheduler, the notices and the change watcher all see it at once.
"""

from __future__ import annotations

from bot.exams import ExamCalendar, ExamSession

SNAPSHOT_NAME = "exam-calendar"  # the stored snapshot's name when there is no calendar


class CurrentCalendar:
    def __init__(self, calendar: ExamCalendar | None) -> None:
        self.calendar = calendar

    def session(self, session_id: str) -> ExamSession | None:
        """The session of that id (any spelling) in the current calendar, or None."""
        return self.calendar.by_id(session_id) if self.calendar is not None else None

    @property
    def snapshot_name(self) -> str:
        return self.calendar.source if self.calendar is not None else SNAPSHOT_NAME
