"""The learning loop end to end: Puente's real Application with the real assistant over a copy of
the real index, long polling the local Bot API emulator.

Two trainees ask a counselor the same question, one in Spanish and one in English. The mentor
answers and resolves both cases, and saves each answer as an FAQ (the second joins the first as
its English version). A desk admin who reads Chinese approves it. A third trainee's question, in
other words, is then answered from it with its citation, without restarting the bot; before the
approval the same question was not answered."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import pytest

from bot.assistant import Assistant
from bot.channels.telegram import build_application
from bot.config import Settings
from bot.i18n import t
from bot.wiring import build_services
from tests.e2e.conftest import start_application, stop_application
from tests.e2e.emulator import BotApiEmulator

pytestmark = pytest.mark.e2e

SOFIA, JOHN, NEWCOMER = 4301, 4302, 4303
MENTOR, ADMIN = 100000003, 100000009
DESK_CHAT = -1001000000001
ROSTER = f"""
timezone: Asia/Taipei
desk: {{chat_id: {DESK_CHAT}, language: en}}
backup: {ADMIN}
people:
  - {{id: {MENTOR}, name: "Dr. Chen Wei", languages: [en, es], topics: [housing], roles: [mentor], on_duty: true}}
  - {{id: {ADMIN}, name: "Kao Ya-ting", languages: [zh-TW], roles: [counselor, desk_admin], on_duty: true}}
mentors:
  {SOFIA}: {MENTOR}
  {JOHN}: {MENTOR}
"""
ANSWER_ES = (
    "No, las bicis no se permiten dentro de los cuartos. Se estacionan en el área techada junto "
    "a la entrada B del dormitorio, con candado propio; regístrala en la recepción con tu ARC "
    "(NT$100 al año)."
)
ANSWER_EN = (
    "No, bikes are not allowed inside the rooms. Park it in the covered bike area next to dorm "
    "entrance B with your own lock, and register it at the front desk with your ARC (NT$100 a year)."
)
ANSWER_ZH = "不行，房間裡不能放腳踏車。請停在宿舍 B 入口旁有屋頂的停車區並自備鎖，再帶居留證到櫃台登記（每年 NT$100）。"
THIRD_PHRASING = "where am I supposed to leave my bicycle at the dorm? can it stay in my room?"


@pytest.fixture
async def bot(emulator: BotApiEmulator, real_settings, tmp_path) -> AsyncIterator[dict]:
    knowledge, data = tmp_path / "knowledge", tmp_path / "data"
    await asyncio.to_thread(shutil.copytree, real_settings.knowledge_dir, knowledge)
    await asyncio.to_thread(shutil.copytree, real_settings.data_dir, data,
                            ignore=shutil.ignore_patterns("*.db", "*.db-*"))  # fmt: skip
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER, encoding="utf-8")
    settings = Settings(
        _env_file=None, telegram_bot_token=emulator.token, telegram_api_url=emulator.url,
        data_dir=data, knowledge_dir=knowledge, database_url=f"sqlite:///{tmp_path / 'puente.db'}",
        roster_file=roster,
    )  # fmt: skip
    for person in (MENTOR, ADMIN):
        emulator.create_chat(person, first_name="Staff")
    emulator.create_chat(DESK_CHAT, chat_type="supergroup", title="STUST desk")
    assistant = await asyncio.to_thread(Assistant.from_settings, settings)
    services = await asyncio.to_thread(build_services, settings, assistant)
    app = await start_application(build_application(settings, services))
    try:
        yield {"emulator": emulator, "app": app, "knowledge": knowledge}
    finally:
        await stop_application(app)


async def sends(emulator, user: int, text: str, **kwargs) -> dict:
    return await asyncio.to_thread(emulator.user_sends, user, text, user_id=user, **kwargs)


async def presses(emulator, chat_id: int, message_id: int, data: str, user: int) -> None:
    await asyncio.to_thread(emulator.user_presses, chat_id, message_id, data, user_id=user)


async def message_with(emulator, chat_id: int, *texts: str, after: int = 0) -> dict:
    def find():
        messages = emulator.bot_messages(chat_id)[after:]
        return next((m for m in messages if all(x in m.get("text", "") for x in texts)), None)

    try:
        return await emulator.await_for(find, timeout=60, what=f"{texts!r} in chat {chat_id}")
    except AssertionError:
        for chat in (SOFIA, JOHN, NEWCOMER, MENTOR, ADMIN, DESK_CHAT):
            print("CHAT", chat, [m.get("text", "")[:150] for m in emulator.bot_messages(chat)])
        raise


async def counselor_answers_and_saves(emulator, trainee: int, name: str, lang: str, question: str,
                                      answer: str) -> tuple[int, dict]:  # fmt: skip
    """The trainee asks for a person; the mentor answers on the card, resolves, presses Save as
    FAQ and submits the draft. Returns the draft's FAQ number and the draft message."""
    seen = len(emulator.bot_messages(DESK_CHAT))
    await sends(emulator, trainee, f"/human {question}", first_name=name, language_code=lang)
    card = await message_with(emulator, DESK_CHAT, question[:30], after=seen)  # no topic: the desk
    case_id = int(card["text"].split("#", 1)[1].split()[0])
    await asyncio.to_thread(
        emulator.user_sends, DESK_CHAT, answer, user_id=MENTOR, first_name="Chen",
        chat_type="supergroup", reply_to_message_id=card["message_id"],
    )  # fmt: skip
    await message_with(emulator, trainee, answer[:40])
    await sends(emulator, MENTOR, f"/resolve {case_id}")
    await message_with(emulator, MENTOR, t("en", "desk.resolved_counselor", case_id=case_id))

    def offered():
        for m in emulator.bot_messages(DESK_CHAT):
            rows = (m.get("reply_markup") or {}).get("inline_keyboard") or []
            if any(b.get("callback_data") == f"faq:draft:{case_id}" for row in rows for b in row):
                return m
        return None

    card = await emulator.await_for(offered, what="Save as FAQ on the resolved card")
    seen = len(emulator.bot_messages(MENTOR))
    await presses(emulator, DESK_CHAT, card["message_id"], f"faq:draft:{case_id}", MENTOR)
    draft = await message_with(emulator, MENTOR, "FAQ #", f"case #{case_id}", after=seen)
    number = int(draft["text"].split("FAQ #", 1)[1].split()[0])
    return number, draft


