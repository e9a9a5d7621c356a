"""Puente's real Application, long polling a local Bot API emulator, driven as people would.

The Application is the one `build_application` returns (rate limiter, ordered processor,
handlers); only the services are fakes (tests/telegram_fakes.py). Every wait is on a condition.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from telegram.ext import Application

from bot.channels.telegram import build_application
from bot.config import Settings
from bot.i18n import t
from bot.services import Services
from tests.e2e.conftest import start_application, stop_application
from tests.e2e.emulator import BotApiEmulator, inline_data
from tests.telegram_fakes import FakeAssistant, FakeUserStore

pytestmark = pytest.mark.e2e

PHOTO = [{"file_id": "ph1", "file_unique_id": "u1", "width": 90, "height": 90}]
VOICE = {"file_id": "vo1", "file_unique_id": "u2", "duration": 2, "mime_type": "audio/ogg"}


@dataclass
class Puente:
    app: Application
    assistant: FakeAssistant
    users: FakeUserStore
    emulator: BotApiEmulator

    async def sends(self, chat_id: int, text: str | None = None, **kwargs) -> dict:
        return await asyncio.to_thread(self.emulator.user_sends, chat_id, text, **kwargs)

    async def presses(self, chat_id: int, message_id: int, data: str, **kwargs) -> str:
        return await asyncio.to_thread(
            self.emulator.user_presses, chat_id, message_id, data, **kwargs
        )

    async def replies(self, chat_id: int, count: int) -> list[dict]:
        return await self.emulator.await_bot_messages(chat_id, count)


@pytest.fixture
async def puente(emulator: BotApiEmulator) -> AsyncIterator[Puente]:
    """Started as `Application.run_polling` starts it: initialize, post_init, polling, start."""
    settings = Settings(
        _env_file=None, telegram_bot_token=emulator.token, telegram_api_url=emulator.url
    )
    assistant, users = FakeAssistant(), FakeUserStore()
    services = Services(settings=settings, assistant=assistant, users=users)
    app = await start_application(build_application(settings, services))
    try:
        yield Puente(app, assistant, users, emulator)
    finally:
        await stop_application(app)


async def test_start_shows_the_welcome_and_the_language_picker_sets_the_language(puente):
    await puente.sends(10, "/start", language_code="es")
    (welcome,) = await puente.replies(10, 1)
    assert welcome["text"].startswith(t("es", "telegram.welcome", name="Ana"))
    assert inline_data(welcome) == ["lang:es", "lang:en", "lang:zh-TW"]

    await puente.presses(10, welcome["message_id"], "lang:zh-TW")
    welcome, confirmation = await puente.replies(10, 2)
    assert confirmation["text"].startswith(t("zh-TW", "telegram.language_set"))
    assert "reply_markup" not in welcome  # the picker is gone
    assert puente.users.languages == {10: "zh-TW"}

    await puente.sends(10, "Where is the library?")
    await puente.replies(10, 3)
    assert puente.assistant.calls == [("Where is the library?", "zh-TW", 10)]

    menus = {c["params"].get("language_code") for c in puente.emulator.calls("setMyCommands")}
    assert menus == {None, "en", "es", "zh"}


@pytest.mark.parametrize(
    ("question", "sources_label"),
    [
        ("¿Dónde está la biblioteca?", "Fuentes:"),
        ("Where is the library?", "Sources:"),
        ("圖書館在哪裡？", "出處："),
    ],
)
async def test_a_question_in_each_language_is_answered_with_its_source(
    puente, question, sources_label
):
    await puente.sends(20, question)
    (answer,) = await puente.replies(20, 1)
    expected = f"ANSWER: {question}\n\n{sources_label}\n• Trainee Handbook › Housing"
    assert answer["text"] == expected
    assert answer["entities"][0]["type"] == "bold"  # "Sources:", parsed from the HTML
    assert inline_data(answer) == ["fb:+", "fb:-"]
    # A fast answer needs no "typing…" (tests/test_telegram_handlers.py covers a slow one).


async def test_thumbs_up_and_thumbs_down(puente):
    await puente.sends(30, "Where can I print?")
    (first,) = await puente.replies(30, 1)
    await puente.presses(30, first["message_id"], "fb:+")
    await puente.emulator.await_for(lambda: puente.users.feedback, what="the 👍 to be stored")
    await puente.emulator.await_for(
        lambda: "reply_markup" not in puente.emulator.bot_messages(30)[0], what="buttons removed"
    )

    await puente.sends(30, "Can I cook?")
    messages = await puente.replies(30, 2)
    await puente.presses(30, messages[1]["message_id"], "fb:-")
    messages = await puente.replies(30, 3)
    assert messages[2]["text"] == t("en", "telegram.feedback.sorry")
    assert inline_data(messages[2]) == ["human"]

    assert [(f.question, f.rating) for f in puente.users.feedback] == [
        ("Where can I print?", 1),
        ("Can I cook?", -1),
    ]
    answers = [q["_answer"] for q in puente.emulator.callback_queries()]
    assert [a["text"] for a in answers] == [t("en", "telegram.feedback.thanks")] * 2


async def test_photo_and_voice_get_a_text_only_reply(puente):
    await puente.sends(40, photo=PHOTO, language_code="es")
    await puente.replies(40, 1)
    await puente.sends(40, voice=VOICE, language_code="es")
    replies = await puente.replies(40, 2)
    assert [m["text"] for m in replies] == [
        t("es", "telegram.text_only"),
        t("es", "telegram.voice"),
    ]
    assert puente.assistant.calls == []


async def test_two_people_in_two_chats_get_only_their_own_answers_in_order(puente):
    slow = threading.Event()
    puente.assistant.gates["Ana 1"] = slow
    for chat_id, name in ((51, "Ana"), (52, "Luis")):
        for n in (1, 2):
            await puente.sends(chat_id, f"{name} {n}", first_name=name)

    luis = await puente.replies(52, 2)  # Luis is answered while Ana's first answer is slow
    assert puente.emulator.bot_messages(51) == []
    slow.set()
    ana = await puente.replies(51, 2)

    assert [m["text"].split("\n")[0] for m in ana] == ["ANSWER: Ana 1", "ANSWER: Ana 2"]
    assert [m["text"].split("\n")[0] for m in luis] == ["ANSWER: Luis 1", "ANSWER: Luis 2"]


async def test_in_a_group_only_messages_for_the_bot_are_answered(puente):
    group = dict(chat_type="supergroup", chat_title="Cohort 2026")
    # Delivered as if privacy mode were off, so the bot itself must ignore it.
    await puente.sends(
        -600, "anyone going to the night market?", user_id=61, deliver=True, **group
    )
    await puente.sends(-600, "@puente_test_bot where can I print?", user_id=61, **group)

    (answer,) = await puente.replies(-600, 1)
    assert answer["text"].startswith("ANSWER: where can I print?")
    assert [call[0] for call in puente.assistant.calls] == ["where can I print?"]

    await puente.sends(
        -600, "and on Sunday?", user_id=62, reply_to_message_id=answer["message_id"], **group
    )
    replies = await puente.replies(-600, 2)
    assert replies[1]["text"].startswith("ANSWER: and on Sunday?")


async def test_telegram_flood_control_is_waited_out(puente):
    """A 429 with retry_after: AIORateLimiter waits it out and retries; the person is answered."""
    puente.emulator.fail("sendMessage", status=429, retry_after=1)
    await puente.sends(70, "Where can I print?")
    (answer,) = await puente.replies(70, 1)
    assert answer["text"].startswith("ANSWER: Where can I print?")
    statuses = [c["status"] for c in puente.emulator.calls("sendMessage")]
    assert statuses == [429, 200]
