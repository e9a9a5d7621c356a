"""Exam reminders: calendar-driven times, a controllable clock, never twice, restarts, changes,
staff notices and their delivery reports. SQLite files in tmp_path; no Telegram."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.escalation.roster import parse_roster
from bot.exams import ExamCalendar
from bot.exams.reminders import (
    KIND_DEADLINE,
    KIND_EVE,
    OUTBOX_CHANGE,
    OUTBOX_NOTICE,
    OUTBOX_REMINDER,
    OUTBOX_REPORT,
    ExamReminders,
    diff_calendars,
)
from bot.i18n import t
from bot.outbox import KindsOutbox, Outbox, OutboxWorker
from bot.storage import Database, UserStore
from tests.conftest import KNOWLEDGE

CSV = KNOWLEDGE / "certification" / "exam-sessions.csv"
AS_OF = date(2026, 10, 15)
ROSTER = """
desk: {chat_id: -100123}
people:
  - {id: 500, name: Wang, languages: [zh-TW, en], roles: [exam_staff]}
  - {id: 501, name: Lin, languages: [en], roles: [counselor, desk_admin]}
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, *args: int) -> None:
        self.now = datetime(*args, tzinfo=UTC)


# Errors shaped like the ones python-telegram-bot raises (classified by class name).
class Forbidden(Exception):
    pass


class BadRequest(Exception):
    pass


@pytest.fixture
def clock():
    return Clock(datetime(2026, 11, 21, 4, 0, tzinfo=UTC))  # 12:00 in Taipei


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'puente.db'}"


@pytest.fixture
def calendar():
    return ExamCalendar.load(CSV, as_of=AS_OF, source="certification/exam-sessions.csv")


def make_service(db_url, calendar, clock, **kwargs) -> ExamReminders:
    db = Database(db_url)
    db.migrate()
    return ExamReminders(db, calendar, clock=clock, **kwargs)


@pytest.fixture
def service(db_url, calendar, clock):
    s = make_service(db_url, calendar, clock)
    yield s
    s.close()


def outbox_rows(service: ExamReminders, kind: str | None = None):
    import sqlalchemy as sa

    from bot.storage import schema

    o = schema.outbox
    query = sa.select(o).order_by(o.c.id)
    if kind:
        query = query.where(o.c.kind == kind)
    with service.db.connect() as conn:
        return conn.execute(query).all()


