"""`ReminderScheduler`: when a session's reminders are due, and writing due ones to the outbox.

Each reminder is marked sent with a guarded UPDATE, so running `enqueue_due` twice, or in two
processes, sends nothing twice; one whose useful time passed (the bot was down) is expired.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from bot.clock import Clock
from bot.exams import ExamSession, format_date, format_session
from bot.exams.reminders.current import CurrentCalendar
from bot.exams.reminders.records import (
    DEADLINE_CLOSES_AT,
    DEADLINE_DAYS_BEFORE,
    DEADLINE_REMINDER_AT,
    EVE_REMINDER_AT,
    KIND_DEADLINE,
    KIND_EVE,
    OUTBOX_REMINDER,
    R_CANCELLED,
    R_EXPIRED,
    R_PENDING,
    R_SENT,
    Reminder,
    Subscription,
    _reminder,
)
from bot.i18n import Translator
from bot.outbox import Outbox
from bot.storage import schema
from bot.storage.db import Database


class ReminderScheduler:
    """The `exam_reminders` table: plans each subscription's reminders at the session's local
    times (the clock's time zone), finds the due ones and writes them to the outbox once."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        current: CurrentCalendar,
        clock: Clock,
        translator: Translator,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.current = current
        self.clock = clock
        self.tr = translator

    def _at(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.clock.tz).astimezone(UTC)

    def schedule(self, session: ExamSession) -> dict[str, tuple[datetime, datetime]]:
        """{kind: (due at, expires at)} for a session, in UTC."""
        deadline_day = session.registration_deadline - timedelta(days=DEADLINE_DAYS_BEFORE)
        return {
            KIND_DEADLINE: (
                self._at(deadline_day, DEADLINE_REMINDER_AT),
                self._at(session.registration_deadline, DEADLINE_CLOSES_AT),
            ),
            KIND_EVE: (
                self._at(session.date - timedelta(days=1), EVE_REMINDER_AT),
                self._at(session.date, session.starts),
            ),
        }

    def plan(
        self,
        conn: sa.Connection,
        sub_id: int,
        session: ExamSession,
        now: datetime,
        *,
        create: bool,
    ) -> None:
        """Create (when `create`) or move the subscription's reminders to the session's times.

        A reminder already sent stays sent; a pending one moves to the new time.
        """
        r = schema.exam_reminders
        existing = {
            row.kind: row for row in conn.execute(sa.select(r).where(r.c.subscription_id == sub_id))
        }
        for kind, (due_at, expires_at) in self.schedule(session).items():
            row = existing.get(kind)
            if row is None:
                if create and due_at > now:
                    conn.execute(r.insert().values(
                        subscription_id=sub_id, kind=kind, due_at=due_at, expires_at=expires_at,
                        status=R_PENDING,
                    ))  # fmt: skip
                continue
            if row.status == R_PENDING:
                move = True  # to the session's (possibly new) times
            elif row.status == R_CANCELLED:
                move = create and due_at > now  # subscribed again
            elif row.status == R_EXPIRED:
                move = due_at > now  # the session moved later: useful again
            else:
                move = False  # sent stays sent
            if move:
                conn.execute(
                    r.update()
                    .where(r.c.id == row.id)
                    .values(due_at=due_at, expires_at=expires_at, status=R_PENDING)
                )

    # ---- reminders -----------------------------------------------------------------------------

    def due(self, now: datetime | None = None) -> list[Reminder]:
        """Pending reminders of active subscriptions whose time has come and is not over yet."""
        now = now or self.clock()
        r, t = schema.exam_reminders, schema.exam_subscriptions
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(
                    r,
                    t.c.user_id,
                    t.c.chat_id,
                    t.c.session_key,
                    t.c.session_id,
                    t.c.language,
                    t.c.active,
                )
                .join(t, t.c.id == r.c.subscription_id)
                .where(
                    r.c.status == R_PENDING,
                    r.c.due_at <= now,
                    r.c.expires_at > now,
                    t.c.active.is_(True),
                )
                .order_by(r.c.due_at, r.c.id)
            ).all()
        out = []
        for row in rows:
            sub = Subscription(
                row.subscription_id,
                row.user_id,
                row.chat_id,
                row.session_key,
                row.session_id,
                row.language,
                row.active,
            )
            out.append(_reminder(row, sub))
        return out

    def mark_sent(
        self,
        reminder_id: int,
        outbox_id: int | None = None,
        now: datetime | None = None,
    ) -> bool:
        """pending -> sent, once: True for the call that did it, False afterwards."""
        r = schema.exam_reminders
        with self.db.transaction() as conn:
            return bool(conn.execute(
                r.update().where(r.c.id == reminder_id, r.c.status == R_PENDING)
                .values(status=R_SENT, outbox_id=outbox_id, sent_at=now or self.clock())
            ).rowcount)  # fmt: skip

    def mark(self, reminder_id: int, status: str) -> None:
        r = schema.exam_reminders
        with self.db.transaction() as conn:
            conn.execute(
                r.update()
                .where(r.c.id == reminder_id, r.c.status == R_PENDING)
                .values(status=status)
            )

    def expire(self, now: datetime | None = None) -> int:
        """Pending reminders whose useful time passed (the bot was down) -> expired."""
        r = schema.exam_reminders
        with self.db.transaction() as conn:
            return conn.execute(
                r.update()
                .where(r.c.status == R_PENDING, r.c.expires_at <= (now or self.clock()))
                .values(status=R_EXPIRED)
            ).rowcount

    def reminder_text(self, reminder: Reminder, session: ExamSession) -> str:
        lang = reminder.subscription.language
        tr = self.tr
        if reminder.kind == KIND_DEADLINE:
            return tr.t(
                lang, "exams.remind.deadline", session_id=session.session_id, level=session.level,
                date=format_date(session.date, lang),
                deadline=format_date(session.registration_deadline, lang),
            )  # fmt: skip
        return "\n\n".join((
            tr.t(lang, "exams.remind.eve", session_id=session.session_id),
            format_session(session, lang),
            tr.t(lang, "exams.bring"),
        ))  # fmt: skip

    def enqueue_due(self, now: datetime | None = None) -> list[Reminder]:
        """Write every due reminder to the outbox, once; returns the ones written now."""
        now = now or self.clock()
        self.expire(now)
        written = []
        for reminder in self.due(now):
            session = self.current.session(reminder.subscription.session_key)
            if session is None:
                self.mark(reminder.id, R_CANCELLED)
                continue
            sub = reminder.subscription
            outbox_id = self.outbox.enqueue(
                sub.chat_id, self.reminder_text(reminder, session), kind=OUTBOX_REMINDER,
                case_id=None, dedupe_key=f"exam:reminder:{reminder.id}",
            )  # fmt: skip
            if self.mark_sent(reminder.id, outbox_id, now):
                written.append(reminder)
        return written
