"""/exams, /exam, reminders and /notify, offline: the real Application and handlers, the real
`ExamReminders` over a SQLite file, an offline Bot API (tests/test_telegram_handlers.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from telegram.ext import CallbackContext
from telegram.request import RequestData

from bot.channels.telegram import build_application
from bot.channels.telegram import exams as tg_exams
from bot.escalation.roster import parse_roster
from bot.exams import ExamCalendar, format_session
from bot.exams.reminders import ExamReminders
from bot.i18n import t
from bot.services import Services
from bot.storage import Database
from tests.conftest import KNOWLEDGE
from tests.telegram_fakes import FakeAssistant, FakeUserStore
from tests.test_telegram_handlers import (
    OfflineBotApi,
    buttons,
    feed,
    make_settings,
    message,
    press,
    with_message_id,
)

CSV = KNOWLEDGE / "certification" / "exam-sessions.csv"
STAFF, COUNSELOR = 500, 501
ROSTER = f"""
desk: {{chat_id: -100123}}
people:
  - {{id: {STAFF}, name: Wang, languages: [zh-TW, en], roles: [exam_staff]}}
  - {{id: {COUNSELOR}, name: Lin, languages: [en], roles: [counselor, desk_admin]}}
"""
BLOCKED_CHAT = 66


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # 12:00 in Taipei

    def __call__(self) -> datetime:
        return self.now


class BotApi(OfflineBotApi):
    """The offline Bot API, where one person has blocked the bot (403 on sendMessage)."""

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        params = request_data.parameters if request_data else {}
        if url.endswith("/sendMessage") and int(params.get("chat_id", 0)) == BLOCKED_CHAT:
            self.calls.append(("sendMessage:blocked", params))
            body = {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
            return 403, json.dumps(body).encode()
        return await super().do_request(url, method, request_data, **kwargs)


@dataclass
class FakeChunk:
    text: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.metadata["source"]

    @property
    def section(self) -> str:
        return self.metadata.get("section", "")


@dataclass
class FakeHit:
    chunk: FakeChunk
    score: float = 1.0


class FakeRetriever:
    """Returns a rules passage first and a venue-guide passage second, whatever is asked."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, str | None]] = []

    def search(self, query: str, *, k: int = 8, language: str | None = None) -> list[FakeHit]:
        self.queries.append((query, language))
        return [
            FakeHit(FakeChunk("Bring your ID.", {"source": "certification/rules.en.md"})),
            FakeHit(
                FakeChunk(
                    "Computer Center Building: about 3 minutes on foot from the main gate (Gate 1).",
                    {
                        "source": "certification/venue-guide.en.md",
                        "section": "Exam buildings and rooms",
                    },
                )
            ),
        ]


@pytest.fixture
def api():
    offline = BotApi()
    yield offline
    assert not offline.unexpected, f"unexpected Bot API calls: {offline.unexpected}"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def reminders(tmp_path, clock):
    db = Database(f"sqlite:///{tmp_path / 'puente.db'}")
    db.migrate()
    calendar = ExamCalendar.load(
        CSV, as_of=date(2026, 10, 15), source="certification/exam-sessions.csv"
    )
    service = ExamReminders(db, calendar, clock=clock, roster=parse_roster(ROSTER))
    yield service
    db.close()


@pytest.fixture
def assistant():
    fake = FakeAssistant()
    fake.retriever = FakeRetriever()
    return fake


@pytest.fixture
async def app(api, assistant, reminders):
    settings = make_settings()
    services = Services(
        settings=settings, assistant=assistant, users=FakeUserStore(), exams=reminders
    )
    application = build_application(settings, services, request=api, get_updates_request=api)
    await application.initialize()
    api.calls.clear()
    yield application
    await application.shutdown()


def last(api: OfflineBotApi, method: str = "sendMessage") -> dict:
    return api.sent(method)[-1]


def sent_with_id(api: OfflineBotApi) -> dict:
    return with_message_id(api, last(api))


async def run_job(app) -> None:
    """One run of the reminder job, as the JobQueue would run it."""
    await tg_exams.reminder_job(CallbackContext(app))


# --- /exams -------------------------------------------------------------------------------------


