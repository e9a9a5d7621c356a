"""`Subscriptions`: who is subscribed to which exam session: subscribing, cancelling, listing.
/forget deletes a person's subscriptions in `UserStore.forget_user`, with everything else of
theirs (the storage layer cannot import this one)."""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa

from bot.clock import Clock
from bot.exams import UnknownSession, normalize_session_id
from bot.exams.reminders.current import CurrentCalendar
from bot.exams.reminders.records import (
    R_CANCELLED,
    R_PENDING,
    Reminder,
    Subscription,
    _reminder,
    _subscription,
)
from bot.exams.reminders.scheduler import ReminderScheduler
from bot.storage import schema
from bot.storage.db import Database


class Subscriptions:
    """The `exam_subscriptions` table; subscribing plans the reminders through the scheduler."""

    def __init__(
        self,
        db: Database,
        current: CurrentCalendar,
        scheduler: ReminderScheduler,
        clock: Clock,
    ) -> None:
        self.db = db
        self.current = current
        self.scheduler = scheduler
        self.clock = clock

    def subscribe(self, user_id: int, chat_id: int, session_id: str, language: str) -> Subscription:
        """Subscribe (again) to a session; idempotent. Raises UnknownSession for an unknown one.

        Reminders whose time has already passed when subscribing are not created: the person
        has just read the session's details.
        """
        session = self.current.session(session_id)
        if session is None:
            raise UnknownSession(session_id)
        now = self.clock()
        t = schema.exam_subscriptions
        with self.db.transaction() as conn:
            row = conn.execute(
                sa.select(t).where(t.c.user_id == user_id, t.c.session_key == session.key)
            ).first()
            if row is None:
                sub_id = conn.execute(
                    t.insert().values(
                        user_id=user_id,
                        chat_id=chat_id,
                        session_key=session.key,
                        session_id=session.session_id,
                        language=language,
                        active=True,
                        created_at=now,
                    )
                ).inserted_primary_key[0]
            else:
                sub_id = row.id
                conn.execute(
                    t.update()
                    .where(t.c.id == sub_id)
                    .values(
                        chat_id=chat_id,
                        language=language,
                        active=True,
                        cancelled_at=None,
                    )
                )
            self.scheduler.plan(conn, sub_id, session, now, create=True)
        return self.get(sub_id)

    def unsubscribe(self, user_id: int, session_id: str) -> bool:
        """Cancel a subscription and its pending reminders; False when there was none active."""
        key = normalize_session_id(session_id)
        t, r = schema.exam_subscriptions, schema.exam_reminders
        with self.db.transaction() as conn:
            row = conn.execute(
                sa.select(t.c.id).where(
                    t.c.user_id == user_id, t.c.session_key == key, t.c.active.is_(True)
                )
            ).first()
            if row is None:
                return False
            conn.execute(
                t.update().where(t.c.id == row.id).values(active=False, cancelled_at=self.clock())
            )
            conn.execute(
                r.update()
                .where(r.c.subscription_id == row.id, r.c.status == R_PENDING)
                .values(status=R_CANCELLED)
            )
        return True

    def of_user(self, user_id: int) -> list[Subscription]:
        """The person's active subscriptions, soonest session first."""
        t = schema.exam_subscriptions
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.user_id == user_id, t.c.active.is_(True)).order_by(t.c.id)
            ).all()
        subs = [_subscription(row) for row in rows]
        return sorted(subs, key=self._session_order)

    def is_subscribed(self, user_id: int, session_id: str) -> bool:
        key = normalize_session_id(session_id)
        return any(s.session_key == key for s in self.of_user(user_id))

    def subscribers(self, session_id: str) -> list[Subscription]:
        key = normalize_session_id(session_id)
        t = schema.exam_subscriptions
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.session_key == key, t.c.active.is_(True)).order_by(t.c.id)
            ).all()
        return [_subscription(row) for row in rows]

    def reminders(self, subscription_id: int) -> list[Reminder]:
        r = schema.exam_reminders
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(r).where(r.c.subscription_id == subscription_id).order_by(r.c.due_at)
            ).all()
        sub = self.get(subscription_id)
        return [_reminder(row, sub) for row in rows]

    def _session_order(self, sub: Subscription) -> tuple:
        s = self.current.session(sub.session_key)
        return (s.date, s.starts) if s else (date.max, time.max)

    def get(self, sub_id: int) -> Subscription:
        t = schema.exam_subscriptions
        with self.db.connect() as conn:
            return _subscription(conn.execute(sa.select(t).where(t.c.id == sub_id)).one())
