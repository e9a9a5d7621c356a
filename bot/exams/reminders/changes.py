"""Calendar changes: snapshots of the calendar, their diff, and `CalendarWatcher`, which tells
subscribers.

The calendar seen last is stored as a JSON snapshot in the database; `check_calendar()` compares
it with the current one, tells every subscriber of a changed session what changed, moves their
pending reminders, and stores the new snapshot.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from bot.clock import Clock
from bot.exams import (
    ExamCalendar,
    ExamSession,
    format_date,
    format_session,
    normalize_session_id,
)
from bot.exams.reminders.current import CurrentCalendar
from bot.exams.reminders.records import (
    CHANGE_FIELDS,
    OUTBOX_CHANGE,
    R_CANCELLED,
    R_PENDING,
)
from bot.exams.reminders.scheduler import ReminderScheduler
from bot.exams.reminders.subscriptions import Subscriptions
from bot.i18n import Translator
from bot.outbox import Outbox
from bot.storage import schema
from bot.storage.db import Database

logger = logging.getLogger(__name__)


def session_snapshot(s: ExamSession) -> dict[str, Any]:
    return {
        "session_id": s.session_id, "level": s.level, "date": s.date.isoformat(),
        "checkin_opens": s.checkin_opens.strftime("%H:%M"), "starts": s.starts.strftime("%H:%M"),
        "ends": s.ends.strftime("%H:%M"), "building": s.building, "room": s.room,
        "seats": s.seats, "registration_deadline": s.registration_deadline.isoformat(),
        "language": s.language,
    }  # fmt: skip


def calendar_snapshot(
    calendar: ExamCalendar | Mapping[str, Mapping[str, Any]],
) -> dict[str, dict]:
    """{session key: the session's fields as JSON-ready text}; a snapshot is returned as is."""
    if isinstance(calendar, Mapping):
        return {k: dict(v) for k, v in calendar.items()}
    return {s.key: session_snapshot(s) for s in calendar.sessions}


def diff_calendars(
    old: ExamCalendar | Mapping[str, Mapping[str, Any]],
    new: ExamCalendar | Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, tuple[Any, Any]]]:
    """Sessions of `old` that changed in `new`: {session id: {field: (old value, new value)}}.

    A field is one of `CHANGE_FIELDS` (date, times, building, room, deadline). A session missing
    from `new` is reported as `{"session": (its id, None)}`.
    Sessions only in `new` are not changes (nobody can be subscribed to them yet).
    """
    before, after = calendar_snapshot(old), calendar_snapshot(new)
    changes: dict[str, dict[str, tuple[Any, Any]]] = {}
    for key, was in before.items():
        sid = was.get("session_id", key)
        now = after.get(key)
        if now is None:
            changes[sid] = {"session": (sid, None)}
            continue
        fields = {f: (was.get(f), now.get(f)) for f in CHANGE_FIELDS if was.get(f) != now.get(f)}
        if fields:
            changes[sid] = fields
    return changes


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class CalendarWatcher:
    """The `exam_calendar_snapshots` table: compares the current calendar with the one seen
    last, tells the subscribers of a changed session and moves their pending reminders."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        current: CurrentCalendar,
        subscriptions: Subscriptions,
        scheduler: ReminderScheduler,
        clock: Clock,
        translator: Translator,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.current = current
        self.subscriptions = subscriptions
        self.scheduler = scheduler
        self.clock = clock
        self.tr = translator

    def stored_snapshot(self) -> dict[str, dict] | None:
        c = schema.exam_calendar_snapshots
        with self.db.connect() as conn:
            data = conn.execute(
                sa.select(c.c.data).where(c.c.name == self.current.snapshot_name)
            ).scalar()
        return data

    def store_snapshot(self, calendar: ExamCalendar | None = None) -> None:
        calendar = calendar or self.current.calendar
        if calendar is None:
            return
        c = schema.exam_calendar_snapshots
        data, now = calendar_snapshot(calendar), self.clock()
        with self.db.transaction() as conn:
            updated = conn.execute(
                c.update()
                .where(c.c.name == self.current.snapshot_name)
                .values(data=data, updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(
                    c.insert().values(name=self.current.snapshot_name, data=data, updated_at=now)
                )

    def reload(self, calendar: ExamCalendar) -> dict[str, dict[str, tuple[Any, Any]]]:
        """Use a newly loaded calendar, and tell subscribers what changed."""
        self.current.calendar = calendar
        return self.check_calendar()

    def check_calendar(self, now: datetime | None = None) -> dict[str, dict[str, tuple[Any, Any]]]:
        """Compare the calendar with the snapshot seen last; notify subscribers of changed
        sessions, move their reminders, store the new snapshot. Returns the changes."""
        calendar = self.current.calendar
        if calendar is None:
            return {}
        now = now or self.clock()
        old = self.stored_snapshot()
        if old is None:
            self.store_snapshot()
            return {}
        changes = diff_calendars(old, calendar)
        for session_id, fields in changes.items():
            self._notify_change(session_id, fields, old, now)
        self.store_snapshot()
        if changes:
            logger.info("exam calendar changed: %s", ", ".join(sorted(changes)))
        return changes

    def _notify_change(
        self,
        session_id: str,
        fields: dict[str, tuple[Any, Any]],
        old: Mapping[str, Mapping[str, Any]],
        now: datetime,
    ) -> None:
        key = normalize_session_id(session_id)
        session = self.current.session(key)
        digest = _digest([session_snapshot(session) if session else None, fields])
        r = schema.exam_reminders
        for sub in self.subscriptions.subscribers(key):
            text = self.change_text(sub.language, session_id, fields, session)
            self.outbox.enqueue(
                sub.chat_id, text, kind=OUTBOX_CHANGE, case_id=None,
                dedupe_key=f"exam:change:{sub.id}:{digest}",
            )  # fmt: skip
            with self.db.transaction() as conn:
                if session is None:
                    conn.execute(
                        r.update()
                        .where(r.c.subscription_id == sub.id, r.c.status == R_PENDING)
                        .values(status=R_CANCELLED)
                    )
                else:
                    self.scheduler.plan(conn, sub.id, session, now, create=False)

    def change_text(
        self,
        lang: str,
        session_id: str,
        fields: Mapping[str, tuple[Any, Any]],
        session: ExamSession | None,
    ) -> str:
        tr = self.tr
        if session is None:
            return tr.t(lang, "exams.change.removed", session_id=session_id)
        lines = [tr.t(lang, "exams.change.header", session_id=session.session_id)]
        for name in CHANGE_FIELDS:
            if name in fields:
                before, after = fields[name]
                lines.append(tr.t(
                    lang, "exams.change.line", field=tr.t(lang, f"exams.change.fields.{name}"),
                    old=_show(before, lang), new=_show(after, lang),
                ))  # fmt: skip
        return "\n".join(lines) + "\n\n" + format_session(session, lang)


def _show(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return format_date(date.fromisoformat(value), lang)
        except ValueError:
            return value
    return str(value)