async def test_a_counselors_answer_becomes_an_faq_that_answers_the_next_trainee(bot) -> None:
    emulator = bot["emulator"]

    # Before: the documents do not answer it.
    await sends(emulator, NEWCOMER, THIRD_PHRASING, first_name="Lupe", language_code="en")
    before = await message_with(emulator, NEWCOMER, "")
    assert "entrance B" not in before["text"]

    # Case 1, in Spanish, with personal details the draft must not keep.
    first, draft = await counselor_answers_and_saves(
        emulator, SOFIA, "Sofía", "es",
        "¿Puedo guardar mi bici dentro del cuarto del dormitorio? Soy Sofía, mi cel es 0912-345-678",
        ANSWER_ES,
    )  # fmt: skip
    assert "0912-345-678" not in draft["text"] and "Sofía" not in draft["text"]
    assert "entrada B" in draft["text"]
    seen_admin = len(emulator.bot_messages(ADMIN))
    await presses(emulator, MENTOR, draft["message_id"], f"faq:submit:{first}", MENTOR)
    await message_with(emulator, MENTOR, t("en", "faq.submitted", candidate_id=first))
    await message_with(emulator, ADMIN, f"常見問題 #{first}", after=seen_admin)

    # Case 2: the same question in English joins FAQ #1 as its English version.
    second, draft = await counselor_answers_and_saves(
        emulator, JOHN, "John", "en", "Can I keep my bike in my dorm room?", ANSWER_EN,
    )  # fmt: skip
    assert second != first
    seen_admin = len(emulator.bot_messages(ADMIN))
    await presses(emulator, MENTOR, draft["message_id"], f"faq:submit:{second}", MENTOR)
    await message_with(emulator, MENTOR, t("en", "faq.merged", candidate_id=first, languages="es, en"))
    review = await message_with(emulator, ADMIN, f"常見問題 #{first}", "[es]", "[en]", after=seen_admin)

    # The Chinese-speaking admin adds the Chinese version by replying to the card, then
    # approves the card that shows it (the older card's buttons are stale by now).
    seen_admin = len(emulator.bot_messages(ADMIN))
    await sends(emulator, ADMIN, f"zh-TW: 宿舍房間裡可以放腳踏車嗎？\n{ANSWER_ZH}",
                reply_to_message_id=review["message_id"])  # fmt: skip
    await message_with(emulator, ADMIN, f"常見問題 #{first} 已更新", after=seen_admin)
    review = await message_with(emulator, ADMIN, f"常見問題 #{first}", "[zh-TW]", after=seen_admin)
    await presses(emulator, ADMIN, review["message_id"], button(review, "faq:approve"), ADMIN)
    approved = await message_with(emulator, ADMIN, f"常見問題 #{first} 已核准")
    learned = sorted(p.name for p in (bot["knowledge"] / "learned").glob("*.md"))
    assert learned == [f"faq-{first:04d}.{x}.md" for x in ("en", "es", "zh-TW")]

    # A new trainee, other words, same running bot: answered from it, with its citation.
    seen = len(emulator.bot_messages(NEWCOMER))
    await sends(emulator, NEWCOMER, THIRD_PHRASING, first_name="Lupe", language_code="en")
    reply = await message_with(emulator, NEWCOMER, "entrance B", after=seen)
    assert "Answered by the counselling desk, approved on" in reply["text"]
    assert "NT$100" in reply["text"]

    # Withdrawn, it answers nobody any more: the index forgot it before the admin was told.
    await presses(emulator, ADMIN, approved["message_id"], f"faq:withdraw:{first}", ADMIN)
    await message_with(emulator, ADMIN, f"常見問題 #{first} 已撤下")
    assert not list((bot["knowledge"] / "learned").glob("*.md"))
    seen = len(emulator.bot_messages(NEWCOMER))
    await sends(emulator, NEWCOMER, THIRD_PHRASING, first_name="Lupe", language_code="en")
    again = await message_with(emulator, NEWCOMER, "", after=seen)
    assert "entrance B" not in again["text"] and "counselling desk" not in again["text"]


def button(message: dict, prefix: str) -> str:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return next(b["callback_data"] for row in rows for b in row if b["callback_data"].startswith(prefix))
