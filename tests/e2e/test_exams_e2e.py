"""Exam reminders end to end: Puente's real Application long polling the local Bot API emulator.

A person opens a session with /exam and presses "🔔 Remind me"; the reminders' clock is moved to
the evening before the exam and the reminder job runs (as the JobQueue runs it); then an exam
staff member sends /notify and gets a delivery report. The services are the real
`ExamReminders` over a SQLite file, with fakes for the assistant and the user store. Every wait
is on a condition.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from telegram.ext import Application

from bot.channels.telegram import build_application
from bot.channels.telegram import exams as tg_exams
from bot.config import Settings
from bot.escalation.roster import parse_roster
from bot.exams import ExamCalendar
from bot.exams.reminders import ExamReminders
from bot.i18n import t
from bot.services import Services
from bot.storage import Database
from tests.conftest import KNOWLEDGE
from tests.e2e.conftest import start_application, stop_application
from tests.e2e.emulator import BotApiEmulator, inline_data
from tests.telegram_fakes import FakeAssistant, FakeUserStore

pytestmark = pytest.mark.e2e

STAFF = 500
ROSTER = f"""
desk: {{chat_id: -100123}}
people:
  - {{id: {STAFF}, name: Wang, languages: [en, zh-TW], roles: [exam_staff, desk_admin]}}
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # pinned: 12:00 in Taipei

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Puente:
    app: Application
    reminders: ExamReminders
    clock: Clock
    emulator: BotApiEmulator

    async def sends(self, chat_id: int, text: str, **kwargs) -> dict:
        return await asyncio.to_thread(self.emulator.user_sends, chat_id, text, **kwargs)

    async def presses(self, chat_id: int, message_id: int, data: str, **kwargs) -> str:
        return await asyncio.to_thread(
            self.emulator.user_presses, chat_id, message_id, data, **kwargs
        )

    async def replies(self, chat_id: int, count: int) -> list[dict]:
        return await self.emulator.await_bot_messages(chat_id, count)

    def run_reminder_job_now(self) -> None:
        """What the repeating job does every 30 s, asked for at once."""
        self.app.job_queue.run_once(tg_exams.reminder_job, 0, name="test-exam-reminders")


@pytest.fixture
async def puente(emulator: BotApiEmulator, tmp_path) -> AsyncIterator[Puente]:
    settings = Settings(
        _env_file=None, telegram_bot_token=emulator.token, telegram_api_url=emulator.url
    )
    db = Database(f"sqlite:///{tmp_path / 'puente.db'}")
    calendar = ExamCalendar.load(
        KNOWLEDGE / "certification" / "exam-sessions.csv",
        as_of=date(2026, 10, 15),
        source="certification/exam-sessions.csv",
    )
    clock = Clock()
    reminders = ExamReminders(db, calendar, clock=clock, roster=parse_roster(ROSTER))
    services = Services(
        settings=settings, assistant=FakeAssistant(), users=FakeUserStore(), exams=reminders
    )
    # post_init opens the services: the migrations run
    app = await start_application(build_application(settings, services))
    try:
        yield Puente(app, reminders, clock, emulator)
    finally:
        await stop_application(app)


async def test_subscribe_then_the_reminder_then_a_staff_notice_with_its_report(puente):
    # /exam, then "🔔 Remind me"
    await puente.sends(10, "/exam SC-2703-02", language_code="es")
    (details,) = await puente.replies(10, 1)
    assert details["text"].startswith("SC-2703-02 — nivel 1")
    assert inline_data(details) == ["exr:SC270302"]

    await puente.presses(10, details["message_id"], "exr:SC270302")
    details, confirmation = await puente.replies(10, 2)
    assert confirmation["text"].startswith(t("es", "exams.ui.subscribed", session_id="SC-2703-02"))
    assert inline_data(details) == ["exs:SC270302"]  # the button became "stop reminders"
    (sub,) = puente.reminders.subscriptions(10)
    assert sub.language == "es"

    # The evening before the exam, 18:00 in Taipei: the job sends the reminder, once.
    puente.clock.now = datetime(2027, 3, 5, 10, 0, tzinfo=UTC)
    puente.run_reminder_job_now()
    messages = await puente.replies(10, 3)
    reminder = messages[2]["text"]
    assert reminder.startswith(t("es", "exams.remind.eve", session_id="SC-2703-02"))
    for fact in ("13:15", "14:00", "CC301", "pasaporte"):
        assert fact in reminder

    # An exam staff member sends a notice; the subscriber gets it, the staff member a report.
    await puente.sends(STAFF, "/notify SC-2703-02 Room changed to CC302.", language_code="en")
    queued, report = await puente.replies(STAFF, 2)
    assert queued["text"] == t("en", "exams.notify.queued", count=1, session_id="SC-2703-02")
    assert report["text"] == t(
        "en", "exams.notify.report", session_id="SC-2703-02", recipients=1, sent=1, failed=0,
        blocked=0, pending=0,
    )  # fmt: skip
    notice = (await puente.replies(10, 4))[3]["text"]
    assert notice == (
        t("es", "exams.notice.header", session_id="SC-2703-02", date="sábado 6 de marzo de 2027")
        + "\n\nRoom changed to CC302."
    )

    # Another run sends nothing again.
    puente.run_reminder_job_now()
    await puente.emulator.await_for(
        lambda: not puente.reminders.due() and puente.reminders.outbox.pending_count() == 0,
        what="nothing left to send",
    )
    assert len(await asyncio.to_thread(puente.emulator.bot_messages, 10)) == 4
    assert len(await asyncio.to_thread(puente.emulator.bot_messages, STAFF)) == 2


async def test_a_non_staff_notify_is_refused_in_the_persons_language(puente):
    await puente.sends(11, "/notify SC-2703-02 hola", language_code="es")
    (refused,) = await puente.replies(11, 1)
    assert refused["text"] == t("es", "exams.notify.refused")


async def test_exams_filter_buttons_edit_the_message(puente):
    await puente.sends(12, "/exams", language_code="en")
    (listing,) = await puente.replies(12, 1)
    await puente.presses(12, listing["message_id"], "exf:3:-")
    await puente.emulator.await_for(
        lambda: puente.emulator.bot_messages(12)[0]["text"].startswith(
            "Upcoming exam sessions (Level 3)"
        ),
        what="the list filtered by level 3",
    )
    (edited,) = await asyncio.to_thread(puente.emulator.bot_messages, 12)
    assert edited["text"].count("• ") == 3
