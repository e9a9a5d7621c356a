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
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.escalation.outbox import FAILED, PENDING, SENDING, SENT, Outbox
from bot.exams import (
    ExamCalendar,
    ExamSession,
    format_date,
    format_session,
    normalize_session_id,
)
from bot.i18n import Translator, default_translator
from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Taipei"
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


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Snapshots and diffs
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------


class ExamReminders:
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

    def _at(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

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

    # ---- roster --------------------------------------------------------------------------------

    def is_exam_staff(self, user_id: int) -> bool:
        roster = self.roster
        person = roster.person(user_id) if roster is not None else None
        return bool(person and "exam_staff" in person.roles)

    # ---- subscriptions -------------------------------------------------------------------------

    def session(self, session_id: str) -> ExamSession | None:
        return self.calendar.by_id(session_id) if self.calendar is not None else None

    def subscribe(self, user_id: int, chat_id: int, session_id: str, language: str) -> Subscription:
        """Subscribe (again) to a session; idempotent. Raises KeyError for an unknown session.

        Reminders whose time has already passed when subscribing are not created: the person
        has just read the session's details.
        """
        session = self.session(session_id)
        if session is None:
            raise KeyError(session_id)
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
            self._plan(conn, sub_id, session, now, create=True)
        return self._subscription(sub_id)

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

    def forget_user(self, user_id: int) -> int:
        """Delete the person's subscriptions and reminders; return the rows removed."""
        t, r = schema.exam_subscriptions, schema.exam_reminders
        with self.db.transaction() as conn:
            ids = [row.id for row in conn.execute(sa.select(t.c.id).where(t.c.user_id == user_id))]
            if not ids:
                return 0
            removed = conn.execute(r.delete().where(r.c.subscription_id.in_(ids))).rowcount
            removed += conn.execute(t.delete().where(t.c.id.in_(ids))).rowcount
        return removed

    def subscriptions(self, user_id: int) -> list[Subscription]:
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
        return any(s.session_key == key for s in self.subscriptions(user_id))

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
        sub = self._subscription(subscription_id)
        return [_reminder(row, sub) for row in rows]

    def _session_order(self, sub: Subscription) -> tuple:
        s = self.session(sub.session_key)
        return (s.date, s.starts) if s else (date.max, time.max)

    def _subscription(self, sub_id: int) -> Subscription:
        t = schema.exam_subscriptions
        with self.db.connect() as conn:
            return _subscription(conn.execute(sa.select(t).where(t.c.id == sub_id)).one())

    def _plan(
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

    def _mark(self, reminder_id: int, status: str) -> None:
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
            session = self.session(reminder.subscription.session_key)
            if session is None:
                self._mark(reminder.id, R_CANCELLED)
                continue
                continue
            sub = reminder.subscription
            outbox_id = self.outbox.enqueue(
                sub.chat_id, self.reminder_text(reminder, session), kind=OUTBOX_REMINDER,
                case_id=None, dedupe_key=f"exam:reminder:{reminder.id}",
            )  # fmt: skip
            if self.mark_sent(reminder.id, outbox_id, now):
                written.append(reminder)
        return written

    # ---- calendar changes ----------------------------------------------------------------------

    def _snapshot_name(self) -> str:
        return self.calendar.source if self.calendar is not None else "exam-calendar"

    def stored_snapshot(self) -> dict[str, dict] | None:
        c = schema.exam_calendar_snapshots
        with self.db.connect() as conn:
            data = conn.execute(
                sa.select(c.c.data).where(c.c.name == self._snapshot_name())
            ).scalar()
        return data

    def store_snapshot(self, calendar: ExamCalendar | None = None) -> None:
        calendar = calendar or self.calendar
        if calendar is None:
            return
        c = schema.exam_calendar_snapshots
        data, now = calendar_snapshot(calendar), self.clock()
        with self.db.transaction() as conn:
            updated = conn.execute(
                c.update()
                .where(c.c.name == self._snapshot_name())
                .values(data=data, updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(
                    c.insert().values(name=self._snapshot_name(), data=data, updated_at=now)
                )

    def reload(self, calendar: ExamCalendar) -> dict[str, dict[str, tuple[Any, Any]]]:
        """Use a newly loaded calendar, and tell subscribers what changed."""
        self.calendar = calendar
        return self.check_calendar()

    def check_calendar(self, now: datetime | None = None) -> dict[str, dict[str, tuple[Any, Any]]]:
        """Compare the calendar with the snapshot seen last; notify subscribers of changed
        sessions, move their reminders, store the new snapshot. Returns the changes."""
        if self.calendar is None:
            return {}
        now = now or self.clock()
        old = self.stored_snapshot()
        if old is None:
            self.store_snapshot()
            return {}
        changes = diff_calendars(old, self.calendar)
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
        session = self.session(key)
        digest = _digest([session_snapshot(session) if session else None, fields])
        r = schema.exam_reminders
        for sub in self.subscribers(key):
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
                    self._plan(conn, sub.id, session, now, create=False)

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

    # ---- staff notices -------------------------------------------------------------------------

    def notify(
        self,
        session_id: str,
        text: str,
        *,
        sender_id: int,
        sender_chat_id: int,
        sender_language: str,
    ) -> Notice:
        """Write a staff notice to every subscriber of the session. KeyError: unknown session."""
        session = self.session(session_id)
        if session is None:
            raise KeyError(session_id)
        subs = self.subscribers(session.key)
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

    # ---- the periodic job ----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> tuple[int, int]:
        """One run of the periodic job: due reminders and due delivery reports to the outbox."""
        now = now or self.clock()
        return len(self.enqueue_due(now)), len(self.enqueue_reports(now))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _blocked(error: str | None) -> bool:
    low = (error or "").lower()
    return "forbidden" in low or "blocked" in low or "deactivated" in low


def _show(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return format_date(date.fromisoformat(value), lang)
        except ValueError:
            return value
    return str(value)


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