async def test_exams_lists_upcoming_sessions_and_filters_by_level_and_language(app, api):
    await feed(app, message("/exams"))
    listing = sent_with_id(api)
    assert listing["text"].startswith("Upcoming exam sessions (calendar as of October 15, 2026):")
    assert "• SC-2612-01 (Level 1) — Saturday, December 5, 2026" in listing["text"]
    assert "…and 10 more session(s)." in listing["text"]  # 18 sessions, 8 shown
    assert buttons(listing) == [
        "exf:0:-", "exf:1:-", "exf:2:-", "exf:3:-", "exf:0:-", "exf:0:zh-TW", "exf:0:en",
    ]  # fmt: skip

    await feed(app, press("exf:2:-", on=listing))
    edit = last(api, "editMessageText")
    assert edit["text"].startswith("Upcoming exam sessions (Level 2) (calendar as of")
    ids = [line.split()[1] for line in edit["text"].splitlines() if line.startswith("• ")]
    assert ids == ["SC-2612-03", "SC-2702-01", "SC-2703-03", "SC-2704-03", "SC-2705-02",
                   "SC-2706-03"]  # fmt: skip
    keyboard = edit["reply_markup"]["inline_keyboard"]
    assert keyboard[0][2]["text"] == "✓ Level 2"

    await feed(app, press("exf:2:en", on={**listing, **edit}))
    edit = last(api, "editMessageText")
    assert "(Level 2, held in English)" in edit["text"]
    assert [line.split()[1] for line in edit["text"].splitlines() if line.startswith("• ")] == [
        "SC-2704-03"
    ]
    assert api.sent("answerCallbackQuery")


async def test_exams_with_a_level_argument_in_chinese(app, api):
    await feed(app, message("/exams 3", language_code="zh-hant"))
    text = last(api)["text"]
    assert text.startswith("近期考試場次（第 3 級）")
    assert text.count("• ") == 3 and "AI501" in text


# --- /exam and reminders -----------------------------------------------------------------------


async def test_exam_shows_one_session_in_full_with_directions_and_what_to_bring(
    app, api, reminders
):
    await feed(app, message("/exam sc-2703-02"))
    sent = last(api)
    session = reminders.session("SC-2703-02")
    assert sent["text"].startswith(format_session(session, "en"))
    assert (
        "Getting there (from certification/venue-guide.en.md › Exam buildings and rooms):"
        in (sent["text"])
    )
    assert "3 minutes on foot from the main gate" in sent["text"]
    assert sent["text"].endswith(t("en", "exams.bring"))
    assert buttons(sent) == ["exr:SC270302"]


async def test_exam_without_an_id_or_with_an_unknown_one(app, api):
    await feed(app, message("/exam"))
    await feed(app, message("/exam SC-9999-01", language_code="es"))
    assert api.texts() == [
        t("en", "exams.ui.exam_usage", example="SC-2703-02"),
        t("es", "exams.unknown_id", ids="SC-9999-01", as_of="15 de octubre de 2026"),
    ]


async def test_remind_me_subscribes_and_reminders_lists_and_cancels(app, api, reminders):
    await feed(app, message("/exam SC-2703-02", chat_id=42, language_code="es"))
    await feed(app, press("exr:SC270302", on=sent_with_id(api), language_code="es"))

    (sub,) = reminders.subscriptions(42)
    assert (sub.session_id, sub.chat_id, sub.language) == ("SC-2703-02", 42, "es")
    assert buttons(last(api, "editMessageReplyMarkup")) == ["exs:SC270302"]
    assert api.texts()[-1] == "\n".join([
        t("es", "exams.ui.subscribed", session_id="SC-2703-02"),
        t("es", "exams.ui.when_deadline", when="miércoles 10 de febrero de 2027, 09:00"),
        t("es", "exams.ui.when_eve", when="viernes 5 de marzo de 2027, 18:00"),
        t("es", "exams.ui.also_changes"),
    ])  # fmt: skip

    await feed(app, message("/exam SC-2612-03", chat_id=42, language_code="es"))
    await feed(app, press("exr:SC261203", on=sent_with_id(api), language_code="es"))
    await feed(app, message("/reminders", chat_id=42, language_code="es"))
    listing = sent_with_id(api)
    assert listing["text"].startswith(t("es", "exams.ui.reminders_header"))
    assert buttons(listing) == ["exc:SC261203:42", "exc:SC270302:42"]  # soonest first

    # In a group, someone else's press on the list does nothing.
    await feed(app, press("exc:SC261203:42", on=listing, user_id=77))
    assert len(reminders.subscriptions(42)) == 2

    await feed(app, press("exc:SC261203:42", on=listing, language_code="es"))
    assert [s.session_id for s in reminders.subscriptions(42)] == ["SC-2703-02"]
    assert buttons(last(api, "editMessageText")) == ["exc:SC270302:42"]
    await feed(app, press("exc:SC270302:42", on=listing, language_code="es"))
    assert last(api, "editMessageText")["text"] == t(
        "es", "exams.ui.reminders_none", example="SC-2703-02"
    )
    assert reminders.subscriptions(42) == []


