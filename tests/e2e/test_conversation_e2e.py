"""Conversations and /practice through Telegram: the real Application and the real assistant,
long polling the local Bot API emulator. Every wait is on a condition."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from bot.i18n import t
from tests.e2e.emulator import inline_data
from tests.e2e.live import TRAINEE, LiveBot, desk_settings, staff_chats

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
async def bot(emulator, tmp_path, assistant):
    staff_chats(emulator)
    emulator.create_chat(TRAINEE, first_name="Ana")
    live = LiveBot(emulator, desk_settings(emulator, tmp_path, PUENTE_RATE_LIMIT_MESSAGES=100), assistant)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def ask(bot: LiveBot, emulator, text: str) -> str:
    """Send a message and return Puente's reply to it."""
    before = len(emulator.bot_messages(TRAINEE))
    await bot.sends(TRAINEE, text, first_name="Ana")
    replies = await emulator.await_bot_messages(TRAINEE, before + 1, timeout=60)
    return replies[before]["text"]


async def test_a_three_turn_conversation(bot, emulator):
    await ask(bot, emulator, "Level 2 exams in English?")
    room = await ask(bot, emulator, "which room?")
    assert "CC302" in room and "SC-2704-03" in room
    level_one = await ask(bot, emulator, "and the Level 1 ones?")
    assert "SC-2612-02" in level_one and "SC-2703-02" in level_one  # Level 1, still in English
    assert level_one.startswith("About “Level 2 exams in English?”")  # what it was read with
    assert "SC-2612-01" not in level_one and "SC-2704-03" not in level_one


async def test_a_restart_between_turns_keeps_the_context(bot, emulator):
    await ask(bot, emulator, "¿cómo se dice gracias en chino?")
    await bot.stop()
    await bot.start()  # a new Application and services over the same database
    reply = await ask(bot, emulator, "y en zhuyin?")
    assert reply.startswith("謝謝\nZhuyin: ㄒㄧㄝˋ ˙ㄒㄧㄝ")


async def test_forget_clears_the_conversation(bot, emulator):
    await ask(bot, emulator, "Level 2 exams in English?")
    await bot.sends(TRAINEE, "/forget", first_name="Ana")
    prompt = await bot.message_with(TRAINEE, t("en", "telegram.forget.ask"))
    await bot.presses(TRAINEE, prompt["message_id"], f"forget:yes:{TRAINEE}", TRAINEE)
    await bot.message_with(TRAINEE, t("en", "telegram.forget.done").split("{")[0][:20])
    reply = await ask(bot, emulator, "which room?")
    assert "CC302" not in reply  # asked alone, it is not a calendar question any more
    assert reply.startswith(t("en", "answers.not_covered")[:30])


def practice_cards(bot: LiveBot) -> list[tuple]:
    conn = sqlite3.connect(f"file:{bot.db_path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT user_id, entry_key, reviews, due FROM practice_cards").fetchall()
    finally:
        conn.close()


async def test_a_practice_round_schedules_reviews(bot, emulator):
    await bot.sends(TRAINEE, "/practice", first_name="Ana")
    question = (await emulator.await_bot_messages(TRAINEE, 1, timeout=30))[-1]
    assert "你好" in question["text"] and "1/5" in question["text"]
    buttons = inline_data(question)
    assert len(buttons) == 4
    # The right answer is the button whose picked word is the asked word.
    right = next(b for b in buttons if b.split(":")[5] == b.split(":")[6])
    await bot.presses(TRAINEE, question["message_id"], right, TRAINEE)
    second = (await emulator.await_bot_messages(TRAINEE, 2, timeout=30))[-1]
    assert "2/5" in second["text"]
    edited = next(m for m in emulator.bot_messages(TRAINEE) if m["message_id"] == question["message_id"])
    assert "✅" in edited["text"] and inline_data(edited) == []  # the buttons are gone

    ((user, key, reviews, due),) = practice_cards(bot)
    assert (user, key, reviews) == (TRAINEE, "chinese/lesson-01.md#你好", 1)
    assert datetime.fromisoformat(due).replace(tzinfo=timezone.utc) > datetime.now(timezone.utc)

    wrong = next(b for b in inline_data(second) if b.split(":")[5] != b.split(":")[6])
    await bot.presses(TRAINEE, second["message_id"], wrong, TRAINEE)
    await emulator.await_bot_messages(TRAINEE, 3, timeout=30)
    reviews = sorted(r[2] for r in practice_cards(bot))
    assert reviews == [1, 1]
    missed = next(m for m in emulator.bot_messages(TRAINEE) if m["message_id"] == second["message_id"])
    assert "❌" in missed["text"]
