"""Staff notices: who may send them (`is_exam_staff`), `NoticeSender` writing one to every
subscriber, and delivery reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.clock import Clock
from bot.exams import UnknownSession, format_date
from bot.exams.reminders.current import CurrentCalendar
from bot.exams.reminders.records import (
    OUTBOX_NOTICE,
    OUTBOX_REPORT,
    REPORT_AFTER,
    DeliveryCounts,
    Notice,
    _notice,
)
from bot.exams.reminders.subscriptions import Subscriptions
from bot.i18n import Translator
from bot.outbox import FAILED, PENDING, SENDING, SENT, Outbox
from bot.storage import schema
from bot.storage.db import Database

STAFF_ROLE = "exam_staff"


def is_exam_staff(roster: Any, user_id: int) -> bool:
    """Whether the roster (None: nobody) gives the person the exam_staff role."""
    person = roster.person(user_id) if roster is not None else None
    return bool(person and STAFF_ROLE in person.roles)


class NoticeSender:
    """The `exam_notices` table and their outbox rows: a staff notice to every subscriber of a
    session, then one delivery report to the sender."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        current: CurrentCalendar,
        subscriptions: Subscriptions,
        clock: Clock,
        translator: Translator,
        *,
        roster: Any = None,
        report_after: timedelta = REPORT_AFTER,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.current = current
        self.subscriptions = subscriptions
        self.clock = clock
        self.tr = translator
        self.roster = roster
        self.report_after = report_after

    def is_exam_staff(self, user_id: int) -> bool:
        return is_exam_staff(self.roster, user_id)

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
        session = self.current.session(session_id)
        if session is None:
            raise UnknownSession(session_id)
        subs = self.subscriptions.subscribers(session.key)
        now = self.clock()
        n = schema.exam_notices
        with self.db.transaction() as conn:
            notice_id = conn.execute(n.insert().values(
                session_key=session.key, session_id=session.session_id, sender_id=sender_id,
                sender_chat_id=sender_chat_id, sender_language=sender_language, text=text,
                recipients=len(subs), created_at=now,
            )).inserted_primary_key[0]  # fmt: skip
        for sub in subs:
            body = self.tr.t(
                sub.language, "exams.notice.header", session_id=session.session_id,
                date=format_date(session.date, sub.language),
            ) + "\n\n" + text  # fmt: skip
            self.outbox.enqueue(
                sub.chat_id, body, kind=OUTBOX_NOTICE, case_id=None,
                dedupe_key=f"exam:notice:{notice_id}:to:{sub.chat_id}",
            )  # fmt: skip
        return self.notice(notice_id)

    def notice(self, notice_id: int) -> Notice:
        n = schema.exam_notices
        with self.db.connect() as conn:
            return _notice(conn.execute(sa.select(n).where(n.c.id == notice_id)).one())

    def delivery(self, notice_id: int) -> DeliveryCounts:
        """Sent / failed / blocked / still pending counts of a notice's messages."""
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o.c.status, o.c.last_error).where(
                    o.c.dedupe_key.like(f"exam:notice:{notice_id}:to:%")
                )
            ).all()
        sent = sum(1 for row in rows if row.status == SENT)
        failed_rows = [row for row in rows if row.status == FAILED]
        blocked = sum(1 for row in failed_rows if _blocked(row.last_error))
        pending = sum(1 for row in rows if row.status in (PENDING, SENDING))
        return DeliveryCounts(
            sent=sent,
            failed=len(failed_rows) - blocked,
            blocked=blocked,
            pending=pending,
        )

    def due_reports(self, now: datetime | None = None) -> list[tuple[Notice, DeliveryCounts]]:
        """Unreported notices whose delivery is complete, or older than `report_after`."""
        now = now or self.clock()
        n = schema.exam_notices
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(n).where(n.c.reported_at.is_(None)).order_by(n.c.id)
            ).all()
        out = []
        for row in rows:
            notice = _notice(row)
            counts = self.delivery(notice.id)
            if counts.done or now - notice.created_at >= self.report_after:
                out.append((notice, counts))
        return out

    def report_text(self, notice: Notice, counts: DeliveryCounts) -> str:
        lang = notice.sender_language
        key = "exams.notify.report" if counts.done else "exams.notify.report_partial"
        return self.tr.t(
            lang, key, session_id=notice.session_id, recipients=notice.recipients, sent=counts.sent,
            failed=counts.failed, blocked=counts.blocked, pending=counts.pending,
        )  # fmt: skip

    def enqueue_reports(self, now: datetime | None = None) -> list[Notice]:
        """Send each due delivery report to its staff member, once."""
        now = now or self.clock()
        n = schema.exam_notices
        done = []
        for notice, counts in self.due_reports(now):
            self.outbox.enqueue(
                notice.sender_chat_id, self.report_text(notice, counts), kind=OUTBOX_REPORT,
                case_id=None, dedupe_key=f"exam:notice:{notice.id}:report",
            )  # fmt: skip
            with self.db.transaction() as conn:
                conn.execute(
                    n.update()
                    .where(n.c.id == notice.id, n.c.reported_at.is_(None))
                    .values(reported_at=now)
                )
            done.append(notice)
        return done


def _blocked(error: str | None) -> bool:
    low = (error or "").lower()
    return "forbidden" in low or "blocked" in low or "deactivated" in low