async def test_stop_button_under_exam_unsubscribes(app, api, reminders):
    reminders.subscribe(43, 43, "SC-2703-02", "en")
    await feed(app, message("/exam SC-2703-02", chat_id=43))
    shown = sent_with_id(api)
    assert buttons(shown) == ["exs:SC270302"]
    await feed(app, press("exs:SC270302", on=shown))
    assert reminders.subscriptions(43) == []
    assert buttons(last(api, "editMessageReplyMarkup")) == ["exr:SC270302"]


async def test_the_job_sends_a_due_reminder_once(app, api, reminders, clock):
    reminders.subscribe(44, 44, "SC-2612-03", "zh-TW")
    await run_job(app)
    assert api.texts(44) == []  # not due yet
    clock.now = datetime(2026, 12, 18, 10, 0, tzinfo=UTC)  # 18:00 in Taipei, the day before
    await run_job(app)
    await run_job(app)
    (text,) = api.texts(44)
    assert text.startswith(t("zh-TW", "exams.remind.eve", session_id="SC-2612-03"))
    assert "08:45" in text and "CC302" in text


# --- /notify ------------------------------------------------------------------------------------


async def test_notify_is_refused_to_anyone_but_exam_staff(app, api, reminders):
    reminders.subscribe(45, 45, "SC-2703-02", "en")
    await feed(
        app, message("/notify SC-2703-02 Room changed", chat_id=COUNSELOR, language_code="es")
    )
    await feed(app, message("/notify SC-2703-02 Room changed", chat_id=46, language_code="zh-hant"))
    assert api.texts() == [t("es", "exams.notify.refused"), t("zh-TW", "exams.notify.refused")]
    await run_job(app)
    assert api.texts(45) == []


async def test_notify_by_staff_reaches_subscribers_and_reports_delivery(app, api, reminders):
    for chat, lang in ((51, "en"), (52, "es"), (BLOCKED_CHAT, "zh-TW")):
        reminders.subscribe(chat, chat, "SC-2703-02", lang)

    await feed(
        app, message("/notify SC-2703-02\nRoom changed to CC302.\nSame time.", chat_id=STAFF)
    )
    assert api.texts(STAFF) == [t("en", "exams.notify.queued", count=3, session_id="SC-2703-02")]

    await run_job(app)  # the JobQueue would run it at once (run_once) and every 30 s
    assert api.texts(51) == [
        t("en", "exams.notice.header", session_id="SC-2703-02", date="Saturday, March 6, 2027")
        + "\n\nRoom changed to CC302.\nSame time."
    ]
    assert api.texts(52)[0].startswith(
        t("es", "exams.notice.header", session_id="SC-2703-02", date="sábado 6 de marzo de 2027")
    )
    assert api.sent("sendMessage:blocked")
    assert api.texts(STAFF)[-1] == t(
        "en", "exams.notify.report", session_id="SC-2703-02", recipients=3, sent=2, failed=0,
        blocked=1, pending=0,
    )  # fmt: skip
    await run_job(app)
    assert len(api.texts(STAFF)) == 2  # the report is sent once


async def test_notify_usage_unknown_session_and_nobody_subscribed(app, api):
    await feed(app, message("/notify", chat_id=STAFF))
    await feed(app, message("/notify SC-9999-01 hello", chat_id=STAFF))
    await feed(app, message("/notify SC-2706-03 hello", chat_id=STAFF))
    assert api.texts(STAFF) == [
        t("en", "exams.notify.usage", example="SC-2703-02"),
        t("en", "exams.unknown_id", ids="SC-9999-01", as_of="October 15, 2026"),
        t("en", "exams.notify.nobody", session_id="SC-2706-03"),
    ]


async def test_without_a_reminder_service_exam_has_no_button_and_reminders_says_so(api, assistant):
    settings = make_settings()
    services = Services(settings=settings, assistant=assistant, users=FakeUserStore())
    application = build_application(settings, services, request=api, get_updates_request=api)
    await application.initialize()
    try:
        await feed(application, message("/exam SC-2703-02"))
        assert buttons(last(api)) == []
        await feed(application, message("/reminders"))
        assert api.texts()[-1] == t("en", "exams.ui.unavailable")
    finally:
        await application.shutdown()
