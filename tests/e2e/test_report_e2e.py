"""The weekly picture end to end: Puente's real Application (real desk, SQLite) long polling the
local Bot API emulator runs its weekly job; the desk group receives one photo with the summary
and two buttons, a roster person's press gets the gap list. Only the assistant is a fake."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.channels.telegram import build_application
from bot.channels.telegram.report_job import FAQ, GAPS, JOB_NAME
from bot.config import Settings
from bot.i18n import t
from bot.learning.questions import QuestionLog
from bot.services import Services
from bot.storage import Database, UserStore
from bot.storage.types import utcnow
from bot.wiring import build_desk
from tests.e2e.conftest import start_application, stop_application
from tests.e2e.emulator import inline_data
from tests.telegram_fakes import FakeAssistant, desk_roster

pytestmark = pytest.mark.e2e

COUNSELOR, MENTOR, ADMIN, OUTSIDER = 100000001, 100000003, 100000009, 100000077
DESK_CHAT, DESK_THREAD = -1001000000001, 2
ROSTER = desk_roster(
    trainee=4242, counselor=COUNSELOR, mentor=MENTOR, admin=ADMIN, desk_chat=DESK_CHAT,
    desk_thread=DESK_THREAD, counselor_name="Lin Mei-hua", counselor_languages="zh-TW, en",
)


@pytest.fixture
async def puente(emulator, tmp_path):
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER, encoding="utf-8")
    settings = Settings(
        _env_file=None, telegram_bot_token=emulator.token, telegram_api_url=emulator.url,
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'puente.db'}",
        roster_file=roster, PUENTE_REPORT_LANGUAGE="en",
    )  # fmt: skip
    for person in (MENTOR, COUNSELOR, ADMIN):
        emulator.create_chat(person, first_name="Staff")
    emulator.create_chat(DESK_CHAT, chat_type="supergroup", title="STUST desk")
    db = Database(settings.resolved_database_url)
    db.migrate()
    # Yesterday's questions: inside the 7 days before today, whatever today is.
    log = QuestionLog(db)
    yesterday = utcnow() - timedelta(days=1)
    for outcome, text in (("answered", None), ("answered", None), ("declined", "Is there a gym?"),
                          ("declined", "is there a GYM?"), ("declined", "Where is the pool?")):  # fmt: skip
        log.add(user_id=7, language="en", audience="trainee", outcome=outcome, question=text,
                at=yesterday)  # fmt: skip
    services = Services(settings=settings, assistant=FakeAssistant(), users=UserStore(db),
                        desk=build_desk(settings, db))  # fmt: skip
    app = await start_application(build_application(settings, services))
    try:
        yield app
    finally:
        await stop_application(app)
        db.close()


async def test_the_desk_group_gets_the_weekly_picture_once_with_its_buttons(puente, emulator):
    (job,) = puente.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(puente)  # what the JobQueue does on Monday at 08:30

    def photo():
        return next((m for m in emulator.bot_messages(DESK_CHAT) if "photo" in m), None)

    sent = await emulator.await_for(photo, what="the weekly picture in the desk group")
    assert sent["caption"].startswith("📊 Puente, ")
    assert "Questions: 5 (2 answered, 3 declined, 0 escalated)" in sent["caption"]
    assert "• 2× Is there a gym?" in sent["caption"]
    assert inline_data(sent) == [GAPS, FAQ]
    assert sent.get("message_thread_id") == DESK_THREAD

    # Another replica's job (or a second run) sends nothing.
    await job.run(puente)
    await asyncio.sleep(0.3)
    assert len(emulator.calls("sendPhoto")) == 1

    # Someone not on the roster is refused; a counselor gets the gap list in the group.
    await asyncio.to_thread(emulator.user_presses, DESK_CHAT, sent["message_id"], GAPS,
                            user_id=OUTSIDER)  # fmt: skip
    await asyncio.to_thread(emulator.user_presses, DESK_CHAT, sent["message_id"], GAPS,
                            user_id=COUNSELOR)  # fmt: skip
    heading = t("en", "report.gaps_heading")

    def gap_list():
        texts = [m.get("text", "") for m in emulator.bot_messages(DESK_CHAT)]
        return next((text for text in texts if text.startswith(heading)), None)

    gaps = await emulator.await_for(gap_list, what="the gap list")
    assert gaps.splitlines()[1:] == ["• 2× Is there a gym?", "• 1× Where is the pool?"]
    answers = [c["params"] for c in emulator.calls("answerCallbackQuery")]
    assert any(a.get("text") == t("en", "report.not_allowed") for a in answers)
