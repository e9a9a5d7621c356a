"""Faults end to end: the Bot API failing (5xx, timeouts, 429 for a while), the bot killed
mid-escalation and restarted, the case database locked. The bot recovers by itself; no reply
and no relayed message is lost or sent twice (counted in the emulator)."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter

import pytest

from bot.i18n import t
from bot.records import AnswerRecord
from tests.e2e.live import (
    ADMIN,
    COUNSELOR,
    DESK_CHAT,
    TRAINEE,
    BotProcess,
    LiveBot,
    desk_settings,
    entrypoint_env,
    faults_left,
    outbox_rows,
    staff_chats,
)
from tests.telegram_fakes import FakeAssistant

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 1.0  # the bot's Bot API read timeout in these tests
THESIS = "I need to talk to my mentor about my thesis"

# The Bot API misbehaving, as the emulator plays it (for the next `times` sendMessage calls).
FAULTS = {
    "http-500": {"status": 500, "times": 3},
    "http-502": {"status": 502, "times": 2},
    # No answer within the bot's timeout (the gateway gives up later; nothing was delivered).
    "timeout": {"status": 504, "delay_ms": int(READ_TIMEOUT * 1000) + 700, "times": 2},
    "429-for-a-while": {"status": 429, "retry_after": 1, "times": 4},
}


def no_duplicates(texts: list[str]) -> None:
    twice = [text for text, n in Counter(texts).items() if n > 1]
    assert not twice, f"sent more than once: {twice}"


@pytest.fixture
async def live(emulator, tmp_path):
    staff_chats(emulator)
    assistant = FakeAssistant()
    assistant.records[THESIS] = AnswerRecord(
        question=THESIS, language="en", answer="I will ask your mentor.", answered=False,
        escalate=True, escalation_reason="explicit_request", topic="academic",
    )  # fmt: skip
    bot = LiveBot(emulator, desk_settings(emulator, tmp_path), assistant, read_timeout=READ_TIMEOUT)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def settle(live: LiveBot) -> None:
    """Everything before this point is done: a last message from the trainee (updates in a chat
    are handled in order) reaches the mentor, and every outbox row is sent."""
    await live.sends(TRAINEE, "last words", first_name="Sofía")
    await live.message_with(COUNSELOR, "last words")
    await live.outbox_settled()


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_bot_api_faults_lose_and_duplicate_nothing(live, emulator, fault):
    spec = FAULTS[fault]

    # 1. A question answered while the Bot API fails the reply: retried, answered once.
    emulator.fail("sendMessage", chat_id=TRAINEE, **spec)
    await live.sends(TRAINEE, "When is the allowance paid?", first_name="Sofía")
    await emulator.await_bot_messages(TRAINEE, 1, timeout=30)
    assert faults_left(emulator) == []  # every injected failure was met

    # 2. A case: the card reaches the mentor (no fault), the mentor replies while sending to
    #    the trainee fails; the relayed reply arrives once.
    await live.sends(TRAINEE, THESIS, first_name="Sofía")
    card = await live.message_with(COUNSELOR, THESIS)
    emulator.fail("sendMessage", chat_id=TRAINEE, **spec)
    await live.sends(COUNSELOR, "Come to my office at 3.", first_name="Staff",
                     reply_to_message_id=card["message_id"])  # fmt: skip
    await live.message_with(TRAINEE, "Come to my office at 3.")

    # 3. The trainee answers while sending to the mentor fails; it reaches the mentor once.
    emulator.fail("sendMessage", chat_id=COUNSELOR, **spec)
    await live.sends(TRAINEE, "Thank you, I will be there", first_name="Sofía")
    await live.message_with(COUNSELOR, "Thank you, I will be there")
    assert faults_left(emulator) == []

    await settle(live)
    trainee, mentor = live.texts(TRAINEE), live.texts(COUNSELOR)
    assert sum("ANSWER: When is the allowance paid?" in x for x in trainee) == 1
    assert sum("Come to my office at 3." in x for x in trainee) == 1
    assert sum("Thank you, I will be there" in x for x in mentor) == 1
    no_duplicates(trainee)
    no_duplicates(mentor)
    # One Telegram message per outbox row; the rest are the two direct answers.
    rows = outbox_rows(live.db_path)
    assert len(mentor) == len([r for r in rows if r[3] == COUNSELOR])
    assert len(trainee) == len([r for r in rows if r[3] == TRAINEE]) + 2


async def test_a_locked_case_database_asks_to_try_again_and_recovers(live, emulator, caplog):
    """Another program holds an EXCLUSIVE transaction on the SQLite file: /human cannot be
    recorded. A clear log line, the person is told to try again, nothing crashes; once the lock
    is gone the same request works and the counselor gets one card."""
    from bot.storage import db as db_module

    locker = sqlite3.connect(live.db_path, timeout=1, isolation_level=None)
    original = db_module.SQLITE_BUSY_TIMEOUT_MS
    try:
        # The bot's connections wait busy_timeout for a lock, then give up: short here.
        db_module.SQLITE_BUSY_TIMEOUT_MS = 300
        live.desk.db.close()  # its next connections take the short timeout
        locker.execute("BEGIN EXCLUSIVE")
        with caplog.at_level(logging.ERROR, logger="bot"):
            await live.sends(TRAINEE, "/human", first_name="Sofía")
            await live.message_with(TRAINEE, t("en", "telegram.busy"))
        unavailable = [r for r in caplog.records if "database is unavailable" in r.getMessage()]
        assert unavailable, [r.getMessage() for r in caplog.records]
        assert "database is locked" in unavailable[0].getMessage()
        assert all(r.exc_info is None for r in unavailable)  # one line, no traceback
        assert live.app.running
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        db_module.SQLITE_BUSY_TIMEOUT_MS = original

    # The lock is gone: the same request works, and nothing half-written was left behind.
    await live.sends(TRAINEE, "/human", first_name="Sofía")
    await emulator.await_bot_messages(TRAINEE, 2)
    await live.outbox_settled()
    cards = [m["text"] for chat in (COUNSELOR, ADMIN, DESK_CHAT)
             for m in emulator.bot_messages(chat) if m["text"].startswith("Case #")]  # fmt: skip
    assert len(cards) == 1 and cards[0].startswith("Case #1"), cards
    assert not any("Traceback" in text for text in live.texts(TRAINEE))


@pytest.mark.slow
def test_killed_mid_escalation_the_pending_card_arrives_once_after_restart(
    emulator, real_settings, tmp_path
):
    """`python -m bot` is SIGKILLed while the case card is waiting in the outbox (the Bot API
    refused it), then restarted on the same database: the card arrives exactly once."""
    staff_chats(emulator)
    db_path = tmp_path / "puente.db"
    env = entrypoint_env(emulator, real_settings, tmp_path)
    for chat in (COUNSELOR, ADMIN, DESK_CHAT):  # every staff delivery fails for now
        emulator.fail("sendMessage", chat_id=chat, status=500, times=10_000)

    first = BotProcess(env).start()
    second = BotProcess(env)
    try:
        emulator.user_sends(TRAINEE, "/human", first_name="Sofía")
        emulator.wait_for_bot_messages(TRAINEE, 1, timeout=120)  # the trainee's acknowledgement
        pending = emulator.wait_for(
            lambda: [r for r in outbox_rows(db_path, ("card", "desk_card"))
                     if r[1] == "pending" and r[2] >= 1],
            timeout=30, what="the case card pending in the outbox after a failed attempt",
        )  # fmt: skip
        assert first.kill() != 0
        staff = (COUNSELOR, ADMIN, DESK_CHAT)
        assert all(emulator.bot_messages(chat) == [] for chat in staff)

        emulator.clear_faults()  # Telegram is back
        second.start()
        emulator.wait_for(
            lambda: set(outbox_statuses_of(db_path)) == {"sent"}, timeout=120,
            what="every outbox row sent after the restart",
        )  # fmt: skip
        cards = [
            m["text"] for chat in staff for m in emulator.bot_messages(chat)
            if m["text"].startswith("Case #1")
        ]  # fmt: skip
        assert len(cards) == len(pending) >= 1, cards
        no_duplicates(cards)
        assert len(emulator.bot_messages(TRAINEE)) == 1  # nothing re-sent to the trainee
        assert second.terminate() == 0, second.stderr[-3000:]
    finally:
        first.ensure_stopped()
        second.ensure_stopped()
    assert "Traceback" not in second.stderr, second.stderr[-3000:]


def outbox_statuses_of(db_path) -> list[str]:
    return [r[1] for r in outbox_rows(db_path)]