def edited_calendar(
    tmp_path: Path, replace: dict[str, tuple[str, str]] | None = None, drop: str | None = None
) -> ExamCalendar:
    """A copy of the real calendar with some cells of some rows replaced."""
    folder = tmp_path / "edited"
    folder.mkdir(exist_ok=True)
    path = folder / "exam-sessions.csv"
    shutil.copy(CSV, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        sid = line.split(",", 1)[0]
        if sid == drop:
            continue
        for session_id, (old, new) in (replace or {}).items():
            if sid == session_id:
                line = line.replace(old, new)
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return ExamCalendar.load(path, as_of=AS_OF, source="certification/exam-sessions.csv")


# --- when reminders fire ------------------------------------------------------------------------


def test_reminder_times_come_from_the_calendar_in_taipei_time(service):
    session = service.session("SC-2703-02")  # deadline 2027-02-13, exam 2027-03-06 14:00
    plan = service.schedule(session)
    # 3 days before the deadline at 09:00 Taipei (UTC+8); closes 23:59 on the deadline
    assert plan[KIND_DEADLINE] == (
        datetime(2027, 2, 10, 1, 0, tzinfo=UTC),
        datetime(2027, 2, 13, 15, 59, tzinfo=UTC),
    )
    # the day before the exam at 18:00 Taipei; useless once the exam starts (14:00)
    assert plan[KIND_EVE] == (
        datetime(2027, 3, 5, 10, 0, tzinfo=UTC),
        datetime(2027, 3, 6, 6, 0, tzinfo=UTC),
    )


def test_reminders_fire_at_their_time_once_in_the_persons_language(service, clock):
    sub = service.subscribe(42, 42, "sc 2703 02", "es")
    assert sub.session_id == "SC-2703-02"
    assert [r.kind for r in service.reminders(sub.id)] == [KIND_DEADLINE, KIND_EVE]

    clock.set(2027, 2, 10, 0, 59)  # 08:59 in Taipei
    assert service.due() == []
    assert service.enqueue_due() == []

    clock.set(2027, 2, 10, 1, 0)  # 09:00 in Taipei
    (due,) = service.due()
    assert due.kind == KIND_DEADLINE
    (written,) = service.enqueue_due()
    assert written.id == due.id
    (row,) = outbox_rows(service)
    assert row.kind == OUTBOX_REMINDER and row.chat_id == 42
    assert row.text == t(
        "es", "exams.remind.deadline", session_id="SC-2703-02", level=1,
        date="sábado 6 de marzo de 2027", deadline="sábado 13 de febrero de 2027",
    )  # fmt: skip

    # Again, and later: never twice.
    assert service.enqueue_due() == []
    clock.set(2027, 2, 12, 1, 0)
    assert service.enqueue_due() == []
    assert len(outbox_rows(service)) == 1

    clock.set(2027, 3, 5, 10, 0)  # 18:00 in Taipei, the day before
    (eve,) = service.enqueue_due()
    assert eve.kind == KIND_EVE
    text = outbox_rows(service)[-1].text
    assert text.startswith(t("es", "exams.remind.eve", session_id="SC-2703-02"))
    for fact in (
        "13:15",
        "14:00",
        "15:00",
        "CC301",
        "Computer Center Building",
        "pasaporte",
        "celulares",
        "rules.en.md",
    ):
        assert fact in text
    assert service.enqueue_due() == []
    assert len(outbox_rows(service)) == 2


def test_a_restart_finds_the_due_reminders_in_the_database(db_url, calendar, clock):
    first = make_service(db_url, calendar, clock)
    first.subscribe(7, 7, "SC-2612-03", "zh-TW")  # Level 2, 2026-12-19 09:30, CC302
    first.close()

    # The bot was down at 18:00 on the eve; it comes back at 20:00 (a new process).
    clock.set(2026, 12, 18, 12, 0)
    second = make_service(db_url, calendar, clock)
    (due,) = second.due()
    assert due.kind == KIND_EVE and due.subscription.user_id == 7
    second.enqueue_due()
    (row,) = outbox_rows(second)
    assert "08:45" in row.text and "CC302" in row.text and "身分證" in row.text
    second.close()

    third = make_service(db_url, calendar, clock)  # and another restart: nothing again
    assert third.due() == [] and third.enqueue_due() == []
    assert len(outbox_rows(third)) == 1
    third.close()


def test_a_crash_between_the_outbox_and_mark_sent_still_sends_once(service, clock):
    sub = service.subscribe(8, 8, "SC-2612-03", "en")
    clock.set(2026, 12, 18, 10, 0)
    (due,) = service.due()
    # The previous process wrote the message, then died before marking the reminder sent.
    service.outbox.enqueue(
        8,
        "written before the crash",
        kind=OUTBOX_REMINDER,
        case_id=None,
        dedupe_key=f"exam:reminder:{due.id}",
    )
    service.enqueue_due()
    assert [r.text for r in outbox_rows(service)] == ["written before the crash"]
    assert {r.kind: r.status for r in service.reminders(sub.id)} == {
        KIND_DEADLINE: "expired",
        KIND_EVE: "sent",
    }


def test_a_reminder_past_its_useful_time_is_not_sent(service, clock):
    sub = service.subscribe(9, 9, "SC-2612-03", "en")
    clock.set(2026, 12, 19, 2, 0)  # 10:00 in Taipei on the exam day: the exam has started
    assert service.enqueue_due() == []
    assert outbox_rows(service) == []
    assert {r.kind: r.status for r in service.reminders(sub.id)} == {
        KIND_DEADLINE: "expired",
        KIND_EVE: "expired",
    }


def test_reminders_already_past_when_subscribing_are_not_created(service, clock):
    clock.set(2026, 12, 1, 4, 0)  # after SC-2612-03's deadline reminder (Nov 25)
    sub = service.subscribe(10, 10, "SC-2612-03", "en")
    assert [r.kind for r in service.reminders(sub.id)] == [KIND_EVE]


def test_unsubscribe_cancels_and_subscribing_again_restores(service, clock):
    service.subscribe(11, 11, "SC-2703-02", "en")
    assert service.subscribe(11, 11, "SC-2703-02", "en").id == service.subscriptions(11)[0].id
    assert service.unsubscribe(11, "SC-2703-02") is True
    assert service.unsubscribe(11, "SC-2703-02") is False
    assert service.subscriptions(11) == []
    clock.set(2027, 2, 10, 1, 0)
    assert service.due() == []

    sub = service.subscribe(11, 11, "SC-2703-02", "zh-TW")
    assert sub.language == "zh-TW" and service.is_subscribed(11, "SC270302")
    assert {r.kind: r.status for r in service.reminders(sub.id)} == {
        KIND_DEADLINE: "cancelled",
        KIND_EVE: "pending",  # its time had come: not restored
    }


def test_subscriptions_are_sorted_by_date_and_unknown_sessions_refused(service):
    service.subscribe(12, 12, "SC-2706-03", "en")
    service.subscribe(12, 12, "SC-2612-01", "en")
    assert [s.session_id for s in service.subscriptions(12)] == ["SC-2612-01", "SC-2706-03"]
    with pytest.raises(KeyError):
        service.subscribe(12, 12, "SC-9999-99", "en")


def test_forget_deletes_subscriptions_and_reminders(service):
    service.subscribe(13, 13, "SC-2703-02", "en")
    users = UserStore(service.db)
    assert users.forget_user(13) == 3  # 1 subscription + 2 reminders
    assert service.subscriptions(13) == []


# --- calendar changes -----------------------------------------------------------------------------


def test_diff_calendars_reports_time_room_and_date_changes(calendar, tmp_path):
    new = edited_calendar(tmp_path, {
        "SC-2703-02": ("13:15,14:00,15:00,Computer Center Building,CC301",
                       "13:45,14:30,15:30,Computer Center Building,CC302"),
        "SC-2612-01": ("2026-12-05", "2026-12-12"),
    }, drop="SC-2706-03")  # fmt: skip
    assert diff_calendars(calendar, new) == {
        "SC-2612-01": {"date": ("2026-12-05", "2026-12-12")},
        "SC-2703-02": {
            "checkin_opens": ("13:15", "13:45"), "starts": ("14:00", "14:30"),
            "ends": ("15:00", "15:30"), "room": ("CC301", "CC302"),
        },
        "SC-2706-03": {"session": ("SC-2706-03", None)},
    }  # fmt: skip
    assert diff_calendars(calendar, calendar) == {}
    assert diff_calendars(new, calendar)["SC-2612-01"] == {"date": ("2026-12-12", "2026-12-05")}


def test_a_changed_calendar_notifies_subscribers_once_and_moves_their_reminders(
    service, calendar, clock, tmp_path
):
    assert service.check_calendar() == {}  # the first start only stores the snapshot
    sub = service.subscribe(20, 20, "SC-2612-01", "en")
    other = service.subscribe(21, 21, "SC-2701-01", "zh-TW")  # unchanged session

    moved = edited_calendar(
        tmp_path, {"SC-2612-01": ("2026-12-05,08:45,09:30,10:30", "2026-12-12,08:45,09:30,10:30")}
    )
    changes = service.reload(moved)
    assert set(changes) == {"SC-2612-01"}
    (row,) = outbox_rows(service, OUTBOX_CHANGE)
    assert row.chat_id == 20
    assert row.text.startswith(t("en", "exams.change.header", session_id="SC-2612-01"))
    assert "• date: Saturday, December 5, 2026 → Saturday, December 12, 2026" in row.text
    eve = {r.kind: r for r in service.reminders(sub.id)}[KIND_EVE]
    assert eve.due_at == datetime(2026, 12, 11, 10, 0, tzinfo=UTC)  # the new eve, 18:00 Taipei
    assert all(r.status == "pending" for r in service.reminders(other.id))

    # The next start (or a reload of the same file) sends nothing again.
    restarted = make_service(f"sqlite:///{tmp_path / 'puente.db'}", moved, clock)
    assert restarted.check_calendar() == {}
    assert len(outbox_rows(restarted, OUTBOX_CHANGE)) == 1
    restarted.close()


def test_a_removed_session_cancels_its_reminders(service, tmp_path):
    service.check_calendar()
    sub = service.subscribe(22, 22, "SC-2706-03", "es")
    service.reload(edited_calendar(tmp_path, drop="SC-2706-03"))
    (row,) = outbox_rows(service, OUTBOX_CHANGE)
    assert row.text == t("es", "exams.change.removed", session_id="SC-2706-03")
    assert {r.status for r in service.reminders(sub.id)} == {"cancelled"}


# --- staff notices ----------------------------------------------------------------------------------


async def test_a_notice_reaches_every_subscriber_and_the_sender_gets_a_report(service, clock):
    for user, lang in ((31, "en"), (32, "es"), (33, "zh-TW")):
        service.subscribe(user, user, "SC-2703-02", lang)
    service.subscribe(34, 34, "SC-2703-01", "en")  # another session

    notice = service.notify(
        "SC-2703-02",
        "Room changed to CC302.",
        sender_id=500,
        sender_chat_id=500,
        sender_language="zh-TW",
    )
    assert notice.recipients == 3
    rows = outbox_rows(service, OUTBOX_NOTICE)
    assert [r.chat_id for r in rows] == [31, 32, 33]
    assert rows[1].text == (
        t("es", "exams.notice.header", session_id="SC-2703-02", date="sábado 6 de marzo de 2027")
        + "\n\nRoom changed to CC302."
    )
    assert service.due_reports() == []  # nothing delivered yet

    async def send(chat_id, text, markup, thread_id=None):
        if chat_id == 32:
            raise Forbidden("Forbidden: bot was blocked by the user")
        if chat_id == 33:
            raise BadRequest("Bad Request: chat not found")
        return 9000 + chat_id

    worker = OutboxWorker(KindsOutbox(service.outbox, [OUTBOX_NOTICE]), send)
    report = await worker.run_once()
    assert (report.sent, report.failed) == (1, 2)

    (sent,) = service.enqueue_reports()
    assert sent.id == notice.id
    (row,) = outbox_rows(service, OUTBOX_REPORT)
    assert row.chat_id == 500
    assert row.text == t(
        "zh-TW",
        "exams.notify.report",
        session_id="SC-2703-02",
        recipients=3,
        sent=1,
        failed=1,
        blocked=1,
        pending=0,
    )
    assert service.enqueue_reports() == []  # once


def test_a_slow_delivery_gets_a_summary_after_a_bounded_wait(service, clock):
    service.subscribe(41, 41, "SC-2703-02", "en")
    service.notify(
        "SC-2703-02", "Bring a pencil.", sender_id=500, sender_chat_id=500, sender_language="en"
    )
    assert service.enqueue_reports() == []
    clock.now += timedelta(minutes=10)
    service.enqueue_reports()
    (row,) = outbox_rows(service, OUTBOX_REPORT)
    assert row.text == t(
        "en",
        "exams.notify.report_partial",
        session_id="SC-2703-02",
        recipients=1,
        sent=0,
        failed=0,
        blocked=0,
        pending=1,
    )


def test_only_exam_staff_may_notify(db_url, calendar, clock):
    service = make_service(db_url, calendar, clock, roster=parse_roster(ROSTER))
    assert service.is_exam_staff(500)
    assert not service.is_exam_staff(501) and not service.is_exam_staff(42)
    assert not make_service(db_url, calendar, clock).is_exam_staff(500)  # no roster: nobody
    with pytest.raises(KeyError):
        service.notify("SC-0000-00", "x", sender_id=500, sender_chat_id=500, sender_language="en")


def test_kinds_outbox_leaves_other_messages_alone(service):
    service.outbox.enqueue(1, "desk card", kind="card", case_id=None, dedupe_key="desk:1")
    service.outbox.enqueue(2, "notice", kind=OUTBOX_NOTICE, case_id=None, dedupe_key="n:1")
    exam_only = KindsOutbox(service.outbox, [OUTBOX_NOTICE])
    assert [m.text for m in exam_only.due()] == ["notice"]
    assert len(Outbox(service.db).due()) == 2
